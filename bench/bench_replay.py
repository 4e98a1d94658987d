"""Contingency replay benchmark (`BENCH_ONLY=replay`): N buffered 20-item declarations (a
five-day Mombasa outage) lodged, assessed and scored by the set-based replay.

Buffered IM4 bodies (20 items each, spread over BENCH_REPLAY_BLS bills of lading, received during
an ended outage) are replayed by BENCH_REPLAY_PROCS processes running
`maintenance.services.replay_buffered` (set-based: `declarations.replay.lodge_buffered_chunk`
validates a chunk of CONTINGENCY_REPLAY_CHUNK_SIZE together and writes it in one transaction;
validation, B/L write-off, assessment, e-slip, entry numbers, events, notices, and the selectivity:
CONTINGENCY_REPLAY_SCORE_INLINE scores each chunk inside its transaction, `BENCH_REPLAY_SCORE_INLINE=0`
hands it to the outbox instead), while BENCH_REPLAY_SCORERS solo Celery workers on the `scoring`
queue score what the outbox hands them (coalesced batches; idle when the replay scores inline, as a
deployment's scoring workers would be). The parent samples, once a second, how many are still buffered,
lodged+assessed, and scored (the drain curve). Timed: until every declaration is lodged, assessed
and scored. N = BENCH_REPLAY_N (default 2,000 for `make bench`; the goal is 25,000 in <= 180 s on
2 cores, so the time for 25,000 is projected from the measured rate and reported; set
BENCH_REPLAY_N=25000 to measure it). A run not done after BENCH_REPLAY_MAX_SECONDS (default 300)
is stopped and projected from its steady drain rate (marked "projected").

Same run, same database, the pairs the ratios are taken against:
- HTTP lodging rate: gunicorn -w BENCH_WORKERS (4), BENCH_CLIENTS (8) clients posting the same
  bodies for BENCH_REPLAY_HTTP_SECONDS (15) (as bench_lodging). Goal: replay >= 3x it.
- Physical limit: a raw chunked COPY (bench/raw_copy.py) of the same rows per declaration as the
  replay wrote (read back from a replayed declaration), BENCH_REPLAY_PROCS processes, chunks of
  BENCH_REPLAY_RAW_CHUNK (200) declarations per transaction, BENCH_REPLAY_RAW_N (default N)
  declarations. Ratio = replay end-to-end rate / raw rate.
- CPU per declaration (`cpu_ms_per_declaration`, /proc): the replay's processes (replayers and
  scorers) and the PostgreSQL backends of the benchmark's databases while it drains, against the
  gunicorn workers and backends during the HTTP window; `cpu_ratio_http_over_replay` is the
  3x goal read in CPU, which other load on a shared machine moves less than the rates.
- The replay machinery alone (claim, lock, record, report) with a no-op lodge callable over
  BENCH_REPLAY_BASELINE_N (1,000) rows, one process (as before).

Creates (and drops first) its own databases `forodha_bench_replay` (BENCH_REPLAY_DB) and `..._intake`
(the intake store on PostgreSQL, as docker-compose runs it); Redis db BENCH_REPLAY_REDIS_DB (default 12) is
cache and broker (flushed). Run: .venv/bin/python -m bench.bench_replay
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import recreate_database  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_REPLAY_DB", "forodha_bench_replay")
DATABASE_URL = f"{PG}/{DB_NAME}"
INTAKE_DB_NAME = f"{DB_NAME}_intake"
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REPLAY_REDIS_DB', '12')}"
N = int(os.environ.get("BENCH_REPLAY_N", "2000"))
GOAL_N = 25000
GOAL_SECONDS = 180.0
HTTP_SECONDS = float(os.environ.get("BENCH_REPLAY_HTTP_SECONDS", "15"))
RAW_CHUNK = int(os.environ.get("BENCH_REPLAY_RAW_CHUNK", "200"))
RAW_N = int(os.environ.get("BENCH_REPLAY_RAW_N", str(N)))
PROCS = int(os.environ.get("BENCH_REPLAY_PROCS", "2"))
SCORERS = int(os.environ.get("BENCH_REPLAY_SCORERS", "1"))
BLS = int(os.environ.get("BENCH_REPLAY_BLS", "100"))
MAX_SECONDS = float(os.environ.get("BENCH_REPLAY_MAX_SECONDS", "300"))
BASELINE_N = min(N, int(os.environ.get("BENCH_REPLAY_BASELINE_N", "1000")))
ITEMS = 20
# BENCH_REPLAY_COALESCE=0: the outbox sends one scoring message per declaration (the behaviour
# before the outbox coalesced them), to measure the difference.
COALESCE = os.environ.get("BENCH_REPLAY_COALESCE", "1") == "1"
# BENCH_REPLAY_SCORE_INLINE=0: the replay hands scoring to the queue (the behaviour before the replay
# scored its chunks itself), to measure the difference.
SCORE_INLINE = os.environ.get("BENCH_REPLAY_SCORE_INLINE", "1") == "1"

os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["INTAKE_DATABASE_URL"] = f"{PG}/{INTAKE_DB_NAME}"
os.environ["REDIS_URL"] = REDIS_URL
os.environ["CELERY_BROKER_URL"] = REDIS_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

_REPLAY_CHILD = (
    "import django, sys; django.setup();"
    "from maintenance.services import replay_buffered;"
    "r = replay_buffered(actor=None); print('REPLAY', r.lodged, r.rejected, r.errored, flush=True)"
)


def _seed() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from core import clock
    from maintenance.models import Outage
    from tests.factories.declarations import body_im4, world_create
    from tests.factories.manifests import BillOfLadingFactory

    world = world_create(bl_packages=10**8, bl_weight="9999999999.000")
    bls = [world.bl.number] + [
        BillOfLadingFactory(manifest=world.manifest, consignee_pin=world.trader.pin, packages=10**8,
                            gross_weight_kg="9999999999.000", package_kind=world.bl.package_kind).number
        for _ in range(BLS - 1)
    ]
    now = clock.now()
    outage = Outage.objects.create(reason="bench: five-day Mombasa outage", started_at=now - dt.timedelta(days=5),
                                   ended_at=now - dt.timedelta(minutes=1), status="ended")
    templates = [json.dumps(body_im4(world, items=ITEMS, bill_of_lading=bl, local_reference="REF-XXXXXXXXXX"))
                 for bl in bls]
    return {"user_id": world.user.pk if hasattr(world, "user") else world.staff.user_id, "outage_id": outage.pk,
            "templates": templates, "now": now, "token": world.token}


def _fill(seed: dict[str, Any], n: int) -> None:
    """n buffered submissions, received over the last hour (same-day exchange rate), in chunks."""
    from maintenance.models import BufferedSubmission

    now = seed["now"]
    templates = seed["templates"]
    chunk: list[Any] = []
    for i in range(n):
        body = templates[i % len(templates)].replace("REF-XXXXXXXXXX", f"REF-{i:010d}").encode()
        chunk.append(BufferedSubmission(
            method="POST", path="/api/v1/declarations", endpoint="declarations", body=body,
            body_sha256=hashlib.sha256(body).hexdigest(), agent_id=seed["user_id"], agent_username="bench",
            outage_id=seed["outage_id"], received_at=now - dt.timedelta(seconds=3600 * (n - i) / n + 61),
            lodged_at=now - dt.timedelta(seconds=3600 * (n - i) / n + 61)))
        if len(chunk) == 1000:
            BufferedSubmission.objects.bulk_create(chunk)
            chunk = []
    if chunk:
        BufferedSubmission.objects.bulk_create(chunk)


def _baseline(seed: dict[str, Any]) -> dict[str, Any]:
    from maintenance import services
    from maintenance.models import BufferedSubmission
    from maintenance.services import ReplayOutcome

    _fill(seed, BASELINE_N)

    def lodge(submission: Any, *, lodged_at: dt.datetime, deadline_extension: dt.timedelta) -> ReplayOutcome:
        return ReplayOutcome(lodged=True, entry_number="26MBAIM400000001")

    started = time.perf_counter()
    report = services.replay_buffered(actor=None, lodge=lodge)
    elapsed = time.perf_counter() - started
    assert report.lodged == BASELINE_N, report
    BufferedSubmission.objects.all().delete()
    return {"rate": BASELINE_N / elapsed, "seconds": elapsed}


def _counts(conn: Any) -> tuple[int, int, int]:
    from maintenance.selectors import pending_submissions

    buffered = pending_submissions().count()  # the intake store (its own database)
    row = conn.execute(
        "SELECT (SELECT count(*) FROM declarations_declaration WHERE entry_number IS NOT NULL),"
        " (SELECT count(*) FROM risk_riskassessment)").fetchone()
    return buffered, int(row[0]), int(row[1])


def _spawn(args: list[str], tmp: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}", "DJANGO_SETTINGS_MODULE": "bench_replay_settings"}
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each live process has used so far (/proc; {} elsewhere)."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return out


def _group_pids(pgids: list[int]) -> list[int]:
    """Live processes in these process groups (each child is spawned in a session of its own)."""
    pids = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) in pgids:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def _backend_pids(conn: Any) -> list[int]:
    """PostgreSQL server processes serving the benchmark's two databases (not this connection)."""
    return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname IN (%s, %s) "
                                       "AND pid <> pg_backend_pid()", (DB_NAME, INTAKE_DB_NAME)).fetchall()]


