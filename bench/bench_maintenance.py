"""Maintenance benchmark (bounded, well under a minute).

1. Middleware overhead on GET throughput: two WSGI handlers built in the same process from the
   same settings, one with `maintenance.middleware.MaintenanceMiddleware` inserted before
   `IdempotencyMiddleware`, one without (the baseline), serve `GET /api/v1/health/live` in
   interleaved rounds; the median per-request time of each is compared. Three states: no window
   (the common case), a window starting within 72 h (every response gets the notice header) and
   an active lodging-scope window (the request is classified, then passes). Goal: <= 2 % overhead
   (ratio <= 1.02).
2. Replay machinery: N buffered submissions replayed with a no-op lodge callable (claim, lock,
   lodge, record, notify boundary, report) against the baseline of one bare transaction with one
   UPDATE per row (the least any exactly-once replay must do). Reports submissions/s and the
   projected time for 25,000 (the lodging/assessment/scoring cost comes from the declarations
   app and is not included; see docs/maintenance.md).

Run: .venv/bin/python bench/bench_maintenance.py  (defaults to an in-memory SQLite database so it
does not touch anyone's data; set DATABASE_URL to measure PostgreSQL).
3. Replay through the real declarations app (`declarations.replay.lodge_buffered`): N buffered
   20-item declarations lodged and assessed in one process, projected to 25,000 on 2 processes
   (the replay is safe to run in parallel). Risk scoring happens on workers and is not included.
Env: BENCH_MW_REQUESTS (per round, default 2000), BENCH_MW_ROUNDS (default 7), BENCH_REPLAY_N (2000),
BENCH_REPLAY_REAL_N (100; 0 skips part 3).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

MW = "maintenance.middleware.MaintenanceMiddleware"


def _setup() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, stdout=io.StringIO())


def _handler(with_maintenance: bool) -> Any:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    middleware = [m for m in settings.MIDDLEWARE if m != MW]
    if with_maintenance:
        middleware.insert(middleware.index("core.idempotency.IdempotencyMiddleware"), MW)
    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler()


def _environ(path: str, auth: str = "") -> dict[str, Any]:
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return {**extra,
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def _serve(handler: Any, n: int, path: str, auth: str = "") -> float:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    # CPU time of this process: the other tenants of a shared machine inflate wall time, not this.
    started = time.process_time()
    for _ in range(n):
        body = handler(_environ(path, auth), start_response)
        for _chunk in body:
            pass
        body.close()
    elapsed = time.process_time() - started
    assert all(s.startswith("200") for s in statuses), statuses[:3]
    return elapsed / n


def _overhead(state: str, requests: int, rounds: int, path: str = "/api/v1/health/live",
              auth: str = "") -> dict[str, Any]:
    with_mw, without = _handler(True), _handler(False)
    _serve(with_mw, 200, path, auth)  # warm both (snapshot load, url resolver, DRF settings)
    _serve(without, 200, path, auth)
    chunk = 100
    pairs = max(1, requests * rounds // chunk)
    a: list[float] = []
    b: list[float] = []
    for i in range(pairs):
        # small alternating chunks (who goes first alternates too): drift on a shared machine
        # hits both sides alike; the median of per-pair ratios discards the noisy pairs
        if i % 2:
            b.append(_serve(without, chunk, path, auth))
            a.append(_serve(with_mw, chunk, path, auth))
        else:
            a.append(_serve(with_mw, chunk, path, auth))
            b.append(_serve(without, chunk, path, auth))
    ratio = statistics.median(x / y for x, y in zip(a, b, strict=True))
    med_a, med_b = statistics.median(a), statistics.median(b)
    isolated = _isolated_cost_us()
    return {
        "scenario": f"GET {path}, {state}", "metric": "requests/s with MaintenanceMiddleware",
        "unit": "req/s", "value": round(1 / med_a, 1), "baseline_name": "same handler without it",
        "baseline": round(1 / med_b, 1), "ratio": round(ratio, 4), "goal": "time ratio <= 1.02",
        "goal_met": ratio <= 1.02, "pairs": pairs,
        "middleware_cpu_us_isolated": round(isolated, 2),
        "ratio_from_isolated_cost": round((med_b * 1e6 + isolated) / (med_b * 1e6), 4),
        "latency_ms": {"with_median": round(med_a * 1000, 4), "without_median": round(med_b * 1000, 4)},
    }


def _isolated_cost_us(n: int = 20000) -> float:
    """CPU microseconds the middleware adds to one GET, measured around a trivial view."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from maintenance.middleware import MaintenanceMiddleware

    def view(request: Any) -> HttpResponse:
        return HttpResponse(b"ok")

    wrapped = MaintenanceMiddleware(view)
    requests = [RequestFactory().get("/api/v1/health/live") for _ in range(n)]
    wrapped(requests[0])
    samples = []
    for _ in range(5):
        started = time.process_time()
        for request in requests:
            view(request)
        bare = time.process_time() - started
        started = time.process_time()
        for request in requests:
            wrapped(request)
        samples.append((time.process_time() - started - bare) / n * 1e6)
    return max(0.0, statistics.median(samples))


