"""Selectivity scoring: a pure function from rules + declaration facts to a lane.

No database, no settings, no clock: everything comes in as frozen dataclasses so the function can
be tested exhaustively and benchmarked (bench/bench_scoring.py). `risk.facts` builds the inputs
from the database and `risk.services.assessment` stores the result.

Lanes (ASYCUDA selectivity): green = release, blue = release + post-clearance audit,
yellow = documentary check, red = physical examination. The score is the sum of the weights of the
rules that hit; thresholds map it to a lane. A rule may instead *force* a lane: the result is then
at least that lane (forced lanes only ever make the lane stricter).

AEO benefits (KRA AEO programme): an active AEO goes green whatever its score unless a
forced-lane rule hits; random selection uses a lower rate for it; `priority` is carried to the
officer task so its control is handled first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Lane(StrEnum):
    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"


LANE_SEVERITY: dict[str, int] = {"green": 0, "blue": 1, "yellow": 2, "red": 3}


class RuleKind(StrEnum):
    HS_MATCH = "hs_match"
    ORIGIN_COUNTRY = "origin_country"
    TRADER_NO_HISTORY = "trader_no_history"
    TRADER_WATCH = "trader_watch"
    TRADER_OFFENCES = "trader_offences"
    AGENT_WATCH = "agent_watch"
    VALUE_PER_KG_BELOW_REFERENCE = "value_per_kg_below_reference"
    VALUE_BELOW_CRSP = "value_below_crsp"
    WEIGHT_MISMATCH = "weight_mismatch"
    LATE_MANIFEST = "late_manifest"
    SENSITIVE_COMMODITY = "sensitive_commodity"
    CLAIMED_EXEMPTION = "claimed_exemption"
    RANDOM = "random"


# EAC CET Schedule 2 sensitive items (HS prefixes, digits only): milk and cream, wheat, maize,
# rice, wheat flour, sugar, cigarettes, used clothing, matches, worn tyres... Used by a
# sensitive_commodity rule that names no prefixes of its own.
DEFAULT_SENSITIVE_HS_PREFIXES: tuple[str, ...] = (
    "0401",
    "0402",
    "1001",
    "1005",
    "1006",
    "1101",
    "1701",
    "2402",
    "6309",
    "3605",
    "4012",
)

_HUNDRED = Decimal(100)
_TWO_POW_64 = float(2**64)


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """One declared item. `hs_code` holds digits only (8703.22.90 -> "87032290")."""

    hs_code: str
    origin_country: str
    customs_value_kes: Decimal
    gross_weight_kg: Decimal
    net_weight_kg: Decimal
    claims_exemption: bool = False
    # Motor vehicles: KRA's CRSP-derived customs value (tariff.selectors.crsp_valuation) and how
    # it was derived, shown to the officer; None when the vehicle is not on the CRSP list.
    crsp_value_kes: Decimal | None = None
    crsp_basis: str = ""
    supplementary_quantity: Decimal | None = None
    supplementary_unit: str = ""


@dataclass(frozen=True, slots=True)
class DeclarationFacts:
    declaration_id: str
    items: tuple[ItemFacts, ...]
    trader_declarations_count: int = 0
    trader_offences_count: int = 0
    trader_on_watch_list: bool = False
    agent_on_watch_list: bool = False
    aeo_active: bool = False
    aeo_priority: bool = False
    aeo_reduced_inspection: bool = False
    # Gross weight of the bill of lading in the manifest (None: no B/L, e.g. exports).
    manifest_gross_weight_kg: Decimal | None = None
    manifest_late: bool = False

    @property
    def declared_gross_weight_kg(self) -> Decimal:
        return sum((item.gross_weight_kg for item in self.items), Decimal(0))


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as data. Which parameters matter depends on `kind`:

    - hs_match / sensitive_commodity: `hs_prefixes` (digits; chapter, heading or full code)
    - origin_country: `countries` (ISO alpha-2)
    - value_per_kg_below_reference: `threshold_percent` = how far below the reference price the
      declared KES/kg must be to hit (default 30: below 70 % of the reference)
    - value_below_crsp: `threshold_percent` = the tolerance below a vehicle's CRSP-derived customs
      value (default 20: declared below 80 % of it hits); the reason quotes the CRSP figure and
      the difference, for the valuation officer
    - weight_mismatch: `threshold_percent` (default 5, KRA practice)
    - trader_offences: `threshold_count` (default 1)
    - random: `rate` in [0, 1]
    """

    rule_id: int
    kind: str
    weight: int = 0
    forced_lane: str | None = None
    description: str = ""
    hs_prefixes: tuple[str, ...] = ()
    countries: frozenset[str] = frozenset()
    threshold_percent: Decimal | None = None
    threshold_count: int | None = None
    rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Lane thresholds and AEO parameters (from settings; see docs/risk.md).

    score < blue_from: green; < yellow_from: blue; < red_from: yellow; otherwise red.
    """

    blue_from: int = 30
    yellow_from: int = 50
    red_from: int = 80
    aeo_random_rate_factor: Decimal = Decimal("0.2")
    # HS prefix (digits) -> reference price in KES per kg, longest prefix wins.
    reference_prices: tuple[tuple[str, Decimal], ...] = field(default=())
    # (HS prefix, supplementary unit, KES per unit): compared with the supplementary quantity.
    unit_reference_prices: tuple[tuple[str, str, Decimal], ...] = field(default=())

    def unit_reference_price(self, hs_code: str, unit: str) -> tuple[str, Decimal] | None:
        best: tuple[str, Decimal] | None = None
        for prefix, price_unit, price in self.unit_reference_prices:
            if price_unit == unit and hs_code.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, price)
        return best

    def reference_price(self, hs_code: str) -> tuple[str, Decimal] | None:
        best: tuple[str, Decimal] | None = None
        for prefix, price in self.reference_prices:
            if hs_code.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, price)
        return best


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: int
    kind: str
    weight: int
    forced_lane: str | None
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "weight": self.weight,
            "forced_lane": self.forced_lane,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ScoreResult:
    score: int
    lane: Lane
    hits: tuple[Hit, ...]
    priority: bool = False
    aeo_applied: bool = False


def random_draw(declaration_id: str, rule_id: int) -> float:
    """A reproducible uniform draw in [0, 1) for (declaration, rule): sha256 of both ids.

    The same declaration always gets the same draw for the same rule, so a selection can be
    explained and re-checked later, and two rules do not select the same declarations.
    """
    digest = hashlib.sha256(f"{declaration_id}:{rule_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _TWO_POW_64


def format_hs(code: str) -> str:
    """87032290 -> 8703.22.90 (the way officers read codes)."""
    if len(code) <= 4:
        return code
    parts = [code[:4]] + [code[i : i + 2] for i in range(4, len(code), 2)]
    return ".".join(parts)


def _lane_for_score(score: int, config: ScoringConfig) -> Lane:
    if score >= config.red_from:
        return Lane.RED
    if score >= config.yellow_from:
        return Lane.YELLOW
    if score >= config.blue_from:
        return Lane.BLUE
    return Lane.GREEN


def _match_prefix(prefixes: tuple[str, ...], facts: DeclarationFacts) -> str | None:
    for index, item in enumerate(facts.items, start=1):
        for prefix in prefixes:
            if item.hs_code.startswith(prefix):
                return f"item {index} HS {format_hs(item.hs_code)} matches {format_hs(prefix)}"
    return None


def _evaluate(rule: RuleSpec, facts: DeclarationFacts, config: ScoringConfig) -> str | None:
    """The human-readable reason if `rule` hits `facts`, else None."""
    kind = rule.kind
    if kind == "hs_match":
        return _match_prefix(rule.hs_prefixes, facts)
    if kind == "sensitive_commodity":
        found = _match_prefix(rule.hs_prefixes or DEFAULT_SENSITIVE_HS_PREFIXES, facts)
        return f"sensitive commodity: {found}" if found else None
    if kind == "origin_country":
        for index, item in enumerate(facts.items, start=1):
            if item.origin_country in rule.countries:
                return f"item {index} originates in {item.origin_country}"
        return None
    if kind == "trader_no_history":
        if facts.trader_declarations_count == 0:
            return "first declaration of this trader (no compliance history)"
        return None
    if kind == "trader_watch":
        return "trader is on the watch list" if facts.trader_on_watch_list else None
    if kind == "trader_offences":
        minimum = rule.threshold_count or 1
        if facts.trader_offences_count >= minimum:
            return f"trader has {facts.trader_offences_count} recorded offence(s) (threshold {minimum})"
        return None
    if kind == "agent_watch":
        return "clearing agent is on the watch list" if facts.agent_on_watch_list else None
    if kind == "value_per_kg_below_reference":
        percent = rule.threshold_percent if rule.threshold_percent is not None else Decimal(30)
        for index, item in enumerate(facts.items, start=1):
            if item.net_weight_kg <= 0:
                continue
            reference = config.reference_price(item.hs_code)
            if reference is None:
                continue
            prefix, price = reference
            per_kg = item.customs_value_kes / item.net_weight_kg
            floor = price * (_HUNDRED - percent) / _HUNDRED
            if per_kg < floor:
                return (
                    f"item {index} HS {format_hs(item.hs_code)} declared at KES {per_kg:.2f}/kg, more than "
                    f"{percent}% below the reference KES {price:.2f}/kg for {format_hs(prefix)}"
                )
        for index, item in enumerate(facts.items, start=1):
            quantity, unit = item.supplementary_quantity, item.supplementary_unit
            if not unit or quantity is None or quantity <= 0:
                continue
            per_unit_reference = config.unit_reference_price(item.hs_code, unit)
            if per_unit_reference is None:
                continue
            prefix, price = per_unit_reference
            per_unit = item.customs_value_kes / quantity
            if per_unit < price * (_HUNDRED - percent) / _HUNDRED:
                return (
                    f"item {index} HS {format_hs(item.hs_code)} declared at KES {per_unit:.2f}/{unit}, more than "
                    f"{percent}% below the reference KES {price:.2f}/{unit} for {format_hs(prefix)}"
                )
        return None
    if kind == "value_below_crsp":
        percent = rule.threshold_percent if rule.threshold_percent is not None else Decimal(20)
        for index, item in enumerate(facts.items, start=1):
            crsp = item.crsp_value_kes
            if crsp is None or crsp <= 0:
                continue
            floor = crsp * (_HUNDRED - percent) / _HUNDRED
            if item.customs_value_kes < floor:
                difference = crsp - item.customs_value_kes
                return (
                    f"item {index} HS {format_hs(item.hs_code)} declared at KES {item.customs_value_kes:,.2f}, "
                    f"KES {difference:,.2f} ({difference * _HUNDRED / crsp:.1f}%) below the CRSP-derived "
                    f"value KES {crsp:,.2f} (tolerance {percent}%; {item.crsp_basis})"
                )
        return None
    if kind == "weight_mismatch":
        manifest = facts.manifest_gross_weight_kg
        if manifest is None or manifest <= 0:
            return None
        percent = rule.threshold_percent if rule.threshold_percent is not None else Decimal(5)
        declared = facts.declared_gross_weight_kg
        difference = abs(declared - manifest) * _HUNDRED / manifest
        if difference > percent:
            return (
                f"declared gross weight {declared} kg differs from the manifest's {manifest} kg by "
                f"{difference:.1f}% (more than {percent}%)"
            )
        return None
    if kind == "late_manifest":
        return "the manifest was lodged late (less than 48 hours before arrival)" if facts.manifest_late else None
    if kind == "claimed_exemption":
        for index, item in enumerate(facts.items, start=1):
            if item.claims_exemption:
                return f"item {index} claims an exemption"
        return None
    if kind == "random":
        rate = rule.rate or Decimal(0)
        if facts.aeo_active and facts.aeo_reduced_inspection:
            rate = rate * config.aeo_random_rate_factor
        if rate > 0 and random_draw(facts.declaration_id, rule.rule_id) < float(rate):
            return f"selected at random for compliance measurement (rate {rate:%})"
        return None
    return None


def score_declaration(
    facts: DeclarationFacts, rules: tuple[RuleSpec, ...] | list[RuleSpec], config: ScoringConfig
) -> ScoreResult:
    """Evaluate every rule; return the score, the lane and the hits in rule order."""
    hits: list[Hit] = []
    score = 0
    forced: Lane | None = None
    for rule in rules:
        reason = _evaluate(rule, facts, config)
        if reason is None:
            continue
        if rule.description:
            reason = f"{rule.description}: {reason}"
        hits.append(Hit(rule.rule_id, rule.kind, rule.weight, rule.forced_lane, reason))
        score += rule.weight
        if rule.forced_lane and (forced is None or LANE_SEVERITY[rule.forced_lane] > LANE_SEVERITY[forced]):
            forced = Lane(rule.forced_lane)
    if facts.aeo_active:
        # AEO benefit: green unless a rule forces a lane (then the forced lane, not the score).
        lane = forced or Lane.GREEN
    else:
        lane = _lane_for_score(score, config)
        if forced is not None and LANE_SEVERITY[forced] > LANE_SEVERITY[lane]:
            lane = forced
    return ScoreResult(
        score=score,
        lane=lane,
        hits=tuple(hits),
        priority=facts.aeo_active and facts.aeo_priority,
        aeo_applied=facts.aeo_active,
    )
