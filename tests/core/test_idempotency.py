"""Idempotency-Key on POSTs: replay, 422 on a different body, 409 while in flight, expiry."""

import datetime as dt
import json
import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.idempotency import purge_expired
from core.models import IdempotencyRecord
from tests.conftest import require_postgres
from tests.core import urls as test_urls

pytestmark = pytest.mark.urls("tests.core.urls")

BODY = {"name": "tea", "amount": "10.00", "items": [{"hs_code": "0902.40.10", "packages": 3}]}


def _client(username: str = "agent1") -> APIClient:
    user = User.objects.create_user(username, password="x")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture(autouse=True)
def _reset_gate():
    test_urls.gate["calls"] = 0
    test_urls.gate["entered"] = threading.Event()
    test_urls.gate["release"] = threading.Event()


@pytest.mark.django_db
def test_same_key_same_body_replays_first_response_without_rerunning():
    client = _client()
    first = client.post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert json.loads(second.content) == json.loads(first.content) == {"call": 1, "name": "tea"}
    assert second["Idempotent-Replayed"] == "true"
    assert test_urls.gate["calls"] == 1
    assert IdempotencyRecord.objects.get().state == "completed"


@pytest.mark.django_db
def test_same_key_different_body_is_422_and_not_executed():
    client = _client()
    client.post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post("/api/v1/test/echo", {**BODY, "name": "coffee"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert json.loads(response.content)["code"] == "idempotency_key_reused"
    assert test_urls.gate["calls"] == 1


@pytest.mark.django_db
def test_keys_are_scoped_to_the_client():
    a, b = _client("a"), _client("b")
    ra = a.post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    rb = b.post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert json.loads(ra.content)["call"] == 1
    assert json.loads(rb.content)["call"] == 2
    assert "Idempotent-Replayed" not in rb


@pytest.mark.django_db
def test_validation_errors_are_replayed_too_but_server_errors_are_not_stored():
    client = _client()
    bad = client.post("/api/v1/test/echo", {"name": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    again = client.post("/api/v1/test/echo", {"name": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"

    failing = client.post("/api/v1/test/failing", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert failing.status_code == 500
    assert not IdempotencyRecord.objects.filter(key="k-4").exists()
    retried = client.post("/api/v1/test/failing", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert retried.status_code == 500
    assert test_urls.gate["calls"] == 2  # a 5xx may be retried: it ran again


@pytest.mark.django_db
def test_invalid_key_is_400():
    response = _client().post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "invalid_idempotency_key"


@pytest.mark.django_db
def test_expired_keys_are_purged_and_reusable(settings):
    client = _client()
    client.post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    record = IdempotencyRecord.objects.get(key="k-5")
    assert record.expires_at - record.created_at >= dt.timedelta(hours=24)
    # when the record is past its expiry
    IdempotencyRecord.objects.filter(pk=record.pk).update(expires_at=record.created_at)
    # then the key works as new and the purge deletes only expired rows
    again = client.post("/api/v1/test/echo", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert "Idempotent-Replayed" not in again
    assert json.loads(again.content)["call"] == 2
    IdempotencyRecord.objects.update(expires_at=record.created_at)
    assert purge_expired() == 1
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_retry_while_first_is_in_flight_is_409_on_postgres():
    require_postgres()
    client = _client()
    results: dict[str, int] = {}

    def first() -> None:
        try:
            results["first"] = client.post("/api/v1/test/slow", {}, format="json",
                                           HTTP_IDEMPOTENCY_KEY="k-6").status_code
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert test_urls.gate["entered"].wait(timeout=10)
    # when a second request with the same key arrives while the first is still running
    second = client.post("/api/v1/test/slow", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    test_urls.gate["release"].set()
    thread.join(timeout=10)
    # then it is refused with 409 and the view ran once
    assert second.status_code == 409
    assert json.loads(second.content)["code"] == "idempotency_request_in_flight"
    assert results["first"] == 201
    assert test_urls.gate["calls"] == 1
    third = client.post("/api/v1/test/slow", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    assert third.status_code == 201
    assert third["Idempotent-Replayed"] == "true"