def _middleware_results(requests: int, rounds: int) -> list[dict[str, Any]]:
    from core import clock
    from maintenance import snapshot
    from maintenance.models import MaintenanceWindow

    now = clock.now()
    results = [_overhead("no window", requests, rounds)]
    window = MaintenanceWindow.objects.create(
        starts_at=now + dt.timedelta(hours=48), ends_at=now + dt.timedelta(hours=56), reason="bench",
        notice_given=now, created_at=now, updated_at=now)
    snapshot.store.invalidate()
    results.append(_overhead("window within 72 h (notice header)", requests, rounds))
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=get_user_model().objects.create(username=f"bench-reader-{time.time_ns()}"))
    results.append(_overhead("window within 72 h (notice header), token auth + paginated query",
                             max(200, requests // 4), rounds, path="/api/v1/maintenance/windows",
                             auth=f"Token {token.key}"))
    window.starts_at, window.ends_at = now - dt.timedelta(hours=1), now + dt.timedelta(hours=5)
    window.save()
    snapshot.store.invalidate()
    results.append(_overhead("active lodging window (GET passes)", requests, rounds))
    window.delete()
    snapshot.store.invalidate()
    return results


def _replay_results(n: int) -> list[dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from core import clock
    from maintenance import services
    from maintenance.models import BufferedSubmission, Outage
    from maintenance.services import ReplayOutcome

    now = clock.now()
    user = get_user_model().objects.create(username=f"bench-{time.time_ns()}")
    outage = Outage.objects.create(reason="bench", started_at=now - dt.timedelta(days=5), ended_at=now,
                                   status="ended")
    body = json.dumps({"regime": "IM4", "office": "MBA", "importer_pin": "P051234567X",
                       "items": [{"hs_code": "8703.22.90"}] * 20}).encode()

    def fill() -> None:
        BufferedSubmission.objects.bulk_create([
            BufferedSubmission(method="POST", path="/api/v1/declarations", endpoint="declarations", body=body,
                               body_sha256="0" * 64, agent=user, outage_id=outage.pk,
                               received_at=now - dt.timedelta(seconds=i), lodged_at=now - dt.timedelta(seconds=i))
            for i in range(n)], batch_size=1000)

    # baseline: one transaction + one UPDATE per row, in the same order
    fill()
    ids = list(BufferedSubmission.objects.order_by("priority", "received_at").values_list("pk", flat=True))
    started = time.perf_counter()
    for pk in ids:
        with transaction.atomic():
            BufferedSubmission.objects.filter(pk=pk, status="pending").update(status="lodged")
    baseline = time.perf_counter() - started
    BufferedSubmission.objects.all().delete()

    fill()

    def lodge(submission: Any, *, lodged_at: dt.datetime, deadline_extension: dt.timedelta) -> ReplayOutcome:
        return ReplayOutcome(lodged=True, entry_number="26MBAIM000000001")

    started = time.perf_counter()
    report = services.replay_buffered(actor=None, lodge=lodge)
    elapsed = time.perf_counter() - started
    assert report.lodged == n, report
    assert report.remaining == 0, report
    BufferedSubmission.objects.all().delete()
    rate, base_rate = n / elapsed, n / baseline
    return [{
        "scenario": f"replay machinery, {n} buffered 20-item declarations, no-op lodge",
        "metric": "submissions/s", "unit": "1/s", "value": round(rate, 1),
        "baseline_name": "bare per-row transaction + UPDATE", "baseline": round(base_rate, 1),
        "ratio": round(rate / base_rate, 3), "goal": "informative (25,000 in <= 180 s incl. lodging)",
        "goal_met": 25000 / rate <= 180,
        "projected_seconds_for_25000": round(25000 / rate, 1),
    }]


def _real_replay_results(n: int, machinery_rate: float) -> list[dict[str, Any]]:
    """N buffered 20-item declarations replayed through `declarations.replay.lodge_buffered`
    (validation, B/L write-off, assessment, entry number; risk scoring is enqueued through the
    outbox and runs on workers, not measured here)."""
    import uuid

    from core import clock
    from declarations.models import Declaration
    from maintenance import services
    from maintenance.models import BufferedSubmission
    from tests.factories.declarations import body_im4, world_create

    world = world_create(bl_packages=10**7, bl_weight="1000000000.000")
    now = clock.now()
    rows = []
    for i in range(n):
        body = json.dumps(body_im4(world, items=20, local_reference=f"BENCH-{uuid.uuid4().hex[:12]}")).encode()
        rows.append(BufferedSubmission(method="POST", path="/api/v1/declarations", endpoint="declarations",
                                       body=body, body_sha256="0" * 64, agent=world.user,
                                       received_at=now - dt.timedelta(seconds=n - i),
                                       lodged_at=now - dt.timedelta(seconds=n - i)))
    BufferedSubmission.objects.bulk_create(rows)
    started = time.perf_counter()
    report = services.replay_buffered(actor=None)
    elapsed = time.perf_counter() - started
    lodged = Declaration.objects.exclude(entry_number=None).count()
    rate = report.lodged / elapsed if elapsed else 0.0
    return [{
        "scenario": f"replay through the declarations app, {n} buffered 20-item declarations (1 process)",
        "metric": "declarations lodged+assessed/s", "unit": "1/s", "value": round(rate, 2),
        "baseline_name": "replay machinery with a no-op lodge", "baseline": round(machinery_rate, 1),
        "ratio": round(rate / machinery_rate, 4) if machinery_rate else None,
        "goal": "25,000 lodged, assessed and scored in <= 180 s on 2 cores",
        "goal_met": bool(rate) and 25000 / (2 * rate) <= 180,
        "projected_seconds_for_25000_on_2_processes": round(25000 / (2 * rate), 1) if rate else None,
        "lodged": report.lodged, "rejected": report.rejected, "entry_numbers": lodged,
        "first_rejection": (BufferedSubmission.objects.filter(status="rejected").values_list("result", flat=True)
                            .first()),
    }]


def main() -> dict[str, Any]:
    _setup()
    from django.conf import settings

    requests = int(os.environ.get("BENCH_MW_REQUESTS", "2000"))
    rounds = int(os.environ.get("BENCH_MW_ROUNDS", "7"))
    results = _middleware_results(requests, rounds)
    replay = _replay_results(int(os.environ.get("BENCH_REPLAY_N", "2000")))
    results += replay
    real_n = int(os.environ.get("BENCH_REPLAY_REAL_N", "100"))
    if real_n:
        results += _real_replay_results(real_n, replay[0]["value"])
    return {"benchmark": "maintenance", "database": settings.DATABASES["default"]["ENGINE"], "results": results}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
