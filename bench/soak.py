"""`make soak`: bounded mixed load on the real engines, watching errors, throughput and memory.

Processes: gunicorn (SOAK_WEB_WORKERS workers) + one Celery worker on every queue (prefork,
SOAK_CELERY_CONCURRENCY children) + beat, on PostgreSQL and Redis. Load, for SOAK_SECONDS
(default 180, capped at 600):
- SOAK_AGENTS agent threads over HTTP: lodge a 20-item IM4 declaration (1 in 4 goes to the
  yellow lane), poll its status by entry number, pay it (exact amount), poll again;
- one officer thread through the services: take open documentary-check tasks, assign and release.
Green declarations are released automatically once paid and scored (worker).
Reported: errors (goal 0; any 5xx, any unexpected 4xx, any exception), operations/s per kind over
time, and the RSS of every web and worker process over time (goal: flat after warm-up; growth is
reported from the samples at 25 % and at 50 % of the run to the last one). Writes bench/results/soak.json and
bench/results/soak.png. Creates (drops first) `forodha_bench_soak`; Redis db SOAK_REDIS_DB (13).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "forodha_bench_soak"
DATABASE_URL = f"{PG}/{DB_NAME}"
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('SOAK_REDIS_DB', '13')}"
SECONDS = min(600.0, float(os.environ.get("SOAK_SECONDS", "180")))
AGENTS = int(os.environ.get("SOAK_AGENTS", "4"))
WEB_WORKERS = int(os.environ.get("SOAK_WEB_WORKERS", "2"))
CELERY_CONCURRENCY = int(os.environ.get("SOAK_CELERY_CONCURRENCY", "2"))
SAMPLE_SECONDS = float(os.environ.get("SOAK_SAMPLE_SECONDS", "5"))
RESULTS = ROOT / "bench" / "results"
YELLOW_HS = "3004.90.00"  # medicaments: the soak's rule sends them to the yellow lane

os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["REDIS_URL"] = REDIS_URL
os.environ["CELERY_BROKER_URL"] = REDIS_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

_SETTINGS = '''
from config.settings.test import *  # noqa
DEBUG = False
DATABASES["default"]["CONN_MAX_AGE"] = 600
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING", "handlers": []}}
'''


def _seed() -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories.declarations import body_im4, world_create
    from tests.factories.manifests import BillOfLadingFactory
    from tests.factories.risk import RiskRuleFactory

    RiskRuleFactory(code="medicaments", kind="hs_match", hs_prefixes="3004", weight=60)  # yellow lane
    world = world_create(bl_packages=10**8, bl_weight="9999999999.000")
    bls = [world.bl.number] + [
        BillOfLadingFactory(manifest=world.manifest, consignee_pin=world.trader.pin, packages=10**8,
                            gross_weight_kg="9999999999.000", package_kind=world.bl.package_kind).number
        for _ in range(AGENTS * 2)
    ]
    green = []
    for n, bl in enumerate(bls):
        body = body_im4(world, items=20, bill_of_lading=bl, local_reference=f"SOAK-{n}")
        for item in body["items"]:
            if item["hs_code"] == YELLOW_HS:
                item["hs_code"] = "8708.99.00"
        green.append(json.dumps(body).encode())
    yellow = []
    for n, bl in enumerate(bls):
        body = body_im4(world, items=20, bill_of_lading=bl, local_reference=f"SOAKY-{n}")
        body["items"][0]["hs_code"] = YELLOW_HS
        yellow.append(json.dumps(body).encode())
    officer = get_user_model().objects.create_user(username="soak-officer", password="x", is_staff=True)
    from django.db import connection

    connection.close()
    return {"token": world.token, "green": green, "yellow": yellow, "officer_id": officer.pk}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "soak_settings", "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
            "DB_CONN_MAX_AGE": "600"}


def _start(tmp: Path, port: int) -> dict[str, subprocess.Popen[bytes]]:
    (tmp / "soak_settings.py").write_text(_SETTINGS)
    bin_dir = Path(sys.executable).parent
    common: dict[str, Any] = {"cwd": ROOT, "env": _env(tmp), "stdout": subprocess.DEVNULL,
                              "stderr": (tmp / "stderr.log").open("ab"),
                              "start_new_session": True}
    procs = {
        "web": subprocess.Popen([str(bin_dir / "gunicorn"), "config.wsgi:application", "-w", str(WEB_WORKERS),
                                 "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"], **common),
        "worker": subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "WARNING",
                                    "--concurrency", str(CELERY_CONCURRENCY), "-n", "soak@%h",
                                    "-Q", "default,scoring,clearance,notifications,replay"], **common),
        "beat": subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "WARNING",
                                  "--schedule", str(tmp / "beat-schedule")], **common),
    }
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health/live")
            if conn.getresponse().status == 200:
                return procs
        except OSError:
            time.sleep(0.3)
    _stop(procs)
    raise RuntimeError("gunicorn did not start: " + (tmp / "stderr.log").read_text()[-2000:])


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _processes(procs: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    """role -> pid: each master and each child (children numbered in pid order)."""
    out: dict[str, int] = {}
    for role, proc in procs.items():
        out[f"{role} main"] = proc.pid
        for n, child in enumerate(sorted(_children(proc.pid)), start=1):
            out[f"{role} child {n}"] = child
    return out


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: Counter[str] = Counter()
        self.errors: list[str] = []

    def ok(self, kind: str) -> None:
        with self.lock:
            self.ops[kind] += 1

    def error(self, text: str) -> None:
        with self.lock:
            self.ops["errors"] += 1
            if len(self.errors) < 20:
                self.errors.append(text[:400])


def _request(conn: http.client.HTTPConnection, method: str, path: str, token: str,
             body: bytes | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers={"Authorization": f"Token {token}",
                                                   "Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def _agent(n: int, port: int, seed: dict[str, Any], stats: Stats, stop: threading.Event) -> None:
    rng = random.Random(n)
    token = seed["token"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = 0
    while not stop.is_set():
        i += 1
        pool = seed["yellow"] if rng.random() < 0.25 else seed["green"]
        body = pool[(n + i * AGENTS) % len(pool)]
        try:
            status, data = _request(conn, "POST", "/api/v1/declarations", token, body)
            if status != 201:
                stats.error(f"lodge {status} {data[:300]!r}")
                continue
            stats.ok("lodged")
            lodged = json.loads(data)
            entry = lodged["entry_number"]
            status, data = _request(conn, "GET", f"/api/v1/status?entry_number={entry}", token)
            stats.ok("status") if status == 200 else stats.error(f"status {status} {data[:300]!r}")
            total = Decimal(str(lodged["assessment"]["totals"]["total"]))
            pay = json.dumps({"amount": str(total), "currency": "KES"}).encode()
            status, data = _request(conn, "POST", f"/api/v1/declarations/{lodged['id']}/payments", token, pay)
            stats.ok("paid") if status == 201 else stats.error(f"pay {status} {data[:300]!r}")
            status, data = _request(conn, "GET", f"/api/v1/status?entry_number={entry}", token)
            stats.ok("status") if status == 200 else stats.error(f"status {status} {data[:300]!r}")
        except (OSError, http.client.HTTPException, KeyError, ValueError) as exc:
            stats.error(repr(exc))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.close()


def _officer(seed: dict[str, Any], stats: Stats, stop: threading.Event) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from clearance.models import OfficerTask
    from clearance.services import officer_task_assign
    from clearance.services.release import declaration_release
    from core.exceptions import ApplicationError

    officer = get_user_model().objects.get(pk=seed["officer_id"])
    try:
        while not stop.is_set():
            tasks = list(OfficerTask.objects.filter(status="open").order_by("created_at")
                         .values_list("pk", "declaration_id")[:20])
            if not tasks:
                stop.wait(0.5)
                continue
            for task_id, declaration_id in tasks:
                try:
                    officer_task_assign(task_id=task_id, officer=officer, actor=officer)
                    declaration_release(declaration_id=declaration_id, actor=officer, reason="documents in order")
                    stats.ok("decided")
                except ApplicationError as exc:
                    stats.error(f"officer {exc.code}: {exc.detail}")
                except Exception as exc:  # any crash is an error of the soak
                    stats.error(f"officer crash {exc!r}")
    finally:
        connection.close()


def _plot(report: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 8), sharex=True)
    samples = report["samples"]
    xs = [s["t"] for s in samples]
    for role in report["rss_growth"]:
        ax1.plot(xs, [s["rss_mb"].get(role) for s in samples], label=role)
    ax1.set_ylabel("RSS (MB)")
    ax1.set_title(f"Soak: RSS per process ({report['seconds']:.0f} s, {report['errors']} errors)")
    ax1.legend(fontsize="x-small", ncol=2)
    for kind in ("lodged", "paid", "status", "decided", "released"):
        ax2.plot(xs, [s["rate"].get(kind, 0) for s in samples], label=kind)
    ax2.set_ylabel("operations/s (per sample interval)")
    ax2.set_xlabel("seconds")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(RESULTS / "soak.png", dpi=100)
    plt.close(fig)


def main() -> dict[str, Any]:
    import psycopg
    import redis

    recreate_database(PG, DB_NAME)
    redis.Redis.from_url(REDIS_URL).flushdb()
    seed = _seed()
    port = _free_port()
    stats = Stats()
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        procs = _start(tmp, port)
        time.sleep(3)
        stop = threading.Event()
        threads = [threading.Thread(target=_agent, args=(n, port, seed, stats, stop)) for n in range(AGENTS)]
        threads.append(threading.Thread(target=_officer, args=(seed, stats, stop)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        last = dict(stats.ops)
        last_released = 0
        last_t = 0.0
        try:
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                while time.monotonic() - started < SECONDS:
                    time.sleep(SAMPLE_SECONDS)
                    t = time.monotonic() - started
                    released = conn.execute("SELECT count(*) FROM declarations_declaration WHERE status = 'released'"
                                            ).fetchone()[0]  # type: ignore[index]
                    ops = dict(stats.ops)
                    rate = {k: (ops.get(k, 0) - last.get(k, 0)) / (t - last_t) for k in ops}
                    rate["released"] = (released - last_released) / (t - last_t)
                    rss = {role: _rss_mb(pid) for role, pid in _processes(procs).items()}
                    samples.append({"t": round(t, 1), "ops": ops, "released": released,
                                    "rate": {k: round(v, 2) for k, v in rate.items()},
                                    "rss_mb": {k: round(v, 1) for k, v in rss.items() if v is not None}})
                    last, last_released, last_t = ops, released, t
                    print(f"soak t={t:.0f}s ops={ops} released={released} rss={samples[-1]['rss_mb']}", flush=True)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            elapsed = time.monotonic() - started
            time.sleep(2)
            _stop(procs)
        stderr_tail = (tmp / "stderr.log").read_text(errors="replace")[-3000:]
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        statuses: dict[str, int] = dict(
            conn.execute("SELECT status, count(*) FROM declarations_declaration GROUP BY 1").fetchall())
        unscored = conn.execute("SELECT count(*) FROM declarations_declaration d WHERE NOT EXISTS (SELECT 1 FROM "
                                "risk_riskassessment r WHERE r.declaration_id = d.id)").fetchone()[0]  # type: ignore[index]
    redis.Redis.from_url(REDIS_URL).flushdb()
    warm = samples[len(samples) // 4] if samples else {"rss_mb": {}}
    half = samples[len(samples) // 2] if samples else {"rss_mb": {}}
    final = samples[-1] if samples else {"rss_mb": {}}
    growth = {role: {"at_25pct_mb": warm["rss_mb"].get(role), "at_50pct_mb": half["rss_mb"].get(role),
                     "final_mb": mb,
                     "growth_mb": round(mb - warm["rss_mb"][role], 1) if role in warm["rss_mb"] else None,
                     "growth_second_half_mb": round(mb - half["rss_mb"][role], 1) if role in half["rss_mb"] else None}
              for role, mb in final["rss_mb"].items()}
    ops = dict(stats.ops)
    report = {
        "seconds": round(elapsed, 1), "agents": AGENTS, "web_workers": WEB_WORKERS,
        "celery_concurrency": CELERY_CONCURRENCY, "errors": ops.get("errors", 0), "first_errors": stats.errors,
        "operations": ops, "throughput_per_s": {k: round(v / elapsed, 2) for k, v in ops.items()},
        "declarations_by_status": statuses, "unscored_at_end": unscored,
        "rss_growth": growth, "samples": samples, "stderr_tail": stderr_tail if ops.get("errors") else "",
        "goal": "errors == 0; RSS flat after warm-up",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(report, indent=2, default=str))
    _plot(report)
    return report


if __name__ == "__main__":
    result = main()
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2, default=str))
    raise SystemExit(1 if result["errors"] else 0)
