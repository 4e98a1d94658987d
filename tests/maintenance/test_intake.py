"""Contingency intake: outages, 202 receipts signed with Ed25519, durability, cheap syntactic checks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from rest_framework.authtoken.models import Token

from core.exceptions import Conflict, NotFound
from core.models import IdempotencyRecord
from intake import keys
from intake.models import Episode, ReceiptSigningKey
from maintenance import receipts, services
from maintenance.enums import OutageStatus, SubmissionPriority, SubmissionStatus, WindowMode, WindowScope
from maintenance.models import BufferedSubmission, Outage, OutageReport
from tests.factories.maintenance import MaintenanceWindowFactory, declaration_body
from tests.factories.traders import AEOProfileFactory, TraderFactory, UserFactory

from .conftest import T0

H = dt.timedelta(hours=1)
CUSCAR = "UNA:+.? 'UNB+UNOC:3+CARRIER+KRA+261201:0900+1'UNH+1+CUSCAR:D:95B:UN'BGM+85+MF1+9'UNT+3+1'UNZ+1+1'"


@pytest.fixture
def agent(api_client):
    user = UserFactory(username="agent-k")
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    api_client.user = user
    return api_client


@pytest.fixture
def outage(clock, notices):
    return services.outage_start(reason="iCMS core database failure", actor=None)


def _post(client, body, path="/api/v1/declarations", **extra):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    extra.setdefault("content_type", "application/json")
    return client.post(path, data=raw, **extra)


@pytest.mark.django_db
def test_outage_lifecycle_events_and_single_active(clock, notices, django_capture_on_commit_callbacks, monkeypatch):
    # given
    enqueued = []
    monkeypatch.setattr(services, "enqueue_replay", lambda: enqueued.append(1))
    actor = UserFactory(username="ops")
    outage = services.outage_start(reason="Power failure", actor=actor)
    # then: a second declaration is refused
    with pytest.raises(Conflict) as again:
        services.outage_start(reason="again", actor=None)
    assert again.value.code == "outage_already_active"
    # when
    clock.advance(hours=5)
    with django_capture_on_commit_callbacks(execute=True):
        ended = services.outage_end(actor=actor, reason="Restored")
    # then
    assert ended.status == OutageStatus.ENDED
    assert ended.length(clock()) == 5 * H
    assert list(ended.events.values_list("from_status", "to_status", "actor__username")) == [
        ("", "active", "ops"), ("active", "ended", "ops")]
    assert [c["payload"]["event"] for c in notices["broadcast"]] == ["outage_declared", "outage_ended"]
    assert enqueued == [1]
    assert OutageReport.objects.get(outage=outage).submissions == 0
    with pytest.raises(NotFound):
        services.outage_end(actor=None)


@pytest.mark.django_db
def test_buffered_receipt_is_signed_and_verifies_with_the_published_key(outage, agent, api_client):
    # given
    body = json.dumps(declaration_body()).encode()
    # when
    response = _post(agent, body)
    # then
    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "buffered"
    receipt = data["receipt"]
    submission = BufferedSubmission.objects.get()
    assert receipt["submission_id"] == str(submission.id)
    assert receipt["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert receipt["endpoint"] == "POST /api/v1/declarations"
    assert receipt["agent"] == "agent-k"
    assert receipt["received_at"] == "2026-12-01T09:00:00+00:00"
    assert receipt["algorithm"] == "Ed25519"
    assert submission.receipt == receipt
    assert bytes(submission.body) == body
    assert submission.status == SubmissionStatus.PENDING
    assert submission.outage_id == outage.id
    assert submission.headers == {"Content-Type": "application/json"}
    # the agent verifies offline with the published key (PEM or raw)
    key_doc = api_client.get("/api/v1/system/receipt-key").json()
    assert key_doc["key_id"] == receipt["key_id"]
    raw = base64.b64decode(key_doc["public_key_base64"])
    assert receipts.verify_receipt(receipt, raw) is True
    pem_key = load_pem_public_key(key_doc["public_key_pem"].encode())
    assert isinstance(pem_key, Ed25519PublicKey)
    pem_key.verify(base64.b64decode(receipt["signature"]),
                   receipts.canonical_bytes({k: v for k, v in receipt.items() if k != "signature"}))
    # a tampered receipt does not verify
    assert receipts.verify_receipt({**receipt, "received_at": "2026-12-01T08:00:00+00:00"}, raw) is False


@pytest.mark.django_db
def test_buffer_mode_window_buffers_lodging_and_rejects_other_writes(clock, notices, agent):
    # given a writes/buffer window in progress
    window = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.WRITES,
                                      mode=WindowMode.BUFFER)
    # when
    lodged = _post(agent, declaration_body())
    edifact = agent.post("/api/v1/manifests/edifact", data=CUSCAR, content_type="application/edifact")
    payment = _post(agent, {"amount": "1.00"}, path=f"/api/v1/declarations/{uuid.uuid4()}/payments")
    # then
    assert lodged.status_code == 202
    assert edifact.status_code == 202
    assert payment.status_code == 503
    rows = list(BufferedSubmission.objects.order_by("priority").values_list("endpoint", "window_id", "outage_id"))
    assert rows == [("manifests.edifact", window.id, None), ("declarations", window.id, None)]


@pytest.mark.django_db
def test_no_contingency_no_buffering(clock, agent):
    response = _post(agent, declaration_body())
    assert response.status_code != 202
    assert BufferedSubmission.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "code", "pointers"),
    [
        ("/api/v1/declarations", b"{not json", "application/json", 400, "parse_error", [""]),
        ("/api/v1/declarations", b"[1, 2]", "application/json", 400, "validation_error", [""]),
        ("/api/v1/declarations", json.dumps({"regime": "IM4", "items": []}).encode(), "application/json", 400,
         "validation_error", ["/office", "/importer_pin", "/items"]),
        ("/api/v1/declarations",
         json.dumps({"regime": "EX1", "office": "MBA", "importer_pin": "P051234567X",
                     "items": [{"description": "tea"}, 3]}).encode(),
         "application/json", 400, "validation_error", ["/exporter_pin", "/items/0/hs_code", "/items/1"]),
        ("/api/v1/declarations", json.dumps(declaration_body()).encode(), "text/plain", 415,
         "unsupported_media_type", [""]),
        ("/api/v1/manifests", b"{}", "application/json", 400, "validation_error", [""]),
        ("/api/v1/manifests/edifact", b"hello", "application/edifact", 400, "malformed_edifact", [""]),
    ],
)
@pytest.mark.django_db
def test_garbage_gets_4xx_at_once_and_no_receipt(outage, agent, path, body, content_type, status, code, pointers):
    response = agent.post(path, data=body, content_type=content_type)
    assert response.status_code == status
    problem = response.json()
    assert problem["code"] == code
    assert [e["pointer"] for e in problem["errors"]] == pointers
    assert "receipt" not in problem
    assert BufferedSubmission.objects.count() == 0


@pytest.mark.django_db
def test_draft_lodge_with_empty_body_is_buffered(outage, agent):
    response = agent.post(f"/api/v1/declarations/{uuid.uuid4()}/lodge", data=b"", content_type="application/json")
    assert response.status_code == 202
    assert BufferedSubmission.objects.get().endpoint == "declarations.lodge"


@pytest.mark.django_db
def test_no_token_no_receipt(outage, api_client):
    response = _post(api_client, declaration_body())
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    api_client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert _post(api_client, declaration_body()).status_code == 401
    assert BufferedSubmission.objects.count() == 0


@pytest.mark.django_db
def test_same_idempotency_key_returns_the_same_receipt_even_after_the_outage(
        clock, notices, agent, monkeypatch, django_capture_on_commit_callbacks):
    # given
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    services.outage_start(reason="down", actor=None)
    body = declaration_body()
    first = _post(agent, body, HTTP_IDEMPOTENCY_KEY="agt-1")
    # when: a retry during the outage, and one after it ended
    retry = _post(agent, body, HTTP_IDEMPOTENCY_KEY="agt-1")
    with django_capture_on_commit_callbacks(execute=True):
        services.outage_end(actor=None)
    after = _post(agent, body, HTTP_IDEMPOTENCY_KEY="agt-1")
    other_body = _post(agent, declaration_body(), HTTP_IDEMPOTENCY_KEY="agt-1")
    # then
    assert first.status_code == retry.status_code == after.status_code == 202
    assert retry.json()["receipt"] == first.json()["receipt"] == after.json()["receipt"]
    assert retry["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 422
    assert BufferedSubmission.objects.count() == 1
    assert IdempotencyRecord.objects.get().response_status == 202


@pytest.mark.django_db(transaction=True)
def test_intake_works_with_the_broker_unreachable(clock, notices, settings, agent):
    # given: the broker is a dead port and no worker runs
    from config.celery import app

    original = app.conf.broker_url
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.conf.broker_connection_timeout = 0.2
    app.conf.task_publish_retry = False
    try:
        services.outage_start(reason="down", actor=None)
        # when: agents submit, then the operator ends the outage (the replay cannot be enqueued)
        responses = [_post(agent, declaration_body()) for _ in range(3)]
        ended = services.outage_end(actor=None)
    finally:
        app.conf.broker_url = original
        app.conf.task_publish_retry = True
    # then: every submission is committed (transaction=True: what a new connection sees)
    assert [r.status_code for r in responses] == [202, 202, 202]
    assert ended.status == OutageStatus.ENDED
    assert BufferedSubmission.objects.filter(status=SubmissionStatus.PENDING).count() == 3
    assert {str(i) for i in BufferedSubmission.objects.values_list("id", flat=True)} == {
        r.json()["receipt"]["submission_id"] for r in responses}


@pytest.mark.django_db
def test_priority_is_computed_at_intake(outage, agent, settings):
    # given an active AEO exporter and a configured perishable prefix (vaccines)
    settings.CONTINGENCY_PERISHABLE_HS_PREFIXES = ["3002"]
    aeo = AEOProfileFactory(trader=TraderFactory(pin="P051111111A"))
    suspended = AEOProfileFactory(trader=TraderFactory(pin="P052222222B"), status="suspended")
    # when
    cases = {
        "tea export": declaration_body(regime="EX1", hs_code="0902.40.10"),
        "car import": declaration_body(),
        "aeo import": declaration_body(pin=aeo.trader.pin),
        "suspended aeo": declaration_body(pin=suspended.trader.pin),
        "tea import": declaration_body(hs_code="0902.40.10"),
        "vaccine import": declaration_body(hs_code="3002.41.00"),
        "cut flowers export": declaration_body(regime="EX1", hs_code="0603.11.00"),
    }
    ids = {name: _post(agent, body).json()["receipt"]["submission_id"] for name, body in cases.items()}
    manifest = _post(agent, {"reference": "MF1"}, path="/api/v1/manifests").json()["receipt"]["submission_id"]
    # then
    priority = dict(BufferedSubmission.objects.values_list("id", "priority"))
    got = {name: priority[uuid.UUID(sid)] for name, sid in ids.items()}
    assert got == {
        "tea export": SubmissionPriority.PERISHABLE, "car import": SubmissionPriority.NORMAL,
        "aeo import": SubmissionPriority.AEO, "suspended aeo": SubmissionPriority.NORMAL,
        "tea import": SubmissionPriority.NORMAL, "vaccine import": SubmissionPriority.PERISHABLE,
        "cut flowers export": SubmissionPriority.PERISHABLE,
    }
    assert priority[uuid.UUID(manifest)] == SubmissionPriority.MANIFEST


@pytest.mark.django_db
@pytest.mark.django_db
def test_signing_keys_configured_or_generated_are_kept_in_the_intake_store(settings):
    # given a configured raw key
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    settings.RECEIPT_SIGNING_KEY = base64.b64encode(raw).decode()
    keys.clear_cache()
    key = receipts.signing_key()
    assert key.public_raw() == private.public_key().public_bytes(serialization.Encoding.Raw,
                                                                 serialization.PublicFormat.Raw)
    # then its public half alone is recorded, current
    configured = ReceiptSigningKey.objects.get()
    assert (configured.key_id, configured.private_key, configured.valid_to) == (key.key_id, "", None)
    # without it, a generated key is stable across "restarts" (kept in the intake store) and the
    # configured one is retired, not forgotten
    settings.RECEIPT_SIGNING_KEY = ""
    first = receipts.signing_key()
    keys.clear_cache()
    assert receipts.signing_key().key_id == first.key_id
    assert first.key_id != key.key_id
    rows = {r.key_id: r for r in ReceiptSigningKey.objects.all()}
    assert rows[key.key_id].valid_to is not None
    assert rows[first.key_id].valid_to is None
    assert rows[first.key_id].private_key != ""
    # autogeneration off and no key: refuse
    from django.core.exceptions import ImproperlyConfigured

    keys.clear_cache()
    settings.RECEIPT_SIGNING_KEY_AUTOGENERATE = False
    with pytest.raises(ImproperlyConfigured):
        receipts.signing_key()


@pytest.mark.django_db
def test_outage_can_be_ended_by_id_only_once(outage, notices, monkeypatch):
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    services.outage_end(actor=None, outage_id=outage.id)
    with pytest.raises(Conflict):
        services.outage_end(actor=None, outage_id=outage.id)
    with pytest.raises(NotFound):
        services.outage_end(actor=None, outage_id="bad")
    assert Outage.objects.get().status == OutageStatus.ENDED


@pytest.mark.django_db
def test_database_failure_at_intake_is_a_503_without_receipt(outage, agent, monkeypatch):
    from django.db import OperationalError

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "submission_buffer", down)
    response = _post(agent, declaration_body())
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["code"] == "database_unavailable"
    assert BufferedSubmission.objects.count() == 0
    # the primary answered: an intake store failure is not mistaken for an outage
    assert Episode.objects.count() == 0


@pytest.mark.django_db
def test_edifact_needs_the_edifact_media_type_like_the_normal_endpoint(outage, agent):
    response = agent.post("/api/v1/manifests/edifact", data=CUSCAR, content_type="text/plain")
    assert response.status_code == 415
    assert BufferedSubmission.objects.count() == 0
