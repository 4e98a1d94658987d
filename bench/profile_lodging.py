"""Profile the HTTP lodging path in-process (pyinstrument) and count its SQL queries.

Creates (and drops first) `forodha_bench_profile`; Redis db BENCH_REDIS_DB (default 11) is cache
and broker. Writes bench/results/profile_lodging.txt (+ .html with PROFILE_HTML=1, ~25 MB, not
committed). Run: .venv/bin/python -m bench.profile_lodging
Env: PROFILE_N (lodgings profiled, default 150).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "forodha_bench_profile"
os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '11')}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def main() -> dict[str, Any]:
    recreate_database(PG, DB_NAME)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 600
    call_command("migrate", verbosity=0)
    from tests.factories.declarations import body_im4, world_create

    n = int(os.environ.get("PROFILE_N", "150"))
    world = world_create(bl_packages=10**7, bl_weight="999999999.000")
    client = Client(HTTP_AUTHORIZATION=f"Token {world.token}")
    body = json.dumps(body_im4(world, items=20, bill_of_lading=world.bl.number)).encode()

    def lodge() -> Any:
        return client.post("/api/v1/declarations", data=body, content_type="application/json")

    for _ in range(20):  # warm caches
        assert lodge().status_code == 201
    with CaptureQueriesContext(connection) as ctx:
        response = lodge()
    assert response.status_code == 201, response.content[:300]
    queries = [q["sql"] for q in ctx.captured_queries]
    kinds = Counter(q.split()[0].upper() for q in queries)
    entry = response.json()["entry_number"]
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"/api/v1/status?entry_number={entry}")
    status_queries = [q["sql"] for q in ctx.captured_queries]

    profiler = Profiler(interval=0.0005)
    started = time.process_time()
    profiler.start()
    for _ in range(n):
        lodge()
    profiler.stop()
    cpu_ms = (time.process_time() - started) / n * 1000
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    (out / "profile_lodging.txt").write_text(
        f"CPU ms per lodging (profiled): {cpu_ms:.1f}\nqueries per lodging: {len(queries)} {dict(kinds)}\n\n"
        + "\n".join(queries) + "\n\nstatus look-up queries: " + str(len(status_queries)) + "\n"
        + "\n".join(status_queries) + "\n\n" + text)
    if os.environ.get("PROFILE_HTML") == "1":  # ~25 MB: opt-in, never committed
        (out / "profile_lodging.html").write_text(profiler.output_html())
    connection.close()
    return {"cpu_ms_per_lodging_profiled": round(cpu_ms, 2), "queries_per_lodging": len(queries),
            "query_kinds": dict(kinds), "status_lookup_queries": len(status_queries)}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
