"""Hostile and malformed input: always 4xx problem+json with codes and pointers, never half-saved."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from declarations.models import Declaration
from tests.declarations.helpers import problems, row_counts
from tests.factories.declarations import World, body_im4, item

pytestmark = pytest.mark.django_db

URL = "/api/v1/declarations"


def _raw(client: APIClient, payload: bytes | str, content_type: str = "application/json") -> Any:
    before = row_counts()
    response = client.generic("POST", URL, payload, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    assert row_counts() == before
    return response


def test_malformed_json(client: APIClient) -> None:
    response = _raw(client, b'{"regime": "IM4", ')
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_body_must_be_an_object(client: APIClient) -> None:
    response = _raw(client, b"[1, 2, 3]")
    assert response.status_code == 400
    assert problems(response) == [("invalid", "")]


def test_wrong_content_type(client: APIClient, world: World) -> None:
    response = _raw(client, json.dumps(body_im4(world)), content_type="text/plain")
    assert response.status_code == 415


def test_wrong_types_are_reported_with_pointers(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=2, invoice_amount=12.5, cpc=4000000, local_reference=["x"])
    body["items"][0]["packages"] = "3"
    body["items"][1]["gross_weight_kg"] = True

    # when
    response = _raw(client, json.dumps(body))

    # then
    assert problems(response) == [
        ("invalid_type", "/cpc"), ("invalid_type", "/invoice_amount"), ("invalid_type", "/items/0/packages"),
        ("invalid_type", "/items/1/gross_weight_kg"), ("invalid_type", "/local_reference"),
    ]


def test_unknown_fields_are_rejected_at_every_level(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=2, discount="5.00")
    body["items"][1]["colour"] = "red"
    body["documents"] = [{"kind": "INV", "reference": "1", "signed_by": "me"}]

    # when
    response = _raw(client, json.dumps(body))

    # then
    assert problems(response) == [("unknown_field", "/discount"), ("unknown_field", "/documents/0/signed_by"),
                                  ("unknown_field", "/items/1/colour")]


def test_ten_thousand_items_are_refused_without_validating_each(client: APIClient, world: World) -> None:
    # given: 10,000 small items (about 1 MB, under the body limit)
    body = body_im4(world, items=0)
    body["items"] = [{"hs_code": "8708.99.00"}] * 10_000

    # when
    response = _raw(client, json.dumps(body))

    # then
    assert problems(response) == [("too_many_items", "/items")]


def test_five_megabyte_body_is_413(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=1, local_reference="x" * (5 * 1024 * 1024))

    # when
    response = _raw(client, json.dumps(body))

    # then
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@pytest.mark.parametrize(("text", "code"), [
    ("line\nbreak", "control_character"), ("bell\x07", "control_character"), ("del\x7f", "control_character"),
    ("sep\u2028x", "control_character"),
    # NUL never reaches the declaration rules: the edge refuses it (core.middleware.InputTextMiddleware)
    ("nul\x00byte", "invalid_character"),
])
def test_control_characters_are_rejected(client: APIClient, world: World, text: str, code: str) -> None:
    # given
    body = body_im4(world, items=1)
    body["items"][0]["description"] = text

    # when
    response = _raw(client, json.dumps(body).encode())

    # then
    assert problems(response) == [(code, "/items/0/description")]


def test_a_lone_surrogate_is_refused_where_it_stands(client: APIClient, world: World) -> None:
    # given: "\ud800" travels as a JSON escape; it cannot be encoded back to UTF-8
    body = body_im4(world, items=1)
    body["items"][0]["description"] = "\ud800lone"

    # when
    response = _raw(client, json.dumps(body).encode())

    # then
    assert response.status_code == 400
    assert problems(response) == [("invalid_character", "/items/0/description")]


def test_unicode_text_is_accepted(client: APIClient, world: World) -> None:
    # given: Swahili, Chinese, an emoji and combining accents are fine
    body = body_im4(world, items=1, currency="KES", local_reference="Ndiyo-Mzigo-陶瓷-✓")
    body["items"][0]["description"] = "Viatu vya ngozi 皮鞋 café 🚗"

    # when
    response = client.post(URL, body, format="json")

    # then
    assert response.status_code == 201, response.json()
    assert response.json()["declaration"]["items"][0]["description"] == "Viatu vya ngozi 皮鞋 café 🚗"


def test_negative_values(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=1, freight_amount="-1.00")
    body["items"][0].update(customs_value="-10.00", packages=-1, net_weight_kg="-5.000")

    # when
    response = _raw(client, json.dumps(body))

    # then
    assert problems(response) == [("min_value", "/freight_amount"), ("min_value", "/items/0/customs_value"),
                                  ("min_value", "/items/0/net_weight_kg"), ("min_value", "/items/0/packages")]


def test_bad_formats(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=1, importer_pin="p05123456x", regime="IM9", office="mba")
    body["items"][0]["hs_code"] = "8703.2"

    # when
    response = _raw(client, json.dumps(body))

    # then
    assert problems(response) == [("invalid", "/importer_pin"), ("invalid", "/items/0/hs_code"),
                                  ("invalid", "/office"), ("invalid_choice", "/regime")]


def test_empty_items(client: APIClient, world: World) -> None:
    body = body_im4(world, items=0)
    response = _raw(client, json.dumps(body))
    assert problems(response) == [("empty", "/items")]


def test_missing_required_fields(client: APIClient) -> None:
    response = _raw(client, json.dumps({"items": [item(0)]}))
    assert problems(response) == [("required", "/cpc"), ("required", "/currency"), ("required", "/invoice_amount"),
                                  ("required", "/office"), ("required", "/regime")]


def test_no_token_is_401(world: World) -> None:
    response = APIClient().post(URL, body_im4(world), format="json")
    assert response.status_code == 401


def test_user_who_is_not_agent_staff_is_403(world: World) -> None:
    from rest_framework.authtoken.models import Token

    from tests.factories.traders import UserFactory

    token = Token.objects.create(user=UserFactory())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post(URL, body_im4(world), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_an_agent"


@pytest.mark.parametrize("amount", ["1e5", "1E5", "1.5e2", "NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN",
                                    "+100", " 100", "100 ", "1_000", "0x10", "1,000.00", ".5", "5.",
                                    "\u0661\u0660\u0660"])  # Arabic-Indic digits
def test_money_is_a_plain_decimal_only(client: APIClient, world: World, amount: str) -> None:
    # given an exponent, a NaN/Infinity spelling or any non-plain way of writing a number
    body = body_im4(world, items=1, invoice_amount=amount)
    before = Declaration.objects.count()

    # when
    response = _raw(client, json.dumps(body))

    # then
    assert response.status_code == 400
    assert problems(response) == [("invalid_decimal", "/invoice_amount")]
    assert Declaration.objects.count() == before


@pytest.mark.parametrize("amount", ["1e5", "NaN", "Infinity", 1.5])
def test_payment_amounts_are_plain_decimals_only(client: APIClient, world: World, amount: Any) -> None:
    # given a lodged declaration
    lodged = client.post("/api/v1/declarations", body_im4(world, items=1, currency="KES"), format="json").json()
    # when
    response = client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                           {"amount": amount, "currency": "KES", "method": "mpesa"}, format="json")
    # then
    assert response.status_code == 400
    assert problems(response) == [("invalid_type" if isinstance(amount, float) else "invalid_decimal", "/amount")]
    assert Declaration.objects.get(pk=lodged["id"]).status == "assessed"