class _CpuMeter:
    """CPU seconds used by process groups and the benchmark's PostgreSQL backends between start()
    and the last sample(): a figure other load on a shared machine moves less than a rate."""

    def __init__(self, conn: Any, groups: dict[str, list[int]]) -> None:
        self.conn, self.groups = conn, groups  # label -> process group ids
        self.start_cpu: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.kind: dict[int, str] = {}

    def sample(self) -> None:
        backends = _backend_pids(self.conn)
        for pid in backends:
            self.kind.setdefault(pid, "postgres")
        members = []
        for label, pgids in self.groups.items():
            for pid in _group_pids(pgids):
                self.kind.setdefault(pid, label)
                members.append(pid)
        for pid, cpu in _cpu_of(backends + members).items():
            self.start_cpu.setdefault(pid, 0.0 if self._started else cpu)  # new since start(): all of it
            self.last[pid] = cpu

    _started = False

    def start(self) -> None:
        self.sample()
        self._started = True

    def seconds(self) -> dict[str, float]:
        out = dict.fromkeys([*self.groups, "postgres"], 0.0)
        for pid, cpu in self.last.items():
            out[self.kind[pid]] += cpu - self.start_cpu.get(pid, 0.0)
        return out


def _steady_rate(points: list[list[float]]) -> float:
    """Items/s over the part of the curve after the first 10 % of the elapsed time."""
    if len(points) < 3:
        return 0.0
    start = next((p for p in points if p[0] >= points[-1][0] * 0.1), points[0])
    end = points[-1]
    return (end[1] - start[1]) / (end[0] - start[0]) if end[0] > start[0] else 0.0


