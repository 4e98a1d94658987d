"""Text cleaned at the edge (core.parsers, core.middleware.InputTextMiddleware): NUL and lone
surrogates in path parameters, query strings and JSON bodies are 400 `invalid_character` with a
pointer, before any selector, store or recorder sees them (issue 17)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from declarations.models import Declaration
from tests.factories.declarations import body_im4, world_create
from tests.reliability.conftest import client_for, table_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client() -> APIClient:
    world = world_create()
    return client_for(world.token)


def _errors(response: Any) -> list[tuple[str, str]]:
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_character"
    return [(e["code"], e["pointer"]) for e in body["errors"]]


@pytest.mark.parametrize(("url", "pointer"), [
    # the five 500s of the issue
    ("/api/v1/bills-of-lading/AB%00CD", "/path/number"),
    ("/api/v1/status?entry_number=%00", "/query/entry_number"),
    ("/api/v1/status?ucr=%00", "/query/ucr"),
    ("/api/v1/status?bl=%00", "/query/bl"),
    ("/api/v1/exchange-rates?currency=%00", "/query/currency"),
    # a typed path parameter that no route matches with a NUL in it
    ("/api/v1/declarations/AB%00CD/cancel", "/path"),
    # a NUL in a parameter name points at the query string, never echoing the name
    ("/api/v1/status?a%00b=1", "/query"),
    # a query parameter name needing JSON-pointer escaping
    ("/api/v1/status?a/b=%00", "/query/a~1b"),
])
def test_nul_in_path_or_query_is_400_invalid_character_with_pointer(agent_client, url, pointer):
    # given
    before = table_counts()
    # when
    response = agent_client.get(url)
    # then
    assert response.status_code == 400
    assert _errors(response) == [("invalid_character", pointer)]
    assert table_counts() == before


def test_every_bad_query_parameter_is_reported_at_once(agent_client):
    response = agent_client.get("/api/v1/status?entry_number=%00&ucr=ok&bl=x%00y")
    assert response.status_code == 400
    assert sorted(_errors(response)) == [("invalid_character", "/query/bl"),
                                         ("invalid_character", "/query/entry_number")]


def test_a_percent_encoded_surrogate_in_path_or_query_is_an_ordinary_4xx(agent_client):
    # UTF-8 cannot carry a lone surrogate: Django keeps the bytes percent-encoded in the path and
    # decodes the query with replacement characters; neither reaches PostgreSQL as a surrogate.
    path = agent_client.get("/api/v1/bills-of-lading/AB%ED%A0%80")
    query = agent_client.get("/api/v1/exchange-rates?currency=%ED%A0%80")
    assert path.status_code == 404
    assert query.status_code == 400


@pytest.mark.parametrize("text", ["\u0000", "a\u0000b", "\ud800", "x\udfffy"])
def test_bad_text_in_a_json_body_is_refused_where_it_stands(agent_client, text):
    # given
    world = world_create()
    body = body_im4(world, items=2)
    body["items"][1]["description"] = text
    before = table_counts()
    # when
    response = client_for(world.token).post("/api/v1/declarations", json.dumps(body),
                                            content_type="application/json")
    # then
    assert response.status_code == 400
    assert _errors(response) == [("invalid_character", "/items/1/description")]
    assert table_counts() == before


def test_bad_keys_point_at_their_object_and_every_problem_is_listed(agent_client):
    raw = '{"regime": "IM4\\u0000", "items": [{"\\ud800": 1, "ok": "\\u0000"}], "x\\u0000": 1}'
    response = agent_client.post("/api/v1/declarations", raw, content_type="application/json")
    assert response.status_code == 400
    assert _errors(response) == [("invalid_character", ""), ("invalid_character", "/items/0"),
                                 ("invalid_character", "/items/0/ok"), ("invalid_character", "/regime")]


def test_an_escaped_backslash_before_u0000_is_not_a_nul(agent_client):
    # "\\u0000" is the six characters \u0000, not NUL: the body goes on to normal validation
    response = agent_client.post("/api/v1/declarations", '{"regime": "\\\\u0000"}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_clean_requests_pass_through_unchanged(agent_client):
    response = agent_client.get("/api/v1/exchange-rates?currency=USD")
    assert response.status_code == 200


def _chunked(client: APIClient, path: str, raw: bytes, *, terminated: bool) -> Any:
    """A chunked request as a WSGI server presents it: no CONTENT_LENGTH, Transfer-Encoding
    chunked, and the (de-chunked) body on wsgi.input; gunicorn also sets wsgi.input_terminated."""
    extra: dict[str, Any] = {"wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}
    if terminated:
        extra["wsgi.input_terminated"] = True
    return client.generic("POST", path, b"", content_type="application/json", **extra)


def test_a_chunked_lodging_is_read_and_lodged_like_any_other():
    # given a valid lodging sent chunked through a server that de-chunks (gunicorn)
    world = world_create()
    raw = json.dumps(body_im4(world, items=2)).encode()
    # when
    response = _chunked(client_for(world.token), "/api/v1/declarations", raw, terminated=True)
    # then
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "assessed"
    assert Declaration.objects.filter(pk=response.json()["id"], local_reference=body_im4(world)["local_reference"]
                                      ).exists()


def test_a_chunked_body_on_a_server_that_cannot_end_it_is_411(agent_client):
    before = table_counts()
    response = _chunked(agent_client, "/api/v1/declarations", b'{"regime": "IM4"}', terminated=False)
    assert response.status_code == 411
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "length_required"
    assert table_counts() == before


def test_a_chunked_body_over_the_limit_is_413(agent_client, settings):
    settings.FORODHA_MAX_BODY_BYTES = 1000
    before = table_counts()
    response = _chunked(agent_client, "/api/v1/declarations", b'{"a": "' + b"x" * 2000 + b'"}', terminated=True)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert table_counts() == before
