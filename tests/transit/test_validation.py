"""IM8-specific validation of the lodging body (`transit_validate`) and the bond checks of the
lodging hook: every problem with its JSON pointer, nothing written on refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from core import clock
from core.exceptions import ValidationFailed
from tests.factories.transit import RegionalBondFactory, container_number, transit_declaration, transit_payload
from tests.transit.conftest import lodge
from transit.models import BondLedger, RegionalBond, TransitMovement, TransitSeal
from transit.services import transit_on_lodged, transit_validate

pytestmark = pytest.mark.django_db


def problems(payload):
    return [(e.code, e.pointer) for e in transit_validate(payload=payload, on=clock.today())]


def test_a_complete_im8_body_has_no_problems(world, bond):
    assert problems(transit_payload(world)) == []


def test_busia_and_rwanda_via_malaba_are_valid_routes(world, bond):
    assert problems(transit_payload(world, office_of_exit="BSA")) == []
    assert problems(transit_payload(world, destination="RW")) == []
    assert problems(transit_payload(world, destination="TZ", office_of_exit="NMG")) == []


def test_a_route_to_a_non_border_office_is_refused(world, bond):
    assert problems(transit_payload(world, office_of_exit="NBO")) == [
        ("exit_office_not_border_post", "/transit/office_of_exit")]


def test_route_problems(world, bond):
    assert problems(transit_payload(world, office_of_exit="MOY")) == [
        ("exit_office_not_on_route", "/transit/office_of_exit")]
    assert problems(transit_payload(world, office_of_exit="XYZ")) == [("unknown_office", "/transit/office_of_exit")]
    assert problems(transit_payload(world, office_of_exit="MBA")) == [
        ("exit_office_not_border_post", "/transit/office_of_exit")]


def test_destination_must_be_a_partner_state(world, bond):
    assert problems(transit_payload(world, destination="ET", office_of_exit="MOY")) == [
        ("destination_not_partner_state", "/transit/destination_country")]
    body = transit_payload(world, country_of_destination="RW")
    assert problems(body) == [("destination_mismatch", "/country_of_destination")]


def test_destination_defaults_to_country_of_destination(world, bond):
    body = transit_payload(world, country_of_destination="UG")
    del body["transit"]["destination_country"]
    assert problems(body) == []


def test_e_seals_are_mandatory_per_container(world, bond):
    body = transit_payload(world)
    body["transit"]["containers"][1]["e_seals"] = []
    assert problems(body) == [("e_seal_required", "/transit/containers/1/e_seals")]


def test_every_problem_is_reported_at_once(world, bond):
    # given a body with a bad route, a duplicated seal, a stranger container, a missing one and a bad bond
    body = transit_payload(world, office_of_exit="NBO", bond_number="RB/NOPE")
    containers = body["transit"]["containers"]
    containers[1]["e_seals"] = list(containers[0]["e_seals"])
    stranger = container_number(owner="TGHU", serial=123456)
    body["transit"]["containers"].append({"number": stranger, "e_seals": ["KE-ES-X1"]})

    # then every problem comes back with its pointer
    assert problems(body) == [
        ("exit_office_not_border_post", "/transit/office_of_exit"),
        ("duplicate_e_seal", "/transit/containers/1/e_seals/0"),
        ("container_not_on_bill_of_lading", "/transit/containers/2/number"),
        ("bond_not_found", "/transit/bond_number"),
    ]
    body["transit"]["containers"] = containers[:1]
    assert ("container_missing", "/transit/containers") in problems(body)


def test_structure_errors_point_into_the_transit_section(world, bond):
    body = transit_payload(world, transit={"surprise": 1, "office_of_exit": 7})
    body["transit"]["containers"][0]["number"] = "MSCU1234560"
    assert sorted(problems(body)) == sorted([
        ("unknown_field", "/transit/surprise"),
        ("invalid_type", "/transit/office_of_exit"),
    ])
    body = transit_payload(world)
    real = body["transit"]["containers"][0]["number"]
    body["transit"]["containers"][0]["number"] = "MSCU1234561"  # check digit should be 6
    assert problems(body) == [
        ("container_number_invalid", "/transit/containers/0/number"),
        ("container_not_on_bill_of_lading", "/transit/containers/0/number"),
        ("container_missing", "/transit/containers"),
    ]
    assert real != "MSCU1234561"


def test_section_required_for_im8_and_refused_elsewhere(world, bond):
    body = transit_payload(world)
    del body["transit"]
    assert problems(body) == [("required", "/transit")]
    assert problems(transit_payload(world, regime="IM4")) == [("transit_not_allowed", "/transit")]
    body["regime"] = "IM4"
    assert problems(body) == []


def test_a_seal_armed_on_a_live_movement_cannot_be_reused(world, bond):
    first = lodge(world)
    body = transit_payload(world)
    assert problems(body) == [("e_seal_in_use", "/transit/containers/0/e_seals/0"),
                              ("e_seal_in_use", "/transit/containers/1/e_seals/0")]
    assert TransitSeal.objects.filter(movement=first, is_active=True).count() == 2


def test_bond_problems(world, bond):
    suspended = RegionalBondFactory(principal_agent=world.agent, status="suspended")
    expired = RegionalBondFactory(principal_agent=world.agent, valid_to=clock.today().replace(year=2025))
    from tests.factories.traders import TraderFactory

    someone_elses = RegionalBondFactory(principal_trader=TraderFactory())
    assert problems(transit_payload(world, bond_number=suspended.number)) == [
        ("bond_not_usable", "/transit/bond_number")]
    assert problems(transit_payload(world, bond_number=expired.number)) == [("bond_not_usable", "/transit/bond_number")]
    assert problems(transit_payload(world, bond_number=someone_elses.number)) == [
        ("bond_not_yours", "/transit/bond_number")]


def _lodge_in_transaction(world, payload, total):
    with transaction.atomic():
        declaration = transit_declaration(world, payload, total=total)
        transit_on_lodged(declaration=declaration, payload=payload, actor=world.user)


def _refused_lodging(world, payload, total):
    with pytest.raises(ValidationFailed) as caught:
        _lodge_in_transaction(world, payload, total)
    return caught.value


def test_a_bond_that_would_go_negative_refuses_the_lodging_and_changes_nothing(world):
    # given a bond with KES 500,000.00 free
    bond = RegionalBondFactory(principal_agent=world.agent, amount=Decimal("500000.00"))

    # when a movement with KES 683,000.00 at risk is lodged
    error = _refused_lodging(world, transit_payload(world), Decimal("683000.00"))

    # then it is refused with a clear problem, and nothing was written
    assert error.code == "bond_insufficient"
    assert [(e.code, e.pointer) for e in error.errors] == [("bond_insufficient", "/transit/bond_number")]
    assert error.extra == {"bond_number": bond.number, "available": "500000.00", "required": "683000.00",
                           "currency": "KES"}
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("500000.00")
    assert (TransitMovement.objects.count(), BondLedger.objects.count(), TransitSeal.objects.count()) == (0, 0, 0)


def test_exactly_the_free_balance_can_be_reserved(world):
    bond = RegionalBondFactory(principal_agent=world.agent, amount=Decimal("683000.00"))

    lodge(world)

    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("0.00")


def test_no_bond_at_all_is_refused(world):
    error = _refused_lodging(world, transit_payload(world), Decimal("1000.00"))

    assert [(e.code, e.pointer) for e in error.errors] == [("bond_required", "/transit/bond_number")]
    assert TransitMovement.objects.count() == 0


def test_a_named_bond_of_another_agent_is_refused_at_lodging(world, bond):
    from tests.factories.traders import ClearingAgentFactory

    other = RegionalBondFactory(principal_agent=ClearingAgentFactory())
    error = _refused_lodging(world, transit_payload(world, bond_number=other.number), Decimal("1000.00"))

    assert [(e.code, e.pointer) for e in error.errors] == [("bond_not_yours", "/transit/bond_number")]
    assert RegionalBond.objects.get(pk=other.pk).balance == other.amount
