"""Declaration lodging benchmark (bounded, about 2 minutes).

1. HTTP lodging of 20-item IM4 declarations (`POST /api/v1/declarations`) served by gunicorn on
   PostgreSQL, 8 concurrent clients (each against its own B/L, the same office/regime counter, as
   agents at Mombasa do), for BENCH_LODGE_SECONDS. Reported: declarations/s, p50/p99 latency.
   Baseline, same run, same database: raw psycopg writing exactly the same rows per declaration
   (bench/raw_copy.py: the rows of a lodged declaration are read back and re-inserted as templates:
   header, 20 items, assessment + lines, e-slip, version, 2 events, outbox, notification, B/L
   write-off and the B/L, trader and entry-counter updates) in one transaction per declaration,
   each table by COPY (the technique the services use for items and lines), 8 *processes* (a
   threaded baseline is GIL-bound on 2 cores). Goal: ratio >= 0.40 and p99 <= 50 ms.
Settings: config.settings.test (no throttling) with production's persistent database connections.
2. Status look-up (`GET /api/v1/status?entry_number=`) vs a bare Django view (a function returning
   a small JSON body through the same middleware stack, no DRF, no auth, no database), same
   gunicorn, 8 clients. Goal: ratio >= 0.50.

It creates (and drops first) its own database `forodha_bench`; Redis db BENCH_REDIS_DB (default 4)
serves as cache and broker (outbox messages are published, no worker consumes them).
Run: .venv/bin/python bench/bench_lodging.py
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "forodha_bench"
DATABASE_URL = f"{PG}/{DB_NAME}"
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '4')}"
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
LODGE_SECONDS = float(os.environ.get("BENCH_LODGE_SECONDS", "20"))
RAW_SECONDS = float(os.environ.get("BENCH_RAW_SECONDS", "12"))
LOOKUP_SECONDS = float(os.environ.get("BENCH_LOOKUP_SECONDS", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
# Also measure with the settings proposed in docs/performance.md (CONN_HEALTH_CHECKS off).
PROPOSED = os.environ.get("BENCH_LODGING_PROPOSED", "1") == "1"
ITEMS = 20

os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["REDIS_URL"] = REDIS_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

_BENCH_URLS = '''
from django.http import JsonResponse
from django.urls import path

from config import urls as project_urls


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *project_urls.urlpatterns]
handler404 = project_urls.handler404
handler500 = project_urls.handler500
'''

_BENCH_SETTINGS = '''
from config.settings.test import *  # noqa
ROOT_URLCONF = "bench_lodging_urls"
DEBUG = False
# As in production (config.settings.base): persistent connections with health checks. The test
# settings close the connection after every request, which would add a connect to each call.
DATABASES["default"]["CONN_MAX_AGE"] = 600
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"level": "WARNING", "handlers": []}}
'''


# Proposed to the lead (docs/performance.md): no per-request health-check round trip. A dead
# connection then fails one request per process (Django drops it after the error) instead of none.
_PROPOSED_SETTINGS = '''
from bench_lodging_settings import *  # noqa
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
'''


def _seed() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories.declarations import body_im4, world_create
    from tests.factories.manifests import BillOfLadingFactory

    world = world_create(bl_packages=1_000_000, bl_weight="999999999.000")
    bls = [world.bl.number] + [
        BillOfLadingFactory(manifest=world.manifest, consignee_pin=world.trader.pin, packages=1_000_000,
                            gross_weight_kg="999999999.000").number
        for _ in range(CLIENTS * 2)
    ]
    bodies = []
    for n, bl in enumerate(bls):
        body = body_im4(world, items=ITEMS, bill_of_lading=bl, local_reference=f"BENCH-{n}")
        bodies.append(json.dumps(body).encode())
    from django.db import connection

    connection.close()
    return {"token": world.token, "bodies": bodies, "agent_id": str(world.agent.pk)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_gunicorn(tmp: Path, port: int, settings_module: str = "bench_lodging_settings") -> subprocess.Popen[bytes]:
    (tmp / "bench_lodging_urls.py").write_text(_BENCH_URLS)
    (tmp / "bench_lodging_settings.py").write_text(_BENCH_SETTINGS)
    (tmp / "bench_lodging_settings_proposed.py").write_text(_PROPOSED_SETTINGS)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module,
           "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}", "DB_CONN_MAX_AGE": "600"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "-w", str(WORKERS),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health/live")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _load(port: int, seconds: float, request: Any) -> dict[str, Any]:
    """CLIENTS threads calling request(conn, client_no) in a loop; returns rate and latencies."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    barrier = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        own: list[float] = []
        barrier.wait()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                status, body = request(conn, n)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    failures.append(repr(exc))
                continue
            elapsed = time.perf_counter() - t0
            if status >= 300:
                with lock:
                    failures.append(f"{status} {body[:300]!r}")
                continue
            own.append(elapsed)
        conn.close()
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {
        "count": len(latencies),
        "rate": len(latencies) / wall,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "failures": len(failures),
        "first_failures": failures[:3],
    }


