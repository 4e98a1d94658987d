"""Set-based replay through the real declarations app: a chunk validated together and lodged in one
transaction (declarations.replay.lodge_buffered_chunk), a bad submission isolated, two replayers
racing, and a replayed declaration equal to one lodged over HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.models import OutboxMessage
from declarations import replay as declarations_replay
from declarations.entry_numbers import entry_number_valid
from declarations.models import (
    Assessment,
    AssessmentLine,
    Declaration,
    DeclarationEvent,
    DeclarationItem,
    DeclarationVersion,
    ESlip,
)
from declarations.services import bulk_lodging
from maintenance import replay_handlers, services
from maintenance.enums import SubmissionStatus
from maintenance.models import BufferedSubmission, ReplayLedger
from manifests.models import BillOfLading, WriteOff
from notifications.models import Notification
from risk import subscribers as risk_subscribers
from risk.models import RiskAssessment
from risk.tasks import score_declarations_batch
from tests.factories.declarations import body_im4, item, world_create
from tests.factories.maintenance import BufferedSubmissionFactory, OutageFactory

from .conftest import T0

H = dt.timedelta(hours=1)
ITEMS = 3


@pytest.fixture
def one_by_one_calls(monkeypatch):
    """Records every submission that went through the one-declaration lodge callable (the
    `declarations` replay handler, wrapped in the registry for the test)."""
    calls: list[str] = []
    handler = replay_handlers.registrations()["declarations"]
    assert (handler.lodge, handler.lodge_chunk) == (declarations_replay.lodge_buffered,
                                                    declarations_replay.lodge_buffered_chunk)

    def lodge(submission, **kwargs):
        calls.append(json.loads(bytes(submission.body))["local_reference"])
        return handler.lodge(submission, **kwargs)

    monkeypatch.setitem(replay_handlers._handlers, "declarations", dataclasses.replace(handler, lodge=lodge))
    return calls


def _buffer(world, outage, minute, body):
    return BufferedSubmissionFactory(agent=world.staff.user, outage=outage,
                                     received_at=T0 + dt.timedelta(minutes=minute), body=json.dumps(body).encode())


def _serial(entry_number: str) -> int:
    return int(entry_number[8:15])


@pytest.mark.django_db
def test_a_chunk_with_one_bad_submission_lodges_the_good_ones_once_and_rejects_the_bad_one(
        clock, settings, one_by_one_calls, django_capture_on_commit_callbacks):
    # given 5 good bodies and, received third, one with an unknown B/L and net weight over gross
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 10
    world = world_create(bl_packages=10_000, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    bad_body = body_im4(world, items=ITEMS, local_reference="BAD-1", bill_of_lading="NO-SUCH-BL")
    bad_body["items"][1] = item(1, net_weight_kg="900.000", gross_weight_kg="100.000")
    subs = [_buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"GOOD-{m}")) for m in (1, 2)]
    bad = _buffer(world, outage, 3, bad_body)
    subs += [_buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"GOOD-{m}")) for m in (4, 5, 6)]
    # the problems HTTP lodging reports for the bad body (outside the outage)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    clock.set(T0 + 2 * H)
    http = api.post("/api/v1/declarations", bad_body, format="json")
    assert http.status_code == 400
    # when
    with django_capture_on_commit_callbacks(execute=False):
        report = services.replay_buffered(actor=None)
    # then: one chunk, nothing through the one-by-one path
    assert one_by_one_calls == []
    assert (report.lodged, report.rejected, report.errored, report.remaining) == (5, 1, 0, 0)
    declarations = list(Declaration.objects.order_by("entry_number"))
    assert [d.local_reference for d in declarations] == ["GOOD-1", "GOOD-2", "GOOD-4", "GOOD-5", "GOOD-6"]
    serials = [_serial(d.entry_number) for d in declarations]
    assert serials == list(range(serials[0], serials[0] + 5))
    assert all(
        entry_number_valid(d.entry_number) for d in declarations)
    assert {d.status for d in declarations} == {"assessed"}
    for sub in subs:
        sub.refresh_from_db()
        declaration = Declaration.objects.get(pk=sub.result["resource_id"])
        assert sub.status == SubmissionStatus.LODGED
        assert sub.result["entry_number"] == declaration.entry_number
        assert declaration.lodged_at == sub.received_at
    bad.refresh_from_db()
    assert bad.status == SubmissionStatus.REJECTED
    assert bad.result["errors"] == http.json()["errors"]
    assert {e["code"] for e in bad.result["errors"]} >= {"bl_not_found", "net_exceeds_gross"}
    # nothing half-saved: rows for the 5 good ones only, each exactly once
    assert DeclarationItem.objects.count() == 5 * ITEMS
    assert Assessment.objects.count() == ESlip.objects.count() == DeclarationVersion.objects.count() == 5
    # lodging + assessment, and the selectivity decided in the chunk's transaction (no scoring message)
    assert DeclarationEvent.objects.count() == 15
    assert DeclarationEvent.objects.filter(kind="channel").count() == 5
    assert RiskAssessment.objects.count() == 5
    assert WriteOff.objects.count() == 5
    bl = BillOfLading.objects.get(pk=world.bl.pk)
    assert bl.packages_reserved == sum(i.packages for i in DeclarationItem.objects.all())
    assert Notification.objects.filter(kind="accepted").count() == 5
    assert sorted(Notification.objects.filter(kind="contingency").values_list("payload__outcome", flat=True)) == [
        "lodged"] * 5 + ["rejected"]
    assert OutboxMessage.objects.filter(task_name="risk.score_declaration").count() == 0
    assert ReplayLedger.objects.count() == 6
    assert not ReplayLedger.objects.get(pk=bad.pk).lodged
    world.trader.refresh_from_db()
    assert world.trader.declarations_count == 5
    # replaying again lodges nothing more
    assert services.replay_buffered(actor=None).processed == 0
    assert Declaration.objects.count() == 5


@pytest.mark.django_db
def test_a_chunk_whose_transaction_fails_is_replayed_one_by_one_and_only_the_failing_one_waits(
        clock, settings, monkeypatch, one_by_one_calls):
    # given 4 good bodies, one of which breaks the lodging code (a bug, not a rejection)
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 10
    world = world_create(bl_packages=10_000, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    subs = [_buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"REF-{m}")) for m in range(4)]
    from declarations.services import bulk_lodging, lodging

    real_notice = lodging.accepted_notice

    def notice(declaration, **kwargs):
        if declaration.local_reference == "REF-2":
            raise RuntimeError("bug in lodging")
        return real_notice(declaration, **kwargs)

    monkeypatch.setattr(lodging, "accepted_notice", notice)
    monkeypatch.setattr(bulk_lodging, "accepted_notice", notice)
    # when
    report = services.replay_buffered(actor=None)
    # then: the chunk rolled back whole, then each went alone; only REF-2 is back to pending
    assert one_by_one_calls == ["REF-0", "REF-1", "REF-2", "REF-3"]
    assert (report.lodged, report.rejected, report.errored) == (3, 0, 1)
    assert sorted(Declaration.objects.values_list("local_reference", flat=True)) == ["REF-0", "REF-1", "REF-3"]
    serials = sorted(_serial(e) for e in Declaration.objects.values_list("entry_number", flat=True))
    assert serials == [1, 2, 3]
    assert DeclarationItem.objects.count() == 3 * ITEMS
    assert WriteOff.objects.count() == 3
    failing = BufferedSubmission.objects.get(pk=subs[2].pk)
    assert (failing.status, failing.attempts) == (SubmissionStatus.PENDING, 1)
    assert "bug in lodging" in failing.last_error
    assert not ReplayLedger.objects.filter(pk=subs[2].pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("inline", [True, False])
def test_a_replayed_chunk_is_scored_in_its_transaction_exactly_as_the_scoring_queue_scores_it(
        clock, settings, inline, one_by_one_calls):
    # given 3 buffered declarations of a trader with no history (the rule set's "new importer" hit)
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 10
    settings.CONTINGENCY_REPLAY_SCORE_INLINE = inline
    world = world_create(bl_packages=10_000, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    for m in range(3):
        _buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"REF-{m}"))
    # when
    report = services.replay_buffered(actor=None)
    messages = list(OutboxMessage.objects.filter(task_name="risk.score_declaration")
                    .values_list("kwargs__declaration_id", flat=True))
    # then: inline, the chunk is scored with it and no scoring message waits; otherwise one message
    # each, and the scoring task gives the very same result
    assert (report.lodged, one_by_one_calls) == (3, [])
    ids = sorted(str(pk) for pk in Declaration.objects.values_list("pk", flat=True))
    if inline:
        assert messages == []
    else:
        assert sorted(messages) == ids
        assert RiskAssessment.objects.count() == 0
        assert score_declarations_batch(ids) == {"scored": 3, "ready_for_clearance": 0}
    assessments = RiskAssessment.objects.order_by("declaration__local_reference")
    assert [(a.declaration.local_reference, a.lane, a.score, a.rules_version) for a in assessments] == [
        (f"REF-{m}", assessments[0].lane, assessments[0].score, assessments[0].rules_version) for m in range(3)]
    assert {d.channel for d in Declaration.objects.all()} == {assessments[0].lane}
    channel_events = DeclarationEvent.objects.filter(kind="channel")
    assert channel_events.count() == 3
    assert {(e.actor_label, e.reason) for e in channel_events} == {(channel_events[0].actor_label, "selectivity")}
    assert channel_events[0].actor_id is None


@pytest.mark.django_db
def test_a_chunk_whose_scoring_fails_is_replayed_one_by_one_and_scored_by_the_queue(
        clock, settings, monkeypatch, one_by_one_calls):
    # given 3 good bodies and a scorer that breaks inside the chunk's transaction
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 10
    world = world_create(bl_packages=10_000, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    for m in range(3):
        _buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"REF-{m}"))

    def broken(**kwargs):
        raise RuntimeError("bug in scoring")

    monkeypatch.setattr(risk_subscribers, "risk_assessments_create", broken)
    # when
    report = services.replay_buffered(actor=None)
    # then: the chunk (its rows and its scoring) rolled back whole; each lodged alone, scored later
    assert one_by_one_calls == ["REF-0", "REF-1", "REF-2"]
    assert (report.lodged, report.errored) == (3, 0)
    assert RiskAssessment.objects.count() == 0
    assert DeclarationEvent.objects.filter(kind="channel").count() == 0
    assert OutboxMessage.objects.filter(task_name="risk.score_declaration").count() == 3
    serials = sorted(_serial(e) for e in Declaration.objects.values_list("entry_number", flat=True))
    assert serials == [1, 2, 3]


@pytest.mark.django_db(transaction=True)
def test_two_replay_workers_on_one_backlog_lodge_each_submission_exactly_once(postgres, clock, settings):
    # given 30 buffered declarations and two replay workers with small claims and chunks
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 4
    world = world_create(bl_packages=100_000, bl_weight="99999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    subs = [_buffer(world, outage, m, body_im4(world, items=2, local_reference=f"REF-{m:02d}")) for m in range(30)]
    errors: list[BaseException] = []
    reports = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            reports.append(services.replay_buffered(actor=None, batch_size=6))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    # then: each lodged once, by one of the two, with gap-free numbers
    assert errors == []
    assert sum(r.lodged for r in reports) == 30
    assert all(r.lodged > 0 for r in reports)
    assert sorted(Declaration.objects.values_list("local_reference", flat=True)) == [f"REF-{m:02d}"
                                                                                     for m in range(30)]
    serials = sorted(_serial(e) for e in Declaration.objects.values_list("entry_number", flat=True))
    assert serials == list(range(1, 31))
    assert ReplayLedger.objects.filter(lodged=True).count() == 30
    assert WriteOff.objects.count() == 30
    assert set(BufferedSubmission.objects.values_list("status", flat=True)) == {SubmissionStatus.LODGED}
    lodged_ids = {str(pk) for pk in Declaration.objects.values_list("pk", flat=True)}
    assert {s.result["resource_id"] for s in BufferedSubmission.objects.all()} == lodged_ids
    assert len(subs) == 30


def _lodging_rows(declaration: Declaration) -> dict:
    assessment = declaration.assessments.get()
    eslip = declaration.eslips.get()
    notice = Notification.objects.get(kind="accepted", declaration_id=declaration.pk)
    return {
        "header": {f: getattr(declaration, f) for f in (
            "status", "regime", "cpc", "office_id", "trader_id", "bill_of_lading_id", "importer_pin", "currency",
            "invoice_amount", "exchange_rate", "late_entry", "payment_due_date", "lodged_at", "version",
            "etag_version", "body", "created_by_id")},
        "items": list(DeclarationItem.objects.filter(declaration=declaration).order_by("line_no").values(
            "line_no", "hs_code", "packages", "gross_weight_kg", "net_weight_kg", "customs_value",
            "customs_value_kes", "origin_country", "vehicle")),
        "assessment": {f: getattr(assessment, f) for f in (
            "version", "rate_date", "exchange_rate", "exchange_rate_date", "import_duty", "excise_duty", "vat",
            "idf", "rdl", "penalties", "fees", "total")},
        "lines": list(AssessmentLine.objects.filter(assessment=assessment).order_by("id").values(
            "line_no", "tax", "base", "rule", "amount", "legal_basis", "exchange_rates")),
        "eslip": (eslip.amount, eslip.due_date, eslip.is_current, eslip.secured_by,
                  eslip.reference == f"ES{declaration.pk.hex[:12].upper()}01"),
        "events": [(e.kind, e.from_status, e.to_status, e.reason, e.actor_id, e.actor_label,
                    {k: v for k, v in e.payload.items() if k != "eslip"})
                   for e in DeclarationEvent.objects.filter(declaration=declaration).order_by("id")],
        "events_chain_ok": DeclarationEvent.objects.filter(declaration=declaration).order_by("id").first().prev_hash,
        "version": list(declaration.versions.values("number", "snapshot", "reason", "created_by_id")),
        "writeoff": list(WriteOff.objects.filter(declaration_id=declaration.pk).values(
            "bill_of_lading_id", "packages", "gross_weight_kg", "status", "created_by_id")),
        "notice": (notice.subject.split(":", 1)[1], {k: v for k, v in notice.payload.items()
                                                      if k not in ("declaration_id", "entry_number",
                                                                   "eslip_reference")},
                   notice.created_by_id),
    }


@pytest.mark.django_db
def test_a_replayed_declaration_equals_one_lodged_over_http_with_the_same_body(clock, settings, one_by_one_calls):
    # given one body (20 items, USD) lodged over HTTP at R, and the same body buffered with receipt time R
    world = world_create(bl_packages=10_000, bl_weight="9999999.000")
    body = body_im4(world, items=20, local_reference="SAME-1", freight_amount="120.00", insurance_amount="15.50")
    received = T0 + dt.timedelta(minutes=7)
    clock.set(received)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    http = api.post("/api/v1/declarations", body, format="json")
    assert http.status_code == 201, http.json()
    assert score_declarations_batch([http.json()["id"]]) == {"scored": 1, "ready_for_clearance": 0}  # the queue
    submission = BufferedSubmissionFactory(agent=world.staff.user, received_at=received,
                                           body=json.dumps(body).encode())
    # when (later) it is replayed
    clock.set(received + 3 * H)
    report = services.replay_buffered(actor=None)
    # then: through the chunk path, with the same rows as the HTTP lodging
    assert one_by_one_calls == []
    assert report.lodged == 1
    submission.refresh_from_db()
    over_http = Declaration.objects.get(pk=http.json()["id"])
    replayed = Declaration.objects.get(pk=submission.result["resource_id"])
    a, b = _lodging_rows(over_http), _lodging_rows(replayed)
    assert a == b
    assert a["assessment"]["total"] > Decimal("0")
    assert len(a["lines"]) >= 20 * 3
    assert _serial(replayed.entry_number) == _serial(over_http.entry_number) + 1
    assert over_http.channel == replayed.channel == over_http.risk_assessment.lane  # scored in the chunk


@pytest.mark.django_db
def test_a_bill_of_lading_running_out_mid_chunk_rejects_only_the_declaration_it_cannot_take(
        clock, settings, one_by_one_calls):
    # given a B/L with packages for two 3-item declarations (1 + 2 + 3 = 6 packages each), and three
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 10
    world = world_create(bl_packages=13, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    subs = [_buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"REF-{m}")) for m in range(3)]
    # when
    report = services.replay_buffered(actor=None)
    # then: the first two (priority order) are lodged, the third is refused by the B/L, nothing of it kept
    assert one_by_one_calls == []
    assert (report.lodged, report.rejected) == (2, 1)
    assert sorted(Declaration.objects.values_list("local_reference", flat=True)) == ["REF-0", "REF-1"]
    assert sorted(_serial(e) for e in Declaration.objects.values_list("entry_number", flat=True)) == [1, 2]
    third = BufferedSubmission.objects.get(pk=subs[2].pk)
    assert third.status == SubmissionStatus.REJECTED
    assert [(e["code"], e["pointer"]) for e in third.result["errors"]] == [("bl_quantity_exceeded",
                                                                             "/bill_of_lading")]
    bl = BillOfLading.objects.get(pk=world.bl.pk)
    assert (bl.packages_reserved, WriteOff.objects.count()) == (12, 2)
    assert DeclarationItem.objects.count() == 2 * ITEMS


@pytest.mark.django_db
def test_a_chunk_whose_bills_all_fit_locks_them_only_after_its_rows_are_written(clock, settings, one_by_one_calls):
    # given 3 declarations on a bill with room for all
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 10
    world = world_create(bl_packages=10_000, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    for m in range(3):
        _buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"REF-{m}"))
    # when
    with CaptureQueriesContext(connection) as queries:
        report = services.replay_buffered(actor=None)
    # then: the bill is locked after the assessments are written (not for the whole transaction),
    # before the trader and entry-number counters (the lock order of one lodging)
    sql = [q["sql"] for q in queries.captured_queries]
    bill_lock = next(i for i, q in enumerate(sql) if '"manifests_billoflading"' in q and "FOR UPDATE" in q)
    assessments = next(i for i, q in enumerate(sql) if q.startswith('INSERT INTO "declarations_assessment"'))
    counter = next(i for i, q in enumerate(sql) if "declarations_entrynumbercounter" in q)
    assert assessments < bill_lock < counter
    assert (report.lodged, one_by_one_calls) == (3, [])
    bl = BillOfLading.objects.get(pk=world.bl.pk)
    assert (bl.packages_reserved, WriteOff.objects.count()) == (3 * 6, 3)


@pytest.mark.django_db
def test_a_bill_taken_by_another_lodging_after_the_check_rolls_the_chunk_back_to_one_by_one(
        clock, settings, monkeypatch, one_by_one_calls):
    # given a B/L with room for two of three declarations, and the unlocked check answering "fits"
    # (as it would have before another lodging took the room)
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 10
    world = world_create(bl_packages=13, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    subs = [_buffer(world, outage, m, body_im4(world, items=ITEMS, local_reference=f"REF-{m}")) for m in range(3)]
    monkeypatch.setattr(bulk_lodging, "writeoff_fresh_many_fit", lambda reservations: True)
    # when
    report = services.replay_buffered(actor=None)
    # then: the chunk rolled back whole; one by one, the third is refused by the bill
    assert one_by_one_calls == ["REF-0", "REF-1", "REF-2"]
    assert (report.lodged, report.rejected, report.errored) == (2, 1, 0)
    assert sorted(_serial(e) for e in Declaration.objects.values_list("entry_number", flat=True)) == [1, 2]
    third = BufferedSubmission.objects.get(pk=subs[2].pk)
    assert [e["code"] for e in third.result["errors"]] == ["bl_quantity_exceeded"]
    bl = BillOfLading.objects.get(pk=world.bl.pk)
    assert (bl.packages_reserved, WriteOff.objects.count()) == (12, 2)
    assert DeclarationItem.objects.count() == 2 * ITEMS


def _structurally_bad_bodies(world) -> list[dict]:
    """Bodies whose problems the compiled validation path hands to DRF: types, blanks, unknown
    fields, lengths, formats, nested vehicle and document fields, control characters, precision."""
    bodies = []
    header_changes: list[dict[str, Any]] = [
        {"invoice_amount": 12.5, "cpc": 4000000, "local_reference": ["x"]},
        {"office": " mba", "colour": "red"},
        {"currency": ""},
        {"items": []},
    ]
    for n, change in enumerate(header_changes):
        body = body_im4(world, items=2, local_reference=f"BAD-H{n}")
        body.update(change)
        bodies.append(body)
    item_changes: list[tuple[int, dict[str, Any]]] = [
        (0, {"packages": "3", "gross_weight_kg": True}),
        (1, {"hs_code": "8703.22", "description": "x" * 501}),
        (0, {"net_weight_kg": "1.2345", "customs_value": "1e5"}),
        (1, {"description": "Item\u0007one", "origin_country": "jp", "size": 3}),
        (0, {"vehicle": {**item(0)["vehicle"], "fuel": "steam", "year_of_manufacture": "2020"}}),
    ]
    for n, (index, change) in enumerate(item_changes):
        body = body_im4(world, items=2, local_reference=f"BAD-I{n}")
        body["items"][index] = {**body["items"][index], **change}
        bodies.append(body)
    return bodies


@pytest.mark.django_db
def test_structurally_bad_bodies_are_rejected_by_the_chunk_with_the_problems_http_lodging_reports(
        clock, settings, one_by_one_calls):
    # given bodies with structural problems and one valid body with odd but accepted values
    # (surrounding blanks, an amount as a JSON integer, a non-ASCII description), all buffered
    settings.CONTINGENCY_REPLAY_CHUNK_SIZE = 20
    world = world_create(bl_packages=10_000, bl_weight="9999999.000")
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 + H, status="ended")
    bad = _structurally_bad_bodies(world)
    odd_good = body_im4(world, items=2, local_reference=" ODD-GOOD ", invoice_amount=1000)
    odd_good["items"][1] = {**odd_good["items"][1], "description": "  Kahawa \u2615 caf\u00e9  ", "packages": 2}
    subs = [_buffer(world, outage, m, body) for m, body in enumerate([*bad, odd_good], start=1)]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    clock.set(T0 + 2 * H)
    expected = []
    for body in bad:
        http = api.post("/api/v1/declarations", body, format="json")
        assert http.status_code == 400, http.json()
        expected.append(http.json()["errors"])
    # when
    report = services.replay_buffered(actor=None)
    # then: decided by the chunk, each bad one with exactly HTTP's problem list
    assert one_by_one_calls == []
    assert (report.lodged, report.rejected) == (1, len(bad))
    for sub, errors in zip(subs, expected, strict=False):
        sub.refresh_from_db()
        assert sub.status == SubmissionStatus.REJECTED
        assert sub.result["errors"] == errors
    good = subs[-1]
    good.refresh_from_db()
    assert good.status == SubmissionStatus.LODGED
    declaration = Declaration.objects.get(pk=good.result["resource_id"])
    assert declaration.local_reference == "ODD-GOOD"
    assert declaration.invoice_amount == Decimal("1000.00")
    descriptions = list(DeclarationItem.objects.filter(declaration=declaration).order_by("line_no")
                        .values_list("description", flat=True))
    assert descriptions[1] == "Kahawa \u2615 caf\u00e9"
