from __future__ import annotations

import pytest

from reference.models import Location
from reference.selectors import (
    clear_cache,
    country_exists,
    currency_exists,
    location_exists,
    office_get,
    package_kind_exists,
    unit_exists,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh() -> None:
    clear_cache()


def test_code_lookups() -> None:
    assert (country_exists("KE"), country_exists("XX"), country_exists("ke")) == (True, False, False)
    assert (currency_exists("USD"), currency_exists("KES"), currency_exists("USX")) == (True, True, False)
    assert (location_exists("KEMBA"), location_exists("KEXXX")) == (True, False)
    assert (package_kind_exists("CT"), package_kind_exists("??")) == (True, False)
    assert (unit_exists("KGM"), unit_exists("NOPE")) == (True, False)
    assert country_exists("") is False
    assert location_exists(None) is False  # type: ignore[arg-type]


def test_office_get() -> None:
    office = office_get("MBA")
    assert office is not None
    assert (office.name, office.kind, office.location_id) == ("Mombasa Port (Kilindini)", "seaport", "KEMBA")
    assert office_get("XYZ") is None
    assert office_get("MBA") is office  # cached


def test_rows_created_after_a_miss_are_found_at_once() -> None:
    assert location_exists("KEZZZ") is False
    Location.objects.create(unlocode="KEZZZ", country_id="KE", name="New ICD", is_icd=True)
    assert location_exists("KEZZZ") is True
