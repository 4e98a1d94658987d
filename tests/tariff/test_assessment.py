"""Assessment golden values against the real loaded tariff (DOMAIN.md, CET 2022, seed rates)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tariff.assessment import DeclarationInput, ItemInput, TaxLine, Totals, assess
from tariff.exceptions import AssessmentFailed
from tariff.selectors import tariff_book

pytestmark = pytest.mark.django_db

D = Decimal
DAY = dt.date(2025, 3, 15)  # USD rate in force: seed row of 2025-03-01, KES 129.500000
USD = D("129.5")


def item(hs_code: str, value: str, **kw: object) -> ItemInput:
    kw.setdefault("origin_country", "JP")
    return ItemInput(line_no=kw.pop("line_no", 1), hs_code=hs_code, customs_value=D(value), **kw)  # type: ignore[arg-type]


def run(*items: ItemInput, currency: str = "USD", on: dt.date = DAY):
    return assess(DeclarationInput(date=on, currency=currency, items=items), tariff_book(on))


def amounts(result, line_no: int = 1) -> dict[str, Decimal]:
    return {t.tax: t.amount for t in result.lines if t.line_no == line_no}


def errors(exc: pytest.ExceptionInfo[AssessmentFailed]) -> list[tuple[str, str]]:
    return [(e.code, e.pointer) for e in exc.value.errors]


def test_kra_motor_vehicle_example_to_the_cent() -> None:
    # given: DOMAIN.md worked example, vehicle <= 1500 cc (8703.22.90), customs value 425.71 KES
    # when
    result = run(item("8703.22.90", "425.71"), currency="KES", on=dt.date(2025, 7, 1))
    # then
    assert result.lines == (
        TaxLine(1, "import_duty", D("425.71"), "35% (Kenya rate, CET 25%)", D("149.00")),
        TaxLine(1, "excise_duty", D("574.71"), "20%", D("114.94")),
        TaxLine(1, "vat", D("689.65"), "16%", D("110.34")),
        TaxLine(1, "idf", D("425.71"), "2.5%", D("10.64")),
        TaxLine(1, "rdl", D("425.71"), "2%", D("8.51")),
    )
    assert result.totals == Totals(
        import_duty=D("149.00"),
        excise_duty=D("114.94"),
        vat=D("110.34"),
        idf=D("10.64"),
        rdl=D("8.51"),
        # the sum of the lines (docs/declarations.md "Rounding"); KRA's calculator prints 393.44
        total=D("393.43"),
    )
    assert result.exchange_rate == D(1)
    assert result.item_values_kes == (D("425.71"),)


@pytest.mark.parametrize(
    ("hs_code", "excise"),
    [("8703.23.90", "25%"), ("8703.24.90", "35%"), ("8703.33.90", "35%"), ("8703.80.90", "10%"), ("8703.31.90", "20%")],
)
def test_vehicle_excise_by_engine_and_fuel(hs_code: str, excise: str) -> None:
    result = run(item(hs_code, "1000"), currency="KES", on=dt.date(2025, 7, 1))
    (line,) = [t for t in result.lines if t.tax == "excise_duty"]
    assert line.rule == excise


def test_rice_compound_rate_specific_branch() -> None:
    # given: 50 MT of milled rice worth USD 10,000: 75 % = 7,500 < 50 x 345 = 17,250
    # when
    result = run(item("1006.30.00", "10000", net_weight_kg=D("50000")))
    # then
    duty = result.lines[0]
    assert duty.tax == "import_duty"
    assert duty.amount == D("2233875.00")  # 17,250 x 129.5
    assert duty.rule == "75% or USD 345/MT whichever is higher: specific USD 345 x 50"
    assert amounts(result)["vat"] == D("0.00")  # rice is VAT exempt
    assert [t.rule for t in result.lines if t.tax == "vat"] == ["exempt"]
    assert result.item_values_kes == (D("1295000.00"),)
    assert result.totals.idf == D("32375.00")
    assert result.totals.rdl == D("25900.00")


def test_rice_compound_rate_ad_valorem_branch() -> None:
    # given: 50 MT worth USD 30,000: 75 % = 22,500 > 17,250
    result = run(item("1006.30.00", "30000", net_weight_kg=D("50000")))
    duty = result.lines[0]
    assert duty.amount == D("2913750.00")
    assert duty.rule == "75% or USD 345/MT whichever is higher: ad valorem"


def test_sugar_compound_rate_both_branches_and_specific_excise() -> None:
    # given: 40 MT of sugar, USD 10,000 (specific wins: 18,400) and USD 25,000 (100 % wins)
    cheap = item("1701.99.90", "10000", net_weight_kg=D("40000"), line_no=1)
    dear = item("1701.99.90", "25000", net_weight_kg=D("40000"), line_no=2)
    # when
    result = run(cheap, dear)
    # then
    assert amounts(result, 1)["import_duty"] == D("2382800.00")  # 40 x 460 x 129.5
    assert amounts(result, 2)["import_duty"] == D("3237500.00")  # 25,000 x 129.5
    assert amounts(result, 1)["excise_duty"] == D("200000.00")  # KES 5/kg x 40,000 kg
    # VAT on value + duty + excise: (1,295,000 + 2,382,800 + 200,000) x 16 %
    assert amounts(result, 1)["vat"] == D("620448.00")
    assert result.totals.import_duty == D("5620300.00")


def test_eac_origin_item_pays_no_import_duty() -> None:
    # given: sugar confectionery from Uganda claiming the EAC preference
    result = run(
        item("1704.90.00", "1000", origin_country="UG", preference="EAC", net_weight_kg=D("2000")), currency="KES"
    )
    # then: duty 0, excise still due (KES 41.31/kg), VAT on value + excise
    assert amounts(result) == {
        "import_duty": D("0.00"),
        "excise_duty": D("82620.00"),
        "vat": D("13379.20"),
        "idf": D("25.00"),
        "rdl": D("20.00"),
    }
    assert result.lines[0].rule == "EAC origin (UG): 0%"


def test_same_item_without_preference_pays_the_cet_rate() -> None:
    result = run(item("1704.90.00", "1000", origin_country="UG", net_weight_kg=D("2000")), currency="KES")
    assert amounts(result)["import_duty"] == D("350.00")


def test_eac_preference_for_non_eac_origin_is_refused() -> None:
    with pytest.raises(AssessmentFailed) as exc:
        run(item("1704.90.00", "1000", origin_country="CN", preference="EAC", net_weight_kg=D("1")))
    assert errors(exc) == [("preference_not_applicable", "/items/0/preference")]


def test_rate_change_takes_effect_on_its_date() -> None:
    # given: 8506.90.00 battery parts, 0 % until 30 June 2023, 10 % from 1 July 2023 (amendment)
    parts = item("8506.90.00", "1000")
    # when
    before = run(parts, currency="KES", on=dt.date(2023, 6, 30))
    after = run(parts, currency="KES", on=dt.date(2023, 7, 1))
    # then
    assert amounts(before)["import_duty"] == D("0.00")
    assert amounts(after)["import_duty"] == D("100.00")


def test_idf_and_rdl_reduced_rates() -> None:
    result = run(item("8506.90.00", "1000", idf_reduced=True, rdl_reduced=True), currency="KES")
    assert amounts(result)["idf"] == D("15.00")
    assert amounts(result)["rdl"] == D("15.00")
    assert [t.rule for t in result.lines if t.tax in ("idf", "rdl")] == ["1.5% (reduced)", "1.5% (reduced)"]


def test_exemption_removes_duty_excise_and_vat_but_not_idf_rdl() -> None:
    result = run(item("8703.22.90", "1000", exemption="DIPLOMATIC"), currency="KES")
    assert amounts(result) == {
        "import_duty": D("0.00"),
        "excise_duty": D("0.00"),
        "vat": D("0.00"),
        "idf": D("25.00"),
        "rdl": D("20.00"),
    }


def test_specific_excise_per_litre_uses_supplementary_quantity() -> None:
    # given: 1,000 litres of beer worth KES 100,000: duty 35 %, excise KES 134.29/l
    result = run(
        item("2203.00.90", "100000", supplementary_quantity=D("1000"), supplementary_unit="LTR"), currency="KES"
    )
    assert amounts(result)["import_duty"] == D("35000.00")
    assert amounts(result)["excise_duty"] == D("134290.00")


@pytest.mark.parametrize(
    ("hs_code", "on", "code"),
    [
        ("8703.22.99", DAY, "hs_code_unknown"),
        ("8703.80.00", DAY, "hs_code_not_in_force"),  # split on 1 July 2023
        ("8703.80.10", dt.date(2023, 1, 10), "hs_code_not_in_force"),  # opened on 1 July 2023
        ("8703.22.90", dt.date(2022, 6, 30), "hs_code_not_in_force"),  # before CET 2022
        ("8703.2", DAY, "hs_code_invalid"),
        ("8703.22.9X", DAY, "hs_code_invalid"),
    ],
)
def test_unknown_expired_or_malformed_codes_give_a_clear_error(hs_code: str, on: dt.date, code: str) -> None:
    with pytest.raises(AssessmentFailed) as exc:
        run(item(hs_code, "100"), currency="KES", on=on)
    assert errors(exc) == [(code, "/items/0/hs_code")]
    assert exc.value.status == 400


@pytest.mark.parametrize(
    "subheading",
    [
        "170260",
        "170290",
        "440810",
        "440831",
        "460199",
        "710122",
        "847210",
        "847230",
        "851110",
        "851120",
        "851490",
        "999999",
    ],
)
def test_the_twelve_hs_subheadings_without_a_cet_line(subheading: str) -> None:
    with pytest.raises(AssessmentFailed) as exc:
        run(item(f"{subheading}00", "100"), currency="KES")
    assert errors(exc) == [("hs_code_no_tariff_line", "/items/0/hs_code")]


def test_missing_exchange_rate_for_the_declaration_currency() -> None:
    # given: XAF is an ISO currency without any rate
    with pytest.raises(AssessmentFailed) as exc:
        run(item("8506.90.00", "100"), currency="XAF")
    assert errors(exc) == [("exchange_rate_missing", "/currency")]


def test_exchange_rate_older_than_45_days_is_missing() -> None:
    # given: the seed ends on 2027-12-01
    with pytest.raises(AssessmentFailed) as exc:
        run(item("8506.90.00", "100"), currency="USD", on=dt.date(2028, 3, 1))
    assert errors(exc) == [("exchange_rate_missing", "/currency")]


def test_specific_rate_without_quantity() -> None:
    with pytest.raises(AssessmentFailed) as exc:
        run(
            item("1006.30.00", "100", line_no=1),
            item("2203.00.90", "100", line_no=2),
        )
    assert errors(exc) == [
        ("quantity_required_for_specific_rate", "/items/0/net_weight_kg"),
        ("quantity_required_for_specific_rate", "/items/1/supplementary_quantity"),
    ]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(AssessmentFailed) as exc:
        run(
            item("8506.90.00", "100", line_no=1),
            item("0000.00.00", "100", line_no=2),
            item("8506.90.00", "-1", line_no=3, exemption="NOPE"),
            item("8506.90.00", "100", line_no=4, preference="COMESA"),
            currency="XAF",
        )
    assert errors(exc) == [
        ("exchange_rate_missing", "/currency"),
        ("hs_code_unknown", "/items/1/hs_code"),
        ("customs_value_negative", "/items/2/customs_value"),
        ("exemption_unknown", "/items/2/exemption"),
        ("preference_unknown", "/items/3/preference"),
    ]
    assert exc.value.code == "assessment_failed"


def test_multi_item_totals_are_the_sums_of_the_rounded_lines() -> None:
    # given: three items of KES 0.30 at 2.5 % IDF: 0.0075 each (exact sum 0.0225)
    items = tuple(item("8506.90.00", "0.30", line_no=n) for n in (1, 2, 3))
    result = run(*items, currency="KES")
    # then: each line rounds half-up to 0.01 and the total is what the lines add up to (not 0.02)
    assert [t.amount for t in result.lines if t.tax == "idf"] == [D("0.01")] * 3
    assert result.totals.idf == D("0.03")
    assert result.totals.total == sum((t.amount for t in result.lines), D(0))


def test_assessment_as_dict_is_json_ready() -> None:
    result = run(item("8703.22.90", "425.71"), currency="KES", on=dt.date(2025, 7, 1))
    data = result.as_dict()
    assert data["totals"] == {
        "import_duty": "149.00",
        "excise_duty": "114.94",
        "vat": "110.34",
        "idf": "10.64",
        "rdl": "8.51",
        "total": "393.43",
    }
    assert data["lines"][0] == {
        "line_no": 1,
        "tax": "import_duty",
        "base": "425.71",
        "rule": "35% (Kenya rate, CET 25%)",
        "amount": "149.00",
    }
