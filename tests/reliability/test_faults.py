"""Fault tests with the real services, on loopback only, bounded in count and time.

- Redis stopped during lodgings, then restarted: nothing lost, nothing scored twice. The broker is
  a throwaway `redis-server` started by the test on a free port (never the shared one), used by
  the lodging process and by a real Celery worker subprocess (`tests.risk.test_worker.Worker`) as
  broker and cache; the result backend stays on the shared Redis.
- PostgreSQL restarted under load: requests fail cleanly with 503 problem+json
  (`database_unavailable`), then succeed again without restarting the app. The database is a
  throwaway PostgreSQL cluster (initdb into a temporary directory, its own port) loaded with a
  dump of the test database, served by gunicorn; the shared PostgreSQL is never touched.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from core import outbox
from core.models import OutboxMessage
from declarations.models import Declaration, DeclarationEvent
from risk.models import RiskAssessment
from risk.tasks import sweep_unscored
from tests.conftest import require_postgres, require_redis
from tests.factories.declarations import body_im4, world_create
from tests.risk.test_worker import Worker, wait_for
from tests.services import server_environment

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_LODGINGS = int(os.environ.get("RELIABILITY_REDIS_LODGINGS", "1000"))

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- Redis -------------------------------------------------------------------------------------

class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=server_environment(),
        )
        import redis

        wait_for(lambda: _pings(redis.Redis.from_url(self.url)), timeout=20, interval=0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # abrupt: whatever was queued in it is gone
            self.process.wait(timeout=10)


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@contextmanager
def broker_at(url: str, *, restore: str) -> Iterator[None]:
    """Point this process's Celery app (the outbox's producer) at another broker, then back at
    `restore`. (Not at whatever `app.conf` holds on entry: Celery reads its conf from the Django
    settings lazily, so if the settings already name the other broker, that is what it would hold,
    and every later test of the session would talk to a stopped Redis.)"""
    from config.celery import app

    old = restore
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url = old
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    require_redis()
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


def test_redis_stopped_during_lodgings_then_restarted_loses_nothing_and_scores_once(
        throwaway_redis: ThrowawayRedis, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    from config.celery import app

    # given: one agent and B/L, a worker on the throwaway Redis (broker and cache)
    world = world_create(bl_packages=1_000_000, bl_weight="999999999.000")
    real_broker = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = throwaway_redis.url
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    worker = Worker()
    lodged: list[str] = []
    third = REDIS_LODGINGS // 3

    def lodge(n: int) -> None:
        from declarations.services import declaration_lodge

        for _ in range(n):
            declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world),
                                            actor=world.user)
            lodged.append(str(declaration.pk))

    started = time.monotonic()
    try:
        with broker_at(throwaway_redis.url, restore=real_broker):
            app.send_task("core.ping", kwargs={"value": "ready"}).get(timeout=180)
            # when: lodgings flow, Redis dies in the middle of them, more lodgings, Redis comes back
            lodge(third)
            throwaway_redis.stop()
            lodge(third)
            pending_during_outage = OutboxMessage.objects.filter(dispatched_at__isnull=True).count()
            throwaway_redis.start()
            lodge(REDIS_LODGINGS - 2 * third)
            # what beat does: relay the outbox, sweep declarations left unscored (their messages
            # were queued in the Redis that died: without persistence they are gone)
            # beat relays every 5 s; a pooled connection to the dead Redis can fail the first pass
            # (the messages stay pending, unclaimed), so relay like beat until nothing is pending
            relayed = 0
            deadline = time.monotonic() + 90
            while (OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
                   and time.monotonic() < deadline):
                relayed += outbox.relay_pending(older_than_seconds=0)
                time.sleep(0.5)
            settings.RISK_SWEEP_UNSCORED_MINUTES = 0  # "stuck" at once, not after minutes
            swept = sweep_unscored(limit=1000)
            # then: every declaration is scored, exactly once
            wait_for(lambda: RiskAssessment.objects.filter(declaration_id__in=lodged).count() == REDIS_LODGINGS,
                     timeout=300, interval=0.5)
            sweep_unscored(limit=1000)  # a duplicate sweep changes nothing
            time.sleep(2.0)
    finally:
        worker.stop()
    elapsed = time.monotonic() - started
    assert len(lodged) == REDIS_LODGINGS == Declaration.objects.count()
    assert pending_during_outage >= third  # the lodgings during the outage were accepted, their tasks kept
    assert relayed >= 1
    assert RiskAssessment.objects.count() == REDIS_LODGINGS
    assert DeclarationEvent.objects.filter(kind="channel").count() == REDIS_LODGINGS
    assert not Declaration.objects.filter(channel__isnull=True).exists()
    assert OutboxMessage.objects.filter(task_name="risk.score_declaration", dispatched_at__isnull=True).count() == 0
    call_command("audit", "verify", stdout=io.StringIO())  # batch scoring chained every declaration's events
    print(f"redis fault: {REDIS_LODGINGS} lodgings, {pending_during_outage} pending during the outage, "
          f"{swept['unscored']} re-sent by the sweep, {elapsed:.1f} s")


# --- PostgreSQL --------------------------------------------------------------------------------

class ThrowawayPostgres:
    """A PostgreSQL 15 cluster of the test's own, run as the postgres OS user."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="forodha-pg-"))
        self.data = self.dir / "data"
        shutil.chown(self.dir, "postgres", "postgres")

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120,
                       env=server_environment())

    def init(self) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.dir / "log"),
                          "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    require_postgres()
    if not (PG_BIN / "initdb").exists() or os.geteuid() != 0:
        pytest.fail("the PostgreSQL fault test needs PostgreSQL 15's initdb and root (runuser -u postgres)")
    cluster = ThrowawayPostgres()
    cluster.init()
    yield cluster
    cluster.remove()


