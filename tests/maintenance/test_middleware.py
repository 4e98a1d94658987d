"""The middleware: boundaries to the second, each scope, what stays open, headers, snapshot cache."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from maintenance import services, snapshot
from maintenance.enums import WindowScope, WindowStatus
from maintenance.middleware import MaintenanceMiddleware
from tests.factories.maintenance import MaintenanceWindowFactory
from tests.factories.traders import UserFactory

from .conftest import T0

S = dt.timedelta(seconds=1)
H = dt.timedelta(hours=1)
DECLARATION_LODGE = f"/api/v1/declarations/{uuid.uuid4()}/lodge"


@pytest.fixture
def agent_client(api_client):
    user = UserFactory(username="agent-mw")
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


def _post(client, path):
    return client.post(path, data=json.dumps({"x": 1}), content_type="application/json")


@pytest.mark.django_db
def test_lodging_window_starts_and_ends_to_the_second(clock, agent_client):
    # given a lodging window 10:00:00-12:00:00 UTC
    window = MaintenanceWindowFactory(starts_at=T0 + H, ends_at=T0 + 3 * H, reason="iCMS upgrade")
    # when / then: one second before, the request reaches the application (no window answer)
    clock.set(T0 + H - S)
    before = _post(agent_client, "/api/v1/declarations")
    assert before.status_code != 503
    # at the first second: 503 with Retry-After = seconds to the end
    clock.set(T0 + H)
    during = _post(agent_client, "/api/v1/declarations")
    assert during.status_code == 503
    assert during["Retry-After"] == "7200"
    assert during["Content-Type"] == "application/problem+json"
    body = during.json()
    assert body["code"] == "maintenance_window"
    assert body["status"] == 503
    assert body["window"] == {"id": str(window.id), "starts_at": "2026-12-01T13:00:00+03:00",
                              "ends_at": "2026-12-01T15:00:00+03:00", "reason": "iCMS upgrade",
                              "scope": "lodging", "mode": "reject"}
    # the last second still in the window, Retry-After 1
    clock.set(T0 + 3 * H - S)
    last = _post(agent_client, "/api/v1/manifests")
    assert (last.status_code, last["Retry-After"]) == (503, "1")
    # at the end second: open again
    clock.set(T0 + 3 * H)
    assert _post(agent_client, "/api/v1/declarations").status_code != 503
    # the stored status was never advanced: the middleware reads the times
    window.refresh_from_db()
    assert window.status == WindowStatus.SCHEDULED


@pytest.mark.parametrize(
    ("scope", "method", "path", "blocked"),
    [
        ("lodging", "post", "/api/v1/declarations", True),
        ("lodging", "post", DECLARATION_LODGE, True),
        ("lodging", "post", "/api/v1/manifests", True),
        ("lodging", "post", "/api/v1/manifests/edifact", True),
        ("lodging", "post", f"/api/v1/declarations/{uuid.uuid4()}/payments", False),
        ("lodging", "get", "/api/v1/maintenance/windows", False),
        ("writes", "post", f"/api/v1/declarations/{uuid.uuid4()}/payments", True),
        ("writes", "patch", f"/api/v1/declarations/{uuid.uuid4()}", True),
        ("writes", "delete", "/api/v1/webhooks", True),
        ("writes", "get", "/api/v1/maintenance/windows", False),
        ("full", "get", "/api/v1/maintenance/windows", True),
        ("full", "get", "/api/v1/health/live", False),
        ("full", "get", "/api/v1/system/status", False),
        ("full", "get", "/api/v1/system/receipt-key", False),
        ("full", "get", "/admin/login/", False),
        ("full", "post", "/admin/login/", False),
    ],
)
@pytest.mark.django_db
def test_each_scope_blocks_exactly_its_requests(clock, agent_client, scope, method, path, blocked):
    # given
    MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=scope)
    # when
    if method == "get":
        response = agent_client.get(path)
    else:
        response = getattr(agent_client, method)(path, data=json.dumps({}), content_type="application/json")
    # then
    assert (response.status_code == 503) is blocked
    if blocked:
        assert response.json()["code"] == "maintenance_window"
        assert response["Retry-After"] == "3600"


@pytest.mark.django_db
def test_reads_keep_working_in_a_writes_window(clock, agent_client):
    MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.WRITES)
    response = agent_client.get("/api/v1/maintenance/windows")
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.django_db
def test_cancelled_window_blocks_nothing(clock, agent_client):
    MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.FULL,
                             status=WindowStatus.CANCELLED)
    assert agent_client.get("/api/v1/maintenance/windows").status_code == 200


@pytest.mark.django_db
def test_rejected_requests_do_not_touch_the_idempotency_store(clock, agent_client):
    from core.models import IdempotencyRecord

    MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.WRITES)
    response = agent_client.post("/api/v1/declarations", data="{}", content_type="application/json",
                                 HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 503
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_notice_header_within_72_hours_only(clock, agent_client):
    # given a window starting 72 h + 1 s from now
    MaintenanceWindowFactory(starts_at=T0 + 72 * H + S, ends_at=T0 + 80 * H)
    # then: no header yet
    assert "Forodha-Maintenance" not in agent_client.get("/api/v1/maintenance/windows")
    # one second later it is exactly 72 h away: every API response carries it, errors too
    clock.advance(seconds=1)
    ok = agent_client.get("/api/v1/maintenance/windows")
    missing = agent_client.get("/api/v1/nowhere")
    expected = "start=2026-12-04T12:00:01+03:00, end=2026-12-04T20:00:00+03:00"
    assert ok["Forodha-Maintenance"] == expected
    assert missing.status_code == 404
    assert missing["Forodha-Maintenance"] == expected
    # not on the officer admin
    assert "Forodha-Maintenance" not in agent_client.get("/admin/login/")
    # once the window has started the header is gone (the 503 answers instead)
    clock.set(T0 + 72 * H + S)
    assert "Forodha-Maintenance" not in agent_client.get("/api/v1/maintenance/windows")


def _mw(store: snapshot.SnapshotStore) -> MaintenanceMiddleware:
    def ok(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    return MaintenanceMiddleware(ok, snapshot_store=store)


@pytest.mark.django_db
def test_no_database_query_per_request_while_the_snapshot_is_fresh(clock, settings, django_assert_num_queries):
    # given a process that has loaded its snapshot
    settings.MAINTENANCE_CACHE_SECONDS = 60
    settings.MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 600
    MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.FULL)
    middleware = _mw(snapshot.SnapshotStore())
    request = RequestFactory().get("/api/v1/maintenance/windows")
    assert middleware(request).status_code == 503
    # then: later requests make no query
    with django_assert_num_queries(0):
        for _ in range(20):
            assert middleware(RequestFactory().get("/api/v1/maintenance/windows")).status_code == 503


@pytest.mark.django_db
def test_a_change_in_one_process_is_seen_by_another_after_the_cache_interval(
        clock, settings, notices, monkeypatch, django_capture_on_commit_callbacks):
    # given two processes (two snapshot stores) checking the stamp every 2 s, max age long
    settings.MAINTENANCE_CACHE_SECONDS = 2
    settings.MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 3600
    mono = [1000.0]
    monkeypatch.setattr(snapshot.time, "monotonic", lambda: mono[0])
    process_a, process_b = _mw(snapshot.SnapshotStore()), _mw(snapshot.SnapshotStore())
    get = RequestFactory().get
    assert process_a(get("/api/v1/x")).status_code == 200
    assert process_b(get("/api/v1/x")).status_code == 200
    # when process A schedules an emergency full window starting now (the service bumps the stamp)
    with django_capture_on_commit_callbacks(execute=True):
        services.window_schedule(starts_at=T0, ends_at=T0 + H, scope=WindowScope.FULL, reason="Emergency",
                                 emergency=True, actor=None)
    # then B keeps its view until its next stamp check ...
    mono[0] += 1.9
    assert process_b(get("/api/v1/x")).status_code == 200
    # ... and sees the window within the interval
    mono[0] += 0.2
    assert process_b(get("/api/v1/x")).status_code == 503
    assert process_a(get("/api/v1/x")).status_code == 503


@pytest.mark.django_db
def test_snapshot_reloads_at_max_age_without_a_bump_and_survives_a_database_failure(clock, settings, monkeypatch):
    settings.MAINTENANCE_CACHE_SECONDS = 1
    settings.MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 10
    mono = [0.0]
    monkeypatch.setattr(snapshot.time, "monotonic", lambda: mono[0] + 5000)
    store = snapshot.SnapshotStore()
    assert store.get().windows == ()
    # a window written without a bump (e.g. the cache was down) shows at max age
    window = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H)
    mono[0] += 5
    assert store.get().windows == ()
    mono[0] += 6
    assert [w.id for w in store.get().windows] == [window.id]
    # the database going away keeps the last view
    def broken(now):
        raise RuntimeError("database down")
    monkeypatch.setattr(snapshot, "load_snapshot", broken)
    mono[0] += 20
    assert [w.id for w in store.get().windows] == [window.id]


@pytest.mark.django_db
def test_sandbox_clock_offset_moves_the_window_edges(settings, agent_client):
    # given a sandbox whose clock a trainer moves (no patching: the real core.clock)

    from core import clock as core_clock
    from sandbox import clock as sandbox_clock

    settings.FORODHA_SANDBOX = True
    sandbox_clock.set_offset(0)
    real_now = core_clock.unmoved_now().replace(microsecond=0)
    MaintenanceWindowFactory(starts_at=real_now + 2 * H, ends_at=real_now + 3 * H, scope=WindowScope.FULL)
    try:
        assert agent_client.get("/api/v1/maintenance/windows").status_code == 200
        # when the trainer moves the clock into the window
        sandbox_clock.set_offset((2 * H).total_seconds() + 5)
        inside = agent_client.get("/api/v1/maintenance/windows")
        # then
        assert inside.status_code == 503
        assert 3590 <= int(inside["Retry-After"]) <= 3595
        sandbox_clock.set_offset((3 * H).total_seconds() + 1)
        assert agent_client.get("/api/v1/maintenance/windows").status_code == 200
    finally:
        sandbox_clock.set_offset(0)


@pytest.mark.django_db
def test_primed_store_serves_without_a_query(settings, django_assert_num_queries):
    settings.MAINTENANCE_CACHE_SECONDS = 2
    settings.MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 60
    store = snapshot.SnapshotStore()
    store.prime()
    with django_assert_num_queries(0):
        assert _mw(store)(RequestFactory().get("/api/v1/x")).status_code == 200
