"""The pure selectivity function: every rule kind, lanes, forced lanes, AEO benefits, random."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal as D

import pytest

from risk.scoring import (
    DeclarationFacts,
    ItemFacts,
    Lane,
    RuleSpec,
    ScoringConfig,
    format_hs,
    random_draw,
    score_declaration,
)

CONFIG = ScoringConfig(reference_prices=(("8703", D("500.00")), ("870322", D("600.00")), ("1006", D("60.00"))))
CAR = ItemFacts("87032290", "JP", D("660000.00"), D("1150.000"), D("1100.000"))


def facts(**overrides: object) -> DeclarationFacts:
    base = DeclarationFacts(
        declaration_id="7a1c8f30-0000-4000-8000-000000000001",
        items=(CAR,),
        trader_declarations_count=12,
        manifest_gross_weight_kg=D("1150.000"),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_no_rules_is_green_with_score_zero() -> None:
    # given / when
    result = score_declaration(facts(), [], CONFIG)
    # then
    assert (result.score, result.lane, result.hits, result.priority) == (0, Lane.GREEN, (), False)


@pytest.mark.parametrize(
    ("prefix", "hits"), [("87", True), ("8703", True), ("8703.22", True), ("87032290", True), ("8704", False)]
)
def test_hs_match_by_chapter_heading_or_code(prefix: str, hits: bool) -> None:
    # given
    rule = RuleSpec(1, "hs_match", weight=35, hs_prefixes=("".join(c for c in prefix if c.isdigit()),))
    # when
    result = score_declaration(facts(), [rule], CONFIG)
    # then
    assert result.score == (35 if hits else 0)
    if hits:
        assert result.hits[0].reason.startswith("item 1 HS 8703.22.90 matches")


def test_origin_country_hits_only_listed_countries() -> None:
    rule = RuleSpec(2, "origin_country", weight=20, countries=frozenset({"JP", "AE"}))
    assert score_declaration(facts(), [rule], CONFIG).hits[0].reason == "item 1 originates in JP"
    other = replace(CAR, origin_country="DE")
    assert score_declaration(facts(items=(other,)), [rule], CONFIG).hits == ()


def test_trader_without_history() -> None:
    rule = RuleSpec(3, "trader_no_history", weight=40)
    first = score_declaration(facts(trader_declarations_count=0), [rule], CONFIG)
    assert (first.score, first.lane) == (40, Lane.BLUE)
    assert first.hits[0].reason == "first declaration of this trader (no compliance history)"
    assert score_declaration(facts(trader_declarations_count=1), [rule], CONFIG).hits == ()


def test_trader_and_agent_watch_lists() -> None:
    trader_rule = RuleSpec(4, "trader_watch", forced_lane="red")
    agent_rule = RuleSpec(5, "agent_watch", weight=50)
    assert score_declaration(facts(), [trader_rule, agent_rule], CONFIG).hits == ()
    result = score_declaration(
        facts(trader_on_watch_list=True, agent_on_watch_list=True), [trader_rule, agent_rule], CONFIG
    )
    assert [h.rule_id for h in result.hits] == [4, 5]
    assert (result.score, result.lane) == (50, Lane.RED)


def test_trader_offences_threshold() -> None:
    rule = RuleSpec(6, "trader_offences", weight=30, threshold_count=2)
    assert score_declaration(facts(trader_offences_count=1), [rule], CONFIG).hits == ()
    assert score_declaration(facts(trader_offences_count=2), [rule], CONFIG).score == 30


def test_value_per_kg_below_reference_uses_longest_prefix() -> None:
    # given: 8703.22 reference is KES 600/kg; 30 % below = 420/kg. 1100 kg at 440000 = 400/kg.
    rule = RuleSpec(7, "value_per_kg_below_reference", weight=45)
    cheap = replace(CAR, customs_value_kes=D("440000.00"))
    fair = replace(CAR, customs_value_kes=D("462000.00"))  # 420/kg: exactly the floor, not below
    # when
    hit = score_declaration(facts(items=(cheap,)), [rule], CONFIG)
    miss = score_declaration(facts(items=(fair,)), [rule], CONFIG)
    # then
    assert hit.score == 45
    assert hit.hits[0].reason == (
        "item 1 HS 8703.22.90 declared at KES 400.00/kg, more than 30% below the reference KES 600.00/kg for 8703.22"
    )
    assert miss.hits == ()


def test_value_per_kg_without_reference_or_weight_does_not_hit() -> None:
    rule = RuleSpec(7, "value_per_kg_below_reference", weight=45, threshold_percent=D("10"))
    shirt = ItemFacts("61091000", "CN", D("1.00"), D("10.000"), D("10.000"))
    weightless = replace(CAR, customs_value_kes=D("1.00"), net_weight_kg=D("0"))
    assert score_declaration(facts(items=(shirt, weightless)), [rule], CONFIG).hits == ()


@pytest.mark.parametrize(
    ("manifest_kg", "hits"), [("1150.000", False), ("1095.300", False), ("1095.200", True), ("1300.000", True)]
)
def test_weight_mismatch_more_than_five_percent(manifest_kg: str, hits: bool) -> None:
    # 1150 declared vs 1095.3 manifest: 4.99 %; vs 1095.2: 5.004 %
    rule = RuleSpec(8, "weight_mismatch", weight=30)
    result = score_declaration(facts(manifest_gross_weight_kg=D(manifest_kg)), [rule], CONFIG)
    assert bool(result.hits) is hits


def test_weight_mismatch_without_manifest_weight_does_not_hit() -> None:
    rule = RuleSpec(8, "weight_mismatch", weight=30)
    assert score_declaration(facts(manifest_gross_weight_kg=None), [rule], CONFIG).hits == ()


def test_late_manifest() -> None:
    rule = RuleSpec(9, "late_manifest", weight=15)
    assert score_declaration(facts(manifest_late=True), [rule], CONFIG).score == 15
    assert score_declaration(facts(manifest_late=False), [rule], CONFIG).score == 0


def test_sensitive_commodity_default_list_and_own_list() -> None:
    rice = ItemFacts("10063000", "PK", D("100000.00"), D("25000.000"), D("25000.000"))
    default_rule = RuleSpec(10, "sensitive_commodity", weight=50)
    own_rule = RuleSpec(11, "sensitive_commodity", weight=50, hs_prefixes=("8703",))
    result = score_declaration(facts(items=(CAR, rice)), [default_rule], CONFIG)
    assert result.hits[0].reason == "sensitive commodity: item 2 HS 1006.30.00 matches 1006"
    assert result.lane == Lane.YELLOW
    assert score_declaration(facts(), [default_rule], CONFIG).hits == ()
    assert score_declaration(facts(), [own_rule], CONFIG).score == 50


def test_claimed_exemption() -> None:
    rule = RuleSpec(12, "claimed_exemption", weight=25)
    assert score_declaration(facts(), [rule], CONFIG).hits == ()
    exempt = replace(CAR, claims_exemption=True)
    assert score_declaration(facts(items=(exempt,)), [rule], CONFIG).hits[0].reason == "item 1 claims an exemption"


@pytest.mark.parametrize(
    ("score", "lane"),
    [
        (0, "green"),
        (29, "green"),
        (30, "blue"),
        (49, "blue"),
        (50, "yellow"),
        (79, "yellow"),
        (80, "red"),
        (200, "red"),
    ],
)
def test_lane_thresholds(score: int, lane: str) -> None:
    rule = RuleSpec(1, "hs_match", weight=score or 1, hs_prefixes=("99",) if score == 0 else ("87",))
    assert score_declaration(facts(), [rule], CONFIG).lane == lane


def test_forced_lane_only_makes_the_lane_stricter_and_the_strictest_wins() -> None:
    yellow = RuleSpec(1, "hs_match", forced_lane="yellow", hs_prefixes=("87",))
    red = RuleSpec(2, "origin_country", forced_lane="red", countries=frozenset({"JP"}))
    heavy = RuleSpec(3, "trader_no_history", weight=90)
    assert score_declaration(facts(), [yellow], CONFIG).lane == Lane.YELLOW
    assert score_declaration(facts(), [yellow, red], CONFIG).lane == Lane.RED
    # score says red (90), the forced yellow does not lower it
    assert score_declaration(facts(trader_declarations_count=0), [yellow, heavy], CONFIG).lane == Lane.RED


def test_description_prefixes_the_reason() -> None:
    rule = RuleSpec(1, "late_manifest", weight=10, description="Late manifest (PN 554)")
    hit = score_declaration(facts(manifest_late=True), [rule], CONFIG).hits[0]
    assert hit.reason == "Late manifest (PN 554): the manifest was lodged late (less than 48 hours before arrival)"
    assert hit.as_dict() == {
        "rule_id": 1,
        "kind": "late_manifest",
        "weight": 10,
        "forced_lane": None,
        "reason": hit.reason,
    }


def test_active_aeo_goes_green_despite_a_high_score_and_gets_priority() -> None:
    rules = [RuleSpec(1, "hs_match", weight=100, hs_prefixes=("87",))]
    result = score_declaration(facts(aeo_active=True, aeo_priority=True), rules, CONFIG)
    assert (result.score, result.lane, result.priority, result.aeo_applied) == (100, Lane.GREEN, True, True)
    assert len(result.hits) == 1


def test_active_aeo_takes_a_forced_lane() -> None:
    rules = [
        RuleSpec(1, "hs_match", weight=100, hs_prefixes=("87",)),
        RuleSpec(2, "trader_watch", forced_lane="yellow"),
    ]
    result = score_declaration(facts(aeo_active=True, trader_on_watch_list=True), rules, CONFIG)
    assert result.lane == Lane.YELLOW  # the forced lane, not red from the score


def test_non_aeo_has_no_priority() -> None:
    assert score_declaration(facts(aeo_priority=True), [], CONFIG).priority is False


def test_random_draw_is_deterministic_and_uniform_enough() -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(4000)]
    draws = [random_draw(i, 7) for i in ids]
    assert draws == [random_draw(i, 7) for i in ids]
    assert random_draw(ids[0], 7) != random_draw(ids[0], 8)
    assert all(0.0 <= d < 1.0 for d in draws)
    assert 0.08 < sum(d < 0.1 for d in draws) / len(draws) < 0.12


def test_random_rule_selects_the_same_declarations_every_time_at_its_rate() -> None:
    rule = RuleSpec(21, "random", forced_lane="red", rate=D("0.10"))
    ids = [str(uuid.UUID(int=i)) for i in range(3000)]
    first = [score_declaration(facts(declaration_id=i), [rule], CONFIG).lane for i in ids]
    second = [score_declaration(facts(declaration_id=i), [rule], CONFIG).lane for i in ids]
    assert first == second
    selected = [i for i, lane in zip(ids, first, strict=True) if lane == Lane.RED]
    assert selected == [i for i in ids if random_draw(i, 21) < 0.10]
    assert 240 < len(selected) < 360


def test_aeo_with_reduced_inspection_is_drawn_at_a_lower_rate() -> None:
    rule = RuleSpec(21, "random", forced_lane="red", rate=D("0.10"))
    ids = [str(uuid.UUID(int=i)) for i in range(3000)]
    aeo = [
        score_declaration(facts(declaration_id=i, aeo_active=True, aeo_reduced_inspection=True), [rule], CONFIG)
        for i in ids
    ]
    selected = [i for i, r in zip(ids, aeo, strict=True) if r.lane == Lane.RED]
    # factor 0.2: rate 0.02, and exactly the declarations whose draw is below it
    assert selected == [i for i in ids if random_draw(i, 21) < 0.02]
    assert 30 < len(selected) < 100
    assert all(r.lane == Lane.GREEN for r in aeo if r.hits == ())


def test_random_rate_zero_never_selects() -> None:
    rule = RuleSpec(21, "random", forced_lane="red", rate=D("0"))
    assert all(score_declaration(facts(declaration_id=str(i)), [rule], CONFIG).hits == () for i in range(200))


def test_format_hs() -> None:
    assert [format_hs(c) for c in ("87", "8703", "870322", "87032290")] == ["87", "8703", "8703.22", "8703.22.90"]


def test_reference_price_per_supplementary_unit() -> None:
    # given: phones referenced at KES 20,000 per unit (NAR); 100 declared at KES 1,200,000 = 12,000 each
    config = ScoringConfig(unit_reference_prices=(("851713", "NAR", D("20000.00")), ("8517", "NAR", D("9000.00"))))
    rule = RuleSpec(8, "value_per_kg_below_reference", weight=50, forced_lane="yellow")
    phones = ItemFacts("85171300", "CN", D("1200000.00"), D("40.000"), D("35.000"), supplementary_quantity=D("100"),
                       supplementary_unit="NAR")
    in_litres = replace(phones, supplementary_unit="LTR")

    # when
    hit = score_declaration(facts(items=(phones,)), [rule], config)
    other_unit = score_declaration(facts(items=(in_litres,)), [rule], config)

    # then: the longest prefix in the same unit decides; another unit is not compared
    assert hit.hits[0].reason == (
        "item 1 HS 8517.13.00 declared at KES 12000.00/NAR, more than 30% below the reference KES 20000.00/NAR "
        "for 8517.13")
    assert hit.lane == "yellow"
    assert other_unit.hits == ()


def test_value_below_crsp_quotes_the_crsp_figure_and_the_difference() -> None:
    # given: a car with a CRSP-derived value of KES 964,343.80, tolerance 20 %
    rule = RuleSpec(9, "value_below_crsp", weight=50, forced_lane="yellow", threshold_percent=D("20"))
    car = replace(CAR, customs_value_kes=D("700000.00"), crsp_value_kes=D("964343.80"), crsp_basis="CRSP row")
    within = replace(car, customs_value_kes=D("771475.04"))
    unlisted = replace(car, crsp_value_kes=None)

    # when / then: 771,475.04 is exactly 80 % (not below); 700,000 is 27.4 % below
    assert score_declaration(facts(items=(car,)), [rule], CONFIG).hits[0].reason == (
        "item 1 HS 8703.22.90 declared at KES 700,000.00, KES 264,343.80 (27.4%) below the CRSP-derived value "
        "KES 964,343.80 (tolerance 20%; CRSP row)")
    assert score_declaration(facts(items=(within,)), [rule], CONFIG).hits == ()
    assert score_declaration(facts(items=(unlisted,)), [rule], CONFIG).hits == ()
