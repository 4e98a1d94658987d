"""Scoring stored with the declaration (the channel, the hits officers see), idempotence, the
facts read from the database, AEO benefits, and the hand-off to clearance: the scoring
transaction publishes `declarations.scored` and writes no clearance work itself (services and
task bodies called in-process; the real-worker tests are in test_worker.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core import clock, events
from core.events import Event
from declarations.models import DeclarationEvent
from risk import tasks as risk_tasks
from risk.models import RiskAssessment
from risk.services import risk_assessment_create
from tests.factories.risk import ReferencePriceFactory, RiskRuleFactory, declaration_make
from tests.factories.traders import AEOProfileFactory, ClearingAgentFactory, TraderFactory

from .conftest import LANE_HS

pytestmark = pytest.mark.django_db


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


@pytest.fixture
def scored_events():
    received: list[dict] = []

    def listener(**payload):
        received.append(payload)

    events.subscribe(Event.DECLARATIONS_SCORED, listener)
    yield received
    events.unsubscribe(Event.DECLARATIONS_SCORED, listener)


def test_scoring_announces_every_declaration_with_a_selectivity_and_whether_it_is_ready(lane_rules, scored_events):
    # given: one paid, one not yet paid, one cancelled (not scorable)
    paid, assessed = _declaration("green"), _declaration("red", status="assessed")
    cancelled = _declaration("red", status="cancelled")
    # when: scored in one batch, then again (a redelivered message)
    first = risk_tasks.score_declarations_batch([str(paid.pk), str(assessed.pk), str(cancelled.pk)])
    again = risk_tasks.score_declaration(str(paid.pk))
    # then: one event per call, naming only the scored ones; a redelivery announces the stored one again
    assert first == {"scored": 2, "ready_for_clearance": 1}
    assert (again["created"], again["ready_for_clearance"]) == (False, True)
    assert len(scored_events) == 2
    announced = {o.declaration_id: o.ready_for_clearance for o in scored_events[0]["outcomes"]}
    assert announced == {str(paid.pk): True, str(assessed.pk): False}
    assert [o.declaration_id for o in scored_events[1]["outcomes"]] == [str(paid.pk)]


def test_nothing_scored_announces_nothing(scored_events):
    cancelled = _declaration("red", status="cancelled")
    risk_tasks.score_declaration(str(cancelled.pk))
    assert scored_events == []
