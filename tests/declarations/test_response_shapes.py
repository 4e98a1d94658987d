"""One response shape per resource (issue #19): the declaration is rendered by
DeclarationOutSerializer, the class the OpenAPI schema names, so the two cannot drift. These tests
render real responses and check them against both the serializer's fields (recursively) and the
OpenAPI component generated from it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.test import APIClient

from core.serializers import compile_renderer
from declarations import selectors
from declarations.serializers import DeclarationOutSerializer, DeclarationView
from tests.factories.declarations import World, body_im4

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
