"""Scoring stored with the declaration, lane -> clearance path, officer decisions, release orders,
SLA escalation and statistics (services and task bodies called in-process; the real-worker
tests are in test_worker.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from clearance import tasks as clearance_tasks
from clearance.models import OfficerTask, PostClearanceAudit, ReleaseOrder
from clearance.selectors import time_to_release_stats
from clearance.services import (
    assessment_amend,
    clearance_advance,
    declaration_control_resume,
    declaration_gate_out,
    declaration_query_agent,
    declaration_reject,
    declaration_release,
    inspection_findings_record,
    inspection_request,
    officer_task_assign,
    officer_tasks_escalate,
)
from core import clock
from core.exceptions import Conflict, ValidationFailed
from core.models import OutboxMessage
from declarations.models import Declaration, DeclarationEvent
from notifications.models import Notification
from risk import tasks as risk_tasks
from risk.services import risk_assessment_create
from tests.factories.risk import declaration_make

from .conftest import LANE_HS, hand_over, score_and_hand_over

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return get_user_model().objects.create_user(username="officer1", password="x", is_staff=True)


def _declaration(lane: str, status: str = "paid", **kwargs):
    return declaration_make(status=status, items=[{"hs_code": LANE_HS[lane]}], **kwargs)


def _score(declaration) -> str:
    """Scored, then the advance handed over to clearance run; its action ("" if none was handed over)."""
    _, actions = score_and_hand_over(declaration)
    return actions[0] if actions else ""


@pytest.mark.parametrize("lane", ["green", "blue"])
def test_green_and_blue_are_released_automatically_with_a_release_message(lane_rules, lane):
    # given
    declaration = _declaration(lane)
    # when: the scoring task body runs (paid already: clearance advances it on the hand-off)
    action = _score(declaration)
    # then
    declaration.refresh_from_db()
    order = ReleaseOrder.objects.get(declaration=declaration)
    assert action == "released"
    assert (declaration.status, declaration.channel, order.lane, order.automatic) == ("released", lane, lane, True)
    assert order.number == f"RO{declaration.entry_number}"
    assert order.message_json["entry_number"] == declaration.entry_number
    assert order.message_json["channel"] == lane
    assert order.message_edifact.startswith("UNB+UNOC:3+KRAICMS+CARGOHANDLER+")
    assert "UNH+1+CUSRES:D:95B:UN'" in order.message_edifact
    assert f"BGM+962+{order.number}+9'" in order.message_edifact
    assert f"RFF+ABT:{declaration.entry_number}'" in order.message_edifact
    assert PostClearanceAudit.objects.filter(declaration=declaration).exists() is (lane == "blue")
    assert not OfficerTask.objects.exists()
    kinds = list(Notification.objects.filter(declaration_id=declaration.pk).values_list("kind", flat=True))
    assert kinds == ["released"]


@pytest.mark.parametrize(
    ("lane", "queue", "kind"),
    [("yellow", "documentary_check", "documents_required"), ("red", "inspection", "physical_control")],
)
def test_yellow_and_red_go_under_control_with_an_officer_task(lane_rules, lane, queue, kind):
    declaration = _declaration(lane)
    _score(declaration)
    declaration.refresh_from_db()
    task = OfficerTask.objects.get(declaration=declaration)
    assert declaration.status == "under_control"
    assert (task.queue, task.status, task.lane, task.priority) == (queue, "open", lane, False)
    assert not ReleaseOrder.objects.exists()
    assert list(Notification.objects.filter(declaration_id=declaration.pk).values_list("kind", flat=True)) == [kind]


def test_scored_before_payment_advances_when_payment_task_arrives(lane_rules):
    from declarations.services import declaration_transition

    # given: scored while assessed: nothing to advance yet
    declaration = _declaration("green", status="assessed")
    assert _score(declaration) == ""
    assert clearance_tasks.advance_clearance(str(declaration.pk)) == "waiting_payment"
    # when: paid, then the payment's task runs
    declaration_transition(declaration_id=declaration.pk, to_status="paid", actor=None)
    action = clearance_tasks.advance_clearance(str(declaration.pk))
    # then
    assert action == "released"
    assert ReleaseOrder.objects.filter(declaration=declaration).count() == 1


def test_paid_before_scoring_waits_for_the_score(lane_rules):
    declaration = _declaration("red")
    assert clearance_tasks.advance_clearance(str(declaration.pk)) == "waiting_score"
    assert Declaration.objects.get(pk=declaration.pk).status == "paid"
    _score(declaration)
    assert Declaration.objects.get(pk=declaration.pk).status == "under_control"


def test_advancing_twice_does_nothing_the_second_time(lane_rules):
    declaration = _declaration("green")
    _score(declaration)
    assert clearance_tasks.advance_clearance(str(declaration.pk)) == "nothing_to_do"
    assert _score(declaration) == ""
    assert ReleaseOrder.objects.count() == 1
    assert DeclarationEvent.objects.filter(declaration=declaration, to_status="released").count() == 1


def test_no_declaration_can_be_released_twice(lane_rules, officer):
    declaration = _declaration("yellow")
    _score(declaration)
    declaration_release(declaration_id=declaration.pk, actor=officer)
    with pytest.raises(Conflict) as excinfo:
        declaration_release(declaration_id=declaration.pk, actor=officer)
    assert excinfo.value.code == "already_released"
    assert ReleaseOrder.objects.filter(declaration=declaration).count() == 1


def test_documentary_check_query_resume_release_and_gate_out(lane_rules, officer):
    # given
    declaration = _declaration("yellow")
    _score(declaration)
    task = OfficerTask.objects.get(declaration=declaration)
    # when
    officer_task_assign(task_id=task.pk, officer=officer, actor=officer)
    declaration_query_agent(
        declaration_id=declaration.pk, documents=["INV", "PKL"], reason="Invoice unclear", actor=officer
    )
    queried = Declaration.objects.get(pk=declaration.pk).status
    declaration_control_resume(declaration_id=declaration.pk, actor=officer)
    order = declaration_release(declaration_id=declaration.pk, actor=officer)
    gated = declaration_gate_out(declaration_id=declaration.pk, actor=None)
    # then
    declaration.refresh_from_db()
    task.refresh_from_db()
    assert queried == "queried"
    assert declaration.status == "exited"
    assert (task.status, task.outcome, task.assigned_to) == ("done", "released", officer)
    assert (order.automatic, order.issued_by, gated.gate_out_at is not None) == (False, officer, True)
    statuses = list(
        DeclarationEvent.objects.filter(declaration=declaration, kind="transition").values_list("to_status", flat=True)
    )
    assert statuses == ["under_control", "queried", "under_control", "released", "exited"]
    query = Notification.objects.get(
        declaration_id=declaration.pk, kind="documents_required", payload__documents_required__isnull=False
    )
    assert query.payload["documents_required"] == ["INV", "PKL"]


def test_inspection_findings_and_seizure_count_an_offence(lane_rules, officer):
    declaration = _declaration("yellow")
    _score(declaration)
    inspection_request(declaration_id=declaration.pk, reason="Description vague", actor=officer)
    inspection_findings_record(
        declaration_id=declaration.pk, findings="Undeclared cartons of cigarettes", compliant=False, actor=officer
    )
    task = declaration_reject(declaration_id=declaration.pk, reason="Smuggling attempt", actor=officer, seize=True)
    declaration.refresh_from_db()
    declaration.trader.refresh_from_db()
    assert (declaration.status, declaration.channel) == ("rejected", "red")
    assert (task.queue, task.status, task.outcome) == ("inspection", "done", "seized")
    assert declaration.trader.offences_count == 1
    assert not ReleaseOrder.objects.exists()
    assert Notification.objects.filter(declaration_id=declaration.pk, kind="physical_control").count() == 1


def test_gate_out_requires_a_release(lane_rules):
    declaration = _declaration("red")
    _score(declaration)
    with pytest.raises(Conflict):
        declaration_gate_out(declaration_id=declaration.pk, actor=None)
    assert Declaration.objects.get(pk=declaration.pk).status == "under_control"


def test_cancelled_before_advance_is_not_released(lane_rules):
    declaration = _declaration("green", status="assessed")
    risk_assessment_create(declaration_id=declaration.pk)
    Declaration.objects.filter(pk=declaration.pk).update(status="cancelled")
    assert clearance_advance(declaration_id=declaration.pk).action == "nothing_to_do"
    assert not ReleaseOrder.objects.exists()


def test_unassigned_tasks_escalate_after_their_queues_sla(lane_rules, officer):
    # given: the service levels the officer pages show (documentary check 4 h, inspection 24 h)
    names = ("red_over", "red_within", "red_assigned", "yellow_over", "yellow_within", "yellow_queried")
    made = {name: _declaration("red" if name.startswith("red") else "yellow") for name in names}
    for declaration in made.values():
        _score(declaration)
    now = clock.now()
    ages = {"red_over": dt.timedelta(hours=24, minutes=1), "red_within": dt.timedelta(hours=23, minutes=59),
            "red_assigned": dt.timedelta(hours=30), "yellow_over": dt.timedelta(hours=4, minutes=1),
            "yellow_within": dt.timedelta(hours=3, minutes=59), "yellow_queried": dt.timedelta(hours=9)}
    for name, age in ages.items():
        OfficerTask.objects.filter(declaration=made[name]).update(created_at=now - age)
    officer_task_assign(task_id=OfficerTask.objects.get(declaration=made["red_assigned"]).pk, officer=officer,
                        actor=officer)
    # a query waits for the agent: the SLA clock is stopped, the task does not age into Escalated
    declaration_query_agent(declaration_id=made["yellow_queried"].pk, documents=["INV"], reason="r", actor=officer)
    # when
    first, second = officer_tasks_escalate(), officer_tasks_escalate()
    # then
    assert (first, second) == (2, 0)
    escalated = set(OfficerTask.objects.filter(escalated_at__isnull=False).values_list("declaration", flat=True))
    assert escalated == {made["red_over"].pk, made["yellow_over"].pk}
    assert all(at >= now for at in OfficerTask.objects.filter(escalated_at__isnull=False)
               .values_list("escalated_at", flat=True))


def test_time_to_release_statistics_per_lane(lane_rules, officer):
    now = clock.now()
    for minutes in (10, 20, 30):
        d = _declaration("green", lodged_at=now - dt.timedelta(minutes=minutes))
        _score(d)
    stats = time_to_release_stats()
    assert stats["green"].count == 3
    assert 1199 < stats["green"].median_seconds < 1260
    assert 1799 < stats["green"].p90_seconds < 1860
    assert (stats["red"].count, stats["red"].median_seconds) == (0, None)


def test_sweepers_reenqueue_stuck_declarations(lane_rules, monkeypatch):
    from config.celery import app

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(app, "send_task", lambda name, kwargs=None, **kw: sent.append((name, kwargs)))
    stuck = _declaration("green", status="assessed", lodged_at=clock.now() - dt.timedelta(minutes=30))
    _declaration("green", status="assessed")  # recent: the outbox is still on it
    scored_paid = _declaration("red", status="assessed", lodged_at=clock.now() - dt.timedelta(minutes=30))
    risk_assessment_create(declaration_id=scored_paid.pk)
    Declaration.objects.filter(pk=scored_paid.pk).update(
        status="paid", updated_at=clock.now() - dt.timedelta(minutes=30)
    )
    # when: risk's sweeper (unscored), then clearance's (paid and scored, not advanced)
    unscored, stalled = risk_tasks.sweep_unscored(), clearance_tasks.sweep_stalled()
    assert (unscored, stalled) == ({"unscored": 1}, {"stalled": 1})
    assert sent == [
        ("risk.score_declarations_batch", {"declaration_ids": [str(stuck.pk)]}),
        ("clearance.advance_batch", {"declaration_ids": [str(scored_paid.pk)]}),
    ]


def test_batch_scoring_scores_each_once_and_hands_the_ready_ones_to_clearance(lane_rules):
    declarations = [_declaration(lane) for lane in ("green", "blue", "yellow", "red")]
    ids = [str(d.pk) for d in declarations]
    first = risk_tasks.score_declarations_batch(ids)
    actions = hand_over()
    second = risk_tasks.score_declarations_batch(ids)
    assert first == {"scored": 4, "ready_for_clearance": 4}
    assert sorted(actions) == ["released", "released", "under_control", "under_control"]
    assert second == {"scored": 0, "ready_for_clearance": 0}
    assert hand_over() == []
    assert sorted(Declaration.objects.filter(pk__in=ids).values_list("status", flat=True)) == [
        "released",
        "released",
        "under_control",
        "under_control",
    ]


def test_a_batch_of_hand_overs_is_one_coalesced_message_and_its_task_advances_each(lane_rules):
    from core.outbox import _coalesce

    declarations = [_declaration(lane) for lane in ("green", "red")]
    risk_tasks.score_declarations_batch([str(d.pk) for d in declarations])
    rows = list(OutboxMessage.objects.filter(task_name="clearance.advance").order_by("pk"))
    [(pks, task_name, kwargs)] = _coalesce([(row.pk, row.task_name, row.kwargs) for row in rows])
    assert (sorted(pks), task_name) == (sorted(row.pk for row in rows), "clearance.advance_batch")
    result = clearance_tasks.advance_clearance_batch(**kwargs)
    assert result == {str(declarations[0].pk): "released", str(declarations[1].pk): "under_control"}


def test_assessment_amend_decides_the_pending_request_or_refuses(lane_rules, officer):
    from declarations.models import AmendmentRequest

    declaration = _declaration("yellow", status="assessed")
    with pytest.raises(Conflict) as nothing:
        assessment_amend(declaration_id=declaration.pk, actor=officer)
    with pytest.raises(ValidationFailed) as invalid:
        assessment_amend(declaration_id=declaration.pk, actor=officer, body={"items": []}, reason="value")
    request = AmendmentRequest.objects.create(
        declaration=declaration,
        base_version=1,
        body={},
        changed_fields=["/items/0/customs_value"],
        created_at=clock.now(),
    )
    decided = assessment_amend(declaration_id=declaration.pk, actor=officer, accept=False, reason="Not supported")
    request.refresh_from_db()
    assert nothing.value.code == "no_pending_amendment"
    assert [(e.pointer, e.code) for e in invalid.value.errors] == [("/items", "empty")]
    assert (decided.pk, request.status, request.decision_reason) == (request.pk, "rejected", "Not supported")


def test_the_stalled_sweeper_follows_its_own_setting_not_risks(lane_rules, monkeypatch, settings):
    from config.celery import app

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(app, "send_task", lambda name, kwargs=None, **kw: sent.append((name, kwargs)))
    # given a paid, scored declaration not advanced for 10 minutes
    stalled = _declaration("red", status="assessed", lodged_at=clock.now() - dt.timedelta(minutes=30))
    risk_assessment_create(declaration_id=stalled.pk)
    Declaration.objects.filter(pk=stalled.pk).update(status="paid", updated_at=clock.now() - dt.timedelta(minutes=10))
    advance = ("clearance.advance_batch", {"declaration_ids": [str(stalled.pk)]})

    # when clearance's limit is 15 minutes, then it is not stalled yet, whatever risk's limit says
    settings.CLEARANCE_SWEEP_STALLED_MINUTES = 15
    settings.RISK_SWEEP_UNSCORED_MINUTES = 1
    assert (clearance_tasks.sweep_stalled(), sent) == ({"stalled": 0}, [])

    # when clearance's limit is 5 minutes, then it is re-enqueued, whatever risk's limit says
    settings.CLEARANCE_SWEEP_STALLED_MINUTES = 5
    settings.RISK_SWEEP_UNSCORED_MINUTES = 60
    assert (clearance_tasks.sweep_stalled(), sent) == ({"stalled": 1}, [advance])
