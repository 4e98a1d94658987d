"""Risk scoring benchmark (bounded: about a minute).

1. Pure scoring, one core: `risk.scoring.score_declaration` over a realistic rule set (13 rules,
   one of every kind, two random ones) and 1-3 item declarations with varied facts. Baseline in
   the same run: the same loop evaluating no rules (call + result construction). Goal:
   >= 20,000 declarations/s/core (the ratio to the no-rule loop is reported for information).
2. Through Celery on 2 cores: two real `celery worker --pool=solo` processes on Redis +
   PostgreSQL score N lodged declarations with `risk.score_declarations_batch` (BATCH
   declarations per task: one transaction, rows locked in pk order, 2 queries for rules, 2 for
   the facts, then per declaration the assessment insert + channel update + event row).
   Baseline in the same run, same workers: N no-op tasks (`core.ping`), one message each — the
   bare cost of getting work through Celery. Goal: scored declarations/s >= 50 % of no-op
   tasks/s. Also reported: the unbatched `risk.score_declaration` rate (one message per
   declaration), to show why batching is used.

It creates (and drops first) its own database `forodha_bench_scoring`; Redis db
BENCH_SCORING_REDIS_DB (default 5) is the broker. Run: .venv/bin/python bench/bench_scoring.py
(`--pure-only` skips part 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal as D
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from risk.scoring import DeclarationFacts, ItemFacts, RuleSpec, ScoringConfig, score_declaration  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "forodha_bench_scoring"
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_SCORING_REDIS_DB', '5')}"
N_CELERY = int(os.environ.get("BENCH_SCORING_N", "2000"))
N_UNBATCHED = int(os.environ.get("BENCH_SCORING_N_UNBATCHED", "400"))
BATCH = int(os.environ.get("BENCH_SCORING_BATCH", "50"))
QUEUE = "bench-scoring"

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
PRICES = (("8703", D("450.00")), ("870322", D("550.00")), ("1006", D("55.00")), ("6109", D("900.00")))
CONFIG = ScoringConfig(reference_prices=PRICES)
ITEMS = (
    ItemFacts("87032290", "JP", D("610000.00"), D("1150.000"), D("1100.000")),
    ItemFacts("61091000", "CN", D("85000.00"), D("120.000"), D("100.000")),
    ItemFacts("10063000", "PK", D("1300000.00"), D("25010.000"), D("25000.000"), claims_exemption=True),
)


def _facts(n: int) -> list[DeclarationFacts]:
    return [
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
        for i in range(n)
    ]


def bench_pure(n: int = 40_000, repeats: int = 3) -> list[dict[str, Any]]:
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
    return [
        {
            "scenario": f"pure scoring, 1 core, {len(RULES)} rules",
            "metric": "declarations/s",
            "unit": "/s",
            "value": round(scored, 1),
            "baseline_name": "same loop, no rules",
            "baseline": round(baseline, 1),
            "ratio": round(scored / baseline, 4),
            "goal": ">= 20,000 declarations/s/core",
            "goal_met": scored >= 20_000,
        }
    ]


# --- Celery part ----------------------------------------------------------------------------------


def _setup_django() -> None:

    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from bench.common import recreate_database

    recreate_database(PG, DB_NAME)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed(n: int) -> list[str]:
    """n lodged (assessed) declarations with 1-3 items, a trader each of 50, rules and prices."""
    import datetime as dt

    from django.utils import timezone

    from declarations.models import Declaration, DeclarationItem
    from reference.models import CustomsOffice
    from risk.models import ReferencePrice, RiskRule
    from traders.models import AEOProfile, ClearingAgent, Trader

    now = timezone.now()
    for spec in RULES:
        RiskRule.objects.create(
            code=f"bench-{spec.rule_id}",
            kind=spec.kind,
            description=spec.kind.replace("_", " "),
            weight=spec.weight,
            forced_lane=spec.forced_lane or "",
            hs_prefixes=",".join(spec.hs_prefixes),
            countries=",".join(sorted(spec.countries)),
            threshold_count=spec.threshold_count,
            rate=spec.rate,
            valid_from=now - dt.timedelta(days=1),
        )
    for prefix, price in PRICES:
        ReferencePrice.objects.create(hs_prefix=prefix, kes_per_unit=price, valid_from=dt.date(2024, 1, 1))
    office, _ = CustomsOffice.objects.get_or_create(code="MBA", defaults={"name": "Mombasa", "kind": "seaport"})
    agent = ClearingAgent.objects.create(
        name="Bench Agent", licence_number="CA/BENCH/1", licence_valid_from=dt.date(2024, 1, 1),
        licence_valid_to=dt.date(2030, 1, 1),
    )
    traders = [
        Trader.objects.create(
            pin=f"P{51_000_000 + i:09d}A", name=f"Bench Trader {i}", on_watch_list=i % 17 == 0,
            declarations_count=i % 5, first_declared_at=(now - dt.timedelta(days=100)) if i % 5 else None,
        )
        for i in range(50)
    ]
    for trader in traders[::10]:
        AEOProfile.objects.create(trader=trader, valid_from=dt.date(2024, 1, 1))
    declarations = [
        Declaration(
            regime="IM4", cpc="4000000", agent=agent, trader=traders[i % 50], importer_pin=traders[i % 50].pin,
            office=office, status="assessed", entry_number=f"26MBAIM{i:09d}", currency="KES",
            lodged_at=now, created_at=now, updated_at=now,
        )
        for i in range(n)
    ]
    Declaration.objects.bulk_create(declarations, batch_size=1000)
    items = []
    for i, declaration in enumerate(declarations):
        for line_no, item in enumerate(ITEMS[: 1 + i % 3], start=1):
            items.append(
                DeclarationItem(
                    declaration=declaration, line_no=line_no, hs_code=item.hs_code, description="bench goods",
                    origin_country=item.origin_country, packages=1, package_kind="CT",
                    gross_weight_kg=item.gross_weight_kg, net_weight_kg=item.net_weight_kg,
                    customs_value=item.customs_value_kes, customs_value_kes=item.customs_value_kes,
                    exemption="EXEMPT" if item.claims_exemption else "",
                )
            )
    DeclarationItem.objects.bulk_create(items, batch_size=2000)
    return [str(d.pk) for d in declarations]


def _start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LOG_LEVEL": "WARNING",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", QUEUE, "-n",
             f"bench{i}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "ERROR"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]


def _wait(predicate: Any, timeout: float = 300.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("benchmark phase did not finish in time")


def bench_celery(workers: int = 2) -> list[dict[str, Any]]:
    import redis

    _setup_django()
    from django.db.models import Count

    from config.celery import app
    from risk.models import RiskAssessment

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    ids = _seed(N_CELERY + N_UNBATCHED)
    batched_ids, single_ids = ids[:N_CELERY], ids[N_CELERY:]
    procs = _start_workers(workers)
    try:
        # Warm up: both workers answer (Django loaded, connections open).
        for _ in range(4 * workers):
            app.send_task("core.ping", kwargs={"value": "warm"}, queue=QUEUE).get(timeout=180)

        # Baseline: N no-op tasks, one message each.
        start = time.perf_counter()
        results = [app.send_task("core.ping", kwargs={"value": "x"}, queue=QUEUE) for _ in range(N_CELERY)]
        _wait(lambda: broker.llen(QUEUE) == 0 and results[-1].ready() and results[-2].ready())
        noop_rate = N_CELERY / (time.perf_counter() - start)

        # Scoring in batches.
        start = time.perf_counter()
        for offset in range(0, len(batched_ids), BATCH):
            app.send_task(
                "risk.score_declarations_batch",
                kwargs={"declaration_ids": batched_ids[offset : offset + BATCH]},
                queue=QUEUE,
            )
        _wait(lambda: RiskAssessment.objects.count() >= N_CELERY)
        batch_rate = N_CELERY / (time.perf_counter() - start)

        # Scoring one message per declaration.
        start = time.perf_counter()
        for declaration_id in single_ids:
            app.send_task("risk.score_declaration", kwargs={"declaration_id": declaration_id}, queue=QUEUE)
        _wait(lambda: RiskAssessment.objects.count() >= N_CELERY + N_UNBATCHED)
        single_rate = N_UNBATCHED / (time.perf_counter() - start)
        lanes = dict(RiskAssessment.objects.values_list("lane").annotate(n=Count("id")))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.flushdb()
    return [
        {
            "scenario": f"Celery, {workers} solo workers, batches of {BATCH}",
            "metric": "declarations scored/s",
            "unit": "/s",
            "value": round(batch_rate, 1),
            "baseline_name": "no-op task core.ping, 1 per message",
            "baseline": round(noop_rate, 1),
            "ratio": round(batch_rate / noop_rate, 4),
            "goal": ">= 50 % of the no-op task rate",
            "goal_met": batch_rate >= 0.5 * noop_rate,
            "lanes": lanes,
        },
        {
            "scenario": f"Celery, {workers} solo workers, 1 declaration per message (for information)",
            "metric": "declarations scored/s",
            "unit": "/s",
            "value": round(single_rate, 1),
            "baseline_name": "no-op task core.ping, 1 per message",
            "baseline": round(noop_rate, 1),
            "ratio": round(single_rate / noop_rate, 4),
            "goal": "-",
            "goal_met": None,
        },
    ]


def main() -> dict[str, Any]:
    results = bench_pure()
    if "--pure-only" not in sys.argv:
        results += bench_celery()
    report = {"benchmark": "scoring", "results": results}
    print(json.dumps(report, indent=2, default=str))
    return report


if __name__ == "__main__":
    main()
