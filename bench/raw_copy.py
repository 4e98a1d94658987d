"""The physical limit of writing a lodged declaration's rows: raw psycopg COPY, no application code.

The rows of one declaration the application lodged are read back as templates (header, items,
assessment + lines, e-slip, version, events, write-off, outbox, notifications and, for a
replayed one, its ledger row) and written again with fresh keys by PROCS *processes* (threads
are GIL-bound here: 143/s with threads vs 209/s with processes for the same work), `chunk`
declarations per transaction, each table in one COPY per transaction, plus what the
application updates per transaction: the B/L quantities, the trader's counters and the
gap-free entry-number counter (taken last, as the services do). `chunk=1` is one transaction per
declaration (the HTTP lodging's shape); the replay's shape is a chunk of many.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from typing import Any

# tables with a declaration_id column, and the ones reached another way
_BY_DECLARATION = ("declarations_declarationitem", "declarations_declarationversion",
                   "declarations_declarationevent", "manifests_writeoff", "declarations_eslip")


def templates(conn: Any, declaration_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row the application wrote for one lodged declaration (by table)."""
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)

    def rows(sql: str, *args: Any) -> list[dict[str, Any]]:
        cur.execute(sql, args)
        return list(cur.fetchall())

    out = {"declarations_declaration": rows("SELECT * FROM declarations_declaration WHERE id = %s", declaration_id)}
    for table in _BY_DECLARATION:
        out[table] = rows(f"SELECT * FROM {table} WHERE declaration_id = %s", declaration_id)
    out["declarations_assessment"] = rows("SELECT * FROM declarations_assessment WHERE declaration_id = %s",
                                          declaration_id)
    out["declarations_assessmentline"] = rows(
        "SELECT * FROM declarations_assessmentline WHERE assessment_id = %s", out["declarations_assessment"][0]["id"])
    out["notifications_notification"] = rows(
        "SELECT * FROM notifications_notification WHERE declaration_id = %s OR payload->>'resource_id' = %s",
        declaration_id, declaration_id)
    seqs = [n["seq"] for n in out["notifications_notification"]]
    out["core_outboxmessage"] = rows(
        "SELECT * FROM core_outboxmessage WHERE kwargs->>'declaration_id' = %s "
        "OR (task_name = 'notifications.fan_out' AND (kwargs->'seqs')::jsonb <@ %s::jsonb)",
        declaration_id, f"[{', '.join(str(s) for s in seqs)}]" if seqs else "[]")
    out["maintenance_replayledger"] = rows(
        "SELECT * FROM maintenance_replayledger WHERE result->>'resource_id' = %s", declaration_id)
    return {table: found for table, found in out.items() if found}


def rows_per_declaration(tpl: dict[str, list[dict[str, Any]]]) -> int:
    return sum(len(v) for v in tpl.values())


def _adapt(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value) if isinstance(value, dict | list) else value


_SERIAL_KEYS = {"notifications_notification": "seq"}


def _worker(args: tuple[Any, ...]) -> dict[str, Any]:
    import psycopg

    database_url, tpl, chunk, count, seconds, start_at, bl_id = args
    head = tpl["declarations_declaration"][0]
    year = int(head["entry_number"][:2]) + 2000
    office, regime = head["entry_number"][2:5], head["entry_number"][5:8]
    serial_key = {t: _SERIAL_KEYS.get(t, "id") for t in tpl}
    # columns per table: an integer key is left to its sequence; everything else copied
    columns = {t: [c for c in rows[0] if t == "declarations_assessment"
                   or not (c == serial_key[t] and isinstance(rows[0][c], int))]
               for t, rows in tpl.items()}
    latencies: list[float] = []
    done = 0
    with psycopg.connect(database_url) as conn:
        while time.time() < start_at:
            time.sleep(0.001)
        stop_at = time.monotonic() + seconds if seconds else None
        while (count is None or done < count) and (stop_at is None or time.monotonic() < stop_at):
            n = chunk if count is None else min(chunk, count - done)
            t0 = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                _write_chunk(cur, tpl, columns, n, bl_id, (year, office, regime))
            latencies.append(time.perf_counter() - t0)
            done += n
    return {"done": done, "latencies": latencies}


