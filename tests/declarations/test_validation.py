"""Each business rule of lodging: code + pointer, every problem at once, nothing half-saved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from manifests.models import BillOfLading
from tests.declarations.helpers import problems, row_counts
from tests.factories.declarations import World, body_im4, item, world_create
from tests.factories.manifests import BillOfLadingFactory
from tests.factories.traders import TraderFactory

pytestmark = pytest.mark.django_db


def _lodge_fails(client: APIClient, body: Any) -> Any:
    before = row_counts()
    response = client.post("/api/v1/declarations", body, format="json")
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert row_counts() == before
    return response


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"cpc": "1000000"}, [("cpc_regime_mismatch", "/cpc")]),
        ({"office": "XYZ"}, [("unknown_office", "/office")]),
        ({"currency": "XAU"}, [("exchange_rate_missing", "/currency")]),
        ({"currency": "QQQ"}, [("unknown_currency", "/currency")]),
        ({"country_of_export": "QQ"}, [("unknown_country", "/country_of_export")]),
        ({"invoice_amount": "0.00"}, [("value_not_positive", "/invoice_amount")]),
        ({"bill_of_lading": "NOSUCHBL1"}, [("bl_not_found", "/bill_of_lading")]),
        ({"exporter_pin": "P000000001B"}, [("not_allowed_for_regime", "/exporter_pin")]),
    ],
)
def test_header_rules(client: APIClient, world: World, overrides: dict[str, Any],
                      expected: list[tuple[str, str]]) -> None:
    # given
    body = body_im4(world, items=1, **overrides)

    # when
    response = _lodge_fails(client, body)

    # then
    assert problems(response) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"net_weight_kg": "200.000", "gross_weight_kg": "150.000"}, [("net_exceeds_gross", "/items/0/net_weight_kg")]),
        ({"customs_value": "0.00"}, [("value_not_positive", "/items/0/customs_value")]),
        ({"hs_code": "0000.00.00"}, [("hs_code_unknown", "/items/0/hs_code")]),
        ({"origin_country": "QQ"}, [("unknown_country", "/items/0/origin_country")]),
        ({"package_kind": "Q9"}, [("unknown_package_kind", "/items/0/package_kind")]),
        ({"supplementary_unit": "ZZZ"}, [("unknown_unit", "/items/0/supplementary_unit")]),
        ({"cpc": "1000000"}, [("cpc_regime_mismatch", "/items/0/cpc")]),
        ({"customs_value": None}, [("customs_value_missing", "/items/0/customs_value")]),
        ({"preference": "EAC"}, [("preference_not_applicable", "/items/0/preference")]),
    ],
)
def test_item_rules(client: APIClient, world: World, overrides: dict[str, Any],
                    expected: list[tuple[str, str]]) -> None:
    # given
    body = body_im4(world, items=1)
    if "hs_code" in overrides:
        del body["items"][0]["vehicle"]  # the item stops being a car: no particulars
    body["items"][0].update(overrides)

    # when
    response = _lodge_fails(client, body)

    # then
    assert problems(response) == expected


@pytest.fixture
def fresh_tariff_book() -> Iterator[None]:
    """Tests that edit tariff rows must not leave a stale book in the process-wide cache."""
    from tariff import selectors

    selectors.clear_local_cache()
    yield
    selectors.clear_local_cache()


@pytest.mark.usefixtures("fresh_tariff_book")
def test_hs_code_not_in_force_on_the_lodging_date(client: APIClient, world: World) -> None:
    # given: the line expired yesterday
    from tariff import selectors
    from tariff.models import TariffLine

    TariffLine.objects.filter(code="94036000").update(valid_from=dt.date(2022, 7, 1),
                                                       valid_to=clock.today() - dt.timedelta(days=1))
    selectors.clear_local_cache()
    body = body_im4(world, items=1)
    body["items"][0]["hs_code"] = "9403.60.00"
    del body["items"][0]["vehicle"]

    # when
    response = _lodge_fails(client, body)

    # then
    assert problems(response) == [("hs_code_not_in_force", "/items/0/hs_code")]


def test_every_problem_is_reported_at_once(client: APIClient, world: World) -> None:
    # given: five independent mistakes
    body = body_im4(world, items=3, cpc="7000000", country_of_export="QQ")
    body["items"][1]["net_weight_kg"] = "999.000"
    body["items"][2]["hs_code"] = "0000.00.00"
    body["items"][0]["package_kind"] = "Q9"

    # when
    response = _lodge_fails(client, body)

    # then
    assert problems(response) == sorted([
        ("cpc_regime_mismatch", "/cpc"),
        ("unknown_country", "/country_of_export"),
        ("net_exceeds_gross", "/items/1/net_weight_kg"),
        ("hs_code_unknown", "/items/2/hs_code"),
        ("unknown_package_kind", "/items/0/package_kind"),
    ])


def test_import_needs_importer_bl_and_country_of_export(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=1)
    for name in ("importer_pin", "bill_of_lading", "country_of_export"):
        del body[name]

    # when
    response = _lodge_fails(client, body)

    # then
    assert problems(response) == [("required", "/bill_of_lading"), ("required", "/country_of_export"),
                                  ("required", "/importer_pin")]


def test_export_refuses_a_bill_of_lading(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=1, regime="EX1", cpc="1000100", country_of_destination="DE")
    body["exporter_pin"] = body.pop("importer_pin")

    # when
    response = _lodge_fails(client, body)

    # then
    assert problems(response) == [("not_allowed_for_regime", "/bill_of_lading")]


def test_trader_not_authorised(client: APIClient, world: World) -> None:
    # given: a real trader that never authorised this agent, consignee of its own B/L
    stranger = TraderFactory()
    bl = BillOfLadingFactory(manifest=world.manifest, consignee_pin=stranger.pin)

    # when
    response = _lodge_fails(client, body_im4(world, items=1, importer_pin=stranger.pin, bill_of_lading=bl.number))

    # then
    assert problems(response) == [("trader_not_authorised", "/importer_pin")]


def test_someone_elses_bl(client: APIClient, world: World) -> None:
    # given: the B/L is consigned to another importer
    other = world_create()

    # when
    response = _lodge_fails(client, body_im4(world, items=1, bill_of_lading=other.bl.number))

    # then
    assert problems(response) == [("bl_consignee_mismatch", "/bill_of_lading")]


def test_agent_licence_expired(client: APIClient, world: World) -> None:
    # given
    world.agent.licence_valid_to = clock.today() - dt.timedelta(days=1)
    world.agent.licence_valid_from = dt.date(2020, 1, 1)
    world.agent.save()

    # when
    response = _lodge_fails(client, body_im4(world, items=1))

    # then
    assert problems(response) == [("agent_licence_invalid", "")]


def test_bl_quantity_exceeded_is_reported_with_the_other_problems(client: APIClient, db: Any) -> None:
    # given: a B/L of 3 packages; the body declares 1+2+3+4 and has a bad CPC
    small = world_create(bl_packages=3)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {small.token}")
    body = body_im4(small, items=4, cpc="4000000")
    body["items"][0]["cpc"] = "8000000"

    # when
    response = _lodge_fails(api, body)

    # then
    assert problems(response) == [("bl_quantity_exceeded", "/bill_of_lading"), ("cpc_regime_mismatch", "/items/0/cpc")]
    assert BillOfLading.objects.get(pk=small.bl.pk).packages_reserved == 0


def test_future_document_date(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=1)
    body["documents"] = [{"kind": "INV", "reference": "INV-1",
                          "issued_on": (clock.today() + dt.timedelta(days=3)).isoformat()}]

    # when
    response = _lodge_fails(client, body)

    # then
    assert problems(response) == [("future_date", "/documents/0/issued_on")]


def test_eleven_items_over_the_bl_weight(client: APIClient, db: Any) -> None:
    # given: B/L of 500 kg, items of ~100 kg each
    light = world_create(bl_weight="500.000")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {light.token}")
    body = body_im4(light, items=11)
    assert sum(Decimal(i["gross_weight_kg"]) for i in body["items"]) > 500

    # when
    response = _lodge_fails(api, body)

    # then
    assert ("bl_quantity_exceeded", "/bill_of_lading") in problems(response)


def test_item_helper_defaults_are_valid(world: World) -> None:
    # given / when
    body = item(5)
    # then: net <= gross in the defaults used everywhere
    assert Decimal(body["net_weight_kg"]) <= Decimal(body["gross_weight_kg"])


def test_bl_discharged_at_another_office(client: APIClient, world: World) -> None:
    # given: the goods are at Mombasa, the entry is lodged at JKIA
    response = _lodge_fails(client, body_im4(world, items=1, office="JKA"))

    # then
    assert problems(response) == [("bl_office_mismatch", "/office")]


def test_pre_arrival_declaration_is_accepted_and_never_late(db: Any) -> None:
    # given: the vessel has not arrived (manifest lodged, no ATA / discharge)
    from declarations.services import declaration_lodge

    early = world_create(discharged_days_ago=None)

    # when
    declaration = declaration_lodge(agent=early.agent, user=early.user, payload=body_im4(early, items=2),
                                    actor=early.user)

    # then
    assert declaration.status == "assessed"
    assert declaration.late_entry is False


def test_reference_problems_are_reported_together_with_field_problems(client: APIClient, world: World) -> None:
    # given: field-level mistakes (a negative value, a malformed weight, a bad CPC format) and
    # reference-data mistakes in fields that parsed (HS code, package kind, office, country, PIN)
    body = body_im4(world, items=3, office="QQQ", country_of_export="QQ", cpc="40")
    body["items"][0]["hs_code"] = "0000.00.00"
    body["items"][1]["item_value"] = "-5.00"
    body["items"][1]["package_kind"] = "Q9"
    body["items"][2]["gross_weight_kg"] = "1e5"
    body["items"][2]["origin_country"] = "ZZ"
    body["importer_pin"] = "P000000000Z"

    # when
    response = _lodge_fails(client, body)

    # then: every problem of both phases in one answer
    assert problems(response) == sorted([
        ("invalid", "/cpc"),
        ("min_value", "/items/1/item_value"),
        ("invalid_decimal", "/items/2/gross_weight_kg"),
        ("unknown_office", "/office"),
        ("unknown_country", "/country_of_export"),
        ("trader_not_authorised", "/importer_pin"),
        ("hs_code_unknown", "/items/0/hs_code"),
        ("unknown_package_kind", "/items/1/package_kind"),
        ("unknown_country", "/items/2/origin_country"),
    ])


def test_a_field_with_a_field_level_problem_is_not_looked_up_again(client: APIClient, world: World) -> None:
    # given an HS code that is malformed (field level): it is not also reported as unknown
    body = body_im4(world, items=2)
    body["items"][0]["hs_code"] = "87x"
    body["items"][1]["item_value"] = "-1"
    # when
    response = _lodge_fails(client, body)
    # then
    assert [p for p in problems(response) if p[1] == "/items/0/hs_code"] == [("invalid", "/items/0/hs_code")]
