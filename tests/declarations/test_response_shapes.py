"""One response shape per resource (issue #19): the declaration is rendered by
DeclarationOutSerializer, the class the OpenAPI schema names, so the two cannot drift. These tests
render real responses and check them against both the serializer's fields (recursively) and the
OpenAPI component generated from it."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.test import APIClient

from core import clock
from core.serializers import compile_renderer
from declarations import selectors
from declarations.models import DeclarationVersion, Payment
from declarations.serializers import (
    AmendmentRequestOutSerializer,
    BankCallbackOutSerializer,
    DeclarationEventOutSerializer,
    DeclarationHistorySerializer,
    DeclarationOutSerializer,
    DeclarationVersionChangeSerializer,
    DeclarationVersionOutSerializer,
    DeclarationView,
    StatusLookupRowSerializer,
    StatusLookupSerializer,
    TransitStatusSectionSerializer,
)
from declarations.services import amendment_request_reject, bank_callback_headers
from tests.factories.declarations import World, body_im4
from tests.factories.transit import RegionalBondFactory, transit_payload, transit_world
from transit.models import TransitMovement
from transit.services.movements import transit_status_for

pytestmark = pytest.mark.django_db


def assert_keys_match(data: Any, field: Any, path: str = "$") -> None:
    """Every rendered object has exactly the declared fields, all the way down."""
    if data is None:
        return
    if isinstance(field, serializers.ListSerializer):
        for i, item in enumerate(data):
            assert_keys_match(item, field.child, f"{path}[{i}]")
    elif isinstance(field, serializers.Serializer):
        assert list(data) == list(field.fields), f"{path}: rendered {list(data)} != declared {list(field.fields)}"
        for name, child in field.fields.items():
            assert_keys_match(data[name], child, f"{path}.{name}")


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def assert_valid(data: Any, openapi: dict[str, Any], component: str) -> None:
    schema = {**openapi["components"]["schemas"][component], "components": openapi["components"]}
    # OpenAPI 3.0 "nullable" is not JSON Schema: let null through where it is declared.
    def widen(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: widen(v) for k, v in node.items()}
            if node.pop("nullable", False):
                node = {"anyOf": [node, {"type": "null"}]}
            return node
        return [widen(v) for v in node] if isinstance(node, list) else node
    resolver_root = widen(schema)
    jsonschema.validate(data, resolver_root, cls=jsonschema.Draft7Validator)


def test_lodged_paid_and_read_declarations_render_exactly_the_serializer_shape(
        client: APIClient, world: World, openapi: dict[str, Any]) -> None:
    # given: a USD declaration (assessment lines with exchange rates, e-slip, interest)
    lodged = client.post("/api/v1/declarations", body_im4(world, items=2, currency="USD"), format="json")
    assert lodged.status_code == 201, lodged.json()
    declaration = lodged.json()
    paid = client.post(f"/api/v1/declarations/{declaration['id']}/payments",
                       {"amount": declaration["eslip"]["amount_due"], "currency": "KES", "method": "mpesa"},
                       format="json")
    assert paid.status_code == 201, paid.json()
    read = client.get(f"/api/v1/declarations/{declaration['id']}")

    # then: the keys are the serializer's and the bodies validate against its OpenAPI component
    for body in (declaration, paid.json(), read.json()):
        assert_keys_match(body, DeclarationOutSerializer())
        assert_valid(body, openapi, "DeclarationOut")
    assert declaration["assessment"]["lines"][0]["exchange_rates"]
    assert paid.json()["payment"] is not None


def test_an_undeclared_key_is_caught() -> None:
    # the check itself can fail: a key the serializer does not declare
    with pytest.raises(AssertionError, match="declared"):
        assert_keys_match({"id": "x"}, DeclarationOutSerializer())


def assert_compiled_is_data(declaration_id: str, world: World) -> dict[str, Any]:
    """The compiled renderer (what responses use) gives exactly `DeclarationOutSerializer(view).data`."""
    declaration = selectors.declaration_get(agent=world.agent, declaration_id=declaration_id)
    view = DeclarationView(declaration)
    expected = DeclarationOutSerializer(view).data
    assert compile_renderer(DeclarationOutSerializer)(view) == expected
    assert json.dumps(DeclarationOutSerializer.render(view)) == json.dumps(expected)
    return dict(expected)


def test_the_compiled_rendering_is_the_serializer_data_in_every_state(
        client: APIClient, world: World, pinned_clock: Any) -> None:
    # a draft: no assessment, no e-slip
    draft = client.post("/api/v1/declarations", {**body_im4(world, items=3), "draft": True}, format="json")
    assert draft.status_code == 201, draft.json()
    assert assert_compiled_is_data(draft.json()["id"], world)["assessment"] is None

    # lodged (USD: exchange rates on the lines), then late: interest lines on the e-slip
    lodged = client.post("/api/v1/declarations", body_im4(world, items=20, currency="USD"), format="json")
    assert lodged.status_code == 201, lodged.json()
    data = assert_compiled_is_data(lodged.json()["id"], world)
    assert data["eslip"]["lines"]
    assert data["assessment"]["lines"][0]["exchange_rates"]
    pinned_clock.move_to(dt.datetime(2026, 12, 29, 7, tzinfo=dt.UTC))
    late = assert_compiled_is_data(lodged.json()["id"], world)
    assert late["assessment"]["late_payment_interest"]["months"] == 1
    assert late["eslip"]["lines"][-1]["tax"] == "late_payment_interest"

    # paid (with the interest)
    paid = client.post(f"/api/v1/declarations/{lodged.json()['id']}/payments",
                       {"amount": late["eslip"]["amount_due"], "currency": "KES", "method": "mpesa"}, format="json")
    assert paid.status_code == 201, paid.json()
    assert assert_compiled_is_data(lodged.json()["id"], world)["payment"] is not None

    # cancelled
    other = client.post("/api/v1/declarations", body_im4(world, items=1, currency="KES"), format="json")
    assert other.status_code == 201, other.json()
    cancelled = client.post(f"/api/v1/declarations/{other.json()['id']}/cancel", {"reason": "duplicate entry"},
                            format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert assert_compiled_is_data(other.json()["id"], world)["status"] == "cancelled"


# ------------------------------------------------------------------------------------------------
# History, status look-up and bank callback: exact bodies (captured from the hand-built responses
# before they were rendered by serializers), at a frozen clock.

AT = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)
AT_ISO = "2026-11-25T07:00:00+00:00"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    """`core.clock.now` stands still at AT (every stored time of these tests is AT)."""
    monkeypatch.setattr(clock, "now", lambda: AT)
    return AT


def assert_component_names_the_fields(openapi: dict[str, Any], component: str, serializer: Any) -> None:
    """The OpenAPI component is generated from the serializer: the same properties, in order."""
    properties = openapi["components"]["schemas"][component]["properties"]
    assert list(properties) == list(serializer.fields), component


def assert_response_names(openapi: dict[str, Any], path: str, method: str, status: str, component: str) -> None:
    """The operation's answer is the component (a reference, not an inline schema)."""
    content = openapi["paths"][path][method]["responses"][status]["content"]["application/json"]
    assert content["schema"] == {"$ref": f"#/components/schemas/{component}"}


