"""Celery works the way its users start it: every queue is declared (`CELERY_TASK_QUEUES`), so a
plain `celery -A config worker` (no -Q) consumes all of them and clears a declaration on its own,
while a dedicated `-Q scoring` worker still consumes only scoring."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from clearance.models import ReleaseOrder
from config.celery import app
from declarations.models import Declaration
from risk.models import RiskAssessment
from tests.conftest import require_postgres, require_redis
from tests.risk.test_worker import lodge, pay, wait_for

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ["default", "scoring", "clearance", "notifications", "webhooks", "replay"]


def test_every_queue_is_declared_for_a_worker_started_without_q():
    # given the app as a worker without -Q sees it (task_queues, nothing selected)
    declared = app.amqp.queues
    # then all six queues are declared, each on its own direct exchange and routing key
    assert list(declared) == QUEUES
    assert [(q.exchange.name, q.exchange.type, q.routing_key) for q in declared.values()] == [
        (name, "direct", name) for name in QUEUES
    ]
    assert settings.FORODHA_QUEUES == QUEUES


@pytest.mark.django_db  # loading the task modules runs Celery's Django fixup: model checks ask the SQLite intake store
def test_every_task_routes_to_a_declared_queue():
    # given every Forodha task the worker registers
    app.loader.import_default_modules()
    names = sorted(name for name in app.tasks if not name.startswith("celery."))
    # when each is routed as send_task routes it
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in names}
    # then no task lands on a queue that a plain worker would not consume
    assert set(routed.values()) <= set(QUEUES)
    assert routed["risk.score_declarations_batch"] == "scoring"
    assert routed["clearance.advance"] == routed["clearance.advance_batch"] == "clearance"
    assert routed["risk.advance_clearance"] == "clearance"  # alias of clearance.advance (name before the split)
    assert routed["maintenance.replay_buffered"] == "replay"
    assert routed["notifications.fan_out"] == "notifications"
    assert routed["notifications.dispatch_webhooks"] == "webhooks"
    assert routed["risk.deliver_webhook"] == "webhooks"  # alias of the dispatcher (name before the move)
    assert routed["core.outbox_relay"] == "default"
    # and every queue a route names is declared (a typo in CELERY_TASK_ROUTES would fail here)
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= set(QUEUES)


def test_a_dedicated_worker_selects_only_its_queues():
    # given the selection `-Q scoring` makes, on a copy of the declared queues
    from celery.app.amqp import Queues

    queues = Queues(app.amqp.queues.values())
    # when
    queues.select(["scoring"])
    # then
    assert list(queues.consume_from) == ["scoring"]


def _worker(*options: str) -> subprocess.Popen[bytes]:
    """`celery -A config worker <options>` as its own process, on the test database and Redis."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    require_postgres()
    require_redis()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # Messages left by earlier tests (and kombu's unacked bookkeeping) would be consumed here.
    client.delete(*QUEUES, "unacked", "unacked_index")
    yield client
    client.delete(*QUEUES, "unacked", "unacked_index")


def _active_queues(node: str | None = None) -> dict[str, list[str]]:
    """Queue names each running worker consumes (remote control: `celery inspect active_queues`)."""
    destination = [node] if node else None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        replies = app.control.inspect(destination=destination, timeout=2.0).active_queues()
        if replies:
            return {name: sorted(q["name"] for q in queues) for name, queues in replies.items()}
    raise AssertionError("no worker answered active_queues in time")


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
@pytest.mark.slow
def test_a_plain_worker_clears_a_paid_green_declaration(broker):
    # given a plain worker, started the way Celery's docs start one: no -Q, default pool
    worker = _worker()
    try:
        # then it consumes every queue
        [consumed] = _active_queues().values()  # one worker answers: this one
        assert consumed == sorted(QUEUES)
        # when a green declaration is lodged (scoring queue) and paid (clearance queue)
        declaration = lodge("green")
        wait_for(lambda: RiskAssessment.objects.filter(declaration=declaration).exists())
        pay(declaration)
        # then the same worker scores it and releases it: nothing waits on an unconsumed queue
        wait_for(lambda: Declaration.objects.get(pk=declaration.pk).status == "released")
        assert RiskAssessment.objects.get(declaration=declaration).lane == "green"
        assert list(ReleaseOrder.objects.values_list("declaration_id", "lane")) == [(declaration.pk, "green")]
        wait_for(lambda: sum(broker.llen(q) for q in QUEUES) == 0, timeout=30)
    finally:
        _stop(worker)


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
@pytest.mark.slow
def test_a_scoring_worker_leaves_the_clearance_queue_alone(broker):
    # given a worker dedicated to scoring, as docker-compose starts one
    node = f"scoring-{os.getpid()}@forodha-test"
    worker = _worker("-Q", "scoring", "-n", node, "--pool=solo")
    try:
        assert _active_queues(node) == {node: ["scoring"]}
        # when a declaration is lodged (scoring queue): the worker scores it
        declaration = lodge("green")
        wait_for(lambda: RiskAssessment.objects.filter(declaration=declaration).exists())
        # and it is paid (clearance queue)
        pay(declaration)
        # then the clearance message stays queued for a clearance worker: not consumed, not released
        wait_for(lambda: broker.llen("clearance") == 1, timeout=30)
        time.sleep(3.0)
        assert broker.llen("clearance") == 1
        assert broker.llen("scoring") == 0
        assert Declaration.objects.get(pk=declaration.pk).status == "paid"
        assert not ReleaseOrder.objects.exists()
    finally:
        _stop(worker)
