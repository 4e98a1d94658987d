"""Helpers shared by the benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def recreate_database(pg: str, name: str) -> str:
    """Drop (ending its sessions) and create the PostgreSQL database `name` on server URL `pg`;
    returns its URL. Every benchmark measures on a fresh database of its own."""
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg}/{name}"


def first_answer_after_primary_stop(stack: Any, port: int, token: str, body: Callable[[int], bytes],
                                    accept: Callable[[int, dict[str, Any]], bool], *, clients: int, what: str,
                                    stop_after: float = 2.0, timeout: float = 120.0,
                                    ) -> tuple[float, float, dict[str, Any]]:
    """The outage benchmarks' measurement (bench_outage, bench_provisional_release): `clients` threads
    lodge continuously (`POST /api/v1/declarations` with `body(n)`), the primary PostgreSQL of
    `stack` (tests.maintenance.outage_cluster.Stack) is stopped after `stop_after` seconds, and the
    first answer `accept(status, data)` takes once the stop began ends the run. Returns the instants
    (`time.monotonic()`) of the stop (when `pg_ctl stop -m fast` is called: it ends sessions at
    once) and of that answer, and its body."""
    from tests.maintenance.outage_cluster import http_json

    stopped_at: list[float] = []
    first: list[tuple[float, dict[str, Any]]] = []
    lock = threading.Lock()
    done = threading.Event()
    counter = iter(range(10**9))

    def client() -> None:
        while not done.is_set():
            with lock:
                n = next(counter)
            try:
                status, data, _ = http_json(port, "POST", "/api/v1/declarations", token=token, body=body(n))
            except OSError:
                continue
            if stopped_at and accept(status, data):
                with lock:
                    first.append((time.monotonic(), data))
                done.set()

    def stop_primary() -> None:
        stopped_at.append(time.monotonic())
        stack.pg.stop()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    threading.Timer(stop_after, stop_primary).start()
    done.wait(timeout=timeout)
    done.set()
    for t in threads:
        t.join()
    if not first:
        raise RuntimeError(f"no {what} within {timeout:.0f} s of the database going away")
    answered_at, data = min(first, key=lambda pair: pair[0])
    return stopped_at[0], answered_at, data
