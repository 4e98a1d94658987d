"""One firm's dead webhook endpoints never delay another firm's notices: a real Celery worker
process (threads, concurrency 4, queue `webhooks`) on Redis + the pytest PostgreSQL database.

Firm A has 50 dead subscriptions (25 refuse the connection, 25 accept it and never answer);
its notice is fanned out first, so its 50 deliveries are queued ahead of firm B's one. Without
the per-firm in-flight slots, B would wait behind 25 read timeouts spread over 4 threads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from core import clock
from notifications.models import WebhookDelivery, WebhookSubscription
from notifications.services import notification_create
from notifications.webhooks import webhook_deliveries_enqueue
from tests.conftest import require_postgres, require_redis
from tests.factories.traders import agent_with_token
from tests.notifications.test_webhooks import Receiver
from tests.risk.test_worker import wait_for

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 3.0
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def webhook_worker() -> Iterator[subprocess.Popen[bytes]]:
    require_postgres()
    require_redis()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("webhooks", "default", "unacked", "unacked_index")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND or "",
        "WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "WEBHOOK_CONNECT_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "WEBHOOK_AGENT_CONCURRENCY": "2",
        "PYTHONPATH": str(ROOT),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=threads", "--concurrency=4",
         "-Q", "webhooks,default", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        from config.celery import app

        app.send_task("core.ping", kwargs={"value": "ready"}, queue="default").get(timeout=180)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=30)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _notice(agent: Any, subject: str) -> None:
    """A notice and its webhook fan-out, committed: the delivery tasks leave through the outbox."""
    with transaction.atomic():
        webhook_deliveries_enqueue(notification_create(agent=agent, kind="maintenance", subject=subject))


def _delivered_in(receiver: Receiver, count: int, started: float) -> float:
    wait_for(lambda: len(receiver.requests) >= count, timeout=60, interval=0.05)
    return time.monotonic() - started


def test_fifty_dead_endpoints_of_one_firm_do_not_delay_another_firms_notice(webhook_worker):
    # given: firm B's live receiver and firm A's 50 dead endpoints
    firm_a, _ = agent_with_token()
    firm_b, _ = agent_with_token()
    receiver = Receiver([200])
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(128)
    try:
        WebhookSubscription.objects.create(agent=firm_b.agent, url=receiver.url, secret="b" * 64,
                                           created_at=clock.now())
        dead = [f"http://127.0.0.1:{_closed_port()}/hook" for _ in range(25)]
        dead += [f"http://127.0.0.1:{silent.getsockname()[1]}/hook{i}" for i in range(25)]
        WebhookSubscription.objects.bulk_create(
            WebhookSubscription(agent=firm_a.agent, url=url, secret="a" * 64, created_at=clock.now()) for url in dead
        )
        # B's normal time: a notice with nothing else queued
        started = time.monotonic()
        _notice(firm_b.agent, "baseline")
        normal = _delivered_in(receiver, 1, started)
        # when: A's notice is fanned out first, then B's
        started = time.monotonic()
        _notice(firm_a.agent, "maintenance tonight (A)")
        _notice(firm_b.agent, "maintenance tonight (B)")
        loaded = _delivered_in(receiver, 2, started)
        a_attempted_by_then = WebhookDelivery.objects.filter(subscription__agent=firm_a.agent, attempts__gt=0).count()
        # then: B is served while most of A's silent endpoints are still untried -- not after
        # them (queued behind them, 25 read timeouts of 3 s over 4 threads would be >= 18.75 s).
        # What B pays is the worker reading the 50 messages ahead of it, each put back without a
        # request (~3 s here on 2 shared, heavily loaded cores; 0.1-0.3 s with nothing queued).
        print(f"B normal {normal:.2f} s, with A's 50 dead endpoints queued first {loaded:.2f} s; "
              f"A deliveries attempted by then: {a_attempted_by_then}/50")
        assert loaded < 25 * TIMEOUT_SECONDS / 4
        assert a_attempted_by_then <= 25 + 10
        assert WebhookDelivery.objects.filter(subscription__agent=firm_a.agent).count() == 50
        assert WebhookDelivery.objects.filter(subscription__agent=firm_b.agent, status="delivered").count() == 2
        # and A's deliveries are all tried in the end, each failing (no request reached B's receiver)
        wait_for(lambda: WebhookDelivery.objects.filter(subscription__agent=firm_a.agent,
                                                        attempts__gt=0).count() == 50, timeout=150)
        assert not WebhookDelivery.objects.filter(subscription__agent=firm_a.agent, status="delivered").exists()
        assert len(receiver.requests) == 2
    finally:
        silent.close()
        receiver.close()
