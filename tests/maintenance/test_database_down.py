"""The primary database away (simulated at its one boundary, `primary_reachable`): automatic
contingency from the intake store, the circuit breaker, token copies, receipt look-up,
corrections, recovery without an operator, and receipt keys across a rotation.

The real thing (a PostgreSQL cluster stopped under running web processes) is
tests/maintenance/test_real_outage.py."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from declarations.models import Declaration
from intake import keys
from intake.breaker import breaker
from intake.enums import EpisodeStatus
from intake.identity import token_copies_reconcile, token_sha256
from intake.models import BufferedSubmission, Episode, TokenCopy
from maintenance import receipts, services
from maintenance.enums import OutageSource, OutageStatus, SubmissionStatus
from maintenance.models import Outage, OutageEvent, ReplayLedger
from tests.factories.declarations import body_im4, world_create
from tests.factories.maintenance import BufferedSubmissionFactory, MaintenanceWindowFactory
from tests.factories.traders import UserFactory

pytestmark = pytest.mark.django_db


class Primary:
    """Stands in for the network to the primary (the middleware's only question about it)."""

    def __init__(self) -> None:
        self.up = True
        self.probes = 0

    def __call__(self) -> bool:
        self.probes += 1
        return self.up


@pytest.fixture
def primary(monkeypatch: pytest.MonkeyPatch, settings) -> Primary:
    settings.INTAKE_BREAKER_FAILURES = 3
    settings.INTAKE_BREAKER_OPEN_SECONDS = 60
    fake = Primary()
    monkeypatch.setattr("maintenance.middleware.primary_reachable", fake)
    return fake


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        made = world_create()
    return made


def _api(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def _verify(receipt: dict) -> bool:
    listed = {k["key_id"]: k for k in APIClient().get("/api/v1/system/receipt-keys").json()["keys"]}
    return receipts.verify_receipt(receipt, base64.b64decode(listed[receipt["key_id"]]["public_key_base64"]))


# --- token copies ------------------------------------------------------------------------------

def test_token_copy_follows_creation_revocation_and_deactivation_on_commit(django_capture_on_commit_callbacks):
    # given / when a token is created
    user = UserFactory(username="agent-copy")
    with django_capture_on_commit_callbacks(execute=True):
        token = Token.objects.create(user=user)
    # then the intake store holds its hash and the holder, never the token
    copy = TokenCopy.objects.get()
    assert (copy.key_sha256, copy.user_id, copy.username, copy.kind) == (
        token_sha256(token.key), user.pk, "agent-copy", "other")
    assert token.key not in str(list(TokenCopy.objects.values_list()))
    # when the user is deactivated, then the copy goes (and comes back on reactivation)
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    assert TokenCopy.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = True
        user.save(update_fields=["is_active"])
    assert TokenCopy.objects.count() == 1
    # when the token is revoked, then the copy goes at once
    with django_capture_on_commit_callbacks(execute=True):
        token.delete()
    assert TokenCopy.objects.count() == 0


def test_reconcile_removes_stale_copies_and_adds_missing_ones(world):
    # given drift: the agent's copy lost, a revoked token's copy left behind
    TokenCopy.objects.all().delete()
    TokenCopy.objects.create(key_sha256=token_sha256("revoked"), user_id=1, username="x", synced_at=timezone.now())
    # when
    report = token_copies_reconcile()
    # then
    assert (report.active, report.written, report.removed) == (1, 1, 1)
    copy = TokenCopy.objects.get()
    assert (copy.key_sha256, copy.kind, copy.organisation_id) == (
        token_sha256(world.token), "agent", str(world.agent.pk))
    assert token_copies_reconcile() == type(report)(active=1, written=0, removed=0)


# --- automatic contingency ---------------------------------------------------------------------

def test_lodging_with_the_primary_away_gets_a_signed_receipt_from_intake(clock, primary, world, notices):
    # given the primary unreachable
    primary.up = False
    api = _api(world.token)
    # when the agent lodges
    response = api.post("/api/v1/declarations", body_im4(world), format="json")
    # then 202 with a receipt that verifies against the published keys
    assert response.status_code == 202
    body = response.json()
    assert body["contingency"]["source"] == "database_unavailable"
    assert _verify(body["receipt"]) is True
    submission = BufferedSubmission.objects.get()
    episode = Episode.objects.get()
    assert (submission.outage_id, submission.agent_id, submission.status) == (
        episode.id, world.staff.user_id, SubmissionStatus.PENDING)
    assert episode.status == EpisodeStatus.OPEN
    assert Declaration.objects.count() == 0
    # and the status and the look-up answer from intake, saying why
    status = APIClient().get("/api/v1/system/status").json()["contingency"]
    assert (status["active"], status["source"], status["buffered"]) == (True, "database_unavailable", 1)
    lookup = api.get(f"/api/v1/receipts/{submission.id}").json()
    assert (lookup["state"], lookup["lodged"], lookup["rejected"]) == ("buffered", None, None)


def test_unknown_token_is_refused_at_intake_and_nothing_is_stored(clock, primary, world):
    primary.up = False
    response = _api("not-a-token").post("/api/v1/declarations", body_im4(world), format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert BufferedSubmission.objects.count() == 0


def test_revoked_token_is_refused_at_intake(clock, primary, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Token.objects.filter(key=world.token).delete()
    primary.up = False
    response = _api(world.token).post("/api/v1/declarations", body_im4(world), format="json")
    assert response.status_code == 401
    assert BufferedSubmission.objects.count() == 0


def test_breaker_opens_after_three_failures_and_other_requests_get_503(clock, primary, world):
    primary.up = False
    api = _api(world.token)
    for _ in range(3):
        assert api.post("/api/v1/declarations", body_im4(world), format="json").status_code == 202
    assert primary.probes == 3
    assert breaker.state().state == "open"
    # open: straight to intake, the primary is not tried
    assert api.post("/api/v1/declarations", body_im4(world), format="json").status_code == 202
    assert primary.probes == 3
    # not bufferable: 503 with Retry-After and the problem code
    refused = api.get("/api/v1/declarations")
    assert refused.status_code == 503
    assert refused["Retry-After"] == str(settings.INTAKE_RETRY_AFTER_SECONDS)
    assert refused.json()["code"] == "database_unavailable"
    assert BufferedSubmission.objects.count() == 4
    assert Episode.objects.count() == 1


def test_idempotency_key_while_the_primary_is_away_and_after_it_returns(clock, primary, world, notices,
                                                                          monkeypatch):
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    primary.up = False
    api = _api(world.token)
    body = body_im4(world)
    first = api.post("/api/v1/declarations", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/declarations", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = api.post("/api/v1/declarations", {**body, "local_reference": "X-2"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 422)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["receipt"] == first.json()["receipt"]
    # after the primary returns, the same retry still gets the receipt, not a second lodgement
    primary.up = True
    breaker.reset()
    later = api.post("/api/v1/declarations", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert later.status_code == 202
    assert later.json()["receipt"]["submission_id"] == first.json()["receipt"]["submission_id"]
    assert BufferedSubmission.objects.count() == 1
    assert Declaration.objects.count() == 0


def test_other_agents_get_404_from_the_look_up(clock, primary, world, django_capture_on_commit_callbacks):
    primary.up = False
    receipt = _api(world.token).post("/api/v1/declarations", body_im4(world), format="json").json()["receipt"]
    with django_capture_on_commit_callbacks(execute=True):
        other = Token.objects.create(user=UserFactory(username="someone-else"))
    response = _api(other.key).get(f"/api/v1/receipts/{receipt['submission_id']}")
    assert response.status_code == 404
    assert response.json()["code"] == "submission_not_found"
    assert APIClient().get(f"/api/v1/receipts/{receipt['submission_id']}").status_code == 401


# --- recovery ----------------------------------------------------------------------------------

def test_recovery_records_the_outage_and_replays_without_an_operator(clock, primary, world, notices, monkeypatch,
                                                                     settings, django_capture_on_commit_callbacks):
    # given two lodgings (one that will be rejected) while the primary is away for 2 hours
    kicked: list[int] = []
    monkeypatch.setattr(services, "enqueue_replay", lambda: kicked.append(1))
    primary.up = False
    api = _api(world.token)
    started = clock()
    good = api.post("/api/v1/declarations", body_im4(world), format="json").json()["receipt"]
    bad_body = body_im4(world)
    bad_body["items"][0]["hs_code"] = "9999.99.99"
    bad = api.post("/api/v1/declarations", bad_body, format="json").json()["receipt"]
    clock.advance(hours=2)
    # when the primary answers again and a request probes it (breaker half-open)
    primary.up = True
    settings.INTAKE_BREAKER_OPEN_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert APIClient().get("/api/v1/system/status").status_code == 200
    # then the outage is recorded in the primary, from the first failure to now, with events
    outage = Outage.objects.get()
    episode = Episode.objects.get()
    assert (outage.id, outage.source, outage.status, outage.started_at, outage.ended_at) == (
        episode.id, OutageSource.DATABASE_UNAVAILABLE, OutageStatus.ENDED, started, clock())
    assert episode.status == EpisodeStatus.RECORDED
    assert list(OutageEvent.objects.values_list("from_status", "to_status", "actor")) == [
        ("", "active", None), ("active", "ended", None)]
    assert notices["broadcast"][-1]["payload"]["event"] == "outage_ended"
    assert notices["broadcast"][-1]["payload"]["source"] == "database_unavailable"
    assert kicked == [1]
    # when the replay (the enqueued task) runs
    report = services.replay_buffered(actor=None)
    # then each receipt resolves to exactly one outcome
    assert (report.lodged, report.rejected, report.remaining) == (1, 1, 0)
    declaration = Declaration.objects.get()
    assert declaration.lodged_at == started
    # the outage length, rounded up to whole days, moves the payment due date (deadline relief)
    due = timezone.localtime(started).date() + dt.timedelta(days=settings.PAYMENT_DUE_DAYS + 1)
    assert declaration.payment_due_date == due
    # the recorded outage's deadline shift (declarations lodged before it) leaves the replayed one
    # alone: it was lodged at its receipt time with the relief already added, not twice
    from declarations.models import DeadlineShift
    from declarations.services.deadlines import deadlines_shift

    shift = DeadlineShift.objects.get(period=f"outage:{outage.pk}")
    assert (shift.source, shift.days, shift.started_at) == (OutageSource.DATABASE_UNAVAILABLE, 1, started)
    assert deadlines_shift(shift_id=shift.pk).moved == 0
    assert Declaration.objects.get(pk=declaration.pk).payment_due_date == due
    lodged = api.get(f"/api/v1/receipts/{good['submission_id']}").json()
    assert lodged["state"] == "lodged"
    assert lodged["lodged"]["entry_number"] == declaration.entry_number
    assert lodged["lodged"]["resource_id"] == str(declaration.pk)
    rejected = api.get(f"/api/v1/receipts/{bad['submission_id']}").json()
    assert rejected["state"] == "rejected"
    assert any(e["pointer"].startswith("/items/0") for e in rejected["rejected"]["errors"])
    assert ReplayLedger.objects.count() == 2
    # one notice per outcome (the two submissions share a receipt time, so their order is not fixed)
    assert sorted(n["payload"]["outcome"] for n in notices["agent"]) == ["lodged", "rejected"]
    # a second recovery or replay changes nothing
    assert services.outage_recover_detected(actor=None) == []
    assert services.replay_buffered(actor=None).processed == 0
    assert Declaration.objects.count() == 1


def test_a_ledger_left_by_an_interrupted_replay_is_copied_not_lodged_again(clock, primary, world, notices,
                                                                          monkeypatch):
    # given a submission whose lodgement committed in the primary, but not its intake status
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    primary.up = False
    _api(world.token).post("/api/v1/declarations", body_im4(world), format="json")
    primary.up = True
    services.outage_recover_detected(actor=None)
    services.replay_buffered(actor=None)
    BufferedSubmission.objects.update(status=SubmissionStatus.PENDING, finished_at=None, result={})
    # when the replay runs again
    report = services.replay_buffered(actor=None)
    # then the outcome is copied from the ledger; nothing lodged twice
    assert (report.lodged, report.processed) == (0, 0)
    assert BufferedSubmission.objects.get().status == SubmissionStatus.LODGED
    assert Declaration.objects.count() == 1


def test_correction_keeps_the_original_receipt_time(clock, primary, world, notices, monkeypatch):
    # given a submission rejected at replay
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    primary.up = False
    api = _api(world.token)
    original_time = clock()
    body = body_im4(world)
    body["items"][0]["hs_code"] = "9999.99.99"
    rejected = api.post("/api/v1/declarations", body, format="json").json()["receipt"]
    clock.advance(hours=5)
    primary.up = True
    services.outage_recover_detected(actor=None)
    services.replay_buffered(actor=None)
    clock.advance(days=2)
    # when the agent sends the corrected body naming it
    corrected = api.post("/api/v1/declarations", body_im4(world), format="json",
                         HTTP_FORODHA_CORRECTS=rejected["submission_id"])
    # then it is lodged now, at the original receipt time
    assert corrected.status_code == 202
    doc = corrected.json()
    assert (doc["state"], doc["corrects"]) == ("lodged", rejected["submission_id"])
    assert doc["receipt"]["lodged_at"] == original_time.isoformat()
    assert _verify(doc["receipt"]) is True
    declaration = Declaration.objects.get()
    assert declaration.lodged_at == original_time
    # a second correction of the same submission is refused
    again = api.post("/api/v1/declarations", body_im4(world), format="json",
                     HTTP_FORODHA_CORRECTS=rejected["submission_id"])
    assert again.status_code == 409
    assert again.json()["code"] == "already_corrected"
    assert Declaration.objects.count() == 1


def test_correction_after_the_period_or_of_an_unknown_submission_is_refused(clock, primary, world, notices,
                                                                          monkeypatch, settings):
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    primary.up = False
    api = _api(world.token)
    body = body_im4(world)
    body["items"][0]["hs_code"] = "9999.99.99"
    rejected = api.post("/api/v1/declarations", body, format="json").json()["receipt"]
    primary.up = True
    services.outage_recover_detected(actor=None)
    services.replay_buffered(actor=None)
    clock.advance(days=settings.INTAKE_CORRECTION_DAYS, seconds=1)
    late = api.post("/api/v1/declarations", body_im4(world), format="json",
                    HTTP_FORODHA_CORRECTS=rejected["submission_id"])
    assert late.status_code == 409
    assert late.json()["code"] == "correction_period_over"
    assert late.json()["errors"][0]["pointer"] == "/headers/Forodha-Corrects"
    unknown = api.post("/api/v1/declarations", body_im4(world), format="json",
                       HTTP_FORODHA_CORRECTS="00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert Declaration.objects.count() == 0


# --- keys --------------------------------------------------------------------------------------

def test_rotation_keeps_receipts_signed_before_it_verifiable(clock, primary, world):
    primary.up = False
    api = _api(world.token)
    before = api.post("/api/v1/declarations", body_im4(world), format="json").json()["receipt"]
    clock.advance(minutes=1)
    new = keys.key_rotate()
    after = api.post("/api/v1/declarations", body_im4(world), format="json").json()["receipt"]
    listed = APIClient().get("/api/v1/system/receipt-keys").json()["keys"]
    assert [(k["key_id"], k["current"]) for k in listed] == [(new.key_id, True), (before["key_id"], False)]
    assert listed[1]["valid_to"] == listed[0]["valid_from"]
    assert after["key_id"] == new.key_id
    assert _verify(before) is True
    assert _verify(after) is True
    assert APIClient().get("/api/v1/system/receipt-key").json()["key_id"] == new.key_id


def test_cancellation_and_bank_callback_buffered_then_replayed_through_their_views(clock, primary, world, notices,
                                                                                   monkeypatch, settings):
    # given a lodged declaration, then the primary away
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    api = _api(world.token)
    lodged = api.post("/api/v1/declarations", body_im4(world), format="json")
    assert lodged.status_code == 201
    declaration_id = lodged.json()["id"]
    primary.up = False
    # when the agent cancels and a bank with a bad signature calls back
    cancel = api.post(f"/api/v1/declarations/{declaration_id}/cancel", {"reason": "Duplicate entry"},
                      format="json")
    unsigned = APIClient().post("/api/v1/payments/bank-callback", {"eslip_reference": "x"}, format="json",
                                HTTP_X_FORODHA_SIGNATURE="sha256=00")
    # then the cancellation is buffered with a receipt, the unsigned callback refused
    assert cancel.status_code == 202
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "invalid_signature")
    assert list(BufferedSubmission.objects.values_list("endpoint", flat=True)) == ["declarations.cancel"]
    assert Declaration.objects.get().status != "cancelled"
    # when the primary returns and the replay runs, the cancellation goes through its view
    primary.up = True
    services.outage_recover_detected(actor=None)
    report = services.replay_buffered(actor=None)
    assert (report.lodged, report.rejected) == (1, 0)
    assert Declaration.objects.get().status == "cancelled"
    state = api.get(f"/api/v1/receipts/{cancel.json()['receipt']['submission_id']}").json()
    assert (state["state"], state["lodged"]["resource_id"]) == ("lodged", declaration_id)


def test_receipt_look_up_is_served_during_a_full_window(clock, world):
    # given a buffered submission of this agent and an active `full` window
    submission = BufferedSubmissionFactory(agent=world.staff.user)
    MaintenanceWindowFactory(starts_at=clock() - dt.timedelta(minutes=5), ends_at=clock() + dt.timedelta(hours=1),
                             scope="full")
    api = _api(world.token)
    # when / then: the look-up answers (from the intake store), other reads are refused
    looked = api.get(f"/api/v1/receipts/{submission.id}")
    assert (looked.status_code, looked.json()["state"]) == (200, "buffered")
    assert api.get("/api/v1/declarations").json()["code"] == "maintenance_window"
