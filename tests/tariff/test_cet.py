"""Cleaning of the EAC CET text conversion (pure, no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tariff.cet import AMENDMENT_DATE, CET_START, ParsedRate, parse_rate_text
from tariff.loaders import parse_cet_file

BEFORE = dt.date(2023, 6, 30)


@pytest.fixture(scope="module")
def cet():
    return parse_cet_file()


def compound(percent: str, amount: str, unit: str) -> ParsedRate:
    return ParsedRate(
        kind="compound",
        ad_valorem_rate=Decimal(percent),
        specific_amount=Decimal(amount),
        specific_currency="USD",
        specific_unit=unit,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25%", ParsedRate(kind="ad_valorem", ad_valorem_rate=Decimal(25))),
        ("0%", ParsedRate(kind="ad_valorem", ad_valorem_rate=Decimal(0))),
        ("10% 10%", ParsedRate(kind="ad_valorem", ad_valorem_rate=Decimal(10))),
        ("25% or $200/MT whichever is higher", compound("25", "200", "MT")),
        ("100 %or $ 460/MT whichever is higher", compound("100", "460", "MT")),
        ("75% or $345/MT whichever is higher", compound("75", "345", "MT")),
        ("35% or USD 0.40/kg whichever is higher", compound("35", "0.40", "kg")),
        ("25% or $200/MT is higher", compound("25", "200", "MT")),
        ("25% or $200/MT whichever", compound("25", "200", "MT")),
        ("25% or", None),
        ("whichever 25% or", None),
        ("", None),
        ("SI", None),
    ],
)
def test_parse_rate_text_handles_every_spelling(text: str, expected: ParsedRate | None) -> None:
    # when
    parsed = parse_rate_text(text)
    # then
    assert parsed == expected


def test_every_line_is_loaded_and_has_a_rate(cet) -> None:
    # then: 5,940 schedule-1 lines + 7 opened/closed by structural amendments
    assert len(cet.lines) == 5947
    codes_with_rates = {r.code for r in cet.rates}
    assert {code for code, _ in cet.lines} == codes_with_rates
    assert cet.unapplied == ["84238990: amendment 'all duty' not understood; ignored"]


def test_schedule_2_overrides_the_si_lines(cet) -> None:
    # then: rice and sugar take the schedule 2 compound rate, and only that one
    rice = cet.rates_for("10063000")
    assert [(r.source, r.rate, r.valid_from, r.valid_to) for r in rice] == [
        ("schedule2", compound("75", "345", "MT"), CET_START, None)
    ]
    sugar = cet.rates_for("17019990")
    assert [(r.source, r.rate) for r in sugar] == [("schedule2", compound("100", "460", "MT"))]
    milk = cet.rates_for("04011000")
    assert [(r.source, r.rate.ad_valorem_rate) for r in milk] == [("schedule2", Decimal(60))]
    assert sum(1 for r in cet.rates if r.source == "schedule2") == 50


@pytest.mark.parametrize("code", ["72139110", "72139190", "72139900", "72271000", "72283000", "72288000"])
def test_split_compound_rates_are_completed_from_the_chapter(cet, code: str) -> None:
    # then
    (rate,) = cet.rates_for(code)
    assert rate.rate == compound("25", "200", "MT")


def test_worn_clothing_compound_per_kg(cet) -> None:
    (rate,) = cet.rates_for("63090010")
    assert rate.rate == compound("35", "0.40", "kg")


@pytest.mark.parametrize(
    ("code", "percent"),
    [
        ("17049000", 35),
        ("29096000", 0),
        ("30059011", 0),
        ("71022900", 25),
        ("72292000", 10),
        ("84431100", 0),
        ("84511000", 0),
        ("90111000", 0),
        ("93032029", 25),
    ],
)
def test_empty_rates_take_the_rate_shared_by_their_siblings(cet, code: str, percent: int) -> None:
    (rate,) = cet.rates_for(code)
    assert rate.rate == ParsedRate(kind="ad_valorem", ad_valorem_rate=Decimal(percent))


def test_duplicated_cell_and_units_are_normalised(cet) -> None:
    (rate,) = cet.rates_for("72299000")
    assert rate.rate.ad_valorem_rate == Decimal(10)
    assert cet.lines[("72299000", CET_START)].unit == "kg"
    assert cet.lines[("03045600", CET_START)].unit == "kg"


def test_amendment_with_stated_old_rate_changes_on_its_date(cet) -> None:
    # then: 8506.90.00 "Increased import duty rate from 0% to 10%"
    rates = sorted(cet.rates_for("85069000"), key=lambda r: r.valid_from)
    assert [(r.source, r.rate.ad_valorem_rate, r.valid_from, r.valid_to) for r in rates] == [
        ("schedule1", Decimal(0), CET_START, BEFORE),
        ("amendment", Decimal(10), AMENDMENT_DATE, None),
    ]


def test_increase_to_35_percent_amendments_open_on_the_amendment_date(cet) -> None:
    amendments = [r for r in cet.rates if r.source == "amendment" and r.rate_text == "Increase the duty rate to 35%"]
    assert len(amendments) == 23
    assert {r.rate.ad_valorem_rate for r in amendments} == {Decimal(35)}
    assert {r.valid_from for r in amendments} == {AMENDMENT_DATE}


def test_structural_amendments_close_old_lines_and_open_new_ones(cet) -> None:
    # then
    assert cet.lines[("87038000", CET_START)].valid_to == BEFORE
    assert cet.lines[("87038010", AMENDMENT_DATE)].valid_from == AMENDMENT_DATE
    assert ("87038010", CET_START) not in cet.lines
    assert cet.lines[("48211010", CET_START)].valid_to == BEFORE
    assert cet.lines[("48211000", AMENDMENT_DATE)].valid_to is None
    (old,) = cet.rates_for("87038000")
    assert (old.rate.ad_valorem_rate, old.valid_to) == (Decimal(25), BEFORE)


def test_description_amendment_applied(cet) -> None:
    assert cet.lines[("21069010", CET_START)].description == "--- Specially prepared for infants and young children"
