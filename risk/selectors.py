"""Reads for risk: rules in force, declaration facts, the stored assessment."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from core import clock
from declarations.models import Declaration
from tariff.selectors import crsp_valuation
from traders.selectors import aeo_in_force

from .models import ReferencePrice, RiskAssessment, RiskRule
from .scoring import DeclarationFacts, ItemFacts, RuleSpec, ScoringConfig


def _split(value: str, *, digits: bool = False) -> tuple[str, ...]:
    parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    if digits:
        parts = ["".join(ch for ch in p if ch.isdigit()) for p in parts]
    return tuple(p.upper() for p in parts if p)


def rule_spec_from_model(rule: RiskRule) -> RuleSpec:
    return RuleSpec(
        rule_id=rule.pk,
        kind=rule.kind,
        weight=rule.weight,
        forced_lane=rule.forced_lane or None,
        description=rule.description,
        hs_prefixes=_split(rule.hs_prefixes, digits=True),
        countries=frozenset(_split(rule.countries)),
        threshold_percent=rule.threshold_percent,
        threshold_count=rule.threshold_count,
        rate=rule.rate,
    )


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[RuleSpec, ...]
    config: ScoringConfig
    version: str


def rule_set_in_force(*, at: dt.datetime | None = None) -> RuleSet:
    """Active rules valid at `at` and reference prices valid on its date (two queries).

    `version` is a digest of the rules' ids + update times and the prices, stored with each
    assessment so a result can be traced to the rule set that produced it.
    """
    at = at or clock.now()
    rules = list(
        RiskRule.objects.filter(active=True, valid_from__lte=at)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
        .order_by("id")
    )
    day = at.date()
    prices = list(
        ReferencePrice.objects.filter(valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("hs_prefix", "valid_from")
        .values_list("hs_prefix", "unit", "kes_per_unit")
    )
    # Latest valid_from wins for a prefix listed twice (per unit).
    price_map: dict[str, Decimal] = {prefix: price for prefix, unit, price in prices if unit == "kg"}
    unit_map: dict[tuple[str, str], Decimal] = {(prefix, unit): price for prefix, unit, price in prices if unit != "kg"}
    digest = hashlib.sha256()
    for rule in rules:
        digest.update(f"{rule.pk}:{rule.updated_at.isoformat()};".encode())
    for prefix, price in sorted(price_map.items()):
        digest.update(f"{prefix}={price};".encode())
    for (prefix, unit), price in sorted(unit_map.items()):
        digest.update(f"{prefix}/{unit}={price};".encode())
    config = ScoringConfig(
        blue_from=settings.RISK_LANE_BLUE_FROM,
        yellow_from=settings.RISK_LANE_YELLOW_FROM,
        red_from=settings.RISK_LANE_RED_FROM,
        aeo_random_rate_factor=Decimal(str(settings.RISK_AEO_RANDOM_RATE_FACTOR)),
        reference_prices=tuple(sorted(price_map.items())),
        unit_reference_prices=tuple(sorted((prefix, unit, price) for (prefix, unit), price in unit_map.items())),
    )
    return RuleSet(rules=tuple(rule_spec_from_model(r) for r in rules), config=config, version=digest.hexdigest()[:16])


def declarations_for_scoring(ids: Iterable[Any]) -> QuerySet[Any]:
    """Declarations with everything scoring reads: one joined query + one for the items."""
    return (
        Declaration.objects.filter(pk__in=list(ids))
        .select_related("trader", "trader__aeo", "agent", "bill_of_lading", "bill_of_lading__manifest")
        .prefetch_related("items")
        .order_by("pk")
    )


def _crsp_facts(item: Any, on: dt.date) -> dict[str, Any]:
    """CRSP-derived value of a vehicle item (a few indexed queries per vehicle; other items none)."""
    vehicle = item.vehicle
    if not vehicle:
        return {}
    valuation = crsp_valuation(
        make=vehicle["make"], model=vehicle["model"], hs_digits="".join(ch for ch in item.hs_code if ch.isdigit()),
        engine_capacity_cc=int(vehicle["engine_capacity_cc"]), fuel=vehicle["fuel"],
        year_of_manufacture=int(vehicle["year_of_manufacture"]), on=on,
    )
    if valuation is None:
        return {}
    basis = (f"{valuation.description}: KES {valuation.crsp_kes:,.2f} less {valuation.depreciation:.0%} "
             f"depreciation for {valuation.age_years} years, / {valuation.divisor.normalize():f} "
             f"(KRA template {valuation.template})")
    return {"crsp_value_kes": valuation.value_kes, "crsp_basis": basis}


def declaration_facts(declaration: Any) -> DeclarationFacts:
    """Facts from a declaration loaded by `declarations_for_scoring` (no further queries, except
    the CRSP look-up of vehicle items)."""
    trader = declaration.trader
    aeo = getattr(trader, "aeo", None) if trader is not None else None
    today = clock.today()
    aeo_active = aeo_in_force(aeo, today)
    # History = the trader declared before this declaration was lodged (the counter may already
    # include this declaration, so the first-declared time decides "no history").
    has_history = bool(
        trader is not None
        and trader.first_declared_at is not None
        and (declaration.lodged_at is None or trader.first_declared_at < declaration.lodged_at)
    )
    bl = declaration.bill_of_lading
    manifest = bl.manifest if bl is not None else None
    on = timezone.localtime(declaration.lodged_at).date() if declaration.lodged_at else today
    items = tuple(
        ItemFacts(
            hs_code="".join(ch for ch in item.hs_code if ch.isdigit()),
            origin_country=item.origin_country,
            customs_value_kes=item.customs_value_kes,
            gross_weight_kg=item.gross_weight_kg,
            net_weight_kg=item.net_weight_kg,
            claims_exemption=bool(item.exemption),
            supplementary_quantity=item.supplementary_quantity,
            supplementary_unit=item.supplementary_unit,
            **_crsp_facts(item, on),
        )
        for item in declaration.items.all()
    )
    return DeclarationFacts(
        declaration_id=str(declaration.pk),
        items=items,
        trader_declarations_count=(trader.declarations_count if has_history and trader is not None else 0),
        trader_offences_count=trader.offences_count if trader is not None else 0,
        trader_on_watch_list=bool(trader is not None and trader.on_watch_list),
        agent_on_watch_list=bool(declaration.agent.on_watch_list),
        aeo_active=aeo_active,
        aeo_priority=bool(aeo_active and aeo is not None and aeo.priority),
        aeo_reduced_inspection=bool(aeo_active and aeo is not None and aeo.reduced_inspection),
        manifest_gross_weight_kg=bl.gross_weight_kg if bl is not None else None,
        manifest_late=bool(manifest is not None and manifest.late_lodging),
    )


def risk_assessment_get(*, declaration_id: Any) -> RiskAssessment | None:
    """Officer view of the selectivity result (hits included). Never exposed to agents."""
    return RiskAssessment.objects.filter(declaration_id=declaration_id).first()
