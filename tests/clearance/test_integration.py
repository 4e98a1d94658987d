"""Risk and clearance wired to the real lodging and payment services of the declarations app,
the manifest write-off, pre-arrival processing, and the agent API that must never show hits."""

from __future__ import annotations

import datetime as dt

import pytest

from clearance import tasks as clearance_tasks
from clearance.models import ReleaseOrder
from core import clock
from core.models import OutboxMessage
from declarations.models import Declaration, ESlip
from declarations.services import declaration_lodge, declaration_pay
from manifests.models import BillOfLading
from risk import tasks as risk_tasks
from risk.models import RiskAssessment
from tests.factories.declarations import body_im4, world_create
from tests.factories.risk import RiskRuleFactory
from tests.factories.traders import AEOProfileFactory

pytestmark = pytest.mark.django_db


def _lodge(world, **overrides):
    return declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world, **overrides), actor=world.user)


def _pay(world, declaration):
    eslip = ESlip.objects.get(declaration=declaration, is_current=True)
    declaration_pay(
        declaration_id=declaration.pk,
        agent=world.agent,
        amount=eslip.amount,
        currency=eslip.currency,
        method="mpesa",
        actor=world.user,
    )


def _outbox(task_name: str, declaration) -> int:
    return OutboxMessage.objects.filter(task_name=task_name, kwargs={"declaration_id": str(declaration.pk)}).count()


def test_lodging_and_payment_hand_over_to_risk_and_release_settles_the_bill_of_lading():
    # given
    world = world_create(bl_packages=1)
    # when: lodged (the outbox carries the scoring task), scored, paid (the outbox carries advance)
    declaration = _lodge(world)
    scoring_messages = _outbox("risk.score_declaration", declaration)
    risk_tasks.score_declaration(str(declaration.pk))
    _pay(world, declaration)
    paid_messages = _outbox("clearance.advance", declaration)
    action = clearance_tasks.advance_clearance(str(declaration.pk))
    # then
    declaration.refresh_from_db()
    bl = BillOfLading.objects.get(pk=world.bl.pk)
    assert (scoring_messages, paid_messages, action) == (1, 1, "released")
    assert (declaration.status, declaration.channel) == ("released", "green")
    assert ReleaseOrder.objects.get(declaration=declaration).message_json["bill_of_lading"] == world.bl.number
    assert (bl.packages_reserved, bl.packages_settled, bl.status) == (0, 1, "settled")


def test_weight_mismatch_and_late_manifest_facts_come_from_the_manifest():
    # given: the B/L says 100 t, the declaration ~100 kg; the manifest was lodged late
    RiskRuleFactory(code="weight", kind="weight_mismatch", weight=30)
    RiskRuleFactory(code="late", kind="late_manifest", weight=25)
    world = world_create(bl_weight="100000.000")
    type(world.manifest).objects.filter(pk=world.manifest.pk).update(late_lodging=True)
    declaration = _lodge(world)
    # when
    risk_tasks.score_declaration(str(declaration.pk))
    # then
    assessment = RiskAssessment.objects.get(declaration=declaration)
    assert [h["kind"] for h in assessment.hits] == ["weight_mismatch", "late_manifest"]
    assert (assessment.score, assessment.lane) == (55, "yellow")
    assert "differs from the manifest's 100000.000 kg" in assessment.hits[0]["reason"]


def test_agent_api_shows_the_channel_but_never_the_hits(api_client):
    RiskRuleFactory(
        code="cars", kind="hs_match", hs_prefixes="8703", weight=90, description="Used vehicles under-valuation watch"
    )
    world = world_create()
    declaration = _lodge(world)
    risk_tasks.score_declaration(str(declaration.pk))
    response = api_client.get(f"/api/v1/declarations/{declaration.pk}", **world.auth)
    assert response.status_code == 200
    assert response.json()["channel"] == "red"
    text = response.content.decode()
    for secret in ("hits", "under-valuation", "rules_version", "risk_assessment", '"score"'):
        assert secret not in text
    history = api_client.get(f"/api/v1/declarations/{declaration.pk}/history", **world.auth).content.decode()
    assert "under-valuation" not in history
    assert "8703 (" not in history


def test_release_waits_for_arrival_unless_aeo_pre_arrival_clearance():
    # given: two green declarations, paid before the vessel arrived; one trader is an AEO
    plain = world_create(discharged_days_ago=None)
    aeo_world = world_create(discharged_days_ago=None)
    AEOProfileFactory(trader=aeo_world.trader)
    first = _lodge(plain)
    second = _lodge(aeo_world)
    for world, declaration in ((plain, first), (aeo_world, second)):
        risk_tasks.score_declaration(str(declaration.pk))
        _pay(world, declaration)
    # when
    actions = [clearance_tasks.advance_clearance(str(d.pk)) for d in (first, second)]
    # then
    assert actions == ["waiting_arrival", "released"]
    assert Declaration.objects.get(pk=first.pk).status == "paid"
    # when the vessel arrives
    type(plain.manifest).objects.filter(pk=plain.manifest.pk).update(ata=clock.now() - dt.timedelta(minutes=5))
    advanced = clearance_tasks.manifest_arrived(str(plain.manifest.pk))
    assert advanced == 1
    assert Declaration.objects.get(pk=first.pk).status == "released"
    assert ReleaseOrder.objects.count() == 2
