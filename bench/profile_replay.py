"""Profile the set-based contingency replay in-process (cProfile), one process.

Seeds as `bench_replay` does (PROFILE_N buffered 20-item IM4 bodies over 100 B/Ls), then runs
`maintenance.services.replay_buffered` under cProfile. Creates (and drops first)
`forodha_bench_replay_profile` (BENCH_REPLAY_DB) and its `_intake`; Redis db BENCH_REPLAY_REDIS_DB
(default 11). Writes bench/results/profile_replay.txt (cumulative and internal time).
Run: .venv/bin/python -m bench.profile_replay   Env: PROFILE_N (default 2000); PROFILE_OFF=1: no
profiler, no statement capture, only the wall and CPU time of this process per declaration (a figure
that other load on the machine moves less than a rate).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_REPLAY_DB", "forodha_bench_replay_profile")
os.environ.setdefault("BENCH_REPLAY_REDIS_DB", "11")

from bench import bench_replay  # noqa: E402  (sets DATABASE_URL, INTAKE_DATABASE_URL, REDIS_URL)
from bench.common import recreate_database  # noqa: E402

N = int(os.environ.get("PROFILE_N", "2000"))
OFF = os.environ.get("PROFILE_OFF") == "1"
SQL = os.environ.get("PROFILE_SQL") == "1"
# PROFILE_TOOL=pyinstrument: a sampling profile (closer shares of time than cProfile, whose cost per
# call inflates code made of many small calls) -> bench/results/profile_replay_pyinstrument.txt
TOOL = os.environ.get("PROFILE_TOOL", "cprofile")  # count statements (Django's debug cursor: slower)


def main() -> None:
    import redis

    recreate_database(bench_replay.PG, bench_replay.DB_NAME)
    recreate_database(bench_replay.PG, bench_replay.INTAKE_DB_NAME)
    redis.Redis.from_url(bench_replay.REDIS_URL).flushdb()
    seed = bench_replay._seed()
    from django.core.management import call_command

    call_command("migrate", database="intake", verbosity=0)
    bench_replay._fill(seed, N)
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from maintenance.services import replay_buffered

    profiler = cProfile.Profile()
    captures = [] if OFF or not SQL else [CaptureQueriesContext(connections[alias]) for alias in ("default", "intake")]
    for capture in captures:
        capture.__enter__()
    if os.environ.get("PROFILE_GC") == "freeze":
        import gc

        gc.collect()
        gc.freeze()
    started, cpu_started = time.perf_counter(), time.process_time()
    if TOOL == "pyinstrument" and not OFF:
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0005)
        sampler.start()
        report = replay_buffered(actor=None)
        sampler.stop()
        path = ROOT / "bench" / "results" / "profile_replay_pyinstrument.txt"
        path.write_text(sampler.output_text(show_all=False))
        print(f"replay of {N}: {time.perf_counter() - started:.1f} s ->", path)
        redis.Redis.from_url(bench_replay.REDIS_URL).flushdb()
        return
    if not OFF:
        profiler.enable()
    report = replay_buffered(actor=None)
    if not OFF:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if OFF:
        print(f"replay of {N} buffered 20-item declarations, 1 process, in-process: {elapsed:.1f} s "
              f"({N / elapsed:.1f}/s), CPU of this process {cpu / N * 1000:.2f} ms per declaration, "
              f"lodged {report.lodged}, rejected {report.rejected}")
        redis.Redis.from_url(bench_replay.REDIS_URL).flushdb()
        return
    for capture in captures:
        capture.__exit__(None, None, None)
    statements = Counter(re.sub(r"\s+", " ", q["sql"])[:90] for capture in captures for q in capture.captured_queries)
    redis.Redis.from_url(bench_replay.REDIS_URL).flushdb()
    out = io.StringIO()
    out.write(f"replay of {N} buffered 20-item declarations, 1 process, in-process: {elapsed:.1f} s "
              f"({N / elapsed:.1f}/s), lodged {report.lodged}, rejected {report.rejected}\n\n")
    if SQL:
        out.write(f"{sum(statements.values())} statements ({sum(statements.values()) / N:.2f} per declaration), "
                  "most frequent:\n")
        for sql, count in statements.most_common(25):
            out.write(f"{count:7d}  {sql}\n")
    profiler.dump_stats(str(ROOT / "bench" / "results" / "profile_replay.prof"))
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(80)
    stats.sort_stats("tottime").print_stats(50)
    path = ROOT / "bench" / "results" / "profile_replay.txt"
    path.write_text(out.getvalue())
    print(out.getvalue().splitlines()[0], "->", path)


if __name__ == "__main__":
    main()