def _http_lodging(seed: dict[str, Any]) -> dict[str, Any]:
    """HTTP lodging of the same bodies, same database, as bench_lodging measures it."""
    import importlib
    import socket

    saved = dict(os.environ)
    lodging = importlib.import_module("bench.bench_lodging")  # sets its own DATABASE_URL: restored below
    os.environ.clear()
    os.environ.update(saved)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    bodies = [t.replace("REF-XXXXXXXXXX", f"HTTP-{i:09d}").encode() for i, t in enumerate(seed["templates"])]
    with tempfile.TemporaryDirectory() as tmp:
        proc = lodging._start_gunicorn(Path(tmp), port)
        try:
            lodging._load(port, 3, lambda conn, n: lodging._http(conn, "POST", "/api/v1/declarations",
                                                                  seed["token"], bodies[n % len(bodies)]))
            import psycopg

            with psycopg.connect(DATABASE_URL, autocommit=True) as db:
                meter = _CpuMeter(db, {"web": [proc.pid]})
                meter.start()
                result: dict[str, Any] = lodging._load(port, HTTP_SECONDS, lambda conn, n: lodging._http(
                    conn, "POST", "/api/v1/declarations", seed["token"], bodies[n % len(bodies)]))
                meter.sample()
            result["cpu"] = meter.seconds()
        finally:
            lodging._stop(proc)
    result["clients"], result["workers"] = lodging.CLIENTS, lodging.WORKERS
    return result


