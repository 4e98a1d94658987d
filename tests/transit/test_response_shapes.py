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
from tests.factories.officers import officer_create
from tests.factories.transit import (
    RegionalBondFactory,
    partner_message_bytes,
    tracking_event_body,
    transit_payload,
    transit_world,
)
from tests.transit.conftest import arrive, lodge, release, seals_of
from tests.transit.test_partner_exchange import send
from transit import selectors
from transit.models import TransitAlert, TransitMovement
from transit.serializers import (
    BondDemandOutSerializer,
    MovementView,
    PartnerMessageOutSerializer,
    RegionalBondOutSerializer,
    TrackingEventOutSerializer,
    TransitAlertOutSerializer,
    TransitMovementOutSerializer,
    TransitQueueRowSerializer,
    TransitQueueSerializer,
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


# --- The answers of the tracking system, the partner states and the officers: captured bodies ---

TRACKING_URL = "/api/v1/transit/tracking-events"


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def assert_component_lists(schema, component: str, serializer) -> None:
    """The OpenAPI component is the serializer's: exactly its fields, in order."""
    assert list(schema["components"]["schemas"][component]["properties"]) == list(serializer.fields)


def response_refs(schema, path: str, method: str = "post") -> dict[str, str]:
    responses = schema["paths"][path][method]["responses"]
    return {status: r["content"]["application/json"]["schema"]["$ref"]
            for status, r in responses.items() if "application/json" in r.get("content", {})}


def test_a_tracking_event_answer_and_its_replay_have_the_same_shape(world, bond, frozen, tracking_client, schema):
    # given a released movement and a checkpoint event from one of its seals
    movement = release(lodge(world))
    seal = seals_of(movement)[0]
    at = frozen.value
    body = tracking_event_body(seal, "checkpoint_passed", at, event_id="EV-CP-1", place="Mariakani",
                               lat="-3.862000", lon="39.473000")
    # when it is posted, then posted again a minute later
    first = tracking_client.post(TRACKING_URL, body, format="json")
    frozen.advance(minutes=1)
    again = tracking_client.post(TRACKING_URL, body, format="json")
    # then the first answer is the result, the replay the stored result marked duplicate
    expected = {"event_id": "EV-CP-1", "movement_id": str(movement.pk),
                "declaration_id": str(movement.declaration_id),
                "entry_number": movement.declaration.entry_number, "seal_number": seal,
                "kind": "checkpoint_passed", "occurred_at": at.isoformat(), "received_at": at.isoformat(),
                "applied": True, "deferred": False, "effects": ["state_advanced"],
                "movement_status": "in_transit", "tracking_state": "checkpoint_passed",
                "last_event_at": at.isoformat(), "duplicate": False}
    assert (first.status_code, first.json()) == (201, expected)
    assert (again.status_code, again.json()) == (200, {**expected, "duplicate": True})
    for answer in (first.json(), again.json()):
        assert_keys_match(answer, TrackingEventOutSerializer())
        assert_valid(answer, schema, "TrackingEventOut")
    assert_component_lists(schema, "TrackingEventOut", TrackingEventOutSerializer())
    assert response_refs(schema, TRACKING_URL) == {"201": "#/components/schemas/TrackingEventOut",
                                                   "200": "#/components/schemas/TrackingEventOut"}
    replayed = tracking_event_record(event_id="EV-CP-1", seal_number=seal, kind="checkpoint_passed",
                                     occurred_at=at, location_name="Mariakani", latitude=Decimal("-3.862000"),
                                     longitude=Decimal("39.473000"), actor=None)
    assert replayed.created is False
    assert TrackingEventOutSerializer.render(replayed) == TrackingEventOutSerializer(replayed).data == again.json()


def test_a_deferred_tracking_event_replays_its_result_after_departure(world, bond, frozen, tracking_client, schema):
    # given an event received while the movement is lodged (goods not departed)
    movement = lodge(world)
    seal = seals_of(movement)[0]
    at = frozen.value
    body = tracking_event_body(seal, "armed", at, event_id="EV-ARMED-1")
    first = tracking_client.post(TRACKING_URL, body, format="json")
    # when the goods depart and the tracking system posts the same event again
    frozen.advance(minutes=5)
    release(movement)
    again = tracking_client.post(TRACKING_URL, body, format="json")
    # then the first answer says stored until departure; the replay is the result stored on departure
    common = {"event_id": "EV-ARMED-1", "movement_id": str(movement.pk),
              "declaration_id": str(movement.declaration_id),
              "entry_number": movement.declaration.entry_number, "seal_number": seal, "kind": "armed",
              "occurred_at": at.isoformat(), "received_at": at.isoformat()}
    assert (first.status_code, first.json()) == (201, {
        **common, "applied": False, "deferred": True, "effects": ["stored_until_departure"],
        "movement_status": "lodged", "tracking_state": "", "last_event_at": None, "duplicate": False})
    assert (again.status_code, again.json()) == (200, {
        **common, "applied": True, "deferred": False,
        "effects": ["applied_after_departure", "state_advanced"], "movement_status": "in_transit",
        "tracking_state": "armed", "last_event_at": at.isoformat(), "duplicate": True})
    for answer in (first.json(), again.json()):
        assert_keys_match(answer, TrackingEventOutSerializer())
        assert_valid(answer, schema, "TrackingEventOut")


def test_a_partner_message_answer_and_its_replay_have_the_same_shape(world, bond, frozen, schema):
    # given a movement at Malaba
    movement = release(lodge(world))
    arrive(movement, frozen)
    received = frozen.value
    body = partner_message_bytes(movement_id=movement.pk, message_id="URA-SHAPE-1")
    # when URA confirms the exit, then sends the same message again
    first = send(body)
    frozen.advance(minutes=1)
    again = send(body)
    # then
    expected = {"message_id": "URA-SHAPE-1", "movement_id": str(movement.pk), "kind": "exit_confirmation",
                "movement_status": "closed", "effects": ["exit_confirmed", "movement_closed", "bond_released"],
                "received_at": received.isoformat(), "duplicate": False}
    assert (first.status_code, first.json()) == (201, expected)
    assert (again.status_code, again.json()) == (200, {**expected, "duplicate": True})
    for answer in (first.json(), again.json()):
        assert_keys_match(answer, PartnerMessageOutSerializer())
        assert_valid(answer, schema, "PartnerMessageOut")
    assert_component_lists(schema, "PartnerMessageOut", PartnerMessageOutSerializer())
    assert response_refs(schema, "/api/v1/transit/partner-messages") == {
        "201": "#/components/schemas/PartnerMessageOut", "200": "#/components/schemas/PartnerMessageOut"}


def test_the_bond_demand_answer(world, bond, frozen, schema):
    supervisor = APIClient()
    supervisor.force_authenticate(officer_create("supervisor"))
    movement = release(lodge(world))
    # when the supervisor demands the secured amount
    demanded = supervisor.post(f"/api/v1/transit/movements/{movement.pk}/demand", {"reason": "diverted"},
                               format="json")
    # then
    assert (demanded.status_code, demanded.json()) == (200, {
        "movement_id": str(movement.pk), "bond_number": bond.number, "amount_demanded": "683000.00",
        "currency": "KES", "bond_amount_after": "317000.00", "balance_after": "317000.00"})
    assert_keys_match(demanded.json(), BondDemandOutSerializer())
    assert_valid(demanded.json(), schema, "BondDemandOut")
    assert_component_lists(schema, "BondDemandOut", BondDemandOutSerializer())
    assert response_refs(schema, "/api/v1/transit/movements/{movement_id}/demand") == {
        "200": "#/components/schemas/BondDemandOut"}


def test_the_officer_queue_rows(world, bond, frozen, schema):
    # given a movement in transit with a position, and a lodged one (no departure, no position)
    moving = release(lodge(world))
    departed = frozen.value
    tracking_event_record(event_id="EV-CP-Q", seal_number=seals_of(moving)[0], kind="checkpoint_passed",
                          occurred_at=departed, location_name="Mariakani", latitude=Decimal("-3.862000"),
                          longitude=Decimal("39.473000"), actor=None)
    frozen.advance(hours=2)
    other = transit_world(containers=1)
    RegionalBondFactory(principal_agent=other.agent, amount=Decimal("1000000.00"))
    waiting = lodge(other)
    frozen.advance(hours=3)
    moving.refresh_from_db()
    waiting.refresh_from_db()
    officer = APIClient()
    officer.force_authenticate(officer_create("transit officer"))
    # when the officer reads the queue
    queue = officer.get("/api/v1/transit/queue")
    # then
    assert queue.status_code == 200
    assert queue.json() == {"results": [
        {"movement_id": str(moving.pk), "declaration_id": str(moving.declaration_id),
         "entry_number": moving.declaration.entry_number, "status": "in_transit", "destination_country": "UG",
         "office_of_exit": "MAL", "priority": False, "departed_at": departed.isoformat(),
         "due_at": moving.due_at.isoformat(), "age_seconds": 5 * 3600, "overdue": False,
         "tracking_state": "checkpoint_passed", "last_event_at": departed.isoformat(),
         "last_position": {"name": "Mariakani", "latitude": "-3.862000", "longitude": "39.473000"},
         "open_alerts": 0},
        {"movement_id": str(waiting.pk), "declaration_id": str(waiting.declaration_id),
         "entry_number": waiting.declaration.entry_number, "status": "lodged", "destination_country": "UG",
         "office_of_exit": "MAL", "priority": False, "departed_at": None, "due_at": None,
         "age_seconds": 3 * 3600, "overdue": False, "tracking_state": None, "last_event_at": None,
         "last_position": None, "open_alerts": 0},
    ]}
    assert_keys_match(queue.json(), TransitQueueSerializer())
    assert_valid(queue.json(), schema, "TransitQueue")
    assert_component_lists(schema, "TransitQueue", TransitQueueSerializer())
    assert_component_lists(schema, "TransitQueueRow", TransitQueueRowSerializer())
    assert schema["components"]["schemas"]["TransitQueue"]["properties"]["results"]["items"] == {
        "$ref": "#/components/schemas/TransitQueueRow"}
    assert response_refs(schema, "/api/v1/transit/queue", "get") == {"200": "#/components/schemas/TransitQueue"}
    page = {"results": selectors.transit_officer_queue()}
    assert json.dumps(TransitQueueSerializer.render(page)) == json.dumps(TransitQueueSerializer(page).data)
