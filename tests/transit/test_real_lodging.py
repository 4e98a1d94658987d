"""The hooks against a declaration lodged by the real lodging service (tariff engine, stored
assessment, entry number), the way the lead wires them: validate, lodge, then `transit_on_lodged`
in the same transaction, so a refused bond rolls the whole lodging back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from core import clock
from core.exceptions import ValidationFailed
from declarations.models import Assessment, Declaration
from declarations.services import declaration_lodge
from tests.factories.transit import RegionalBondFactory, transit_payload
from transit.models import RegionalBond, TransitMovement
from transit.services import transit_on_lodged, transit_validate

pytestmark = pytest.mark.django_db


def _lodge_with_hook(world, body):
    core_body = {k: v for k, v in body.items() if k != "transit"}  # until the declarations serializer knows it
    with transaction.atomic():
        declaration = declaration_lodge(agent=world.agent, user=world.user, payload=core_body, actor=world.user)
        movement = transit_on_lodged(declaration=declaration, payload=body, actor=world.user)
    return declaration, movement


def test_bond_secures_the_engine_assessment_of_a_really_lodged_im8(world, bond):
    # given an IM8 body for vehicle parts in USD, valid for transit
    body = transit_payload(world, currency="USD", invoice_amount="10000.00")
    body["items"][0]["customs_value"] = "10000.00"
    assert transit_validate(payload=body, on=clock.today()) == []

    # when lodged by the declarations service and handed to the hook
    declaration, movement = _lodge_with_hook(world, body)

    # then the amount secured is exactly the stored assessment total
    assessment = Assessment.objects.get(declaration_id=declaration.pk)
    assert declaration.regime == "IM8"
    assert declaration.entry_number[2:8] == "MBAIM8"
    assert movement.taxes_at_risk == assessment.total
    assert movement.amount_secured == assessment.total
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00") - assessment.total


def test_a_refused_bond_rolls_the_real_lodging_back(world):
    bond = RegionalBondFactory(principal_agent=world.agent, amount=Decimal("10.00"))
    body = transit_payload(world, currency="USD", invoice_amount="10000.00")
    body["items"][0]["customs_value"] = "10000.00"

    with pytest.raises(ValidationFailed) as caught:
        _lodge_with_hook(world, body)

    assert caught.value.code == "bond_insufficient"
    assert (Declaration.objects.count(), TransitMovement.objects.count()) == (0, 0)
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("10.00")


def test_really_released_declaration_departs_and_exits_on_confirmation(world, bond, frozen):
    from declarations.services import declaration_pay
    from risk.services.release import declaration_release
    from tests.factories.transit import partner_message_bytes
    from tests.transit.test_partner_exchange import send
    from transit.services import transit_on_released

    # given a really lodged, paid and released IM8 declaration
    body = transit_payload(world, currency="USD", invoice_amount="10000.00")
    body["items"][0]["customs_value"] = "10000.00"
    declaration, movement = _lodge_with_hook(world, body)
    total = Assessment.objects.get(declaration_id=declaration.pk).total
    declaration_pay(declaration_id=declaration.pk, agent=world.agent, amount=total, currency="KES",
                    method="mpesa", actor=world.user)
    with transaction.atomic():
        declaration_release(declaration_id=declaration.pk, actor=None)
        # what the release service will call once wired, declaration row held
        locked = Declaration.objects.select_for_update(of=("self",)).get(pk=declaration.pk)
        transit_on_released(declaration=locked, actor=None)

    # when the partner confirms the exit
    response = send(partner_message_bytes(movement_id=movement.pk, entry_number=declaration.entry_number))

    # then the declaration exits through its own lifecycle and the bond is whole again
    assert response.status_code == 201
    assert Declaration.objects.get(pk=declaration.pk).status == "exited"
    assert TransitMovement.objects.get(pk=movement.pk).status == "closed"
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")
