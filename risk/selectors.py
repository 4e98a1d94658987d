"""Reads for risk and clearance: rules in force, declaration facts, officer queues, statistics."""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from core import clock
from core.exceptions import NotFound
from declarations.models import Declaration
from tariff.selectors import crsp_valuation
from traders.selectors import aeo_in_force

from .models import OfficerTask, ProvisionalReleaseCase, ReferencePrice, ReleaseOrder, RiskAssessment, RiskRule
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


def officer_task_queue(*, queue: str | None = None, unassigned_only: bool = False) -> QuerySet[OfficerTask]:
    """Live tasks, AEO priority first, then oldest first."""
    qs = OfficerTask.objects.filter(status__in=[OfficerTask.Status.OPEN, OfficerTask.Status.ASSIGNED])
    if queue:
        qs = qs.filter(queue=queue)
    if unassigned_only:
        qs = qs.filter(status=OfficerTask.Status.OPEN)
    return qs.select_related("declaration").order_by("-priority", "created_at")


@dataclass(frozen=True)
class LaneReleaseStats:
    lane: str
    count: int
    median_seconds: float | None
    p90_seconds: float | None


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value below which `fraction` of the observations fall)."""
    if not sorted_values:
        return None
    import math

    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def time_to_release_stats(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, LaneReleaseStats]:
    """Time from lodging to release order per lane: count, median and p90 (seconds)."""
    qs = ReleaseOrder.objects.filter(declaration__lodged_at__isnull=False)
    if since is not None:
        qs = qs.filter(issued_at__gte=since)
    if until is not None:
        qs = qs.filter(issued_at__lt=until)
    durations: dict[str, list[float]] = {"green": [], "blue": [], "yellow": [], "red": []}
    for lane, issued_at, lodged_at in qs.values_list("lane", "issued_at", "declaration__lodged_at"):
        if lodged_at is None:
            continue
        durations.setdefault(lane, []).append((issued_at - lodged_at).total_seconds())
    result = {}
    for lane, values in durations.items():
        values.sort()
        result[lane] = LaneReleaseStats(
            lane=lane,
            count=len(values),
            median_seconds=statistics.median(values) if values else None,
            p90_seconds=_percentile(values, 0.9),
        )
    return result


def agent_queries(*, declaration_id: Any, agent: Any) -> list[Any]:
    """The query rounds of the agent's own declaration (another agent's: not found)."""
    from .models import AgentQuery

    if not Declaration.objects.filter(pk=declaration_id, agent=agent).exists():
        raise NotFound(detail="No such declaration.", code="declaration_not_found")
    return list(AgentQuery.objects.filter(declaration_id=declaration_id).prefetch_related("answer_documents")
                .order_by("asked_at"))


def provisional_release_cases_open() -> int:
    """Open cases of the officer queue "Provisional releases to reconcile"."""
    return ProvisionalReleaseCase.objects.filter(status=ProvisionalReleaseCase.Status.OPEN).count()