def _http(conn: http.client.HTTPConnection, method: str, path: str, token: str | None,
          body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if token:
        headers["Authorization"] = f"Token {token}"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.getheader("Connection", "").lower() == "close":
        conn.close()
    return response.status, data


def _http_lodging(port: int, seed: dict[str, Any]) -> dict[str, Any]:
    token, bodies = seed["token"], seed["bodies"]
    entries: list[str] = []
    lock = threading.Lock()

    def lodge(conn: http.client.HTTPConnection, n: int) -> tuple[int, bytes]:
        status, data = _http(conn, "POST", "/api/v1/declarations", token, bodies[n % len(bodies)])
        if status == 201:
            with lock:
                entries.append(json.loads(data)["entry_number"])
        return status, data

    result = _load(port, LODGE_SECONDS, lodge)
    result["entry_numbers"] = entries
    return result


# ---- raw psycopg baseline: bench/raw_copy.py (processes, COPY, one transaction per declaration) ----


def _raw_baseline(declaration_id: str, bl_ids: list[str]) -> dict[str, Any]:
    import psycopg

    from bench import raw_copy

    with psycopg.connect(DATABASE_URL) as conn:
        tpl = raw_copy.templates(conn, declaration_id)
    result = raw_copy.run(DATABASE_URL, tpl, procs=CLIENTS, chunk=1, seconds=RAW_SECONDS, bl_ids=bl_ids)
    result["rows_per_declaration"] = raw_copy.rows_per_declaration(tpl)
    result["deadlocks"] = 0  # every connection writes off its own B/L (the services' lock order)
    return result


def _proposed_results(proposed: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """Same scenarios with CONN_HEALTH_CHECKS off (for the lead's decision; not a headline)."""
    if not proposed:
        return {}
    lodging, status, bare = proposed["lodging"], proposed["status"], proposed["bare"]
    return {
        "settings": "CONN_HEALTH_CHECKS = False (CONN_MAX_AGE 600 kept)",
        "lodging_rate": round(lodging["rate"], 1), "lodging_ratio_to_raw": round(lodging["rate"] / raw["rate"], 3)
        if raw["rate"] else None, "lodging_p50_ms": round(lodging["p50_ms"], 1),
        "lodging_p99_ms": round(lodging["p99_ms"], 1),
        "status_rate": round(status["rate"], 1), "bare_rate": round(bare["rate"], 1),
        "status_ratio": round(status["rate"] / bare["rate"], 3) if bare["rate"] else None,
        "failures": lodging["failures"] + status["failures"] + bare["failures"],
    }


def _gap_free(entries: list[str]) -> bool:
    serials = sorted(int(e[8:15]) for e in entries)
    return serials == list(range(serials[0], serials[0] + len(serials))) if serials else True


def main() -> dict[str, Any]:
    import psycopg

    t_start = time.monotonic()
    recreate_database(PG, DB_NAME)
    seed = _seed()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = _start_gunicorn(Path(tmp), port)
        try:
            # warm-up: every worker loads the tariff book and reference caches
            _load_warm = _load(port, 3, lambda conn, n: _http(conn, "POST", "/api/v1/declarations", seed["token"],
                                                              seed["bodies"][n]))
            lodging = _http_lodging(port, seed)
            entry = lodging["entry_numbers"][0] if lodging["entry_numbers"] else ""
            status = _load(port, LOOKUP_SECONDS, lambda conn, n: _http(
                conn, "GET", f"/api/v1/status?entry_number={entry}", seed["token"]))
            bare = _load(port, LOOKUP_SECONDS, lambda conn, n: _http(conn, "GET", "/bench/bare", None))
        finally:
            _stop(proc)
        proposed: dict[str, Any] = {}
        if PROPOSED:
            port = _free_port()
            proc = _start_gunicorn(Path(tmp), port, "bench_lodging_settings_proposed")
            try:
                _load(port, 2, lambda conn, n: _http(conn, "POST", "/api/v1/declarations", seed["token"],
                                                     seed["bodies"][n]))
                proposed["lodging"] = _load(port, LODGE_SECONDS / 2, lambda conn, n: _http(
                    conn, "POST", "/api/v1/declarations", seed["token"], seed["bodies"][n % len(seed["bodies"])]))
                proposed["status"] = _load(port, LOOKUP_SECONDS, lambda conn, n: _http(
                    conn, "GET", f"/api/v1/status?entry_number={entry}", seed["token"]))
                proposed["bare"] = _load(port, LOOKUP_SECONDS, lambda conn, n: _http(conn, "GET", "/bench/bare", None))
            finally:
                _stop(proc)
    with psycopg.connect(DATABASE_URL) as conn:
        row = conn.execute("SELECT id FROM declarations_declaration WHERE entry_number = %s",
                           (lodging["entry_numbers"][0],)).fetchone()
        bl_ids = [str(r[0]) for r in conn.execute(
            "SELECT DISTINCT bill_of_lading_id FROM manifests_writeoff").fetchall()]
        all_entries = [r[0] for r in conn.execute(
            "SELECT entry_number FROM declarations_declaration WHERE entry_number IS NOT NULL").fetchall()]
    raw = _raw_baseline(str(row[0]), bl_ids)  # type: ignore[index]
    lodging_ratio = lodging["rate"] / raw["rate"] if raw["rate"] else 0.0
    lookup_ratio = status["rate"] / bare["rate"] if bare["rate"] else 0.0
    rows_per_declaration = raw["rows_per_declaration"]
    return {
        "benchmark": "lodging",
        "results": [
            {"scenario": f"HTTP lodging, {ITEMS}-item IM4, gunicorn -w {WORKERS}, {CLIENTS} clients",
             "metric": "declarations/s", "unit": "1/s", "value": round(lodging["rate"], 1),
             "baseline_name": (f"raw psycopg COPY of the same {rows_per_declaration} rows, one transaction per "
                               f"declaration, {CLIENTS} processes"),
             "baseline": round(raw["rate"], 1), "ratio": round(lodging_ratio, 3), "goal": ">= 0.40, p99 <= 50 ms",
             "goal_met": lodging_ratio >= 0.40 and lodging["p99_ms"] <= 50,
             "latency_ms": {"p50": round(lodging["p50_ms"], 1), "p99": round(lodging["p99_ms"], 1),
                            "baseline_p50": round(raw["p50_ms"], 1), "baseline_p99": round(raw["p99_ms"], 1)},
             "count": lodging["count"], "failures": lodging["failures"], "baseline_deadlocks": raw["deadlocks"],
             "first_failures": lodging["first_failures"],
             "entry_numbers_gap_free": _gap_free(all_entries)},
            {"scenario": f"status look-up by entry number, {CLIENTS} clients", "metric": "requests/s", "unit": "1/s",
             "value": round(status["rate"], 1), "baseline_name": "bare Django view (same middleware, no DRF/DB)",
             "baseline": round(bare["rate"], 1), "ratio": round(lookup_ratio, 3), "goal": ">= 0.50",
             "goal_met": lookup_ratio >= 0.50,
             "latency_ms": {"p50": round(status["p50_ms"], 2), "p99": round(status["p99_ms"], 2),
                            "baseline_p50": round(bare["p50_ms"], 2), "baseline_p99": round(bare["p99_ms"], 2)},
             "failures": status["failures"] + bare["failures"]},
        ],
        "elapsed_s": round(time.monotonic() - t_start, 1),
        "warmup_count": _load_warm["count"],
        "proposed_settings": _proposed_results(proposed, raw),
        "machine_cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
