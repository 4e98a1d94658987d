"""Money has one rule (docs/declarations.md "Rounding"), checked over random values, rates and item
counts: every line is its shown base x rate rounded half-up to the cent, bases chain the rounded
figures, each tax total is the sum of its lines and the total the sum of the tax totals; and what
the API shows is what the database holds and what the e-slip asks for."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from declarations.models import Assessment, AssessmentLine, Declaration, ESlip
from tariff.assessment import (
    TAXES,
    DeclarationInput,
    ItemInput,
    LineEntry,
    Measure,
    RateRule,
    TariffBook,
    assess,
)
from tests.factories.declarations import ITEM_CODES, body_im4, item, world_create

CENT = Decimal("0.01")
ON = dt.date(2026, 11, 25)

percent = st.decimals(min_value=0, max_value=100, places=2).map(Decimal)
amount = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2).map(Decimal)
fx_rate = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("5000"), places=6).map(Decimal)


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _book(duty: Decimal, excise: Decimal, vat: Decimal, idf: Decimal, rdl: Decimal, usd: Decimal) -> TariffBook:
    def rule(rate: Decimal) -> RateRule:
        return RateRule("ad_valorem", rate)

    return TariffBook(
        on=ON,
        lines={"12345678": LineEntry("12345678", "Test line", "u", rule(duty))},
        measures=(
            Measure("excise", "standard", "1234", rule(excise)),
            Measure("vat", "standard", "", rule(vat)),
            Measure("idf", "standard", "", rule(idf)),
            Measure("rdl", "standard", "", rule(rdl)),
        ),
        exchange_rates={"USD": usd},
    )


@settings(max_examples=300, deadline=None)
@given(
    rates=st.tuples(percent, percent, percent, percent, percent),
    usd=fx_rate,
    values=st.lists(amount, min_size=1, max_size=25),
    currency=st.sampled_from(["USD", "KES"]),
)
def test_every_total_is_the_sum_of_its_rounded_lines(
    rates: tuple[Decimal, ...], usd: Decimal, values: list[Decimal], currency: str
) -> None:
    # given
    duty, excise, vat, idf, rdl = rates
    book = _book(duty, excise, vat, idf, rdl, usd)
    items = tuple(
        ItemInput(line_no=n + 1, hs_code="1234.56.78", origin_country="JP", customs_value=v)
        for n, v in enumerate(values)
    )
    fx = usd if currency == "USD" else Decimal(1)

    # when
    result = assess(DeclarationInput(date=ON, currency=currency, items=items), book)

    # then: every figure is whole cents, each line is its base x rate rounded half-up
    by_line: dict[int, dict[str, Any]] = {}
    for line in result.lines:
        assert line.amount.as_tuple().exponent == -2
        assert line.base.as_tuple().exponent == -2
        by_line.setdefault(line.line_no, {})[line.tax] = line
    for n, value in enumerate(values, start=1):
        taxes = by_line[n]
        kes_value = _half_up(value * fx)
        assert result.item_values_kes[n - 1] == kes_value
        assert taxes["import_duty"].base == kes_value
        assert taxes["import_duty"].amount == _half_up(kes_value * duty / 100)
        assert taxes["excise_duty"].base == kes_value + taxes["import_duty"].amount
        assert taxes["excise_duty"].amount == _half_up(taxes["excise_duty"].base * excise / 100)
        assert taxes["vat"].base == taxes["excise_duty"].base + taxes["excise_duty"].amount
        assert taxes["vat"].amount == _half_up(taxes["vat"].base * vat / 100)
        assert taxes["idf"].amount == _half_up(kes_value * idf / 100)
        assert taxes["rdl"].amount == _half_up(kes_value * rdl / 100)
    # and the totals are sums of the lines, nothing rounded twice
    for tax in TAXES:
        assert getattr(result.totals, tax) == sum((t.amount for t in result.lines if t.tax == tax), Decimal(0))
    assert result.totals.total == sum((getattr(result.totals, tax) for tax in TAXES), Decimal(0))
    assert result.totals.total == sum((t.amount for t in result.lines), Decimal(0))


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("250000"), places=2), min_size=1,
                    max_size=12),
    codes=st.lists(st.sampled_from(ITEM_CODES), min_size=12, max_size=12),
)
def test_api_database_and_eslip_show_the_same_money(values: list[Decimal], codes: list[str]) -> None:
    # given: a fresh agent, importer and B/L for each example
    world = world_create()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    body = body_im4(world)
    body["items"] = [item(n, hs_code=codes[n], customs_value=f"{v:.2f}") for n, v in enumerate(values)]

    # when
    response = client.post("/api/v1/declarations", body, format="json")

    # then
    assert response.status_code == 201, response.json()
    data = response.json()["assessment"]
    declaration = Declaration.objects.get(pk=response.json()["id"])
    stored = Assessment.objects.get(declaration=declaration)
    rows = list(AssessmentLine.objects.filter(assessment=stored).order_by("line_no", "id"))
    # the API renders exactly the stored lines
    assert [(d["line_no"], d["tax"], Decimal(d["base"]), Decimal(d["amount"])) for d in data["lines"]] == [
        (r.line_no, r.tax, r.base, r.amount) for r in rows
    ]
    # every stored head is the sum of its stored lines; the total is the sum of all lines
    for tax in TAXES:
        assert getattr(stored, tax) == sum((r.amount for r in rows if r.tax == tax), Decimal(0))
        assert Decimal(data["totals"][tax]) == getattr(stored, tax)
    assert stored.total == sum((r.amount for r in rows), Decimal(0))
    assert Decimal(data["totals"]["total"]) == stored.total
    assert ESlip.objects.get(declaration=declaration, is_current=True).amount == stored.total
