"""manage.py maintenance/outage, the Celery tasks (full-window deferral, beat), and the admin."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from celery import shared_task
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from core import celery_app
from maintenance import tasks
from maintenance.enums import OutageStatus, WindowScope, WindowStatus
from maintenance.models import MaintenanceWindow, Outage
from tests.factories.maintenance import BufferedSubmissionFactory, MaintenanceWindowFactory, OutageFactory
from tests.factories.traders import UserFactory

from .conftest import T0

H = dt.timedelta(hours=1)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_maintenance_command_schedule_extend_cancel_list(clock, notices):
    # given
    UserFactory(username="ops")
    # when
    out = _run("maintenance", "--actor", "ops", "schedule", "--start", "2026-12-05T22:00:00+03:00",
               "--end", "2026-12-06T06:00", "--scope", "writes", "--mode", "buffer", "--reason", "Upgrade")
    window = MaintenanceWindow.objects.get()
    # then: a naive time is East Africa Time
    assert out.startswith(f"scheduled {window.id} ")
    assert (window.starts_at, window.ends_at) == (dt.datetime(2026, 12, 5, 19, 0, tzinfo=dt.UTC),
                                                   dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC))
    assert window.created_by.username == "ops"
    _run("maintenance", "extend", str(window.id), "--until", "2026-12-06T08:00+03:00", "--reason", "Slow")
    window.refresh_from_db()
    assert window.ends_at == dt.datetime(2026, 12, 6, 5, 0, tzinfo=dt.UTC)
    listing = _run("maintenance", "list")
    assert f"{window.id} scheduled 2026-12-05T22:00:00+03:00 -> 2026-12-06T08:00:00+03:00 scope=writes" in listing
    _run("maintenance", "cancel", str(window.id), "--reason", "Postponed")
    window.refresh_from_db()
    assert window.status == WindowStatus.CANCELLED
    assert [c["payload"]["event"] for c in notices["broadcast"]] == ["maintenance_scheduled", "maintenance_extended",
                                                         "maintenance_cancelled"]


@pytest.mark.django_db
def test_maintenance_command_reports_problems_with_pointers(clock):
    with pytest.raises(CommandError) as exc:
        _run("maintenance", "schedule", "--start", "2026-12-01T13:00+03:00", "--end", "2026-12-01T12:00+03:00",
             "--reason", "x")
    assert str(exc.value) == ("validation_error: The maintenance window is not valid.\n"
                              "  /ends_at: ends_before_start: The window must end after it starts.\n"
                              "  /starts_at: insufficient_notice: Windows need 24 h notice; mark it emergency to "
                              "schedule it sooner (earliest start 2026-12-02T12:00:00+03:00).")
    with pytest.raises(CommandError):
        _run("maintenance", "schedule", "--start", "tomorrow", "--end", "later", "--reason", "x")
    assert MaintenanceWindow.objects.count() == 0


@pytest.mark.django_db
def test_outage_command_start_status_end(clock, notices, monkeypatch):
    monkeypatch.setattr("maintenance.services.enqueue_replay", lambda: None)
    assert _run("outage", "start", "--reason", "Fibre cut").startswith("outage ")
    assert "outage: " in _run("outage", "status")
    clock.advance(hours=2)
    assert "ended at 2026-12-01T14:00:00+03:00 after 2h 00m" in _run("outage", "end", "--yes")
    assert Outage.objects.get().status == OutageStatus.ENDED
    with pytest.raises(CommandError, match="no_active_outage"):
        _run("outage", "end", "--yes")


@shared_task(bind=True, name="tests.maintenance.clearance_step")
@tasks.defer_if_full_window
def clearance_step(self, declaration_id: str) -> str:
    return f"cleared {declaration_id}"


@pytest.mark.django_db
def test_clearance_task_waits_for_the_end_of_a_full_window(clock, monkeypatch, settings):
    # given a full window ending in 10 minutes
    MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + dt.timedelta(minutes=10), scope=WindowScope.FULL)
    published = []
    monkeypatch.setattr(clearance_step, "apply_async", lambda **kw: published.append(kw))
    # when
    result = clearance_step("d-1")
    # then: re-published with the countdown to the end, not run, not failed
    assert result == {"deferred": True, "countdown": 600}
    assert published == [{"args": ("d-1",), "kwargs": {}, "countdown": 600, "task_id": None}]
    # a long window: at most the cap per hop
    settings.MAINTENANCE_DEFER_MAX_COUNTDOWN_SECONDS = 300
    assert clearance_step("d-2")["countdown"] == 300
    # at the end second it runs
    clock.set(T0 + dt.timedelta(minutes=10))
    assert clearance_step("d-3") == "cleared d-3"
    assert len(published) == 2


@pytest.mark.django_db
def test_clearance_tasks_keep_running_in_lodging_and_writes_windows(clock, monkeypatch):
    MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.WRITES)
    monkeypatch.setattr(clearance_step, "apply_async", lambda **kw: pytest.fail("must not defer"))
    assert clearance_step.apply(args=("d-9",)).get() == "cleared d-9"


@pytest.mark.django_db
def test_beat_task_advances_windows_and_rekicks_a_pending_replay(clock, monkeypatch):
    kicked = []
    monkeypatch.setattr("maintenance.services.enqueue_replay", lambda: kicked.append(1))
    window = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H)
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0 - 4 * H, status="ended")
    BufferedSubmissionFactory(outage=outage)
    result = tasks.advance_windows()
    assert result == {"moved": [[str(window.id), ["active"]]], "replay_kicked": True, "outages_recorded": []}
    # during an outage the replay is not started
    OutageFactory(started_at=T0)
    assert tasks.advance_windows()["replay_kicked"] is False


@pytest.mark.django_db
def test_replay_task_waits_while_contingency_is_active(clock):
    OutageFactory(started_at=T0)
    assert tasks.replay_buffered_task() == {"skipped": "contingency still active"}


@pytest.mark.django_db
def test_admin_schedule_through_the_form_uses_the_service(clock, client, notices):
    # given a staff user in the maintenance admin group
    user = UserFactory(username="officer", is_staff=True)
    user.groups.add(Group.objects.get(name="maintenance admin"))
    client.force_login(user)
    # when: a window without notice
    bad = client.post("/admin/maintenance/maintenancewindow/add/", {
        "starts_at_0": "2026-12-01", "starts_at_1": "13:00:00", "ends_at_0": "2026-12-01", "ends_at_1": "14:00:00",
        "scope": "lodging", "mode": "reject", "reason": "x"})
    # then
    assert bad.status_code == 200
    assert "Windows need 24 h notice" in bad.content.decode()
    assert MaintenanceWindow.objects.count() == 0
    # when: a valid one (times in East Africa Time)
    good = client.post("/admin/maintenance/maintenancewindow/add/", {
        "starts_at_0": "2026-12-05", "starts_at_1": "22:00:00", "ends_at_0": "2026-12-06", "ends_at_1": "06:00:00",
        "scope": "writes", "mode": "reject", "reason": "Upgrade"})
    assert good.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert window.starts_at == dt.datetime(2026, 12, 5, 19, 0, tzinfo=dt.UTC)
    assert list(window.events.values_list("kind", "actor__username")) == [("scheduled", "officer")]
    # the change form refuses an extension without a reason or not later than the end
    no_reason = client.post(f"/admin/maintenance/maintenancewindow/{window.id}/change/", {
        "extend_until_0": "2026-12-06", "extend_until_1": "08:00:00", "action_reason": ""})
    assert no_reason.status_code == 200
    assert "A reason is required." in no_reason.content.decode()
    earlier = client.post(f"/admin/maintenance/maintenancewindow/{window.id}/change/", {
        "extend_until_0": "2026-12-06", "extend_until_1": "05:00:00", "action_reason": "x"})
    assert earlier.status_code == 200
    assert "The new end must be after 2026-12-06T06:00:00+03:00." in earlier.content.decode()
    # the change form extends with a reason
    change = client.post(f"/admin/maintenance/maintenancewindow/{window.id}/change/", {
        "extend_until_0": "2026-12-06", "extend_until_1": "08:00:00", "action_reason": "Slow migration"})
    assert change.status_code == 302
    window.refresh_from_db()
    assert window.ends_at == dt.datetime(2026, 12, 6, 5, 0, tzinfo=dt.UTC)
    # the outage report list renders
    assert client.get("/admin/maintenance/outagereport/").status_code == 200
    assert client.get("/admin/intake/bufferedsubmission/").status_code == 200
    page = client.get(f"/admin/maintenance/maintenancewindow/{window.id}/change/").content.decode()
    assert "Slow migration" in page
    # cancel from the change form
    client.post(f"/admin/maintenance/maintenancewindow/{window.id}/change/",
                {"cancel": "on", "action_reason": "Vendor postponed"})
    window.refresh_from_db()
    assert window.status == WindowStatus.CANCELLED
    assert [c["payload"]["event"] for c in notices["broadcast"]] == ["maintenance_scheduled", "maintenance_extended",
                                                         "maintenance_cancelled"]


@pytest.mark.django_db
def test_admin_declares_and_ends_an_outage(clock, client, notices, monkeypatch):
    monkeypatch.setattr("maintenance.services.enqueue_replay", lambda: None)
    user = UserFactory(username="duty", is_staff=True)
    user.groups.add(Group.objects.get(name="maintenance admin"))
    client.force_login(user)
    assert client.post("/admin/maintenance/outage/add/", {"reason": "Power"}).status_code == 302
    outage = Outage.objects.get()
    assert (outage.status, outage.started_by) == (OutageStatus.ACTIVE, user)
    client.post("/admin/maintenance/outage/", {"action": "end_outages", "_selected_action": [str(outage.id)],
                                               "confirm": "yes"})
    outage.refresh_from_db()
    assert (outage.status, outage.ended_by) == (OutageStatus.ENDED, user)
    assert outage.report.submissions == 0


@pytest.mark.django_db
def test_replay_task_runs_the_replay_once_per_slot(clock, monkeypatch, settings):
    # given
    from django.core.cache import cache

    from maintenance import services

    calls: list[dict[str, object]] = []

    def fake_replay(**kw: object) -> services.ReplayReport:
        calls.append(kw)
        return services.ReplayReport(
            started_at=T0, finished_at=T0, reclaimed=0, processed=2, lodged=2, rejected=0,
            errored=0, skipped=0, remaining=0)

    monkeypatch.setattr(services, "replay_buffered", fake_replay)
    # when: slot 1 is already running elsewhere
    cache.add(f"{tasks.REPLAY_LOCK_KEY}:1", "other", 60)
    try:
        first = tasks.replay_buffered_task(slot=0)
        busy = tasks.replay_buffered_task(slot=1)
    finally:
        cache.delete(f"{tasks.REPLAY_LOCK_KEY}:1")
    # then
    assert first == {"processed": 2, "lodged": 2, "rejected": 0, "errored": 0, "remaining": 0}
    assert busy == {"skipped": "replay already running"}
    assert calls == [{"actor": None, "reclaim": True}]
    assert cache.get(f"{tasks.REPLAY_LOCK_KEY}:0") is None


def test_enqueue_replay_starts_one_task_per_worker_slot(settings, monkeypatch):
    from maintenance import services

    settings.CONTINGENCY_REPLAY_WORKERS = 3
    sent = []
    monkeypatch.setattr(celery_app.app(), "send_task", lambda name, kwargs: sent.append((name, kwargs)))
    services.enqueue_replay()
    # sent by name to the replay task (maintenance.tasks imports services, not the other way)
    assert tasks.replay_buffered_task.name == services.REPLAY_TASK
    assert sent == [(services.REPLAY_TASK, {"slot": 0}), (services.REPLAY_TASK, {"slot": 1}),
                    (services.REPLAY_TASK, {"slot": 2})]
