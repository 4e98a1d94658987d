"""The sandbox API-error recorder (sandbox.middleware): stores what it is given escaped, can never
change a response, and keeps a bounded number of rows per user (issue 17)."""

from __future__ import annotations

import json
import logging

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory

from core.problems import problem_response
from sandbox.middleware import SandboxHeaderMiddleware, safe_json, safe_text
from sandbox.models import ApiErrorRecord

pytestmark = pytest.mark.django_db


def _hostile_response():
    return problem_response(
        status=400, title="Validation failed", code="bad\u0000code", detail="x",
        errors=[{"code": "invalid\ud800", "detail": "a\u0000b", "pointer": "/items/0/k\u0000\udfff"}],
        extra={"nested": {"k\u0000": ["\ud800"]}})


def _request(path: str = "/api/v1/declarations/AB\u0000CD", body: bytes = b"{}"):
    request = RequestFactory().post("/x", body, content_type="application/json")
    request.path_info = path
    request.user = User.objects.create_user(f"trainee{User.objects.count()}")
    return request


def test_safe_text_escapes_nul_and_lone_surrogates_visibly():
    assert safe_text("a\u0000b") == "a\\u0000b"
    assert safe_text("x\ud800y") == "x\\ud800y"
    assert safe_text("Viatu 皮鞋 🚗") == "Viatu 皮鞋 🚗"
    assert safe_json({"k\u0000": ["\udfff", 1, None, {"z": "\u0000"}]}) == {"k\\u0000": ["\\udfff", 1, None,
                                                                                        {"z": "\\u0000"}]}


def test_hostile_values_are_stored_escaped_and_the_response_is_unchanged(sandbox):
    # given a 400 whose code, errors and path carry NUL and lone surrogates
    response = _hostile_response()
    content = response.content
    request = _request(body=json.dumps({"local_reference": "G\u0000X"}).encode())
    # when
    out = SandboxHeaderMiddleware(lambda r: response)(request)
    # then
    assert out is response
    assert (out.status_code, out.content) == (400, content)
    record = ApiErrorRecord.objects.get()
    assert (record.path, record.code, record.local_reference) == (
        "/api/v1/declarations/AB\\u0000CD", "bad\\u0000code", "G\\u0000X")
    assert record.errors == [{"code": "invalid\\ud800", "detail": "a\\u0000b", "pointer": "/items/0/k\\u0000\\udfff"}]


def test_a_failing_recorder_is_logged_and_never_changes_the_response(sandbox, monkeypatch, caplog):
    # given a recorder whose insert fails
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ApiErrorRecord.objects, "create", broken)
    response = problem_response(status=404, title="Not found", code="not_found", detail="No such B/L.")
    content = response.content
    # when
    with caplog.at_level(logging.ERROR, logger="sandbox.middleware"):
        out = SandboxHeaderMiddleware(lambda r: response)(_request())
    # then
    assert (out.status_code, out.content, out["Forodha-Sandbox"]) == (404, content, "true")
    assert "could not record the API error" in caplog.text
    assert ApiErrorRecord.objects.count() == 0


def test_rows_are_bounded_per_user_and_the_oldest_are_dropped(sandbox):
    # given a cap of 3 rows per user and another user's row
    sandbox.SANDBOX_API_ERROR_RECORDS_PER_USER = 3
    other = _request()
    SandboxHeaderMiddleware(lambda r: problem_response(status=400, title="t", detail="d", code="other"))(other)
    request = _request()
    # when the user makes 5 errors
    for n in range(5):
        SandboxHeaderMiddleware(lambda r, n=n: problem_response(status=400, title="t", detail="d", code=f"e{n}"))(
            request)
    # then only the newest 3 are kept, and the other user's row is untouched
    codes = list(ApiErrorRecord.objects.filter(user=request.user).order_by("pk").values_list("code", flat=True))
    assert codes == ["e2", "e3", "e4"]
    assert list(ApiErrorRecord.objects.filter(user=other.user).values_list("code", flat=True)) == ["other"]
