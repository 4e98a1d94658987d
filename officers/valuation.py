"""The valuation comparison on the declaration page: each item's declared customs value against
the value the valuation database gives it, so the officer sees the figures behind an
undervaluation hit (and the items that did not hit) without opening the reference tables.

- Motor vehicles on KRA's CRSP list: the CRSP-derived customs value (tariff.selectors.crsp_valuation:
  CRSP less depreciation for age, divided by the template's divisor), the row matched quoted.
- Other items: the reference price in force on the lodging date (risk.ReferencePrice, longest HS
  prefix wins, as the risk rules use it), per kg of net weight, or per supplementary unit when the
  item declares its quantity in that unit; the reference value is price x quantity.

difference = reference - declared (positive: declared below the reference); percent = difference
as a share of the reference, half-up to 0.1. Reads: one query for the reference prices, plus the
CRSP look-up per distinct vehicle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from core import clock
from risk.models import ReferencePrice
from tariff.selectors import crsp_valuation

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ValuationRow:
    line_no: int
    hs_code: str
    basis: str  # "CRSP" | "reference price per kg" | "reference price per NAR" ...
    declared_kes: Decimal
    reference_kes: Decimal
    difference_kes: Decimal
    percent: Decimal
    below: bool
    source: str

    @property
    def excess_kes(self) -> Decimal:
        """How far the declared value is above the reference (0 when below)."""
        return max(-self.difference_kes, Decimal(0))


def compare(declared: Decimal, reference: Decimal) -> tuple[Decimal, Decimal]:
    """(reference - declared, that difference in % of the reference, half-up to 0.1)."""
    difference = (reference - declared).quantize(CENT, rounding=ROUND_HALF_UP)
    percent = (difference * 100 / reference).quantize(TENTH, rounding=ROUND_HALF_UP) if reference else Decimal(0)
    return difference, percent


def _row(item: Any, basis: str, reference: Decimal, source: str) -> ValuationRow:
    declared = Decimal(item.customs_value_kes).quantize(CENT, rounding=ROUND_HALF_UP)
    reference = reference.quantize(CENT, rounding=ROUND_HALF_UP)
    difference, percent = compare(declared, reference)
    return ValuationRow(line_no=item.line_no, hs_code=item.hs_code, basis=basis, declared_kes=declared,
                        reference_kes=reference, difference_kes=difference, percent=percent,
                        below=declared < reference, source=source)


def _best(rows: list[Any], digits: str, unit: str) -> Any | None:
    best = None
    for row in rows:
        if row.unit == unit and digits.startswith(row.hs_prefix) and (
                best is None or (len(row.hs_prefix), row.valid_from) > (len(best.hs_prefix), best.valid_from)):
            best = row
    return best


def _crsp(item: Any, digits: str, on: dt.date, cache: dict[tuple[Any, ...], Any]) -> Any | None:
    vehicle = item.vehicle or {}
    try:
        key = (vehicle["make"], vehicle["model"], digits, int(vehicle["engine_capacity_cc"]), vehicle["fuel"],
               int(vehicle["year_of_manufacture"]))
    except (KeyError, TypeError, ValueError):
        return None
    if key not in cache:
        cache[key] = crsp_valuation(make=key[0], model=key[1], hs_digits=digits, engine_capacity_cc=key[3],
                                    fuel=key[4], year_of_manufacture=key[5], on=on)
    return cache[key]


def valuation_comparison(*, declaration: Any, items: list[Any]) -> list[ValuationRow]:
    """One row per item the valuation database values (items it does not know are left out)."""
    if not items:
        return []
    on = timezone.localtime(declaration.lodged_at).date() if declaration.lodged_at else clock.today()
    prices = list(ReferencePrice.objects.filter(valid_from__lte=on)
                  .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on)).order_by("hs_prefix", "valid_from"))
    crsp_cache: dict[tuple[Any, ...], Any] = {}
    rows: list[ValuationRow] = []
    for item in items:
        digits = "".join(ch for ch in item.hs_code if ch.isdigit())
        valuation = _crsp(item, digits, on, crsp_cache) if item.vehicle else None
        if valuation is not None:
            rows.append(_row(item, "CRSP", valuation.value_kes, (
                f"{valuation.description}: KES {valuation.crsp_kes:,.2f} less {valuation.depreciation:.0%} "
                f"depreciation for {valuation.age_years} years, / {valuation.divisor.normalize():f} "
                f"(KRA template {valuation.template})")))
            continue
        per_kg = _best(prices, digits, "kg")
        if per_kg is not None and item.net_weight_kg and item.net_weight_kg > 0:
            rows.append(_row(item, "reference price per kg", per_kg.kes_per_unit * item.net_weight_kg,
                             _source(per_kg, f"{item.net_weight_kg.normalize():f} kg net")))
            continue
        unit = item.supplementary_unit or ""
        per_unit = _best(prices, digits, unit) if unit else None
        quantity = item.supplementary_quantity
        if per_unit is not None and quantity is not None and quantity > 0:
            rows.append(_row(item, f"reference price per {unit}", per_unit.kes_per_unit * quantity,
                             _source(per_unit, f"{quantity.normalize():f} {unit}")))
    return rows


def _source(price: Any, quantity: str) -> str:
    until = f" to {price.valid_to:%d %b %Y}" if price.valid_to else ""
    note = f"; {price.note}" if price.note else ""
    hs = price.hs_prefix
    return (f"Reference price #{price.pk}: HS {hs} KES {price.kes_per_unit:,.2f} per {price.unit}, valid from "
            f"{price.valid_from:%d %b %Y}{until}{note}; x {quantity}")