def _write_chunk(cur: Any, tpl: dict[str, list[dict[str, Any]]], columns: dict[str, list[str]], n: int,
                 bl_id: Any, counter: tuple[int, str, str]) -> None:
    """One transaction's rows: n declarations, each table in one COPY."""
    from declarations.entry_numbers import entry_number_format

    head = tpl["declarations_declaration"][0]
    year, office, regime = counter
    ids = [uuid.uuid4() for _ in range(n)]
    cur.execute("SELECT nextval(pg_get_serial_sequence('declarations_assessment', 'id')) "
                "FROM generate_series(1, %s)", (n,))
    assessment_ids = [r[0] for r in cur.fetchall()]
    wo = tpl["manifests_writeoff"][0] if "manifests_writeoff" in tpl else None
    if wo is not None:
        cur.execute("UPDATE manifests_billoflading SET packages_reserved = packages_reserved + %s, "
                    "weight_reserved_kg = weight_reserved_kg + %s WHERE id = %s",
                    (wo["packages"] * n, wo["gross_weight_kg"] * n, bl_id))

    def copy(table: str, make: Any) -> None:
        cols = columns[table]
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
            for i in range(n):
                for row in tpl[table]:
                    fresh = dict(row)
                    if isinstance(fresh.get("id"), uuid.UUID):
                        fresh["id"] = uuid.uuid4()  # UUID keys: a new one (make() may set its own)
                    new = make(fresh, i)
                    cp.write_row([_adapt(new[c]) for c in cols])

    def child(row: dict[str, Any], i: int) -> dict[str, Any]:
        row["declaration_id"] = ids[i]
        return row

    for table in ("declarations_declarationitem", "declarations_declarationversion",
                  "declarations_declarationevent"):
        copy(table, child)
    if wo is not None:
        copy("manifests_writeoff", lambda r, i: child(r, i) | {"bill_of_lading_id": bl_id})
    copy("declarations_assessment", lambda r, i: child(r, i) | {"id": assessment_ids[i]})
    copy("declarations_assessmentline", lambda r, i: r | {"assessment_id": assessment_ids[i]})
    copy("declarations_eslip", lambda r, i: child(r, i) | {
        "id": uuid.uuid4(), "assessment_id": assessment_ids[i], "reference": f"EB{ids[i].hex[:20]}"})
    if "core_outboxmessage" in tpl:
        copy("core_outboxmessage", lambda r, i: r)
    if "maintenance_replayledger" in tpl:
        copy("maintenance_replayledger", lambda r, i: r | {"submission_id": uuid.uuid4()})
    cur.execute("UPDATE traders_trader SET declarations_count = declarations_count + %s WHERE id = %s",
                (n, head["trader_id"]))
    cur.execute("UPDATE declarations_entrynumbercounter SET last_serial = last_serial + %s "
                "WHERE office_code = %s AND regime = %s AND year = %s RETURNING last_serial",
                (n, office, regime, year))
    last = cur.fetchone()[0]  # type: ignore[index]
    numbers = [entry_number_format(year=year, office_code=office, regime=regime, serial=s)
               for s in range(last - n + 1, last + 1)]
    copy("declarations_declaration", lambda r, i: r | {
        "id": ids[i], "entry_number": numbers[i], "bill_of_lading_id": bl_id or r["bill_of_lading_id"]})
    if "notifications_notification" in tpl:
        copy("notifications_notification", lambda r, i: r | {
            "id": uuid.uuid4(), "declaration_id": ids[i] if r["declaration_id"] else None})


def run(database_url: str, tpl: dict[str, list[dict[str, Any]]], *, procs: int, chunk: int,
        count: int | None = None, seconds: float | None = None, bl_ids: list[Any] | None = None) -> dict[str, Any]:
    """`count` declarations in all (split over the processes), or as many as fit in `seconds`.
    Returns the rate (declarations/s), the count, and per-transaction latencies (ms)."""
    bl_ids = bl_ids or [None]
    per_proc = None if count is None else [count // procs + (1 if p < count % procs else 0) for p in range(procs)]
    start_at = time.time() + 1.0
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        results = pool.map(_worker, [
            (database_url, tpl, chunk, per_proc[p] if per_proc else None, seconds, start_at,
             bl_ids[p % len(bl_ids)]) for p in range(procs)])
    wall = time.time() - start_at
    done = sum(r["done"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, round(q / 100 * (len(latencies) - 1)))] * 1000 if latencies else 0.0

    return {"count": done, "seconds": wall, "rate": done / wall if wall else 0.0,
            "p50_ms": pct(50), "p99_ms": pct(99), "procs": procs, "chunk": chunk}
