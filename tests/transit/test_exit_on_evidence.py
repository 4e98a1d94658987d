"""Exit on evidence: a movement closes only when the partner confirmed the exit, every seal of every
container reached the exit post (or an officer accepted it with a reason), no tamper/deviation/
too-fast alert is live, and the confirmation is not dated before departure. Events received before
departure wait and are applied in order once the goods depart. The bond is demanded when the
movement fails."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.exceptions import Conflict, ValidationFailed
from declarations.models import Declaration
from notifications.models import Notification
from tests.factories.transit import partner_message_bytes, tracking_event_body
from tests.transit.conftest import arrive, lodge, release, seals_of
from tests.transit.test_partner_exchange import send
from transit.models import BondLedger, PartnerMessage, RegionalBond, TrackingEvent, TransitAlert, TransitMovement
from transit.selectors import transit_officer_queue
from transit.services import (
    alert_acknowledge,
    alert_investigate,
    alert_resolve,
    bond_demand,
    transit_seals_override,
)

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/transit/tracking-events"


@pytest.fixture
def moving(world, bond, frozen):
    return release(lodge(world))


def _state(movement, bond):
    m = TransitMovement.objects.get(pk=movement.pk)
    return (m.status, RegionalBond.objects.get(pk=bond.pk).balance,
            Declaration.objects.get(pk=m.declaration_id).status)


def test_one_seal_of_two_at_the_exit_holds_the_confirmed_exit_until_the_second_arrives(moving, bond, frozen):
    # given only the first container's seal reported at Malaba
    first, second = seals_of(moving)
    arrive(moving, frozen, seals=[first])

    # when URA confirms the exit
    response = send(partner_message_bytes(movement_id=moving.pk))

    # then the confirmation is recorded but the movement stays open with its bond reserved
    assert response.status_code == 201
    assert response.json()["effects"] == ["exit_confirmed", "exit_held", "seals_missing:1"]
    assert _state(moving, bond) == ("in_transit", Decimal("317000.00"), "released")
    assert TransitMovement.objects.get(pk=moving.pk).exit_confirmed_at is not None

    # when the second seal reports at Malaba
    arrive(moving, frozen, seals=[second])

    # then the evidence is complete: closed, bond whole, declaration exited
    assert _state(moving, bond) == ("closed", Decimal("1000000.00"), "exited")
    event = TrackingEvent.objects.get(seal__seal_number=second, kind="arrival_at_exit")
    assert event.result["effects"][-2:] == ["arrived_at_exit", "movement_closed"]


def test_an_open_tamper_alert_holds_the_bond_and_keeps_the_movement_in_the_queue(moving, bond, frozen,
                                                                                  tracking_client):
    # given a tamper alert at Mariakani, then both seals at Malaba and URA's confirmation
    frozen.advance(hours=2)
    tracking_client.post(EVENTS, tracking_event_body(seals_of(moving)[0], "tamper_alert", frozen.value,
                                                     place="Mariakani", lat="-3.8622", lon="39.4731"), format="json")
    arrive(moving, frozen)
    response = send(partner_message_bytes(movement_id=moving.pk))

    # then the exit is held by the alert: not closed, bond reserved, still in the officer queue
    assert response.json()["effects"] == ["exit_confirmed", "exit_held", "alert_open:tamper"]
    assert _state(moving, bond) == ("arrived_at_exit", Decimal("317000.00"), "released")
    row = next(r for r in transit_officer_queue() if r.movement_id == moving.pk)
    assert row.open_alerts == 1

    # when an officer works the alert: acknowledge, investigate, resolve with a reason
    alert = TransitAlert.objects.get(movement=moving, kind="tamper")
    alert_acknowledge(alert_id=alert.pk, actor=None)
    alert_investigate(alert_id=alert.pk, actor=None, note="truck stopped at Malaba yard")
    with pytest.raises(ValidationFailed) as blank:
        alert_resolve(alert_id=alert.pk, resolution="  ", actor=None)
    assert blank.value.errors[0].code == "reason_required"
    assert TransitAlert.objects.get(pk=alert.pk).status == "investigating"
    alert_resolve(alert_id=alert.pk, resolution="seals and goods checked at Malaba: intact", actor=None)

    # then the movement closes and the bond is whole
    assert _state(moving, bond) == ("closed", Decimal("1000000.00"), "exited")
    reasons = list(moving.events.filter(payload__alert_id=str(alert.pk)).values_list("reason", flat=True))
    assert reasons == ["alert tamper opened", "alert tamper acknowledged",
                       "alert tamper investigating: truck stopped at Malaba yard",
                       "alert tamper resolved: seals and goods checked at Malaba: intact"]
    with pytest.raises(Conflict):
        alert_resolve(alert_id=alert.pk, resolution="again", actor=None)


def test_a_route_deviation_opens_a_blocking_alert(moving, bond, frozen, tracking_client):
    frozen.advance(hours=3)
    response = tracking_client.post(EVENTS, tracking_event_body(seals_of(moving)[0], "route_deviation",
                                                                frozen.value, place="Kitui road"), format="json")
    arrive(moving, frozen)
    confirmation = send(partner_message_bytes(movement_id=moving.pk))

    assert response.json()["effects"] == ["state_advanced", "alert_opened"]
    assert confirmation.json()["effects"] == ["exit_confirmed", "exit_held", "alert_open:deviation"]
    assert _state(moving, bond)[0] == "arrived_at_exit"


def test_a_one_second_mombasa_malaba_trip_opens_a_too_fast_alert_and_cannot_close(moving, bond, frozen):
    # when both seals report at Malaba one second after departure and URA confirms
    arrived = arrive(moving, frozen, hours=1 / 3600)
    response = send(partner_message_bytes(movement_id=moving.pk))

    # then one too-fast alert (counted per report), and the exit is held by it
    alert = TransitAlert.objects.get(movement=moving)
    assert (alert.kind, alert.status, alert.occurrences) == ("too_fast", "open", 3)
    assert "MBA -> MAL in 0:00:01" in alert.detail
    assert "at least 12:00:00" in alert.detail
    assert arrived.status == "arrived_at_exit"
    assert response.json()["effects"] == ["exit_confirmed", "alert_opened:too_fast", "exit_held",
                                          "alert_open:too_fast"]
    assert _state(moving, bond) == ("arrived_at_exit", Decimal("317000.00"), "released")


def test_the_minimum_journey_is_configurable_per_route(moving, bond, frozen, settings):
    settings.TRANSIT_MIN_JOURNEY_MINUTES = {"MBA:MAL": 30, "*": 600}

    arrive(moving, frozen, hours=1)
    response = send(partner_message_bytes(movement_id=moving.pk))

    assert response.json()["effects"] == ["exit_confirmed", "movement_closed", "bond_released"]
    assert not TransitAlert.objects.exists()


def test_an_exit_confirmation_dated_before_departure_is_refused_and_changes_nothing(moving, bond, frozen):
    arrive(moving, frozen)
    before = _state(moving, bond)

    response = send(partner_message_bytes(movement_id=moving.pk,
                                          occurred_at=moving.departed_at - dt.timedelta(minutes=5)))

    assert (response.status_code, response.json()["code"]) == (400, "confirmed_before_departure")
    assert response.json()["errors"][0]["pointer"] == "/occurred_at"
    assert response.json()["departed_at"] == moving.departed_at.astimezone(dt.UTC).isoformat()
    assert _state(moving, bond) == before
    assert TransitMovement.objects.get(pk=moving.pk).exit_confirmed_at is None
    assert not PartnerMessage.objects.filter(direction="inbound").exists()


def test_events_before_departure_wait_and_are_applied_in_order_once_the_goods_depart(world, bond, frozen,
                                                                                       tracking_client):
    # given a lodged (not yet released) movement that receives two events out of order
    movement = lodge(world)
    seal = seals_of(movement)[0]
    t0 = frozen.value
    frozen.advance(minutes=30)
    later = tracking_client.post(EVENTS, tracking_event_body(seal, "departure", t0 + dt.timedelta(minutes=20),
                                                             event_id="EV-B"), format="json")
    earlier = tracking_client.post(EVENTS, tracking_event_body(seal, "armed", t0 + dt.timedelta(minutes=10),
                                                               event_id="EV-A"), format="json")

    # then both are stored, deferred, and nothing moved
    for response in (later, earlier):
        assert response.status_code == 201
        assert (response.json()["applied"], response.json()["deferred"]) == (False, True)
        assert response.json()["effects"] == ["stored_until_departure"]
        assert response.json()["movement_status"] == "lodged"
    assert TransitMovement.objects.get(pk=movement.pk).tracking_state == ""

    # when the release order departs the movement
    departed = release(movement)

    # then the events are applied in event order, the later one is the state
    assert (departed.status, departed.tracking_state, departed.last_event_id) == ("in_transit", "departure",
                                                                                   "EV-B")
    a, b = TrackingEvent.objects.get(event_id="EV-A"), TrackingEvent.objects.get(event_id="EV-B")
    assert (a.deferred, a.applied, a.result["effects"]) == (False, True, ["applied_after_departure",
                                                                          "state_advanced"])
    assert (b.deferred, b.applied, b.result["effects"]) == (False, True, ["applied_after_departure",
                                                                          "state_advanced"])


def test_an_arrival_reported_before_departure_does_not_strand_the_movement(world, bond, frozen, tracking_client):
    # given both seals report "arrival at exit" while the movement is still lodged
    movement = lodge(world)
    for seal in seals_of(movement):
        tracking_client.post(EVENTS, tracking_event_body(seal, "arrival_at_exit", frozen.value), format="json")
    assert TransitMovement.objects.get(pk=movement.pk).status == "lodged"

    # when released
    frozen.advance(minutes=5)
    departed = release(movement)

    # then the arrival is applied after departure: at the exit, but impossibly fast, so an alert
    assert departed.status == "arrived_at_exit"
    assert TransitAlert.objects.get(movement=movement).kind == "too_fast"


def test_an_officer_accepts_the_exit_with_a_seal_missing_giving_a_reason(moving, bond, frozen, world):
    first, _second = seals_of(moving)
    arrive(moving, frozen, seals=[first])
    send(partner_message_bytes(movement_id=moving.pk))

    with pytest.raises(ValidationFailed) as blank:
        transit_seals_override(movement_id=moving.pk, reason="", actor=world.user)
    assert blank.value.errors[0].code == "reason_required"
    assert _state(moving, bond)[0] == "in_transit"

    transit_seals_override(movement_id=moving.pk, reason="seal KE-ES battery dead; container sighted at Malaba",
                           actor=world.user)

    movement = TransitMovement.objects.get(pk=moving.pk)
    assert _state(moving, bond) == ("closed", Decimal("1000000.00"), "exited")
    assert movement.seals_override_by_id == world.user.pk
    event = movement.events.get(to_status="arrived_at_exit")
    assert event.reason.startswith("exit accepted by officer: seal KE-ES battery dead")
    assert event.payload == {"seals_not_reported": [_second]}
    assert event.actor_id == world.user.pk


def test_a_failed_movement_makes_the_secured_amount_payable_on_the_bond(moving, bond, frozen, world,
                                                                        tracking_client):
    # given a tamper alert and a movement that never reached Malaba
    tracking_client.post(EVENTS, tracking_event_body(seals_of(moving)[0], "tamper_alert", frozen.value),
                         format="json")
    frozen.advance(days=9)

    # when the supervisor demands the security
    entry = bond_demand(movement_id=moving.pk, reason="goods diverted at Athi River; seal found cut",
                        actor=world.user)

    # then the ledger records the demand, the face value is drawn down, the free balance unchanged
    fresh = RegionalBond.objects.get(pk=bond.pk)
    assert (entry.kind, entry.amount, entry.balance_after) == ("demand", Decimal("683000.00"), Decimal("317000.00"))
    assert (fresh.amount, fresh.balance) == (Decimal("317000.00"), Decimal("317000.00"))
    assert list(BondLedger.objects.filter(bond=bond).values_list("kind", "amount", "balance_after")) == [
        ("reserve", Decimal("683000.00"), Decimal("317000.00")), ("demand", Decimal("683000.00"), Decimal("317000.00"))]
    movement = TransitMovement.objects.get(pk=moving.pk)
    assert (movement.status, movement.failed_at) == ("failed", frozen.value)
    assert not TransitAlert.objects.filter(movement=moving).exclude(status="resolved").exists()
    assert not movement.seals.filter(is_active=True).exists()
    notice = Notification.objects.filter(agent=world.agent, kind="transit").last()
    assert notice.subject == (f"{moving.declaration.entry_number}: transit failed; KES 683000.00 secured by bond "
                              f"{bond.number} is now payable (goods diverted at Athi River; seal found cut)")
    assert notice.payload["amount_payable"] == "683000.00"

    # and nothing can release or demand it again; a late partner confirmation changes nothing
    with pytest.raises(Conflict) as again:
        bond_demand(movement_id=moving.pk, reason="twice", actor=world.user)
    assert again.value.code == "movement_not_en_route"
    late = send(partner_message_bytes(movement_id=moving.pk))
    assert (late.status_code, late.json()["effects"]) == (201, ["movement_failed"])
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("317000.00")
    assert BondLedger.objects.filter(movement=moving, kind="release").count() == 0


def test_a_bond_cannot_be_demanded_before_departure(world, bond, frozen):
    movement = lodge(world)

    with pytest.raises(Conflict) as refused:
        bond_demand(movement_id=movement.pk, reason="not yet", actor=None)

    assert refused.value.code == "movement_not_en_route"
    assert not BondLedger.objects.filter(kind="demand").exists()


def test_api_times_are_utc_like_the_rest_of_the_api(moving, frozen, tracking_client):
    eat = dt.timezone(dt.timedelta(hours=3))
    at = frozen.value.astimezone(eat)

    response = tracking_client.post(EVENTS, tracking_event_body(seals_of(moving)[0], "checkpoint_passed", at),
                                    format="json")

    body = response.json()
    assert body["occurred_at"] == frozen.value.astimezone(dt.UTC).isoformat()
    assert body["occurred_at"].endswith("+00:00")
    assert body["last_event_at"].endswith("+00:00")
    assert body["received_at"].endswith("+00:00")
