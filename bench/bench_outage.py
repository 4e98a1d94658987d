"""When the database goes away: the primary PostgreSQL really stopped under a running web process.

A throwaway PostgreSQL cluster and a private Redis (tests/maintenance/outage_cluster.py: nothing
shared is touched), one gunicorn process (1 worker, BENCH_OUTAGE_THREADS threads) with its intake
store in an SQLite file, BENCH_OUTAGE_CLIENTS client threads lodging 1-item IM4 declarations.

1. Normal path: `POST /api/v1/declarations` answered 201 for BENCH_OUTAGE_SECONDS (baseline).
2. Time from the database going away (`pg_ctl stop -m fast` called) to the first 202 receipt
   while clients keep lodging. Goal <= 3 s.
3. Intake throughput with the primary down (202 with a signed receipt) for the same duration, as a
   ratio of the 201 rate measured in step 1 of the same run.
Run: .venv/bin/python bench/bench_outage.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import first_answer_after_primary_stop  # noqa: E402
from tests.maintenance.outage_cluster import Stack, http_json  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_OUTAGE_CLIENTS", "6"))
THREADS = int(os.environ.get("BENCH_OUTAGE_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_OUTAGE_SECONDS", "15"))


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def _load(port: int, token: str, template: dict[str, Any], seconds: float, expect: int,
          prefix: str) -> dict[str, Any]:
    latencies: list[float] = []
    other: list[int] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            with lock:
                n = next(counter)
            body = json.dumps({**template, "local_reference": f"{prefix}-{n}"}).encode()
            try:
                status, _, elapsed = http_json(port, "POST", "/api/v1/declarations", token=token, body=body)
            except OSError:
                continue
            with lock:
                (latencies.append(elapsed) if status == expect else other.append(status))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {"count": len(latencies), "rate": len(latencies) / wall, "p50_ms": _percentile(latencies, 50) * 1000,
            "p99_ms": _percentile(latencies, 99) * 1000, "other_statuses": sorted(set(other)), "others": len(other)}


def main() -> dict[str, Any]:
    stack = Stack(Path(tempfile.mkdtemp(prefix="forodha-bench-outage-")))
    try:
        seed = stack.up()
        token, template = seed["token"], seed["body"]
        port = stack.start_web(threads=THREADS)
        _load(port, token, template, 3, 201, "WARM")  # warm-up: connections, caches, prepared statements
        normal = _load(port, token, template, SECONDS, 201, "UP")
        # Clients lodge continuously; seconds from the stop to the first 202 receipt.
        stopped_at, answered_at, _ = first_answer_after_primary_stop(
            stack, port, token, lambda n: json.dumps({**template, "local_reference": f"T202-{n}"}).encode(),
            lambda status, _data: status == 202, clients=CLIENTS, what="202")
        to_first = answered_at - stopped_at
        down = _load(port, token, template, SECONDS, 202, "DOWN")
    finally:
        stack.down()
    ratio = down["rate"] / normal["rate"] if normal["rate"] else None
    return {"benchmark": "outage", "results": [
        {"scenario": "primary PostgreSQL stopped under a running web process: time to the first 202 receipt",
         "metric": "seconds from pg_ctl stop to the first 202", "unit": "s", "value": round(to_first, 3),
         "baseline_name": "goal", "baseline": 3.0, "ratio": round(to_first / 3.0, 3), "goal": "<= 3 s",
         "goal_met": to_first <= 3.0},
        {"scenario": f"lodging with the primary down (202 from the intake store), {CLIENTS} clients",
         "metric": "lodgings/s", "unit": "1/s", "value": round(down["rate"], 1),
         "baseline_name": "normal 201 lodging path, same run, same clients", "baseline": round(normal["rate"], 1),
         "ratio": round(ratio, 3) if ratio else None, "goal": "reported", "goal_met": True,
         "latency_ms": {"p50": round(down["p50_ms"], 1), "p99": round(down["p99_ms"], 1),
                        "baseline_p50": round(normal["p50_ms"], 1), "baseline_p99": round(normal["p99_ms"], 1)},
         "detail": {"normal": normal, "down": down}},
    ]}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
