"""Vehicle particulars on motor-vehicle items (HS 87.02-87.05): required, checked, stored."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from declarations.models import DeclarationItem
from tests.declarations.helpers import problems, row_counts
from tests.factories.declarations import World, body_im4, item, vehicle

pytestmark = pytest.mark.django_db


def _car(world: World, **vehicle_overrides: Any) -> dict[str, Any]:
    body = body_im4(world)
    body["items"] = [item(0, vehicle=vehicle(**vehicle_overrides))]
    return body


def _post(client: APIClient, body: Any) -> Any:
    return client.post("/api/v1/declarations", body, format="json")


def test_particulars_are_stored_with_the_item(client: APIClient, world: World) -> None:
    # given
    body = _car(world, vin="1M8GDM9AXKP042788", chassis_number="")

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 201, response.json()
    stored = DeclarationItem.objects.get(declaration_id=response.json()["id"]).vehicle
    assert stored == {"vin": "1M8GDM9AXKP042788", "chassis_number": "", "make": "TOYOTA", "model": "COROLLA AXIO",
                      "year_of_manufacture": clock.today().year - 3, "engine_capacity_cc": 1496, "fuel": "petrol",
                      "condition": "used"}


def test_a_car_without_particulars_is_refused(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world)
    body["items"] = [item(0, vehicle=None)]
    before = row_counts()

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 400
    assert problems(response) == [("vehicle_particulars_required", "/items/0/vehicle")]
    assert row_counts() == before


def test_particulars_on_goods_that_are_not_vehicles_are_refused(client: APIClient, world: World) -> None:
    body = body_im4(world)
    body["items"] = [item(2, vehicle=vehicle())]

    response = _post(client, body)

    assert response.status_code == 400
    assert problems(response) == [("vehicle_not_applicable", "/items/0/vehicle")]


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"chassis_number": ""}, [("vehicle_identification_required", "/items/0/vehicle/vin")]),
    ({"vin": "1M8GDM9A1KP042788"}, [("vin_check_digit_invalid", "/items/0/vehicle/vin")]),
    ({"year_of_manufacture": "next"}, [("future_year_of_manufacture", "/items/0/vehicle/year_of_manufacture")]),
    ({"year_of_manufacture": "8 years"}, [("vehicle_too_old", "/items/0/vehicle/year_of_manufacture")]),
    ({"fuel": "electric"}, [("engine_capacity_invalid", "/items/0/vehicle/engine_capacity_cc")]),
    ({"engine_capacity_cc": 0}, [("engine_capacity_invalid", "/items/0/vehicle/engine_capacity_cc")]),
    ({"vin": "1M8GDM9A1KP042788", "year_of_manufacture": "8 years"},
     [("vehicle_too_old", "/items/0/vehicle/year_of_manufacture"),
      ("vin_check_digit_invalid", "/items/0/vehicle/vin")]),
])
def test_particulars_are_checked(client: APIClient, world: World, overrides: dict[str, Any],
                                 expected: list[tuple[str, str]]) -> None:
    # given: years relative to the (pinned) clock's year
    year = clock.today().year
    if overrides.get("year_of_manufacture") == "next":
        overrides["year_of_manufacture"] = year + 1
    elif overrides.get("year_of_manufacture") == "8 years":
        overrides["year_of_manufacture"] = year - 8
    before = row_counts()

    # when
    response = _post(client, _car(world, **overrides))

    # then
    assert response.status_code == 400
    assert problems(response) == expected
    assert row_counts() == before


def test_a_used_car_seven_years_old_is_admitted(
    client: APIClient, world: World
) -> None:
    # given: KS 1515: less than 8 years from the year of manufacture (year - 7 is the oldest admitted)
    year = clock.today().year

    # when
    used = _post(client, _car(world, year_of_manufacture=year - 7))

    # then
    assert used.status_code == 201, used.json()


def test_the_age_limit_applies_to_used_imports_only(client: APIClient, world: World) -> None:
    # given: a vehicle made 8 years ago declared new (never registered)
    body = _car(world, year_of_manufacture=clock.today().year - 8, condition="new")

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 201, response.json()


def test_malformed_particulars_are_structural_errors(client: APIClient, world: World) -> None:
    body = _car(world, vin="IOQ45", fuel="steam", colour="red")

    response = _post(client, body)

    assert response.status_code == 400
    assert problems(response) == [
        ("invalid", "/items/0/vehicle/vin"),
        ("invalid_choice", "/items/0/vehicle/fuel"),
        ("unknown_field", "/items/0/vehicle/colour"),
    ]
