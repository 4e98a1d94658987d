"""Time to the first provisional release after the primary database goes away (issue 20).

The outage harness of bench/bench_outage.py (tests/maintenance/outage_cluster.py: a throwaway
PostgreSQL cluster and a private Redis, one gunicorn process with its intake store in an SQLite
file). The release rules, AEO statuses and watch-list are copied to intake first
(`manage.py release refresh`, what the beat task does every 60 s). Clients lodge 1-item tea exports
(EX1, HS 0902.40.10) continuously; `pg_ctl stop -m fast` is called under them; measured: seconds
from the stop to the first 202 carrying a `provisional_release`, and then to the first terminal
check (`GET /api/v1/provisional-releases/verify`) answering `valid: true`, with the primary still down.
Run: .venv/bin/python bench/bench_provisional_release.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import first_answer_after_primary_stop  # noqa: E402
from tests.maintenance.outage_cluster import Stack, http_json  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_OUTAGE_CLIENTS", "6"))
THREADS = int(os.environ.get("BENCH_OUTAGE_THREADS", "8"))
VERIFY_SAMPLES = int(os.environ.get("BENCH_RELEASE_VERIFY_SAMPLES", "50"))


def tea_export(im4: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in im4.items()
            if k not in ("importer_pin", "bill_of_lading", "country_of_export", "idf_number")}
    item = {**im4["items"][0], "hs_code": "0902.40.10", "description": "Black tea CTC BP1, 60 kg paper sacks",
            "origin_country": "KE", "packages": 320}
    item.pop("vehicle", None)
    return {**body, "regime": "EX1", "cpc": "1000100", "currency": "KES", "exporter_pin": im4["importer_pin"],
            "country_of_destination": "GB", "items": [item]}


def main() -> dict[str, Any]:
    stack = Stack(Path(tempfile.mkdtemp(prefix="forodha-bench-release-")))
    try:
        seed = stack.up()
        stack.manage("release", "refresh")
        token, template = seed["token"], seed["body"]
        tea = tea_export(template)
        port = stack.start_web(threads=THREADS)
        for n in range(20):  # warm-up on the normal path: connections, caches
            http_json(port, "POST", "/api/v1/declarations", token=token,
                      body=json.dumps({**template, "local_reference": f"WARM-{n}"}).encode())
        stopped_at, released_at, answer = first_answer_after_primary_stop(
            stack, port, token, lambda n: json.dumps({**tea, "local_reference": f"TEA-{n}"}).encode(),
            lambda status, data: status == 202 and bool(data.get("provisional_release")), clients=CLIENTS,
            what="provisional release")
        release = answer["provisional_release"]
        query = "/api/v1/provisional-releases/verify?" + urllib.parse.urlencode({"token": release["token"]})
        latencies: list[float] = []
        verified_at = None
        for _ in range(VERIFY_SAMPLES):
            status, data, elapsed = http_json(port, "GET", query)
            if status != 200 or data.get("valid") is not True:
                raise RuntimeError(f"verify failed with the primary down: {status} {data}")
            verified_at = verified_at or time.monotonic()
            latencies.append(elapsed)
        assert verified_at is not None
    finally:
        stack.down()
    latencies.sort()
    to_release = released_at - stopped_at
    return {"benchmark": "provisional_release", "results": [
        {"scenario": "primary PostgreSQL stopped under lodging tea exports: time to the first provisional release",
         "metric": "seconds from pg_ctl stop to the first 202 with a provisional_release", "unit": "s",
         "value": round(to_release, 3), "baseline_name": "goal (issue 18: first 202)", "baseline": 3.0,
         "ratio": round(to_release / 3.0, 3), "goal": "<= 3 s", "goal_met": to_release <= 3.0},
        {"scenario": "terminal's online check with the primary down",
         "metric": "seconds from pg_ctl stop to the first verify answering valid: true", "unit": "s",
         "value": round(verified_at - stopped_at, 3),
         "latency_ms": {"p50": round(latencies[len(latencies) // 2] * 1000, 1),
                        "max": round(latencies[-1] * 1000, 1), "samples": len(latencies)},
         "token_chars": len(release["token"])},
    ]}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
