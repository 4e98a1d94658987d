"""Risk scoring benchmark (bounded run, a few tens of seconds).

1. Pure scoring per core: `risk.scoring.score_declaration` over a realistic rule set (one rule of
   every kind, 13 rules) and 1-3 item declarations, single process. Baseline measured in the
   same run: the same loop evaluating no rules (facts construction + call + result). Goal:
   >= 20,000 declarations/s/core.
2. Through Celery on 2 cores: two real `--pool=solo` worker processes on Redis + PostgreSQL score
   N lodged declarations with the batch task `risk.score_declarations_batch` (batches of
   BATCH), against the no-op task `core.ping` sent one per declaration-equivalent... no: the
   baseline is the no-op task with the SAME batching (one task per BATCH items), so the
   ratio shows what the scoring work costs relative to bare Celery overhead. Also reported:
   the unbatched `risk.score_declaration` rate. Goal: batch scoring >= 50 % of the no-op rate.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/forodha_bench REDIS_URL=redis://127.0.0.1:6379/5 \
     .venv/bin/python bench/bench_scoring.py [--pure-only]
The Celery part creates (and drops at the end) a throw-away database `<DATABASE name>_bench`.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from decimal import Decimal as D
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from risk.scoring import DeclarationFacts, ItemFacts, RuleSpec, ScoringConfig, score_declaration  # noqa: E402

RULES: tuple[RuleSpec, ...] = (
    RuleSpec(1, "hs_match", 20, hs_prefixes=("8703", "8711")),
    RuleSpec(2, "origin_country", 15, countries=frozenset({"AE", "CN", "HK"})),
    RuleSpec(3, "trader_no_history", 30),
    RuleSpec(4, "trader_watch", 0, "red"),
    RuleSpec(5, "agent_watch", 30),
    RuleSpec(6, "trader_offences", 25, threshold_count=2),
    RuleSpec(7, "value_per_kg_below_reference", 35),
    RuleSpec(8, "weight_mismatch", 25),
    RuleSpec(9, "late_manifest", 10),
    RuleSpec(10, "sensitive_commodity", 40),
    RuleSpec(11, "claimed_exemption", 20),
    RuleSpec(12, "random", 0, "red", rate=D("0.02")),
    RuleSpec(13, "random", 0, "blue", rate=D("0.05")),
)
CONFIG = ScoringConfig(
    reference_prices=(("8703", D("450.00")), ("870322", D("550.00")), ("1006", D("55.00")), ("6109", D("900.00")))
)
ITEMS = (
    ItemFacts("87032290", "JP", D("610000.00"), D("1150.000"), D("1100.000")),
    ItemFacts("61091000", "CN", D("85000.00"), D("120.000"), D("100.000")),
    ItemFacts("10063000", "PK", D("1300000.00"), D("25010.000"), D("25000.000"), claims_exemption=True),
)


def _facts(n: int) -> list[DeclarationFacts]:
    out = []
    for i in range(n):
        out.append(
            DeclarationFacts(
                declaration_id=str(uuid.UUID(int=i)),
                items=ITEMS[: 1 + i % 3],
                trader_declarations_count=i % 7,
                trader_offences_count=i % 3,
                trader_on_watch_list=i % 97 == 0,
                agent_on_watch_list=i % 89 == 0,
                aeo_active=i % 10 == 0,
                aeo_reduced_inspection=i % 10 == 0,
                manifest_gross_weight_kg=D("1300.000") if i % 5 else None,
                manifest_late=i % 11 == 0,
            )
        )
    return out


def bench_pure(n: int = 40_000, repeats: int = 3) -> dict[str, float]:
    facts = _facts(n)

    def rate(rules: tuple[RuleSpec, ...]) -> float:
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            for f in facts:
                score_declaration(f, rules, CONFIG)
            best = max(best, n / (time.perf_counter() - start))
        return best

    baseline = rate(())
    scored = rate(RULES)
    return {
        "pure_declarations": n,
        "pure_rules": len(RULES),
        "pure_baseline_no_rules_per_s": round(baseline),
        "pure_scored_per_s_per_core": round(scored),
        "pure_ratio_vs_baseline": round(scored / baseline, 3),
        "pure_goal_per_s": 20_000,
        "pure_goal_met": scored >= 20_000,
    }


def bench_celery(n: int = 2000, batch: int = 50, workers: int = 2) -> dict[str, float]:
    from bench._celery_scoring import run  # Django-dependent part, in its own module

    return run(n=n, batch=batch, workers=workers)


def main() -> dict[str, object]:
    figures: dict[str, object] = dict(bench_pure())
    if "--pure-only" not in sys.argv:
        figures.update(bench_celery())
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    main()
