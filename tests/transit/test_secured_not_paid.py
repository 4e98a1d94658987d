"""Secured, not paid: an IM8 under the EAC SCT is assessed for the taxes at risk, secured by the
regional bond reserved at lodging, and released on that bond with no payment step. The e-slip says
so and nothing is payable; the home-use rule (assessed -> paid first) is unchanged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clearance.models import ReleaseOrder
from clearance.services import clearance_advance
from core import clock
from core.exceptions import Conflict
from declarations.lifecycle import transition_allowed
from declarations.models import Assessment, Declaration, DeclarationEvent, ESlip, Payment
from notifications.models import Notification
from risk.models import RiskAssessment
from tests.factories.transit import transit_payload
from transit.models import RegionalBond, TransitMovement

pytestmark = pytest.mark.django_db


def _client(world) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=world.user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _lodge(world) -> dict:
    body = transit_payload(world, currency="USD", invoice_amount="10000.00")
    body["items"][0]["customs_value"] = "10000.00"
    response = _client(world).post("/api/v1/declarations", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _score(declaration_id, lane: str) -> None:
    RiskAssessment.objects.create(declaration_id=declaration_id, score={"green": 5, "yellow": 60}[lane], lane=lane,
                                  hits=[], rules_version="test-rules-0001", scored_at=clock.now())


def test_an_im8_is_assessed_for_the_taxes_at_risk_but_nothing_is_payable(world, bond):
    # when an IM8 to Uganda is lodged through the API
    lodged = _lodge(world)

    # then the taxes at risk are assessed and reserved on the bond, and the e-slip asks for nothing
    declaration = Declaration.objects.get(pk=lodged["id"])
    total = Assessment.objects.get(declaration=declaration).total
    assert total > 0
    movement = TransitMovement.objects.get(declaration=declaration)
    assert (movement.taxes_at_risk, movement.amount_secured) == (total, total)
    secured_by = f"secured by bond {bond.number} (KES {total} reserved)"
    assert lodged["eslip"]["amount"] == "0.00"
    assert lodged["eslip"]["due_date"] is None
    assert lodged["eslip"]["secured_by"] == secured_by
    assert lodged["payment_due_date"] is None
    assert declaration.payment_due_date is None
    assert ESlip.objects.get(declaration=declaration).amount == Decimal("0.00")
    # the one no-payment rule (IM8 and KES 0.00 alike) records why there is no payment step
    assert DeclarationEvent.objects.get(declaration=declaration, kind="nothing_to_pay").reason == (
        f"nothing to pay: {secured_by}")
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00") - total
    # and both notices quote the entry number (it is taken last in the lodging transaction)
    subjects = dict(Notification.objects.filter(agent=world.agent, declaration_id=declaration.pk)
                    .values_list("kind", "subject"))
    assert subjects["accepted"] == (f"{declaration.entry_number}: registered and assessed, KES {total} taxes at "
                                    f"risk {secured_by}; nothing to pay")
    assert subjects["transit"] == (f"{declaration.entry_number}: transit to UG via MAL secured by bond "
                                   f"{bond.number} (KES {total} reserved); nothing to pay unless the movement fails")
    assert not any(s.startswith("None") for s in subjects.values())


def test_paying_an_im8_is_refused_and_nothing_is_recorded(world, bond):
    from declarations.services import declaration_pay

    lodged = _lodge(world)

    with pytest.raises(Conflict) as refused:
        declaration_pay(declaration_id=lodged["id"], agent=world.agent, amount=Decimal("0.00"), currency="KES",
                        method="mpesa", actor=world.user)

    assert refused.value.code == "secured_not_payable"
    assert not Payment.objects.exists()
    assert Declaration.objects.get(pk=lodged["id"]).status == "assessed"


def test_a_green_im8_is_released_on_its_bond_without_a_payment(world, bond, frozen):
    # given a lodged IM8 scored green, never paid
    lodged = _lodge(world)
    _score(lodged["id"], "green")

    # when clearance advances it
    outcome = clearance_advance(declaration_id=lodged["id"])

    # then it is released on the bond: release order, movement departed, still no payment
    assert outcome.action == "released"
    assert Declaration.objects.get(pk=lodged["id"]).status == "released"
    assert ReleaseOrder.objects.filter(declaration_id=lodged["id"]).count() == 1
    assert TransitMovement.objects.get(declaration_id=lodged["id"]).status == "in_transit"
    assert not Payment.objects.exists()


def test_a_yellow_im8_goes_under_control_without_a_payment(world, bond):
    lodged = _lodge(world)
    _score(lodged["id"], "yellow")

    outcome = clearance_advance(declaration_id=lodged["id"])

    assert outcome.action == "under_control"
    assert Declaration.objects.get(pk=lodged["id"]).status == "under_control"
    assert TransitMovement.objects.get(declaration_id=lodged["id"]).status == "lodged"


def test_scoring_is_enough_to_move_an_assessed_im8_on(world, bond):
    from risk.services import risk_assessment_create

    lodged = _lodge(world)

    outcome = risk_assessment_create(declaration_id=lodged["id"])

    assert outcome.ready_for_clearance is True


def test_home_use_still_needs_payment_before_release():
    # nothing to pay (IM8 secured by bond, or assessed at 0): no payment step; otherwise paid first
    assert transition_allowed("assessed", "released", no_payment_step=True)
    assert transition_allowed("assessed", "under_control", no_payment_step=True)
    assert not transition_allowed("assessed", "released", no_payment_step=False)
    assert not transition_allowed("assessed", "under_control", no_payment_step=False)
    assert not transition_allowed("assessed", "released")
    assert not transition_allowed("registered", "released", no_payment_step=True)


def test_bond_insufficient_problem_carries_its_figures_as_top_level_members(world):
    from tests.factories.transit import RegionalBondFactory

    RegionalBondFactory(principal_agent=world.agent, amount=Decimal("10.00"), number="RB/2026/SMALL1")
    body = transit_payload(world, currency="USD", invoice_amount="10000.00")
    body["items"][0]["customs_value"] = "10000.00"

    response = _client(world).post("/api/v1/declarations", body, format="json")

    problem = response.json()
    assert (response.status_code, problem["code"]) == (400, "bond_insufficient")
    assert (problem["bond_number"], problem["available"], problem["currency"]) == ("RB/2026/SMALL1", "10.00",
                                                                                   "KES")
    assert Decimal(problem["required"]) > Decimal("10.00")
    assert problem["errors"][0]["pointer"] == "/transit/bond_number"
    assert "extra" not in problem
    assert not Declaration.objects.exists()
