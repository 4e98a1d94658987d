"""Transit wired into the real product paths: lodging over the API validates the transit section
and reserves the regional bond in the lodging transaction, release departs the movement, the
status look-up shows it, gate-out is refused (the partner confirms exit), cancellation frees the bond."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.exceptions import Conflict
from declarations.models import Assessment, Declaration, Payment
from tests.factories.transit import RegionalBondFactory, transit_payload
from transit.models import RegionalBond, TransitMovement

pytestmark = pytest.mark.django_db


def _client(world) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=world.user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _usd_body(world):
    body = transit_payload(world, currency="USD", invoice_amount="10000.00")
    body["items"][0]["customs_value"] = "10000.00"
    return body


def test_lodging_an_im8_over_the_api_reserves_the_bond_for_the_assessed_taxes(world, bond):
    # when an IM8 with its transit section is lodged through the API
    response = _client(world).post("/api/v1/declarations", _usd_body(world), format="json")
    # then the declaration, its movement and the bond reservation exist together
    assert response.status_code == 201, response.json()
    declaration = Declaration.objects.get(pk=response.json()["id"])
    assessment = Assessment.objects.get(declaration_id=declaration.pk)
    movement = TransitMovement.objects.get(declaration_id=declaration.pk)
    assert declaration.entry_number[2:8] == "MBAIM8"
    assert movement.status == "lodged"
    assert movement.amount_secured == assessment.total
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00") - assessment.total


def test_transit_problems_are_reported_with_the_others_and_nothing_is_saved(world, bond):
    body = _usd_body(world)
    body["transit"]["office_of_exit"] = "NBO"
    body["items"][0]["net_weight_kg"] = "9000.000"  # more than gross: a declarations rule
    response = _client(world).post("/api/v1/declarations", body, format="json")
    assert response.status_code == 400
    codes = {(e["pointer"], e["code"]) for e in response.json()["errors"]}
    assert ("/transit/office_of_exit", "exit_office_not_border_post") in codes
    assert ("/items/0/net_weight_kg", "net_exceeds_gross") in codes
    assert (Declaration.objects.count(), TransitMovement.objects.count()) == (0, 0)
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")


def test_a_transit_section_on_a_home_use_entry_is_refused(world, bond):
    body = _usd_body(world)
    body["regime"], body["cpc"] = "IM4", "4000000"
    response = _client(world).post("/api/v1/declarations", body, format="json")
    assert response.status_code == 400
    assert ("/transit", "transit_not_allowed") in {(e["pointer"], e["code"]) for e in response.json()["errors"]}


def test_a_refused_bond_rolls_the_whole_lodging_back(world):
    bond = RegionalBondFactory(principal_agent=world.agent, amount=Decimal("10.00"))
    response = _client(world).post("/api/v1/declarations", _usd_body(world), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bond_insufficient"
    assert (Declaration.objects.count(), TransitMovement.objects.count()) == (0, 0)
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("10.00")


def test_cancellation_frees_the_bond(world, bond):
    client = _client(world)
    lodged = client.post("/api/v1/declarations", _usd_body(world), format="json").json()
    response = client.post(f"/api/v1/declarations/{lodged['id']}/cancel", {"reason": "wrong route"}, format="json")
    assert response.status_code == 200, response.json()
    assert TransitMovement.objects.get(declaration_id=lodged["id"]).status == "cancelled"
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")


def test_release_departs_the_movement_status_shows_it_and_the_partner_confirms_exit(world, bond, frozen):
    from clearance.services.release import declaration_gate_out, declaration_release
    from tests.factories.transit import partner_message_bytes
    from tests.transit.conftest import arrive
    from tests.transit.test_partner_exchange import send

    client = _client(world)
    lodged = client.post("/api/v1/declarations", _usd_body(world), format="json").json()
    # when released on its bond (secured, not paid: no payment step; the release order itself
    # departs the movement: no separate hook call)
    declaration_release(declaration_id=lodged["id"], actor=None)
    movement = TransitMovement.objects.get(declaration_id=lodged["id"])
    assert movement.status == "in_transit"
    # then the status look-up shows the movement, and the port gate cannot exit it
    status = client.get("/api/v1/status", {"entry_number": lodged["entry_number"]}).json()["results"][0]
    assert status["status"] == "released"
    assert status["transit"]["status"] == "in_transit"
    with pytest.raises(Conflict) as refused:
        declaration_gate_out(declaration_id=lodged["id"], actor=None)
    assert refused.value.code == "transit_exit_by_partner"
    # and once every seal is at Malaba, the partner's confirmation exits it and makes the bond whole
    arrive(movement, frozen)
    response = send(partner_message_bytes(movement_id=movement.pk, entry_number=lodged["entry_number"]))
    assert response.status_code == 201
    assert Declaration.objects.get(pk=lodged["id"]).status == "exited"
    assert TransitMovement.objects.get(pk=movement.pk).status == "closed"
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")
    assert not Payment.objects.filter(declaration_id=lodged["id"]).exists()