def _lodge(client: APIClient, body: dict[str, Any]) -> Any:
    response = client.post("/api/v1/declarations", body, format="json")
    assert response.status_code == 201, response.json()
    return response


def test_history_body_is_exactly_events_versions_and_amendment_requests(
        client: APIClient, world: World, frozen: Any, openapi: dict[str, Any]) -> None:
    # given: lodged, altered (version 2, a fee), then a tax-affecting request rejected
    lodged = _lodge(client, body_im4(world, items=1, currency="KES"))
    declaration_id = lodged.json()["id"]
    url = f"/api/v1/declarations/{declaration_id}"
    altered = client.patch(url, {"local_reference": "AGT-2"}, format="json", HTTP_IF_MATCH=lodged["ETag"])
    assert altered.status_code == 200, altered.json()
    items = altered.json()["declaration"]["items"]
    items[0]["customs_value"] = "2000.00"
    asked = client.patch(url, {"items": items}, format="json", HTTP_IF_MATCH=altered["ETag"])
    assert asked.status_code == 202, asked.json()
    request_id = asked.json()["pending_amendment"]["id"]
    amendment_request_reject(request_id=request_id, actor=None, reason="Classification confirmed by lab")

    # when
    response = client.get(url + "/history")

    # then: the exact body
    assert response.status_code == 200
    body = response.json()
    eslip = lodged.json()["eslip"]
    fee = altered.json()["assessment"]["totals"]["fees"]
    snapshots = [v.snapshot for v in DeclarationVersion.objects.filter(declaration_id=declaration_id)
                 .order_by("number")]
    event = {"actor": world.user.get_username(), "at": AT_ISO}

    def ev(kind: str, frm: str, to: str, reason: str, payload: dict[str, Any], actor: str | None = None) -> Any:
        return {"kind": kind, "from": frm, "to": to, "actor": actor or event["actor"], "reason": reason,
                "payload": payload, "at": AT_ISO}

    expected = {
        "id": declaration_id,
        "status": "assessed",
        "events": [
            ev("transition", "", "registered", "lodged", {"late_entry": False, "registered_at": AT_ISO}),
            ev("transition", "registered", "assessed", "assessed",
               {"eslip": eslip["reference"], "total": eslip["amount"]}),
            ev("alteration", "assessed", "assessed", "1 field(s) altered",
               {"fields": ["/local_reference"], "fee_kes": fee, "version": 2}),
            ev("amendment_requested", "assessed", "assessed", "tax-affecting amendment requested",
               {"fields": ["/items/0/customs_value"], "request_id": request_id}),
            ev("amendment_rejected", "assessed", "assessed", "Classification confirmed by lab",
               {"request_id": request_id}, actor="system"),
        ],
        "versions": [
            {"number": 1, "reason": "lodged", "created_at": AT_ISO, "fee_kes": "0.00", "changed_fields": [],
             "snapshot": snapshots[0], "diff": []},
            {"number": 2, "reason": "alteration", "created_at": AT_ISO, "fee_kes": fee,
             "changed_fields": ["/local_reference"], "snapshot": snapshots[1],
             "diff": [{"pointer": "/local_reference", "old": "AGT-2026-000123", "new": "AGT-2"}]},
        ],
        "amendment_requests": [
            {"id": request_id, "status": "rejected", "base_version": 2, "changed_fields": ["/items/0/customs_value"],
             "decision_reason": "Classification confirmed by lab", "created_at": AT_ISO, "decided_at": AT_ISO},
        ],
    }
    assert json.dumps(body) == json.dumps(expected)
    history = selectors.declaration_history(agent=world.agent, declaration_id=declaration_id)
    assert json.dumps(DeclarationHistorySerializer(history).data) == json.dumps(expected)  # render is .data
    # and the schema names the serializer that rendered it, down to the items
    assert_keys_match(body, DeclarationHistorySerializer())
    assert_valid(body, openapi, "DeclarationHistory")
    assert_response_names(openapi, "/api/v1/declarations/{declaration_id}/history", "get", "200",
                          "DeclarationHistory")
    for component, serializer in [("DeclarationHistory", DeclarationHistorySerializer()),
                                  ("DeclarationEventOut", DeclarationEventOutSerializer()),
                                  ("DeclarationVersionOut", DeclarationVersionOutSerializer()),
                                  ("DeclarationVersionChange", DeclarationVersionChangeSerializer()),
                                  ("AmendmentRequestOut", AmendmentRequestOutSerializer())]:
        assert_component_names_the_fields(openapi, component, serializer)
    assert list(openapi["components"]["schemas"]["DeclarationEventOut"]["properties"])[:3] == ["kind", "from", "to"]


