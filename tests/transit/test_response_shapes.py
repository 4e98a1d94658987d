"""The transit responses (and an IM8 declaration secured by a bond) are rendered by the compiled
renderer of their output serializers: exactly what `Serializer(obj).data` gives."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.serializers import compile_renderer
from declarations import selectors as declaration_selectors
from declarations.serializers import DeclarationOutSerializer, DeclarationView
from tests.declarations.test_response_shapes import assert_keys_match, assert_valid
from tests.factories.transit import RegionalBondFactory, transit_payload
from tests.transit.conftest import lodge, release, seals_of
from transit import selectors
from transit.models import TransitAlert, TransitMovement
from transit.serializers import (
    MovementView,
    RegionalBondOutSerializer,
    TransitAlertOutSerializer,
    TransitMovementOutSerializer,
)
from transit.services import tracking_event_record

pytestmark = pytest.mark.django_db


def test_an_im8_secured_by_a_bond_renders_as_its_serializer_data(world, bond):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=world.user)[0].key}")
    response = client.post("/api/v1/declarations", transit_payload(world), format="json")
    assert response.status_code == 201, response.json()
    declaration = declaration_selectors.declaration_get(agent=world.agent, declaration_id=response.json()["id"])
    view = DeclarationView(declaration)
    expected = DeclarationOutSerializer(view).data
    assert bond.number in expected["eslip"]["secured_by"]
    assert compile_renderer(DeclarationOutSerializer)(view) == expected
    assert json.dumps(DeclarationOutSerializer.render(view)) == json.dumps(expected)


def test_movements_and_alerts_render_as_their_serializer_data(world, bond, frozen):
    movement = release(lodge(world))
    tracking_event_record(event_id="EV-TAMPER-1", seal_number=seals_of(movement)[0], kind="tamper_alert",
                          occurred_at=frozen.value, location_name="Mariakani", actor=None)
    for row in selectors.movements_for_agent(agent=world.agent):
        view = MovementView(row)
        expected = TransitMovementOutSerializer(view).data
        assert expected["seals"]
        assert expected["bond"]
        assert compile_renderer(TransitMovementOutSerializer)(view) == expected
        assert json.dumps(TransitMovementOutSerializer.render(view)) == json.dumps(expected)

    alert = selectors.alert_get(alert_id=TransitAlert.objects.get(movement=movement).pk)
    for assigned in (None, world.user):
        alert.assigned_to = assigned
        expected = TransitAlertOutSerializer(alert).data
        assert expected["assigned_to"] == (assigned and assigned.get_username())
        assert compile_renderer(TransitAlertOutSerializer)(alert) == expected
        assert json.dumps(TransitAlertOutSerializer.render(alert)) == json.dumps(expected)
    assert TransitMovement.objects.count() == 1



def test_bonds_render_exactly_the_serializer_shape(world, bond):
    # given the agent's bond and another one without an end date
    RegionalBondFactory(principal_agent=world.agent, amount=Decimal("250000.00"), valid_to=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=world.user)[0].key}")
    page = client.get("/api/v1/transit/bonds").json()
    # then every bond has the serializer's keys and validates against its component
    openapi = SchemaGenerator().get_schema(request=None, public=True)
    assert len(page["results"]) == 2
    assert {item["valid_to"] is None for item in page["results"]} == {True, False}
    for item in page["results"]:
        assert_keys_match(item, RegionalBondOutSerializer())
        assert_valid(item, openapi, "RegionalBondOut")
    assert bond.number in [item["number"] for item in page["results"]]
