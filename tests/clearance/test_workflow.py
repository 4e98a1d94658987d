"""Scoring stored with the declaration, lane -> clearance path, officer decisions, release orders,
SLA escalation and statistics (services and task bodies called in-process; the real-worker
tests are in test_worker.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
from declarations.models import Declaration, DeclarationEvent
from notifications.models import Notification
from risk import tasks as risk_tasks
from risk.models import RiskAssessment
from risk.services import risk_assessment_create
from tests.factories.risk import ReferencePriceFactory, RiskRuleFactory, declaration_make
from tests.factories.traders import AEOProfileFactory, ClearingAgentFactory, TraderFactory

from .conftest import LANE_HS

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return get_user_model().objects.create_user(username="officer1", password="x", is_staff=True)


def _declaration(lane: str, status: str = "paid", **kwargs):
    return declaration_make(status=status, items=[{"hs_code": LANE_HS[lane]}], **kwargs)


def test_scoring_stores_assessment_sets_channel_and_hides_nothing_from_officers(lane_rules):
    # given
    declaration = _declaration("yellow", status="assessed")
    version_before = declaration.etag_version
    # when
    outcome = risk_assessment_create(declaration_id=declaration.pk)
    # then
    declaration.refresh_from_db()
    assessment = RiskAssessment.objects.get(declaration=declaration)
    assert (outcome.created, assessment.lane, assessment.score, declaration.channel) == (True, "yellow", 60, "yellow")
    assert assessment.hits == [
        {
            "rule_id": lane_rules["yellow"].pk,
            "kind": "hs_match",
            "weight": 60,
            "forced_lane": None,
            "reason": "hs match: item 1 HS 0201.10.00 matches 02",
        }
    ]
    assert declaration.etag_version == version_before + 1
    assert declaration.status == "assessed"  # scoring alone never moves the status
    assert len(assessment.rules_version) == 16


def test_scoring_is_idempotent(lane_rules):
    declaration = _declaration("red", status="assessed")
    first = risk_assessment_create(declaration_id=declaration.pk)
    RiskRuleFactory(code="late", kind="trader_no_history", weight=5)  # the rule set changes meanwhile
    second = risk_assessment_create(declaration_id=declaration.pk)
    assert (first.created, second.created) == (True, False)
    assert second.assessment.pk == first.assessment.pk
    assert RiskAssessment.objects.filter(declaration=declaration).count() == 1
    assert DeclarationEvent.objects.filter(declaration=declaration, kind="channel").count() == 1


def test_drafts_and_cancelled_declarations_are_not_scored(lane_rules):
    cancelled = _declaration("red", status="cancelled")
    outcome = risk_assessment_create(declaration_id=cancelled.pk)
    assert (outcome.assessment, outcome.skipped_reason) == (None, "not_scorable")
    assert not RiskAssessment.objects.exists()


def test_facts_from_the_database_trader_agent_aeo_exemption_and_reference_price():
    # given: a first-time trader (no first_declared_at), a watched agent, an exemption, a low price
    RiskRuleFactory(code="new-trader", kind="trader_no_history", weight=10)
    RiskRuleFactory(code="agent-watch", kind="agent_watch", weight=10)
    RiskRuleFactory(code="exemption", kind="claimed_exemption", weight=10)
    RiskRuleFactory(code="cheap", kind="value_per_kg_below_reference", weight=10)
    RiskRuleFactory(
        code="expired",
        kind="trader_no_history",
        weight=50,
        valid_from=clock.now() - dt.timedelta(days=10),
        valid_to=clock.now() - dt.timedelta(days=1),
    )
    RiskRuleFactory(code="inactive", kind="trader_no_history", weight=50, active=False)
    ReferencePriceFactory(hs_prefix="8703", kes_per_unit=Decimal("1000.00"))
    agent = ClearingAgentFactory(on_watch_list=True)
    declaration = declaration_make(agent=agent, items=[{"exemption": "DIPLOMATIC"}])
    # when
    assessment = risk_assessment_create(declaration_id=declaration.pk).assessment
    # then: 4 x 10 = 40 -> blue; expired and inactive rules did not count
    assert [h["kind"] for h in assessment.hits] == [
        "trader_no_history",
        "agent_watch",
        "claimed_exemption",
        "value_per_kg_below_reference",
    ]
    assert (assessment.score, assessment.lane) == (40, "blue")


def test_trader_with_history_is_not_first_time():
    RiskRuleFactory(code="new-trader", kind="trader_no_history", weight=40)
    trader = TraderFactory(first_declared_at=clock.now() - dt.timedelta(days=300), declarations_count=12)
    declaration = declaration_make(trader=trader)
    assert risk_assessment_create(declaration_id=declaration.pk).assessment.hits == []


def test_active_aeo_goes_green_with_priority_but_a_suspended_one_does_not(lane_rules):
    aeo = AEOProfileFactory()
    suspended = AEOProfileFactory(status="suspended")
    green = risk_assessment_create(declaration_id=_declaration("red", trader=aeo.trader).pk).assessment
    red = risk_assessment_create(declaration_id=_declaration("red", trader=suspended.trader).pk).assessment
    assert (green.lane, green.priority, green.aeo_applied, green.score) == ("green", True, True, 90)
    assert (red.lane, red.priority, red.aeo_applied) == ("red", False, False)


@pytest.mark.parametrize("lane", ["green", "blue"])
def test_green_and_blue_are_released_automatically_with_a_release_message(lane_rules, lane):
    # given
    declaration = _declaration(lane)
    # when: the scoring task body runs (paid already: it advances clearance itself)
    result = risk_tasks.score_declaration(str(declaration.pk))
    # then
    declaration.refresh_from_db()
    order = ReleaseOrder.objects.get(declaration=declaration)
    assert result["clearance"] == "released"
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
    risk_tasks.score_declaration(str(declaration.pk))
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
    assert risk_tasks.score_declaration(str(declaration.pk))["clearance"] == ""
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
    risk_tasks.score_declaration(str(declaration.pk))
    assert Declaration.objects.get(pk=declaration.pk).status == "under_control"


def test_advancing_twice_does_nothing_the_second_time(lane_rules):
    declaration = _declaration("green")
    risk_tasks.score_declaration(str(declaration.pk))
    assert clearance_tasks.advance_clearance(str(declaration.pk)) == "nothing_to_do"
    assert risk_tasks.score_declaration(str(declaration.pk))["clearance"] == ""
    assert ReleaseOrder.objects.count() == 1
    assert DeclarationEvent.objects.filter(declaration=declaration, to_status="released").count() == 1


def test_no_declaration_can_be_released_twice(lane_rules, officer):
    declaration = _declaration("yellow")
    risk_tasks.score_declaration(str(declaration.pk))
    declaration_release(declaration_id=declaration.pk, actor=officer)
    with pytest.raises(Conflict) as excinfo:
        declaration_release(declaration_id=declaration.pk, actor=officer)
    assert excinfo.value.code == "already_released"
    assert ReleaseOrder.objects.filter(declaration=declaration).count() == 1


def test_documentary_check_query_resume_release_and_gate_out(lane_rules, officer):
    # given
    declaration = _declaration("yellow")
    risk_tasks.score_declaration(str(declaration.pk))
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
    risk_tasks.score_declaration(str(declaration.pk))
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
    risk_tasks.score_declaration(str(declaration.pk))
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
        risk_tasks.score_declaration(str(declaration.pk))
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
        risk_tasks.score_declaration(str(d.pk))
    stats = time_to_release_stats()
    assert stats["green"].count == 3
    assert 1199 < stats["green"].median_seconds < 1260
    assert 1799 < stats["green"].p90_seconds < 1860
    assert (stats["red"].count, stats["red"].median_seconds) == (0, None)


def test_sweeper_reenqueues_stuck_declarations(lane_rules, monkeypatch):
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
    result = risk_tasks.sweep_unscored()
    assert result == {"unscored": 1, "stuck_paid": 1}
    assert sent == [
        ("risk.score_declarations_batch", {"declaration_ids": [str(stuck.pk)]}),
        ("risk.advance_clearance", {"declaration_id": str(scored_paid.pk)}),
    ]


def test_batch_scoring_scores_each_once(lane_rules):
    declarations = [_declaration(lane) for lane in ("green", "blue", "yellow", "red")]
    ids = [str(d.pk) for d in declarations]
    first = risk_tasks.score_declarations_batch(ids)
    second = risk_tasks.score_declarations_batch(ids)
    assert first == {"scored": 4, "advanced": 4}
    assert second == {"scored": 0, "advanced": 0}
    assert sorted(Declaration.objects.filter(pk__in=ids).values_list("status", flat=True)) == [
        "released",
        "released",
        "under_control",
        "under_control",
    ]


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
