"""The default risk rules shipped with the reference data (risk/data/default_rules.csv), and the
KRA example Corolla declared at KES 425.71 meeting them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from risk.loaders import load_default_risk_rules
from risk.models import RiskRule
from risk.services.assessment import risk_assessment_create
from tests.factories.declarations import World, body_im4, item, world_create

pytestmark = pytest.mark.django_db


def test_the_default_rules_cover_the_usual_frauds_each_with_weight_and_explanation() -> None:
    # when
    inserted = load_default_risk_rules()

    # then
    assert inserted == 8
    rules = {r.code: r for r in RiskRule.objects.filter(code__startswith="default-")}
    assert {code: (r.kind, r.weight, r.forced_lane, r.threshold_percent, r.rate) for code, r in rules.items()} == {
        "default-undervaluation-crsp": ("value_below_crsp", 50, "yellow", Decimal("20.00"), None),
        "default-undervaluation-reference": ("value_per_kg_below_reference", 50, "yellow", Decimal("30.00"), None),
        "default-weight-mismatch": ("weight_mismatch", 30, "", Decimal("5.00"), None),
        "default-exemption-claimed": ("claimed_exemption", 30, "", None, None),
        "default-late-manifest": ("late_manifest", 20, "", None, None),
        "default-first-time-trader": ("trader_no_history", 30, "", None, None),
        "default-sensitive-goods": ("sensitive_commodity", 30, "", None, None),
        "default-random": ("random", 50, "", None, Decimal("0.05000")),
    }
    assert all(r.explanation and r.active for r in rules.values())


def test_reloading_keeps_an_analysts_tuning() -> None:
    # given: loaded, then tuned in the admin
    load_default_risk_rules()
    RiskRule.objects.filter(code="default-random").update(rate=Decimal("0.10"), weight=20)
    RiskRule.objects.filter(code="default-late-manifest").update(active=False)

    # when
    inserted = load_default_risk_rules()

    # then
    assert inserted == 0
    assert RiskRule.objects.filter(code__startswith="default-").count() == 8
    tuned = RiskRule.objects.get(code="default-random")
    assert (tuned.rate, tuned.weight) == (Decimal("0.10000"), 20)
    assert RiskRule.objects.get(code="default-late-manifest").active is False


def _lodge_corolla(world: World, value: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    body = body_im4(world, currency="KES", invoice_amount=value)
    body["items"] = [item(0, customs_value=value, packages=1, supplementary_quantity="1",
                          description="Used motor car, 1496 cc petrol")]
    response = client.post("/api/v1/declarations", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _world_with_history() -> World:
    # the B/L's weight and packages as declared (no weight-mismatch hit)
    world = world_create(bl_packages=1, bl_weight="100.500")
    type(world.trader).objects.filter(pk=world.trader.pk).update(
        first_declared_at=clock.now() - dt.timedelta(days=400), declarations_count=40)
    return world


def test_the_kes_425_corolla_goes_to_valuation_review_with_the_crsp_figure() -> None:
    # given: the shipped rules (random selection off, so the lane is exact) and a trader with history
    load_default_risk_rules()
    RiskRule.objects.filter(code="default-random").update(active=False)
    world = _world_with_history()
    declaration_id = _lodge_corolla(world, "425.71")

    # when
    assessment = risk_assessment_create(declaration_id=declaration_id).assessment

    # then: yellow, and the officer reads the CRSP value, the difference and how it was derived
    assert (assessment.lane, assessment.score) == ("yellow", 50)
    assert [h["kind"] for h in assessment.hits] == ["value_below_crsp"]
    assert assessment.hits[0]["forced_lane"] == "yellow"
    assert assessment.hits[0]["reason"] == (
        "Valuation review: vehicle declared below its CRSP value: item 1 HS 8703.22.90 declared at KES 425.71, "
        "KES 963,918.09 (100.0%) below the CRSP-derived value KES 964,343.80 (tolerance 20.00%; "
        "TOYOTA COROLLA AXIO 6AA-NKE165-AEXNB (1496, GASOLINE), CRSP 2025-07-01: KES 3,236,062.27 less 30% "
        "depreciation for 3 years, / 2.349 (KRA template up_to_1500cc))"
    )


def test_a_corolla_declared_within_the_tolerance_is_not_flagged() -> None:
    # given: KES 800,000 against a CRSP value of KES 964,343.80 (17 % below; tolerance 20 %)
    load_default_risk_rules()
    RiskRule.objects.filter(code="default-random").update(active=False)
    world = _world_with_history()
    declaration_id = _lodge_corolla(world, "800000.00")

    # when
    assessment = risk_assessment_create(declaration_id=declaration_id).assessment

    # then
    assert (assessment.lane, assessment.score, assessment.hits) == ("green", 0, [])
