"""Timers follow the moved clock in the web process (maintenance windows, SLA escalation) and in
a real Celery worker subprocess (which reads the shared offset)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.management import call_command

from clearance.models import OfficerTask
from clearance.tasks import escalate_overdue_tasks
from core import clock
from maintenance import snapshot
from sandbox import clock as sandbox_clock
from tests.factories.sandbox import lodge_pay_score_advance, sandbox_world

MIDDLEWARE_PATH = "maintenance.middleware.MaintenanceMiddleware"


@pytest.fixture
def maintenance_middleware(sandbox):
    sandbox.MAINTENANCE_CACHE_SECONDS = 0
    sandbox.MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 0
    middleware = [m for m in sandbox.MIDDLEWARE if m != MIDDLEWARE_PATH]
    middleware.insert(middleware.index("core.idempotency.IdempotencyMiddleware"), MIDDLEWARE_PATH)
    sandbox.MIDDLEWARE = middleware
    snapshot.store.invalidate()
    yield sandbox
    snapshot.store.invalidate()


@pytest.mark.django_db
def test_window_becomes_active_for_the_web_when_the_clock_is_advanced(maintenance_middleware, api_client):
    from maintenance.services import window_schedule

    # given a window two days ahead (of the sandbox clock) and an agent
    world = sandbox_world()
    starts = clock.now() + dt.timedelta(days=2)
    window_schedule(starts_at=starts, ends_at=starts + dt.timedelta(hours=8), reason="database upgrade", actor=None)
    body = {"regime": "IM4"}
    before = api_client.post("/api/v1/declarations", body, format="json", **world.auth)
    assert before.status_code == 400  # lodging open: the body is judged (and is incomplete)
    # when the trainer moves the clock into the window
    call_command("sandbox", "clock", "--advance", "2d1h")
    during = api_client.post("/api/v1/declarations", body, format="json", **world.auth)
    # then the middleware refuses lodging with the window's 503
    assert during.status_code == 503
    assert during.json()["code"] == "maintenance_window"
    assert 0 < int(during["Retry-After"]) <= 7 * 3600
    # and after it, lodging is open again
    call_command("sandbox", "clock", "--advance", "8h")
    assert api_client.post("/api/v1/declarations", body, format="json", **world.auth).status_code == 400


@pytest.mark.django_db
def test_notice_header_appears_when_the_clock_nears_the_window(maintenance_middleware, api_client):
    from maintenance.services import window_schedule

    world = sandbox_world()
    starts = clock.now() + dt.timedelta(days=10)
    window_schedule(starts_at=starts, ends_at=starts + dt.timedelta(hours=2), reason="upgrade", actor=None)
    assert "Forodha-Maintenance" not in api_client.get("/api/v1/declarations", **world.auth)
    call_command("sandbox", "clock", "--advance", "8d")
    assert api_client.get("/api/v1/declarations", **world.auth)["Forodha-Maintenance"].startswith("start=")


@pytest.mark.django_db
def test_officer_task_sla_escalates_after_the_clock_moves(sandbox):
    # given a yellow declaration waiting for an officer
    world = sandbox_world()
    declaration = lodge_pay_score_advance(world, "YAGT-SLA")
    task = OfficerTask.objects.get(declaration=declaration)
    assert escalate_overdue_tasks() == 0
    # when the clock moves past the escalation limit
    assert task.queue == "documentary_check"
    call_command("sandbox", "clock", "--advance", "3h59m")
    assert escalate_overdue_tasks() == 0  # within the 4 h service level shown to the officer
    call_command("sandbox", "clock", "--advance", "2m")
    # then the beat task escalates it
    assert escalate_overdue_tasks() == 1
    task.refresh_from_db()
    assert task.escalated_at is not None
    assert task.escalated_at - task.created_at >= dt.timedelta(hours=4)


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
@pytest.mark.slow
def test_worker_process_follows_the_moved_clock(sandbox, monkeypatch):
    from tests.conftest import require_postgres, require_redis
    from tests.risk.test_worker import Worker, wait_for

    require_postgres()
    require_redis()
    import redis as redis_lib

    from config.celery import app

    redis_lib.Redis.from_url(sandbox.CELERY_BROKER_URL).delete("default", "clearance", "unacked", "unacked_index")
    # given an open officer task created now (sandbox clock), and a worker in sandbox mode
    monkeypatch.setenv("FORODHA_SANDBOX", "1")
    from tests.factories.risk import declaration_make

    declaration = declaration_make(status="under_control")
    task = OfficerTask.objects.create(declaration=declaration, queue="documentary_check", lane="yellow",
                                      created_at=clock.now())
    worker = Worker()
    try:
        app.send_task("core.ping", kwargs={"value": "ready"}).get(timeout=180)
        # when the clock is moved in THIS process (database + shared cache)
        assert app.send_task("clearance.escalate_overdue_tasks").get(timeout=60) == 0
        call_command("sandbox", "clock", "--advance", "5h")  # past the documentary check's 4 h
        time.sleep(sandbox_clock.CLOCK_LOCAL_TTL + 0.3)  # a process re-reads the shared offset this often
        # then the worker's timer sees it: the task escalates, stamped with the moved time
        assert app.send_task("clearance.escalate_overdue_tasks").get(timeout=60) == 1
        wait_for(lambda: OfficerTask.objects.filter(pk=task.pk, escalated_at__isnull=False).exists(), timeout=30)
        task.refresh_from_db()
        assert task.escalated_at - task.created_at >= dt.timedelta(hours=2)
    finally:
        worker.stop()