def _status_row(declaration: dict[str, Any], world: World, regime: str = "IM4") -> dict[str, Any]:
    return {"id": declaration["id"], "entry_number": declaration["entry_number"], "status": declaration["status"],
            "channel": declaration["channel"], "ucr": "", "bill_of_lading": world.bl.number, "regime": regime,
            "office": "MBA", "updated_at": AT_ISO}


def test_status_lookup_body_is_exactly_the_rows_by_token_and_by_session(
        client: APIClient, world: World, frozen: Any, openapi: dict[str, Any]) -> None:
    # given: two declarations on the same B/L, one a draft (no entry number yet)
    lodged = _lodge(client, body_im4(world, items=1, currency="KES")).json()
    draft = _lodge(client, {**body_im4(world, items=1, currency="KES", local_reference="AGT-DRAFT"),
                            "draft": True}).json()
    session = APIClient()
    session.force_authenticate(user=world.user)

    # when: by entry number and by B/L, with the token (one SQL query) and as a session user (ORM)
    by_entry = [c.get("/api/v1/status", {"entry_number": lodged["entry_number"]}) for c in (client, session)]
    by_bl = [c.get("/api/v1/status", {"bl": world.bl.number}) for c in (client, session)]

    # then
    assert {r.status_code for r in by_entry + by_bl} == {200}
    expected_entry = {"results": [_status_row(lodged, world)]}
    assert (lodged["status"], lodged["channel"]) == ("assessed", None)
    assert (draft["status"], draft["entry_number"]) == ("draft", None)
    for response in by_entry:
        assert json.dumps(response.json()) == json.dumps(expected_entry)
    expected_bl = [_status_row(lodged, world), _status_row(draft, world)]
    for response in by_bl:  # (both created at AT: any order)
        results = sorted(response.json()["results"], key=lambda row: row["status"])
        assert list(response.json()) == ["results"]
        assert json.dumps(results) == json.dumps(expected_bl)
    # and the schema names the serializer that rendered the rows (the optional transit section aside)
    for response in by_entry + by_bl:
        assert_valid(response.json(), openapi, "StatusLookup")
        for row in response.json()["results"]:
            assert list(row) == [name for name in StatusLookupRowSerializer().fields if name != "transit"]
    assert_response_names(openapi, "/api/v1/status", "get", "200", "StatusLookup")
    assert_component_names_the_fields(openapi, "StatusLookup", StatusLookupSerializer())
    assert_component_names_the_fields(openapi, "StatusLookupRow", StatusLookupRowSerializer())
    assert "transit" not in openapi["components"]["schemas"]["StatusLookupRow"]["required"]