def _raw(conn: Any) -> dict[str, Any]:
    """The physical limit: the same rows as a replayed declaration, raw chunked COPY."""
    from bench import raw_copy

    row = conn.execute("SELECT result->>'resource_id' FROM maintenance_replayledger WHERE lodged "
                       "ORDER BY finished_at DESC LIMIT 1").fetchone()
    tpl = raw_copy.templates(conn, row[0])
    bl_ids = [r[0] for r in conn.execute("SELECT DISTINCT bill_of_lading_id FROM manifests_writeoff").fetchall()]
    result = raw_copy.run(DATABASE_URL, tpl, procs=PROCS, chunk=RAW_CHUNK, count=RAW_N, bl_ids=bl_ids)
    result["rows_per_declaration"] = raw_copy.rows_per_declaration(tpl)
    return result


def main() -> dict[str, Any]:
    import psycopg
    import redis

    t_start = time.monotonic()
    recreate_database(PG, DB_NAME)
    recreate_database(PG, INTAKE_DB_NAME)
    redis.Redis.from_url(REDIS_URL).flushdb()
    seed = _seed()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", database="intake", verbosity=0)
    connection.close()
    http = _http_lodging(seed)
    redis.Redis.from_url(REDIS_URL).flushdb()  # their scoring messages: only the replay's are timed
    baseline = _baseline(seed)
    fill_started = time.monotonic()
    _fill(seed, N)
    fill_seconds = time.monotonic() - fill_started
    connections.close_all()
    python = sys.executable
    tmp_dir = tempfile.TemporaryDirectory()
    tmp = tmp_dir.name
    Path(tmp, "bench_replay_settings.py").write_text(
        f"from {os.environ['DJANGO_SETTINGS_MODULE']} import *  # noqa\nOUTBOX_COALESCE = {COALESCE}\n"
        f"CONTINGENCY_REPLAY_SCORE_INLINE = {SCORE_INLINE}\n")
    scorers = [_spawn([python, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", "scoring", "-n",
                       f"replayscorer{i}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle",
                       "-l", "ERROR"], tmp) for i in range(SCORERS)]
    time.sleep(3)  # workers boot (Django import) before the clock starts
    buffered_curve: list[list[float]] = []
    lodged_curve: list[list[float]] = []
    scored_curve: list[list[float]] = []
    finished = False
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        _b, lodged0, scored0 = _counts(conn)
        meter = _CpuMeter(conn, {"scorers": [p.pid for p in scorers], "replayers": []})
        meter.start()
        started = time.monotonic()
        replayers = [_spawn([python, "-c", _REPLAY_CHILD], tmp) for _ in range(PROCS)]
        meter.groups["replayers"] = [p.pid for p in replayers]
        try:
            while True:
                time.sleep(0.5)
                meter.sample()
                elapsed = time.monotonic() - started
                buffered, lodged, scored = _counts(conn)
                lodged, scored = lodged - lodged0, scored - scored0
                buffered_curve.append([round(elapsed, 1), buffered])
                lodged_curve.append([round(elapsed, 1), lodged])
                scored_curve.append([round(elapsed, 1), scored])
                if scored >= N and lodged >= N:
                    finished = True
                    break
                if all(p.poll() is not None for p in replayers) and buffered == 0 and scored >= lodged:
                    break
                if elapsed > MAX_SECONDS:
                    break
        finally:
            elapsed = time.monotonic() - started
            _stop(replayers)
            _stop(scorers)
        buffered, lodged, scored = _counts(conn)
        lodged, scored = lodged - lodged0, scored - scored0
        from maintenance.models import BufferedSubmission

        rejected = BufferedSubmission.objects.filter(status="rejected").count()
        first_rejection = BufferedSubmission.objects.filter(status="rejected").values_list("result").first()
        entries = [r[0] for r in conn.execute(
            "SELECT entry_number FROM declarations_declaration WHERE entry_number IS NOT NULL").fetchall()]
        serials = sorted(int(e[8:15]) for e in entries)
        gap_free = serials == list(range(1, len(serials) + 1))
        raw = _raw(conn)
    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp_dir.cleanup()
    replay_cpu = meter.seconds()
    http_cpu = http["cpu"]
    # CPU per declaration on this machine (the replayers' includes their interpreter and Django
    # start-up, ~1-2 s each: 1 ms per declaration at N = 2,000, 0.1 ms at 25,000)
    cpu_ms = {f"replay_{k}_ms": round(v / max(lodged, 1) * 1000, 2) for k, v in replay_cpu.items()}
    cpu_ms.update({f"http_{k}_ms": round(v / max(http["count"], 1) * 1000, 2) for k, v in http_cpu.items()})
    cpu_ratio = sum(http_cpu.values()) / max(http["count"], 1) / max(sum(replay_cpu.values()) / max(lodged, 1), 1e-9)
    lodge_rate = _steady_rate(lodged_curve)
    score_rate = _steady_rate(scored_curve)
    end_to_end_rate = min(lodge_rate, score_rate) if score_rate else lodge_rate
    seconds_for_n = elapsed if finished else (N / end_to_end_rate if end_to_end_rate else float("inf"))
    rate = N / seconds_for_n if seconds_for_n else 0.0
    # 25,000 at the rate measured to completion (the first seconds' start-up cost counted once)
    seconds_for_goal = seconds_for_n if N >= GOAL_N else (GOAL_N / rate if rate else float("inf"))
    http_ratio = rate / http["rate"] if http["rate"] else 0.0
    raw_ratio = rate / raw["rate"] if raw["rate"] else 0.0
    return {
        "benchmark": "replay",
        "results": [
            {"scenario": (f"replay of {N:,} buffered {ITEMS}-item declarations, {PROCS} replay processes + "
                          f"{SCORERS} scoring worker(s), lodged+assessed+scored "
                          + ("(scored in each chunk's transaction)" if SCORE_INLINE else "(scored by the queue)")
                          + ", vs HTTP lodging"
                          + ("" if COALESCE else ", outbox coalescing OFF")
                          + ("" if finished else f" (stopped at {MAX_SECONDS:.0f} s, projected)")),
             "metric": "declarations/s", "unit": "1/s", "value": round(rate, 1),
             "baseline_name": (f"HTTP lodging, same bodies, gunicorn -w {http['workers']}, {http['clients']} "
                               "clients, same run"),
             "baseline": round(http["rate"], 1), "ratio": round(http_ratio, 3), "goal": ">= 3x HTTP lodging",
             "goal_met": http_ratio >= 3.0,
             "seconds_for_all": round(seconds_for_n, 1), "measured_to_completion": finished,
             "lodged": lodged, "scored": scored, "still_buffered": buffered, "rejected": rejected,
             "first_rejection": first_rejection[0] if first_rejection else None,
             "entry_numbers_gap_free": gap_free, "http_failures": http["failures"],
             "http_p50_ms": round(http["p50_ms"], 1), "http_p99_ms": round(http["p99_ms"], 1),
             "lodge_rate_steady": round(lodge_rate, 2), "score_rate_steady": round(score_rate, 2),
             "machinery_noop_lodge_rate": round(baseline["rate"], 1), "machinery_noop_rows": BASELINE_N,
             "cpu_ms_per_declaration": cpu_ms, "cpu_ratio_http_over_replay": round(cpu_ratio, 2)},
            {"scenario": f"replay: time for {GOAL_N:,} ({'measured' if N >= GOAL_N else f'projected from {N:,}'})",
             "metric": "seconds", "unit": "s", "value": round(seconds_for_goal, 1),
             "baseline_name": f"raw chunked COPY of the same {raw['rows_per_declaration']} rows per declaration, "
                              f"{PROCS} processes, {RAW_CHUNK} per transaction: seconds for {GOAL_N:,}",
             "baseline": round(GOAL_N / raw["rate"], 1) if raw["rate"] else 0.0,
             "ratio": round(raw_ratio, 3), "goal": f"<= {GOAL_SECONDS:.0f} s",
             "goal_met": seconds_for_goal <= GOAL_SECONDS,
             "raw_rate": round(raw["rate"], 1), "raw_count": raw["count"],
             "raw_p50_ms_per_transaction": round(raw["p50_ms"], 1)},
        ],
        "series": {"drain_buffered": buffered_curve, "drain_lodged": lodged_curve, "drain_scored": scored_curve},
        "fill_seconds": round(fill_seconds, 1),
        "elapsed_s": round(time.monotonic() - t_start, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
