"""`manage.py load_reference_data`: row counts, idempotency, what the cleaning produced in the DB.
The session fixture (tests/conftest.py) already ran the loader once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from reference.models import Country, Currency, CustomsOffice, Location, PackageKind, Unit
from tariff.models import DutyRate, ExchangeRate, HSNode, NationalMeasure, TariffLine

pytestmark = pytest.mark.django_db

EXPECTED = {
    HSNode: 6939,
    TariffLine: 5947,
    DutyRate: 5980,
    NationalMeasure: 42,
    ExchangeRate: 1056,
    Country: 249,
    Currency: 181,
    Location: 22099,
    CustomsOffice: 15,
    PackageKind: 406,
    Unit: 75,
}


def counts() -> dict[type, int]:
    return {model: model._default_manager.count() for model in EXPECTED}


def test_row_counts() -> None:
    assert counts() == EXPECTED
    assert HSNode.objects.filter(level=2).count() == 97
    assert HSNode.objects.filter(level=4).count() == 1229
    assert HSNode.objects.filter(level=6).count() == 5613
    assert DutyRate.objects.filter(source="schedule2").count() == 50
    # 33 rate amendments + 5 replacement lines of structural amendments
    assert DutyRate.objects.filter(source="amendment").count() == 38


def test_reload_is_idempotent_and_restores_edited_rows(capsys: pytest.CaptureFixture[str]) -> None:
    # given: an officer changed a loaded rate and added a rate of their own
    rice = DutyRate.objects.get(tariff_line__code="10063000")
    DutyRate.objects.filter(pk=rice.pk).update(ad_valorem_rate=Decimal(1))
    own = NationalMeasure.objects.create(
        kind="excise", hs_prefix="9999", ad_valorem_rate=Decimal(5), description="own", valid_from=dt.date(2025, 1, 1)
    )
    # when
    call_command("load_reference_data")
    # then
    out = capsys.readouterr().out
    assert "Reference data loaded in" in out
    assert "CET defects cleaned: 123, not applied: 1" in out
    assert counts() == {**EXPECTED, NationalMeasure: 43}
    rice.refresh_from_db()
    assert rice.ad_valorem_rate == Decimal("75.000")
    assert NationalMeasure.objects.filter(pk=own.pk).exists()


def test_loaded_compound_and_amended_rates() -> None:
    sugar = DutyRate.objects.get(tariff_line__code="17019990")
    assert (sugar.kind, sugar.ad_valorem_rate, sugar.specific_amount, sugar.specific_currency, sugar.specific_unit) == (
        "compound",
        Decimal("100.000"),
        Decimal("460.0000"),
        "USD",
        "MT",
    )
    battery = DutyRate.objects.filter(tariff_line__code="85069000").order_by("valid_from")
    assert [(r.source, r.ad_valorem_rate, r.valid_from, r.valid_to) for r in battery] == [
        ("schedule1", Decimal("0.000"), dt.date(2022, 7, 1), dt.date(2023, 6, 30)),
        ("amendment", Decimal("10.000"), dt.date(2023, 7, 1), None),
    ]
    line = TariffLine.objects.get(code="87032290")
    assert line.hs_subheading_id == "870322"
    assert line.dotted_code == "8703.22.90"


def test_offices_and_locations() -> None:
    mba = CustomsOffice.objects.get(code="MBA")
    assert (mba.kind, mba.location_id) == ("seaport", "KEMBA")
    nbo = CustomsOffice.objects.get(code="NBO")
    assert (nbo.kind, nbo.location_id, nbo.location.is_icd) == ("icd", "KEEMB", True)
    mal = CustomsOffice.objects.get(code="MAL")
    assert (mal.is_border_post, mal.partner_country_id, mal.location.is_border_crossing) == (True, "UG", True)
    assert set(CustomsOffice.objects.values_list("code", flat=True)) >= {
        "MBA",
        "JKA",
        "NBO",
        "MAL",
        "BSA",
        "NMG",
        "KSM",
    }
    assert Location.objects.get(pk="KENBO").is_seaport is False
    assert Location.objects.get(pk="KENBO").is_airport is True
    assert Location.objects.get(pk="KEKIL").is_seaport is True
    assert Location.objects.filter(country_id="CN", is_seaport=True).exists()


def test_countries_currencies_and_code_lists() -> None:
    assert set(Country.objects.filter(is_eac_partner=True).values_list("code", flat=True)) == {
        "KE",
        "UG",
        "TZ",
        "RW",
        "BI",
        "SS",
        "CD",
        "SO",
    }
    assert Currency.objects.filter(code__in=["KES", "USD", "UGX", "TZS"]).count() == 4
    assert PackageKind.objects.get(code="VR").description == 'Bulk, solid, granular particles ("grains")'
    assert Unit.objects.filter(code__in=["KGM", "LTR", "NAR", "MIL"]).count() == 4