def test_status_lookup_keeps_the_transit_section_other_apps_add(frozen: Any, openapi: dict[str, Any]) -> None:
    # given: an IM8 lodged on a regional bond (its movement is created with it)
    world = transit_world(containers=1)
    RegionalBondFactory(principal_agent=world.agent, amount=Decimal("1000000.00"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    body = transit_payload(world, currency="USD", invoice_amount="10000.00")
    body["items"][0]["customs_value"] = "10000.00"
    lodged = _lodge(client, body).json()

    # when
    response = client.get("/api/v1/status", {"entry_number": lodged["entry_number"]})

    # then: the base row, then the transit section as transit renders it
    assert response.status_code == 200, response.json()
    section = transit_status_for(lodged["id"])
    assert section is not None
    assert section["movement_id"] == str(TransitMovement.objects.get(declaration_id=lodged["id"]).pk)
    expected = {"results": [{**_status_row(lodged, world, regime="IM8"), "transit": section}]}
    assert json.dumps(response.json()) == json.dumps(expected)
    # and the section transit adds is the one the row's schema declares (keys and types)
    assert_keys_match(response.json()["results"][0], StatusLookupRowSerializer())
    assert_valid(response.json(), openapi, "StatusLookup")
    assert_component_names_the_fields(openapi, "TransitStatusSection", TransitStatusSectionSerializer())


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_bank_callback_body_is_exactly_the_payment_and_the_declaration(
        client: APIClient, world: World, frozen: Any, openapi: dict[str, Any]) -> None:
    # given: an e-slip, and the bank's signed confirmation of it
    lodged = _lodge(client, body_im4(world, items=1, currency="KES")).json()
    raw = json.dumps({"eslip_reference": lodged["eslip"]["reference"], "amount": lodged["eslip"]["amount"],
                      "currency": "KES", "bank_reference": "KCB-0001", "paid_at": AT_ISO}).encode()

    def send() -> Any:
        headers = {"HTTP_" + name.upper().replace("-", "_"): value
                   for name, value in bank_callback_headers(raw).items()}
        return APIClient().generic("POST", "/api/v1/payments/bank-callback", raw,
                                   content_type="application/json", **headers)

    # when: sent, then sent again (the bank retries)
    first, retry = send(), send()

    # then
    payment = Payment.objects.get(declaration_id=lodged["id"])
    expected = {"payment_reference": payment.reference, "declaration_id": lodged["id"],
                "entry_number": lodged["entry_number"], "status": "paid", "replayed": False}
    assert (first.status_code, retry.status_code) == (201, 200)
    assert json.dumps(first.json()) == json.dumps(expected)
    assert json.dumps(retry.json()) == json.dumps({**expected, "replayed": True})
    assert json.dumps(BankCallbackOutSerializer({"payment": payment, "replayed": False}).data) == json.dumps(expected)
    # and both answers name the serializer that rendered them
    for response in (first, retry):
        assert_keys_match(response.json(), BankCallbackOutSerializer())
        assert_valid(response.json(), openapi, "BankCallbackOut")
    for status in ("201", "200"):
        assert_response_names(openapi, "/api/v1/payments/bank-callback", "post", status, "BankCallbackOut")
    assert_component_names_the_fields(openapi, "BankCallbackOut", BankCallbackOutSerializer())
