"""Real Celery worker subprocesses on Redis + the pytest PostgreSQL database.

- lane -> workflow end to end: lodging enqueues scoring through the outbox, payment enqueues
  `clearance.advance`; the worker releases green/blue and puts yellow/red under control;
- broker down during lodging, then back: every declaration is scored exactly once;
- worker SIGKILLed in the middle of a task: the message is redelivered and there is exactly one
  release per declaration.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from clearance.models import OfficerTask, PostClearanceAudit, ReleaseOrder
from core import outbox
from core.models import OutboxMessage
from declarations.models import Declaration, DeclarationEvent
from declarations.services import declaration_transition
from risk.models import RiskAssessment
from tests.conftest import require_postgres, require_redis
from tests.factories.risk import declaration_make
from tests.services import broker_purge

from .conftest import LANE_HS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


class Worker:
    def __init__(self) -> None:
        db = connection.settings_dict
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.risk.worker_settings",
            "DATABASE_URL": url,
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND or "",
            "PYTHONPATH": str(ROOT),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "-Q",
                ",".join(settings.FORODHA_QUEUES),
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers() -> Iterator[Callable[[], Worker]]:
    require_postgres()
    require_redis()
    # Stale messages of earlier tests (every queue, kombu's unacked bookkeeping) go first.
    broker_purge(settings.CELERY_BROKER_URL)
    started: list[Worker] = []

    def start() -> Worker:
        from config.celery import app

        started.append(Worker())
        # Ready when it answers a no-op task (Django start-up is slow on a loaded machine).
        app.send_task("core.ping", kwargs={"value": "ready"}).get(timeout=180)
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 120.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def lodge(lane: str, status: str = "assessed") -> Declaration:
    """What H4's lodging does for risk: the row, then the scoring task through the outbox."""
    with transaction.atomic():
        declaration = declaration_make(status=status, items=[{"hs_code": LANE_HS[lane]}])
        outbox.outbox_enqueue(task_name="risk.score_declaration", kwargs={"declaration_id": str(declaration.pk)})
    return declaration


def pay(declaration: Declaration) -> None:
    """What H4's payment does for clearance: paid (clearance's subscriber puts `clearance.advance`
    in the outbox)."""
    with transaction.atomic():
        declaration_transition(declaration_id=declaration.pk, to_status="paid", actor=None)


def test_lanes_flow_end_to_end_through_a_real_worker(workers, lane_rules):
    # given
    workers()
    lodged = {lane: lodge(lane) for lane in ("green", "blue", "yellow", "red")}
    wait_for(lambda: RiskAssessment.objects.count() == 4)
    # when
    for declaration in lodged.values():
        pay(declaration)

    # then
    def settled() -> bool:
        return (
            Declaration.objects.filter(
                pk__in=[d.pk for d in lodged.values()], status__in=["released", "under_control"]
            ).count()
            == 4
        )

    wait_for(settled)
    statuses = {lane: Declaration.objects.get(pk=d.pk).status for lane, d in lodged.items()}
    assert statuses == {"green": "released", "blue": "released", "yellow": "under_control", "red": "under_control"}
    assert sorted(ReleaseOrder.objects.values_list("lane", flat=True)) == ["blue", "green"]
    assert list(PostClearanceAudit.objects.values_list("declaration_id", flat=True)) == [lodged["blue"].pk]
    assert dict(OfficerTask.objects.values_list("lane", "queue")) == {
        "yellow": "documentary_check",
        "red": "inspection",
    }


def _dead_broker_send(name: str, kwargs: dict[str, Any] | None = None, **options: Any) -> None:
    """Send through a broker nobody listens on: the real connection-refused error of an outage."""
    from celery import Celery

    dead = Celery("dead", broker="redis://127.0.0.1:1/0")
    dead.conf.broker_connection_retry = False
    dead.conf.broker_connection_max_retries = 0
    dead.send_task(name, kwargs=kwargs, retry=False)


def test_broker_down_during_lodging_then_back_scores_every_declaration_exactly_once(workers, lane_rules, monkeypatch):
    from config.celery import app

    # given: a worker, and a broker outage while 12 declarations are lodged
    workers()
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    monkeypatch.setattr(app, "send_task", _dead_broker_send)
    lanes = ["green", "blue", "yellow", "red"] * 3
    lodged = [lodge(lane) for lane in lanes]
    pending = OutboxMessage.objects.filter(task_name="risk.score_declaration", dispatched_at__isnull=True).count()
    time.sleep(1.0)
    scored_during_outage = RiskAssessment.objects.count()
    # when: the broker is back; the relay (beat) re-sends, and the sweeper's duplicates arrive too
    monkeypatch.undo()
    relayed = outbox.relay_pending(older_than_seconds=0)
    for declaration in lodged[:6]:
        app.send_task("risk.score_declaration", kwargs={"declaration_id": str(declaration.pk)})
    app.send_task("risk.score_declarations_batch", kwargs={"declaration_ids": [str(d.pk) for d in lodged]})
    # then
    wait_for(lambda: RiskAssessment.objects.count() == 12)
    time.sleep(2.0)  # let the duplicates run
    assert (pending, scored_during_outage) == (12, 0)
    assert relayed >= 12
    assert RiskAssessment.objects.count() == 12
    ids = [d.pk for d in lodged]
    channel_events = DeclarationEvent.objects.filter(declaration_id__in=ids, kind="channel")
    assert channel_events.count() == 12
    assert sorted(Declaration.objects.filter(pk__in=ids).values_list("channel", flat=True)) == sorted(lanes)