def _copy_test_database(cluster: ThrowawayPostgres, name: str) -> None:
    db = connection.settings_dict
    source = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", name],
                   check=True, timeout=60)
    dump = subprocess.run([str(PG_BIN / "pg_dump"), "-Fc", "--no-owner", source], check=True, capture_output=True,
                          timeout=120)
    subprocess.run([str(PG_BIN / "pg_restore"), "--no-owner", "-d", cluster.url(name)], input=dump.stdout,
                   check=True, timeout=120)


def _gunicorn(database_url: str, port: int, intake_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url,
           "REDIS_URL": settings.CELERY_BROKER_URL, "PYTHONPATH": str(ROOT), "INTAKE_DATABASE_URL": intake_url}
    # The app's own intake store, prepared as a deployment would be: migrated, and holding the copies
    # of the active tokens it authenticates with while the primary is away (issue 18).
    for command in (["migrate", "--database", "intake", "-v0"],
                    ["shell", "-c", "from intake.identity import token_copies_reconcile; token_copies_reconcile()"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True,
                       timeout=120)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "-w", "2", "--threads", "2",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "30"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _request(port: int, method: str, path: str, token: str, body: bytes | None = None) -> tuple[int, str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    content_type = response.getheader("Content-Type", "")
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw[:200]
    conn.close()
    return response.status, content_type, parsed


def test_postgres_restarted_under_load_gives_clean_503s_then_recovers_without_an_app_restart(
        throwaway_postgres: ThrowawayPostgres) -> None:
    # given: an agent and B/L in a copy of the test database on the throwaway cluster, served by gunicorn
    world = world_create(bl_packages=1_000_000, bl_weight="999999999.000")
    body = json.dumps(body_im4(world)).encode()
    _copy_test_database(throwaway_postgres, "forodha_fault")
    port = _free_port()
    intake_file = Path(tempfile.mkdtemp(prefix="forodha-fault-intake-")) / "intake.sqlite3"
    app = _gunicorn(throwaway_postgres.url("forodha_fault"), port, f"sqlite:///{intake_file}")
    calls: list[Callable[[], tuple[int, str, Any]]] = [
        lambda: _request(port, "GET", "/api/v1/declarations", world.token),
        lambda: _request(port, "POST", "/api/v1/declarations", world.token, body),
        lambda: _request(port, "GET", f"/api/v1/bills-of-lading/{world.bl.number}", world.token),
        lambda: _request(port, "GET", "/api/v1/notifications", world.token),
    ]

    def burst() -> list[tuple[int, str, Any]]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda call: call(), calls))

    try:
        wait_for(lambda: _up(port), timeout=60, interval=0.2)
        before = [burst() for _ in range(3)]
        # when: PostgreSQL stops under load
        throwaway_postgres.stop("fast")
        during = [burst() for _ in range(5)]
        # and comes back (same app processes, not restarted)
        throwaway_postgres.start()
        recovering: list[list[tuple[int, str, Any]]] = []
        recovered_after = _first_all_ok(burst, timeout=30, seen=recovering)
        after = [burst() for _ in range(3)]
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=20)
    # then: before and after the restart every request succeeds
    ok = {200, 201}
    assert [[r[0] for r in b] for b in before] == [[200, 201, 200, 200]] * 3
    assert all(r[0] in ok for b in after for r in b)
    assert recovered_after < 30
    # and while it was down, every read got a clean 503 problem+json with its code, and every lodging
    # was taken by the intake store: 202 with a signed receipt (issue 18), nothing half-done
    flat = [r for b in during for r in b]
    assert len(flat) == 20
    reads = [r for b in during for i, r in enumerate(b) if i != 1]
    lodgings = [b[1] for b in during]
    assert {(status, ctype, parsed["code"]) for status, ctype, parsed in reads} == {
        (503, "application/problem+json", "database_unavailable")}
    assert [(status, parsed["contingency"]["source"]) for status, _ctype, parsed in lodgings] == [
        (202, "database_unavailable")] * 5
    assert all(parsed["receipt"]["submission_id"] for _status, _ctype, parsed in lodgings)
    # and every 201 is a stored declaration, no failed lodging half-saved
    created = sum(1 for b in before + recovering + after for r in b if r[0] == 201)
    import psycopg

    throwaway_postgres_count = psycopg.connect(throwaway_postgres.url("forodha_fault")).execute(
        "SELECT count(*) FROM declarations_declaration").fetchone()
    assert throwaway_postgres_count is not None
    # every 201 is stored; the 5 lodgings taken by intake wait for the replay (no worker here), and a
    # lodging that timed out on the client while the app recovered may have been stored: at most one
    # per app process
    assert created <= throwaway_postgres_count[0] <= created + 2


def _up(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/api/v1/health/live")
        return conn.getresponse().status == 200
    except OSError:
        return False


def _first_all_ok(burst: Callable[[], list[tuple[int, str, Any]]], timeout: float,
                  seen: list[list[tuple[int, str, Any]]] | None = None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        answers = burst()
        if seen is not None:
            seen.append(answers)
        if all(r[0] in (200, 201) for r in answers):
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError("the app did not recover after PostgreSQL came back")


