"""Side effects of a declaration's life go through one registry (`core.events`): each subscriber
is wired once in its app's `ready()`, delivered once per change, inside the change's transaction
(nothing of it survives a rollback)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from clearance.models import OfficerTask
from core import events
from core.events import Event
from core.models import OutboxMessage
from core.outbox import outbox_enqueue
from declarations.services import declaration_lock, declaration_transition_locked
from tests.factories.declarations import World
from tests.factories.transit import RegionalBondFactory, transit_world
from tests.transit.conftest import lodge
from transit.models import BondLedger, PartnerMessage, RegionalBond, TransitMovement

# Who listens to what: the whole list (README "Architecture", "Side effects").
EXPECTED_WIRING = {
    "declaration.lodged": ["transit.subscribers.on_declaration_lodged"],
    "declaration.registered": ["transit.subscribers.on_declaration_registered"],
    "declaration.status_changed": [
        "manifests.subscribers.on_declaration_status_changed",
        "clearance.subscribers.on_declaration_status_changed",
        "transit.subscribers.on_declaration_status_changed",
    ],
    "declaration.status_sections": ["transit.subscribers.on_declaration_status_sections"],
    "declaration.validating": ["transit.subscribers.on_declaration_validating"],
    "declarations.score_now": ["risk.subscribers.on_declarations_score_now"],
    "declarations.scored": ["clearance.subscribers.on_declarations_scored"],
}


class Recorder:
    """A subscriber that counts its deliveries and writes an outbox row (after-commit work)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **payload: Any) -> None:
        self.calls.append(payload)
        outbox_enqueue(task_name="tests.recorded", kwargs={"to": payload["to_status"]})


@pytest.fixture
def recorder() -> Any:
    handler = Recorder()
    events.subscribe(Event.DECLARATION_STATUS_CHANGED, handler)
    yield handler
    events.unsubscribe(Event.DECLARATION_STATUS_CHANGED, handler)


@pytest.fixture
def world(db: None) -> World:
    return transit_world(containers=2)


@pytest.fixture
def bond(world: World) -> RegionalBond:
    return RegionalBondFactory(principal_agent=world.agent, amount=Decimal("1000000.00"))


def _move(declaration_id: Any, to_status: str, actor: Any = None) -> None:
    with transaction.atomic():
        declaration_transition_locked(declaration=declaration_lock(declaration_id), to_status=to_status,
                                      actor=actor, reason="test")


def test_each_side_effect_is_subscribed_once_in_one_place() -> None:
    # when / then: the apps' ready() wired exactly the documented subscribers, each once
    assert events.subscriptions() == EXPECTED_WIRING


def test_a_name_outside_the_catalogue_cannot_be_subscribed() -> None:
    with pytest.raises(ValueError, match=r"declaration\.paid"):
        events.subscribe("declaration.paid", lambda **_: None)
    assert "declaration.paid" not in events.subscriptions()


@pytest.mark.django_db(transaction=True)
def test_a_state_event_outside_a_transaction_is_refused(recorder: Recorder) -> None:
    # when / then: a change must be announced inside its own transaction
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.publish(Event.DECLARATION_STATUS_CHANGED, declaration=None, from_status="a", to_status="b", actor=None)
    assert recorder.calls == []


def test_a_handler_subscribed_twice_is_delivered_once(recorder: Recorder, world: World, bond: RegionalBond) -> None:
    # given: ready() run again (the same handler registered a second time)
    events.subscribe(Event.DECLARATION_STATUS_CHANGED, recorder)
    movement = lodge(world)
    # when
    _move(movement.declaration_id, "cancelled")
    # then
    assert [(c["from_status"], c["to_status"]) for c in recorder.calls] == [("assessed", "cancelled")]
    assert OutboxMessage.objects.filter(task_name="tests.recorded").count() == 1


def test_cancelling_an_im8_declaration_frees_its_bond_exactly_once(world: World, bond: RegionalBond) -> None:
    # given: a lodged IM8 declaration whose movement holds a bond reservation
    movement = lodge(world)
    # when: the owner changes the status (transit is not called by name: it subscribes)
    _move(movement.declaration_id, "cancelled")
    # then: the movement is cancelled and the reservation released once
    assert TransitMovement.objects.get(pk=movement.pk).status == "cancelled"
    assert list(BondLedger.objects.filter(bond=bond).values_list("kind", "balance_after")) == [
        ("reserve", Decimal("317000.00")), ("release", Decimal("1000000.00"))]
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")


def test_a_rolled_back_cancellation_leaves_no_side_effect(recorder: Recorder, world: World,
                                                          bond: RegionalBond) -> None:
    # given
    movement = lodge(world)
    # when: the cancellation's transaction fails after the event was delivered
    def cancel_then_fail() -> None:
        with transaction.atomic():
            declaration_transition_locked(declaration=declaration_lock(movement.declaration_id),
                                          to_status="cancelled", actor=None, reason="test")
            raise RuntimeError("a later step failed")

    with pytest.raises(RuntimeError, match="later step failed"):
        cancel_then_fail()
    # then: the subscribers ran (once) but nothing they wrote survived
    assert len(recorder.calls) == 1
    assert TransitMovement.objects.get(pk=movement.pk).status == "lodged"
    assert list(BondLedger.objects.filter(bond=bond).values_list("kind", flat=True)) == ["reserve"]
    assert not OutboxMessage.objects.filter(task_name="tests.recorded").exists()


def test_release_departs_the_movement_once_with_one_partner_message(world: World, bond: RegionalBond) -> None:
    # given
    movement = lodge(world)
    # when
    _move(movement.declaration_id, "released")
    # then: transit's release subscriber ran once: in transit, one message to the destination state
    movement.refresh_from_db()
    assert movement.status == "in_transit"
    assert PartnerMessage.objects.filter(movement=movement, direction="outbound").count() == 1


def test_cancelling_under_control_closes_the_officer_task_once(world: World, bond: RegionalBond) -> None:
    # given: a declaration under control with its open officer task
    movement = lodge(world)
    _move(movement.declaration_id, "under_control")
    task = OfficerTask.objects.create(declaration_id=movement.declaration_id, queue="documentary_check",
                                      lane="yellow", priority=False, created_at=movement.lodged_at)
    # when
    _move(movement.declaration_id, "cancelled")
    # then
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("done", "cancelled")
    assert TransitMovement.objects.get(pk=movement.pk).status == "cancelled"
