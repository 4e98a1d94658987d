"""A real Celery worker process (not eager) round-trips a task through Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from kombu import Exchange, Queue

from config.celery import app
from tests.conftest import require_redis

ROOT = Path(__file__).resolve().parents[2]


def test_real_worker_round_trips_a_task_through_redis():
    require_redis()
    assert not app.conf.task_always_eager
    queue = f"ping-{os.getpid()}-{int(time.time())}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND or ""}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue,
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        # Declare the queue first: Redis drops a message routed to a queue nobody has bound yet.
        with app.connection_for_write() as conn:
            Queue(queue, Exchange(queue), routing_key=queue)(conn.default_channel).declare()
        result = app.send_task("core.ping", kwargs={"value": "habari"}, queue=queue)
        payload = result.get(timeout=150)
        assert payload["value"] == "habari"
        assert payload["pid"] != os.getpid()  # it ran in the worker process
    finally:
        worker.terminate()
        worker.wait(timeout=30)
