"""The primary database really goes away under running web processes.

A throwaway PostgreSQL cluster and a private Redis (tests/maintenance/outage_cluster.py), two
gunicorn processes sharing one intake store. Lodgings are sent before, during and after
PostgreSQL and Redis are stopped; each request carries an Idempotency-Key and is retried on a
transport error or a 503 (what an agent's software does). Then a Celery worker (replay queue)
is started: nothing else, no operator command.

Checked: 0 lost (every local reference is lodged exactly once), 0 duplicated, every receipt
verifies against the published keys, every receipt resolves to lodged through the look-up; a
revoked token is refused at intake; a key rotation keeps older receipts verifiable.

OUTAGE_TEST_LODGINGS (default 120; the fuller run uses 1000) sets the number of lodgings.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from maintenance.receipts import verify_receipt

from .outage_cluster import PYTHON, ROOT, Stack, http_json, pg_bin

LODGINGS = int(os.environ.get("OUTAGE_TEST_LODGINGS", "120"))
CLIENTS = 6

pytestmark = [pytest.mark.slow, pytest.mark.services]


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if pg_bin() is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are required for this test")
    base = Path(tmp_path_factory.mktemp("outage"))
    made = Stack(base)
    seed = made.up()
    made.seed = seed  # type: ignore[attr-defined]
    yield made
    made.down()


def _send(ports: list[int], token: str, template: dict[str, Any], refs: list[str],
          outcomes: dict[str, tuple[int, dict[str, Any]]]) -> None:
    """CLIENTS threads, each request retried (same Idempotency-Key) until it gets 201 or 202."""
    lock = threading.Lock()
    queue = list(refs)

    def worker(n: int) -> None:
        while True:
            with lock:
                if not queue:
                    return
                ref = queue.pop()
            body = json.dumps({**template, "local_reference": ref}).encode()
            for attempt in range(200):
                port = ports[(n + attempt) % len(ports)]
                try:
                    status, data, _ = http_json(port, "POST", "/api/v1/declarations", token=token, body=body,
                                                headers={"Idempotency-Key": ref})
                except OSError:
                    time.sleep(0.1)
                    continue
                if status in (201, 202):
                    with lock:
                        outcomes[ref] = (status, data)
                    break
                assert status == 503, (status, data)
                time.sleep(0.1)
            else:
                raise AssertionError(f"{ref} never accepted")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_lodgings_across_the_primary_and_redis_going_away_are_lodged_exactly_once(stack):
    started = time.monotonic()
    token, template = stack.seed["token"], stack.seed["body"]
    ports = [stack.start_web(), stack.start_web()]  # two web processes, one intake store
    refs = [f"OUT-{n:05d}" for n in range(LODGINGS)]
    third = LODGINGS // 3
    outcomes: dict[str, tuple[int, dict[str, Any]]] = {}
    # given lodgings while everything is up
    _send(ports, token, template, refs[:third], outcomes)
    # when PostgreSQL and Redis stop under the running processes, lodging goes on
    stack.pg.stop()
    stack.redis.stop()
    down_at = time.monotonic()
    _send(ports, token, template, refs[third:2 * third], outcomes)
    status, doc, _ = http_json(ports[0], "GET", "/api/v1/system/status")
    assert (status, doc["contingency"]["active"], doc["contingency"]["source"]) == (200, True, "database_unavailable")
    refused = http_json(ports[1], "GET", "/api/v1/declarations", token=token)
    assert (refused[0], refused[1]["code"]) == (503, "database_unavailable")
    down_for = time.monotonic() - down_at
    # and both come back; the rest are sent
    stack.redis.start()
    stack.pg.start()
    _send(ports, token, template, refs[2 * third:], outcomes)
    # then a replay worker (nothing else) resolves every receipt
    worker = subprocess.Popen(
        [str(Path(PYTHON).parent / "celery"), "-A", "config", "worker", "-Q", "replay", "-P", "solo",
         "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=stack.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        receipts = {ref: data["receipt"] for ref, (status, data) in outcomes.items() if status == 202}
        assert receipts, "no lodging was buffered: the outage was not exercised"
        deadline = time.monotonic() + 300
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            for ref, receipt in receipts.items():
                if states.get(ref) not in ("lodged", "rejected"):
                    _, doc, _ = http_json(ports[0], "GET", f"/api/v1/receipts/{receipt['submission_id']}", token=token)
                    states[ref] = doc.get("state", "?")
            if all(s in ("lodged", "rejected") for s in states.values()):
                break
            time.sleep(1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert set(states.values()) == {"lodged"}
    # every receipt verifies against the published keys
    keys = {k["key_id"]: base64.b64decode(k["public_key_base64"])
            for k in http_json(ports[1], "GET", "/api/v1/system/receipt-keys")[1]["keys"]}
    assert all(verify_receipt(r, keys[r["key_id"]]) for r in receipts.values())
    # 0 lost, 0 duplicated: each local reference is exactly one declaration
    with psycopg.connect(stack.pg.url) as conn:
        rows = conn.execute("SELECT local_reference, count(*) FROM declarations_declaration "
                            "WHERE local_reference LIKE 'OUT-%' GROUP BY local_reference").fetchall()
        outages = conn.execute("SELECT source, status, ended_at > started_at FROM maintenance_outage").fetchall()
    assert {ref: n for ref, n in rows} == dict.fromkeys(refs, 1)
    assert outages == [("database_unavailable", "ended", True)]
    buffered = len(receipts)
    print(f"\nreal outage: {LODGINGS} lodgings, {buffered} buffered, primary down {down_for:.1f} s, "
          f"total {time.monotonic() - started:.1f} s")


def test_revoked_token_refused_at_intake_and_rotation_keeps_receipts_verifiable(stack):
    token, template = stack.seed["token"], stack.seed["body"]
    port = stack.start_web()
    second = stack.manage("shell", "-c", (
        "from rest_framework.authtoken.models import Token;"
        "from django.contrib.auth import get_user_model;"
        "u=get_user_model().objects.create(username='to-revoke');"
        "print(Token.objects.create(user=u).key)")).strip().splitlines()[-1]
    stack.manage("shell", "-c", "from rest_framework.authtoken.models import Token;"
                 f"Token.objects.filter(key='{second}').delete()")
    stack.pg.stop()
    body = json.dumps({**template, "local_reference": "ROT-1"}).encode()
    status, first, _ = http_json(port, "POST", "/api/v1/declarations", token=token, body=body)
    assert status == 202
    revoked = http_json(port, "POST", "/api/v1/declarations", token=second, body=body)
    assert (revoked[0], revoked[1]["code"]) == (401, "not_authenticated")
    # rotation while the primary is away (the keys live in the intake store)
    rotated = subprocess.run([PYTHON, "manage.py", "receipt_keys", "rotate"], cwd=ROOT, env=stack.env(),
                             capture_output=True, text=True, timeout=120, check=True).stdout
    assert "rotated" in rotated
    time.sleep(31)  # the web process re-reads the current key at most every 30 s
    status, after, _ = http_json(port, "POST", "/api/v1/declarations", token=token,
                                 body=json.dumps({**template, "local_reference": "ROT-2"}).encode())
    assert status == 202
    assert after["receipt"]["key_id"] != first["receipt"]["key_id"]
    keys = {k["key_id"]: base64.b64decode(k["public_key_base64"])
            for k in http_json(port, "GET", "/api/v1/system/receipt-keys")[1]["keys"]}
    assert verify_receipt(first["receipt"], keys[first["receipt"]["key_id"]]) is True
    assert verify_receipt(after["receipt"], keys[after["receipt"]["key_id"]]) is True