def test_worker_killed_mid_task_gives_exactly_one_release(workers, lane_rules):
    # given: a scored, paid green declaration; the test holds its row lock, so the worker's task
    # blocks after it started (inside its transaction, waiting for the lock)
    declaration = declaration_make(status="assessed", items=[{"hs_code": LANE_HS["green"]}])
    from risk.services import risk_assessment_create

    risk_assessment_create(declaration_id=declaration.pk)
    declaration_transition(declaration_id=declaration.pk, to_status="paid", actor=None)
    locked = threading.Event()
    unlock = threading.Event()

    def hold_lock() -> None:
        from django.db import connections

        with transaction.atomic():
            Declaration.objects.select_for_update().get(pk=declaration.pk)
            locked.set()
            unlock.wait(60)
        connections.close_all()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(10)
    first = workers()
    from config.celery import app

    app.send_task("risk.score_declaration", kwargs={"declaration_id": str(declaration.pk)})
    wait_for(lambda: _blocked_backends(declaration) >= 1, timeout=120)
    # when: the worker dies mid-task (SIGKILL: no ack, no cleanup), the lock is let go
    first.kill()
    unlock.set()
    holder.join(30)
    assert Declaration.objects.get(pk=declaration.pk).status == "paid"
    assert not ReleaseOrder.objects.exists()
    # and a second worker gets the redelivered message (visibility timeout) plus duplicates
    workers()
    app.send_task("clearance.advance", kwargs={"declaration_id": str(declaration.pk)})
    # then
    wait_for(lambda: Declaration.objects.get(pk=declaration.pk).status == "released", timeout=120)
    # the killed worker's unacknowledged message is redelivered (visibility timeout) and runs too
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    wait_for(lambda: broker.hlen("unacked") == 0, timeout=120)
    time.sleep(1.0)
    assert ReleaseOrder.objects.filter(declaration=declaration).count() == 1
    assert DeclarationEvent.objects.filter(declaration=declaration, to_status="released").count() == 1


def test_worker_killed_at_random_points_of_a_batch_gives_one_release_each(workers, lane_rules):
    # given: 20 paid and scored green declarations, their clearance tasks queued
    from config.celery import app
    from risk.services import risk_assessment_create

    declarations = [declaration_make(status="paid", items=[{"hs_code": LANE_HS["green"]}]) for _ in range(20)]
    for d in declarations:
        risk_assessment_create(declaration_id=d.pk)
    first = workers()
    for d in declarations:
        app.send_task("clearance.advance", kwargs={"declaration_id": str(d.pk)})
    # when: SIGKILL as soon as the first release is there (some task is most likely in flight)
    wait_for(lambda: ReleaseOrder.objects.exists(), interval=0.02)
    first.kill()
    released_at_kill = ReleaseOrder.objects.count()
    workers()
    # then
    ids = [d.pk for d in declarations]
    wait_for(lambda: Declaration.objects.filter(pk__in=ids, status="released").count() == 20, timeout=90)
    time.sleep(5.0)
    assert 1 <= released_at_kill < 20
    assert ReleaseOrder.objects.filter(declaration_id__in=ids).count() == 20
    assert DeclarationEvent.objects.filter(declaration_id__in=ids, to_status="released").count() == 20


def _blocked_backends(declaration: Declaration) -> int:
    """Backends of the test database waiting on a lock (the worker inside its task)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_webhook_delivered_signed_by_a_real_worker_and_a_dead_endpoint_blocks_nothing(workers):
    from core import clock
    from notifications.models import WebhookDelivery, WebhookSubscription
    from notifications.services import notification_create
    from notifications.webhooks.signing import signature_verify
    from tests.factories.traders import agent_with_token
    from tests.notifications.test_webhooks import Receiver

    # given: a worker, a live endpoint and a dead one for the same agent
    workers()
    receiver = Receiver([200])
    try:
        staff, _ = agent_with_token()
        good = WebhookSubscription.objects.create(
            agent=staff.agent, url=receiver.url, secret="k" * 64, created_at=clock.now()
        )
        WebhookSubscription.objects.create(
            agent=staff.agent, url="http://127.0.0.1:9/dead", secret="d" * 64, created_at=clock.now()
        )
        # when: a notification is created (outbox -> notifications.fan_out -> one task per delivery)
        with transaction.atomic():
            notification = notification_create(agent=staff.agent, kind="released", subject="26MBAIM000000009")
        # then
        wait_for(lambda: len(receiver.requests) == 1)
        wait_for(lambda: WebhookDelivery.objects.filter(attempts__gte=1).count() == 2)
        [request] = receiver.requests
        assert signature_verify(
            secret=good.secret,
            header=request["headers"]["Forodha-Signature"],
            body=request["body"],
            now=int(time.time()),
        )
        statuses = dict(WebhookDelivery.objects.values_list("subscription__url", "status"))
        assert statuses == {receiver.url: "delivered", "http://127.0.0.1:9/dead": "pending"}
        dead = WebhookDelivery.objects.get(subscription__url="http://127.0.0.1:9/dead")
        assert dead.next_attempt_at is not None
        assert dead.next_attempt_at > clock.now()
        assert str(notification.id) in request["body"].decode()
    finally:
        receiver.close()
