"""A movement Mombasa -> Malaba -> Uganda end to end: lodging reserves the bond, release sends the
signed transit message (simulated URA acknowledges), e-seal events track it to the border, the
simulated partner confirms the exit, the movement closes and the bond is released. The bond
balance is checked exactly at every step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.models import OutboxMessage
from declarations.models import Declaration
from notifications.models import Notification
from tests.factories.traders import AEOProfileFactory
from tests.factories.transit import RegionalBondFactory, tracking_event_body, transit_payload
from tests.transit.conftest import lodge, release, seals_of
from transit.enums import MovementStatus
from transit.models import (
    BondLedger,
    PartnerDelivery,
    PartnerMessage,
    RegionalBond,
    TrackingEvent,
    TransitMovement,
)
from transit.selectors import transit_officer_queue
from transit.services import partner_message_deliver, transit_status_for
from transit.simulator import simulator_tick

URL = "/api/v1/transit/tracking-events"
pytestmark = pytest.mark.django_db


def balance(bond: RegionalBond) -> Decimal:
    return RegionalBond.objects.get(pk=bond.pk).balance


def ledger(bond: RegionalBond) -> list[tuple[str, Decimal, Decimal]]:
    return [(e.kind, e.amount, e.balance_after) for e in BondLedger.objects.filter(bond=bond).order_by("pk")]


def test_mombasa_to_malaba_end_to_end(world, bond, frozen, simulator, tracking_client):
    # given an IM8 body: Mombasa -> Malaba, destination Uganda, two containers with e-seals
    payload = transit_payload(world)

    # when it is lodged (taxes at risk KES 683,000.00)
    movement = lodge(world, payload)

    # then the movement is lodged and the bond reserved exactly
    assert movement.status == MovementStatus.LODGED
    assert (movement.office_of_entry_id, movement.office_of_exit_id, movement.destination_country) == (
        "MBA", "MAL", "UG")
    assert movement.taxes_at_risk == Decimal("683000.00")
    assert movement.amount_secured == Decimal("683000.00")
    assert balance(bond) == Decimal("317000.00")
    assert ledger(bond) == [("reserve", Decimal("683000.00"), Decimal("317000.00"))]
    assert len(seals_of(movement)) == 2

    # when the release order is issued
    departed = frozen.value
    movement = release(movement)

    # then the goods depart, due in TRANSIT_PERIOD_DAYS, and the signed message to URA is queued
    assert movement.status == MovementStatus.IN_TRANSIT
    assert movement.departed_at == departed
    assert movement.due_at == departed + dt.timedelta(days=7)
    outbound = PartnerMessage.objects.get(movement=movement, direction="outbound")
    assert (outbound.partner, outbound.kind, outbound.status) == ("UG", "transit_declaration", "pending")
    assert outbound.body["route"] == {"office_of_entry": "MBA", "office_of_exit": "MAL", "destination_country": "UG"}
    assert outbound.body["bond"] == {"number": bond.number, "amount_secured": "683000.00", "currency": "KES"}
    assert OutboxMessage.objects.filter(task_name="transit.deliver_partner_message",
                                        kwargs={"message_id": str(outbound.pk)}).count() == 1
    assert balance(bond) == Decimal("317000.00")

    # when the worker delivers it (the sandbox simulator verifies our signature and acknowledges)
    result = partner_message_deliver(message_id=outbound.pk)

    # then it is delivered, logged once, and a second run does nothing
    assert result is not None
    assert result.delivered is True
    outbound.refresh_from_db()
    assert (outbound.status, outbound.attempts) == ("delivered", 1)
    assert list(PartnerDelivery.objects.filter(message=outbound).values_list("outcome", "http_status")) == [
        ("delivered", 202)]
    assert partner_message_deliver(message_id=outbound.pk) is None

    # when the tracking system reports the journey
    seal = seals_of(movement)[0]
    journey = [
        ("armed", 0, "Mombasa CFS", "-4.043477", "39.668206"),
        ("departure", 1, "Mombasa port gate 18", "-4.045000", "39.650000"),
        ("checkpoint_passed", 9, "Nakuru weighbridge", "-0.303099", "36.080026"),
        ("arrival_at_exit", 20, "Malaba OSBP", "0.634500", "34.276400"),
    ]
    for kind, hours, place, lat, lon in journey:
        frozen.value = departed + dt.timedelta(hours=hours, minutes=5)
        response = tracking_client.post(URL, tracking_event_body(
            seal, kind, departed + dt.timedelta(hours=hours), place=place, lat=lat, lon=lon), format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["applied"] is True
        assert balance(bond) == Decimal("317000.00")

    # then one container's seal at Malaba is not the consignment: the movement is still in transit
    assert response.json()["effects"] == ["state_advanced", "seal_at_exit", "seals_missing:1"]
    assert TransitMovement.objects.get(pk=movement.pk).status == MovementStatus.IN_TRANSIT

    # when the second container's seal reports at Malaba too
    response = tracking_client.post(URL, tracking_event_body(
        seals_of(movement)[1], "arrival_at_exit", departed + dt.timedelta(hours=20, minutes=1), place="Malaba OSBP",
        lat="0.634500", lon="34.276400"), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["effects"] == ["state_advanced", "seal_at_exit", "arrived_at_exit",
                                          "simulator_confirmation_scheduled"]

    # then the movement is at the exit with its last position, and the simulated URA is due to confirm
    movement.refresh_from_db()
    assert movement.status == MovementStatus.ARRIVED_AT_EXIT
    assert movement.arrived_at_exit_at == departed + dt.timedelta(hours=20, minutes=1)
    assert (movement.tracking_state, movement.last_position_name) == ("arrival_at_exit", "Malaba OSBP")
    assert (movement.last_latitude, movement.last_longitude) == (Decimal("0.634500"), Decimal("34.276400"))
    assert movement.simulator_confirm_due_at == frozen.value
    row = next(r for r in transit_officer_queue() if r.movement_id == movement.pk)
    assert row.last_position == {"name": "Malaba OSBP", "latitude": "0.634500", "longitude": "34.276400"}
    assert row.age == dt.timedelta(hours=20, minutes=5)

    # when the simulator's tick runs, URA's signed exit confirmation comes in
    assert simulator_tick() == 1

    # then the movement is closed, the bond released to the cent, the declaration exited
    movement.refresh_from_db()
    assert movement.status == MovementStatus.CLOSED
    assert movement.closed_at == frozen.value
    assert balance(bond) == Decimal("1000000.00")
    assert ledger(bond) == [("reserve", Decimal("683000.00"), Decimal("317000.00")),
                            ("release", Decimal("683000.00"), Decimal("1000000.00"))]
    assert Declaration.objects.get(pk=movement.declaration_id).status == "exited"
    assert not movement.seals.filter(is_active=True).exists()
    inbound = PartnerMessage.objects.get(movement=movement, direction="inbound")
    assert (inbound.partner, inbound.kind, inbound.status) == ("UG", "exit_confirmation", "accepted")
    assert inbound.result["effects"] == ["exit_confirmed", "movement_closed", "bond_released"]
    assert simulator_tick() == 0
    assert TrackingEvent.objects.filter(movement=movement).count() == 5

    # and status look-up and the agent's feed cover every step
    status = transit_status_for(movement.declaration_id)
    assert status is not None
    assert (status["status"], status["overdue"], status["bond"]["released"]) == ("closed", False, True)
    subjects = list(Notification.objects.filter(agent=world.agent, kind="transit").order_by("seq")
                    .values_list("subject", flat=True))
    assert len(subjects) == 3
    assert subjects[0] == (f"{movement.declaration.entry_number}: transit to UG via MAL secured by bond "
                           f"{bond.number} (KES 683000.00 reserved); nothing to pay unless the movement fails")
    assert "released for transit" in subjects[1]
    assert "transit closed, exit confirmed" in subjects[2]
    assert Notification.objects.filter(agent=world.agent, kind="cleared").count() == 1


def test_eac_regional_aeo_gets_the_reduced_bond_and_priority(world, bond):
    # given the importer is an active EAC regional AEO
    AEOProfileFactory(trader=world.trader, tier="eac_regional")

    # when lodged
    movement = lodge(world)

    # then half the taxes at risk are secured and the movement has priority
    assert (movement.eac_aeo, movement.priority, movement.bond_factor) == (True, True, Decimal("0.50"))
    assert movement.amount_secured == Decimal("341500.00")
    assert balance(bond) == Decimal("658500.00")


def test_national_aeo_gets_no_transit_benefit(world, bond):
    AEOProfileFactory(trader=world.trader, tier="national")

    movement = lodge(world)

    assert (movement.eac_aeo, movement.amount_secured) == (False, Decimal("683000.00"))


def test_importer_bond_is_preferred_to_the_agent_bond(world, bond):
    # given the importer has its own regional bond
    own = RegionalBondFactory(principal_trader=world.trader, amount=Decimal("900000.00"))

    # when lodged without naming a bond
    movement = lodge(world)

    # then the importer's bond secures it, the agent's is untouched
    assert movement.bond_id == own.pk
    assert (balance(own), balance(bond)) == (Decimal("217000.00"), Decimal("1000000.00"))


def test_odd_cent_taxes_reduce_half_up(world, bond):
    AEOProfileFactory(trader=world.trader, tier="eac_regional")

    movement = lodge(world, total=Decimal("100000.01"))

    assert movement.amount_secured == Decimal("50000.01")  # 50000.005 -> ROUND_HALF_UP
    assert balance(bond) == Decimal("949999.99")
