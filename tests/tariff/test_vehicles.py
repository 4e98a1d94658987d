"""Vehicle checks and KRA's CRSP valuation: the pure functions (tariff.vehicles) and the workbook
as loaded by `load_reference_data` (tariff.loaders.load_crsp)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tariff.loaders import DATA_DIR, parse_crsp_workbook
from tariff.models import CrspDepreciation, CrspEntry, CrspTemplate
from tariff.selectors import crsp_valuation
from tariff.vehicles import (
    DepreciationBand,
    crsp_value,
    depreciation_for_age,
    template_code,
    vin_check_digit,
    vin_problem,
)

DIRECT = [
    DepreciationBand(1, 2, Decimal("0.20"), ">1 <=2 years"),
    DepreciationBand(2, 3, Decimal("0.30"), ">2 <=3 years"),
    DepreciationBand(7, 8, Decimal("0.65"), ">7 <=8 years"),
]


def test_vin_check_digit_of_the_textbook_vin() -> None:
    # given: the 49 CFR 565 worked example and a VIN with a wrong ninth character
    good, bad = "1M8GDM9AXKP042788", "1M8GDM9A1KP042788"

    # when / then
    assert vin_check_digit(good) == "X"
    assert vin_problem(good) is None
    assert vin_problem(bad) == "VIN 1M8GDM9A1KP042788 fails its check digit (position 9 should be X)."


def test_vin_check_digit_is_not_applied_outside_north_america() -> None:
    # given: a Japanese WMI (JT...) whose ninth character is not a check digit
    vin = "JTDBR32E720012345"

    # when / then
    assert vin_check_digit(vin) != vin[8]
    assert vin_problem(vin) is None


@pytest.mark.parametrize(("age", "rate"), [(0, "0"), (1, "0"), (2, "0.20"), (3, "0.30"), (8, "0.65"), (9, "0.65")])
def test_depreciation_follows_kras_bands(age: int, rate: str) -> None:
    assert depreciation_for_age(DIRECT, age) == Decimal(rate)


@pytest.mark.parametrize(("hs", "cc", "fuel", "code"), [
    ("87032290", 1496, "petrol", "up_to_1500cc"),
    ("87032390", 1998, "petrol", "over_1500cc"),
    ("87032490", 3500, "petrol", "large_engine"),
    ("87038000", 0, "electric", "electric"),
])
def test_template_is_chosen_as_kras_tabulation_titles_say(hs: str, cc: int, fuel: str, code: str) -> None:
    assert template_code(hs_digits=hs, engine_capacity_cc=cc, fuel=fuel) == code


def test_crsp_value_is_crsp_less_depreciation_over_the_template_divisor() -> None:
    # when: KRA template "not exceeding 1500cc": /1.25 /1.35 /1.2 /1.16 = /2.349
    valuation = crsp_value(crsp_kes=Decimal("3236062.27"), description="TOYOTA COROLLA AXIO",
                           hs_digits="87032290", engine_capacity_cc=1496, fuel="petrol", age_years=3,
                           bands=DIRECT, divisors={"up_to_1500cc": Decimal("2.349")})

    # then: 3,236,062.27 x 0.70 / 2.349, half-up to the cent
    assert valuation is not None
    assert (valuation.template, valuation.depreciation, valuation.value_kes) == (
        "up_to_1500cc", Decimal("0.30"), Decimal("964343.80"))


def test_no_valuation_without_the_template() -> None:
    assert crsp_value(crsp_kes=Decimal(1000), description="x", hs_digits="87032290", engine_capacity_cc=1000,
                      fuel="petrol", age_years=1, bands=DIRECT, divisors={}) is None


def test_workbook_parse_reads_prices_both_depreciation_tables_and_the_formulas() -> None:
    # when
    book = parse_crsp_workbook(DATA_DIR / "kra_crsp_july_2025.xlsx")

    # then: every priced row of both price sheets; KRA's tables as printed
    assert len(book.entries) == 5742
    direct = sorted((d.age_over, d.age_up_to, d.rate) for d in book.depreciation if d.basis == "direct_import")
    assert direct == [(1, 2, Decimal("0.2")), (2, 3, Decimal("0.3")), (3, 4, Decimal("0.4")), (4, 5, Decimal("0.5")),
                      (5, 6, Decimal("0.55")), (6, 7, Decimal("0.6")), (7, 8, Decimal("0.65"))]
    registered = [d for d in book.depreciation if d.basis == "previously_registered"]
    assert len(registered) == 16
    assert (registered[-1].age_over, registered[-1].age_up_to, registered[-1].rate) == (15, None, Decimal("0.95"))
    divisors = {t.code: t.divisor for t in book.templates}
    assert divisors["up_to_1500cc"] == Decimal("2.3490000")  # 1.25 x 1.35 x 1.2 x 1.16
    assert divisors["over_1500cc"] == Decimal("2.44687500")  # 1.25 x 1.35 x 1.25 x 1.16
    assert divisors["large_engine"] == Decimal("2.64262500")  # 1.25 x 1.35 x 1.35 x 1.16
    assert divisors["electric"] == Decimal("2.1532500")  # 1.25 x 1.35 x 1.1 x 1.16
    assert len(divisors) == 11


@pytest.mark.django_db
def test_crsp_valued_toyota_golden() -> None:
    # given: the session's reference data (the CRSP list of July 2025 loaded once)
    assert CrspEntry.objects.count() == 5742
    assert CrspTemplate.objects.count() == 11
    assert CrspDepreciation.objects.filter(basis="direct_import").count() == 7

    # when: a used Corolla Axio 1496 cc made three years before the lodging date
    on = dt.date(2026, 11, 25)
    valuation = crsp_valuation(make="Toyota", model="Corolla  Axio", hs_digits="87032290", engine_capacity_cc=1496,
                               fuel="petrol", year_of_manufacture=2023, on=on)

    # then: the cheapest "COROLLA AXIO" row of that engine (KES 3,236,062.27), 30 % for 3 years, / 2.349
    assert valuation is not None
    assert valuation.crsp_kes == Decimal("3236062.27")
    assert (valuation.age_years, valuation.depreciation, valuation.divisor) == (3, Decimal("0.3000"),
                                                                                 Decimal("2.34900000"))
    assert valuation.value_kes == Decimal("964343.80")
    assert valuation.description.startswith("TOYOTA COROLLA AXIO 6AA-NKE165-AEXNB (1496, GASOLINE)")


@pytest.mark.django_db
def test_no_crsp_valuation_for_an_unlisted_model_or_before_the_list() -> None:
    assert crsp_valuation(make="TOYOTA", model="NO SUCH CAR", hs_digits="87032290", engine_capacity_cc=1496,
                          fuel="petrol", year_of_manufacture=2023, on=dt.date(2026, 11, 25)) is None
    assert crsp_valuation(make="TOYOTA", model="COROLLA AXIO", hs_digits="87032290", engine_capacity_cc=1496,
                          fuel="petrol", year_of_manufacture=2023, on=dt.date(2025, 6, 30)) is None
