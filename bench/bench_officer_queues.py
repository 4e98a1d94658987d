"""Officer workspace at 100,000 declarations: latency and query count of the admin pages.

Seeds a dedicated PostgreSQL database with BENCH_OFFICER_DECLARATIONS declarations (default
100,000) spread over 4 offices, 4 lanes and the lifecycle statuses, ~20 % of them under control
with a live officer task, then times each page through Django's test client (in process, no
network), signed in as a supervisor (sees every office: the largest querysets):

- documentary-check queue, page 1 / filtered by office + over the SLA / searched by container
- declarations list page 1 and searched by entry number
- declaration detail page, dashboard

Baseline in the same run: the admin index page (session, user, permissions, no data), so the
ratio is "how many index pages one page costs".
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_OFFICER_DB", "forodha_bench_officers")
N = int(os.environ.get("BENCH_OFFICER_DECLARATIONS", "100000"))
REPEAT = int(os.environ.get("BENCH_OFFICER_REPEAT", "15"))
os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '6')}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.officers.settings_officers")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _seed() -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    from clearance.models import OfficerTask
    from core import clock
    from declarations.models import Declaration
    from manifests.models import Container
    from tests.factories.manifests import BillOfLadingFactory
    from tests.factories.officers import declaration_in_queue, officer_create
    from tests.factories.reference import CustomsOfficeFactory
    from tests.factories.traders import ClearingAgentFactory, TraderFactory

    offices = [CustomsOfficeFactory(code=c) for c in ("MBA", "JKA", "NBO", "MAL")]
    agents = [ClearingAgentFactory() for _ in range(20)]
    traders = [TraderFactory() for _ in range(200)]
    lanes = ["green", "blue", "yellow", "red"]
    statuses = ["released", "exited", "registered", "assessed", "paid"]
    now = clock.now()
    batch: list[Declaration] = []
    tasks: list[OfficerTask] = []
    for i in range(N):
        lane = lanes[i % 4]
        controlled = lane in ("yellow", "red") and i % 10 < 4  # ~20 % under control
        lodged = now - dt.timedelta(minutes=(i * 7) % (60 * 24 * 20))
        trader = traders[i % len(traders)]
        declaration = Declaration(
            regime="IM4", cpc="4000000", agent=agents[i % len(agents)], trader=trader, importer_pin=trader.pin,
            office=offices[i % len(offices)], local_reference=f"B-{i}", ucr=f"UCRB{i:010d}", currency="KES",
            invoice_amount=1000, status="under_control" if controlled else statuses[i % len(statuses)],
            channel=lane, entry_number=f"26{offices[i % 4].code}IM{i:09d}", lodged_at=lodged,
            bill_of_lading_number=f"BLB{i:08d}", created_at=lodged, updated_at=lodged,
        )
        batch.append(declaration)
        if controlled:
            tasks.append(OfficerTask(declaration=declaration, queue="documentary_check" if lane == "yellow"
                                     else "inspection", lane=lane, status="open", created_at=lodged))
        if len(batch) == 5000:
            Declaration.objects.bulk_create(batch)
            OfficerTask.objects.bulk_create(tasks)
            batch, tasks = [], []
    Declaration.objects.bulk_create(batch)
    OfficerTask.objects.bulk_create(tasks)
    bl = BillOfLadingFactory()
    Container.objects.create(bill_of_lading=bl, number="CSQU3054383")
    target = declaration_in_queue("yellow", bill_of_lading=bl)
    supervisor = officer_create("supervisor", username="bench-supervisor")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"supervisor": supervisor, "target": target,
            "live_tasks": OfficerTask.objects.filter(status__in=["open", "assigned"]).count()}


def _time(client: Any, url: str) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return samples, len(ctx.captured_queries)


def main() -> dict[str, Any]:
    recreate_database(PG, DB_NAME)
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    seed_start = time.perf_counter()
    seeded = _seed()
    seed_seconds = time.perf_counter() - seed_start
    client = Client()
    client.force_login(seeded["supervisor"])
    target = seeded["target"]
    queue = reverse("admin:officers_documentarycheckqueue_changelist")
    declarations = reverse("admin:declarations_declaration_changelist")
    pages = {
        "documentary-check queue, page 1": queue,
        "queue filtered: office MBA + over the SLA": f"{queue}?office=MBA&age=overdue",
        "queue searched by container number": f"{queue}?q=CSQU3054383",
        "declarations list, page 1": declarations,
        "declarations searched by entry number": f"{declarations}?q={target.entry_number}",
        "declaration detail": reverse("admin:declarations_declaration_change", args=[target.pk]),
        "dashboard": reverse("admin:officers_dashboard"),
    }
    base_samples, base_queries = _time(client, reverse("admin:index"))
    baseline = statistics.median(base_samples)
    results = _round(client, pages, baseline, "current schema")
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in RECOMMENDED_INDEXES:
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    results += _round(client, pages, baseline, "+ recommended indexes")
    connection.close()
    return {"benchmark": "officer_queues", "declarations": N, "live_tasks": seeded["live_tasks"],
            "seed_seconds": round(seed_seconds, 1), "baseline_queries": base_queries,
            "recommended_indexes": RECOMMENDED_INDEXES, "results": results}


# Asked of the declarations/risk owners (docs/officers.md); created here only in the bench database.
RECOMMENDED_INDEXES = [
    "CREATE INDEX bench_task_live_order ON risk_officertask (priority DESC, created_at, id DESC) "
    "WHERE status IN ('open', 'assigned')",
    "CREATE INDEX bench_decl_created ON declarations_declaration (created_at DESC, id DESC)",
    "CREATE INDEX bench_decl_importer_pin ON declarations_declaration (importer_pin)",
    "CREATE INDEX bench_decl_exporter_pin ON declarations_declaration (exporter_pin)",
    "CREATE INDEX bench_decl_lodged_at ON declarations_declaration (lodged_at)",
    "CREATE INDEX bench_decl_status_office ON declarations_declaration (status, office_id)",
]


def _round(client: Any, pages: dict[str, str], baseline: float, label: str) -> list[dict[str, Any]]:
    results = []
    for scenario, url in pages.items():
        samples, queries = _time(client, url)
        median = statistics.median(samples)
        p90 = sorted(samples)[max(0, int(len(samples) * 0.9) - 1)]
        results.append({
            "scenario": f"{scenario} ({N:,} declarations, {label})",
            "metric": "median latency", "unit": "ms", "value": round(median, 1),
            "baseline_name": "admin index page (no data)", "baseline": round(baseline, 1),
            "ratio": round(median / baseline, 2), "goal": "< 300 ms", "goal_met": median < 300,
            "latency_ms": {"p50": round(median, 1), "p90": round(p90, 1), "max": round(max(samples), 1)},
            "queries": queries,
        })
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2, default=str))
