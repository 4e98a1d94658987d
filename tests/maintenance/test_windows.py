"""Window lifecycle services: schedule, extend, cancel, the clock-driven moves, and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from core.exceptions import Conflict, NotFound, ValidationFailed
from maintenance import services, snapshot
from maintenance.enums import WindowEventKind, WindowMode, WindowScope, WindowStatus
from maintenance.models import MaintenanceWindow, MaintenanceWindowEvent
from tests.factories.maintenance import MaintenanceWindowFactory
from tests.factories.traders import UserFactory

from .conftest import T0

H = dt.timedelta(hours=1)


def _pointers(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.code, e.pointer) for e in exc.errors]


@pytest.mark.django_db
def test_schedule_records_event_notifies_agents_and_bumps_the_version(
        clock, notices, django_capture_on_commit_callbacks):
    # given
    actor = UserFactory(username="ops1")
    snapshot.bump_version()
    before = snapshot.cache.get(snapshot.VERSION_CACHE_KEY)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        window = services.window_schedule(starts_at=T0 + 48 * H, ends_at=T0 + 56 * H, reason="DB upgrade",
                                          scope=WindowScope.WRITES, mode=WindowMode.BUFFER, actor=actor)
    # then
    window.refresh_from_db()
    assert window.status == WindowStatus.SCHEDULED
    assert (window.starts_at, window.ends_at, window.scope, window.mode) == (
        T0 + 48 * H, T0 + 56 * H, "writes", "buffer")
    assert window.notice_given == T0
    assert window.created_by == actor
    events = list(window.events.values_list("kind", "from_status", "to_status", "actor__username"))
    assert events == [("scheduled", "", "scheduled", "ops1")]
    assert len(notices["broadcast"]) == 1
    call = notices["broadcast"][0]
    assert call["kind"] == "maintenance"
    assert call["payload"]["event"] == "maintenance_scheduled"
    assert call["payload"]["id"] == str(window.id)
    assert call["payload"]["starts_at"] == "2026-12-03T12:00:00+03:00"
    assert call["actor"] == actor
    assert snapshot.cache.get(snapshot.VERSION_CACHE_KEY) != before


@pytest.mark.django_db
def test_schedule_reports_every_problem_with_pointers(clock, notices):
    # given an existing window the new one overlaps
    other = MaintenanceWindowFactory(starts_at=T0 + 30 * H, ends_at=T0 + 40 * H)
    # when: ends before it starts
    with pytest.raises(ValidationFailed) as end_before:
        services.window_schedule(starts_at=T0 + 50 * H, ends_at=T0 + 49 * H, reason="x", actor=None)
    # when: in the past, bad scope, bad mode, no reason
    with pytest.raises(ValidationFailed) as past:
        services.window_schedule(starts_at=T0 - 2 * H, ends_at=T0 + H, reason=" ", scope="everything",
                                 mode="queue", actor=None)
    # when: too little notice
    with pytest.raises(ValidationFailed) as notice:
        services.window_schedule(starts_at=T0 + 23 * H, ends_at=T0 + 25 * H, reason="x", actor=None)
    # when: overlapping
    with pytest.raises(ValidationFailed) as overlap:
        services.window_schedule(starts_at=T0 + 39 * H, ends_at=T0 + 41 * H, reason="x", actor=None)
    # then
    assert _pointers(end_before.value) == [("ends_before_start", "/ends_at")]
    assert _pointers(past.value) == [("invalid_choice", "/scope"), ("invalid_choice", "/mode"),
                                     ("required", "/reason"), ("in_the_past", "/starts_at")]
    assert _pointers(notice.value) == [("insufficient_notice", "/starts_at")]
    assert _pointers(overlap.value) == [("overlaps_window", "/starts_at")]
    assert str(other.id) in overlap.value.errors[0].detail
    assert MaintenanceWindow.objects.count() == 1
    assert MaintenanceWindowEvent.objects.count() == 0
    assert notices["broadcast"] == []


@pytest.mark.django_db
def test_emergency_window_may_start_now_and_adjacent_windows_do_not_overlap(clock, notices):
    # given
    MaintenanceWindowFactory(starts_at=T0 + 2 * H, ends_at=T0 + 3 * H)
    # when: an emergency window from now up to exactly the next window's start
    window = services.window_schedule(starts_at=T0, ends_at=T0 + 2 * H, reason="Hotfix", emergency=True,
                                      actor=None)
    # then
    assert window.emergency is True
    assert window.effective_status(T0) == WindowStatus.ACTIVE


@pytest.mark.django_db
def test_naive_times_are_refused(clock):
    with pytest.raises(ValidationFailed) as exc:
        services.window_schedule(starts_at=dt.datetime(2026, 12, 5, 22, 0), ends_at=T0 + 100 * H,  # noqa: DTZ001
                                 reason="x", actor=None)
    assert _pointers(exc.value) == [("naive_datetime", "/starts_at")]


@pytest.mark.django_db(transaction=True)
def test_database_refuses_overlap_and_end_before_start_on_postgresql(postgres):
    # given
    MaintenanceWindowFactory(starts_at=T0, ends_at=T0 + 8 * H)
    # then: the exclusion constraint (service bypassed)
    with pytest.raises(IntegrityError), transaction.atomic():
        MaintenanceWindowFactory(starts_at=T0 + 7 * H, ends_at=T0 + 9 * H)
    # a cancelled window may overlap
    MaintenanceWindowFactory(starts_at=T0 + 7 * H, ends_at=T0 + 9 * H, status=WindowStatus.CANCELLED)
    with pytest.raises(IntegrityError), transaction.atomic():
        MaintenanceWindowFactory(starts_at=T0 + 20 * H, ends_at=T0 + 20 * H)
    assert MaintenanceWindow.objects.count() == 2


@pytest.mark.django_db
def test_extend_active_window_records_reason_and_notifies(clock, notices):
    # given an active window
    window = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H)
    actor = UserFactory(username="ops2")
    # when
    extended = services.window_extend(window_id=window.id, until=T0 + 3 * H, reason="Migration slower",
                                      actor=actor)
    # then
    assert extended.ends_at == T0 + 3 * H
    kinds = list(extended.events.values_list("kind", "from_status", "to_status", "reason"))
    assert kinds == [("activated", "scheduled", "active", "by the clock"),
                     ("extended", "active", "active", "Migration slower")]
    assert extended.events.get(kind="extended").payload == {
        "ends_at_before": "2026-12-01T13:00:00+03:00", "ends_at": "2026-12-01T15:00:00+03:00"}
    assert [c["payload"]["event"] for c in notices["broadcast"]] == ["maintenance_extended"]
    assert notices["broadcast"][0]["payload"]["extension_reason"] == "Migration slower"


@pytest.mark.django_db
def test_extend_bad_input(clock, notices):
    # given
    window = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H)
    MaintenanceWindowFactory(starts_at=T0 + 2 * H, ends_at=T0 + 3 * H)
    done = MaintenanceWindowFactory(starts_at=T0 - 5 * H, ends_at=T0 - 4 * H, status=WindowStatus.COMPLETED)
    # then
    with pytest.raises(ValidationFailed) as earlier:
        services.window_extend(window_id=window.id, until=T0 + H, reason="r", actor=None)
    assert _pointers(earlier.value) == [("not_later", "/ends_at")]
    with pytest.raises(ValidationFailed) as overlap:
        services.window_extend(window_id=window.id, until=T0 + 150 * 60 * dt.timedelta(seconds=1), reason="r",
                               actor=None)
    assert _pointers(overlap.value) == [("overlaps_window", "/ends_at")]
    with pytest.raises(ValidationFailed) as no_reason:
        services.window_extend(window_id=window.id, until=T0 + 90 * dt.timedelta(minutes=1), reason="", actor=None)
    assert _pointers(no_reason.value) == [("required", "/reason")]
    with pytest.raises(Conflict):
        services.window_extend(window_id=done.id, until=T0 + 10 * H, reason="r", actor=None)
    with pytest.raises(NotFound):
        services.window_extend(window_id="not-a-uuid", until=T0 + 10 * H, reason="r", actor=None)
    window.refresh_from_db()
    assert window.ends_at == T0 + H
    assert notices["broadcast"] == []


@pytest.mark.django_db
def test_cancel_scheduled_and_active_windows(clock, notices):
    # given
    scheduled = MaintenanceWindowFactory(starts_at=T0 + 30 * H, ends_at=T0 + 31 * H)
    active = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H)
    # when
    services.window_cancel(window_id=scheduled.id, reason="Vendor postponed", actor=None)
    services.window_cancel(window_id=active.id, reason="Done early", actor=None)
    # then
    scheduled.refresh_from_db()
    active.refresh_from_db()
    assert scheduled.status == active.status == WindowStatus.CANCELLED
    assert scheduled.ends_at == T0 + 31 * H
    assert active.ends_at == T0  # a window in progress ends now
    assert active.events.last().payload == {"ends_at_before": "2026-12-01T13:00:00+03:00",
                                            "ends_at": "2026-12-01T12:00:00+03:00"}
    assert [c["payload"]["event"] for c in notices["broadcast"]] == ["maintenance_cancelled", "maintenance_cancelled"]
    with pytest.raises(Conflict) as again:
        services.window_cancel(window_id=scheduled.id, reason="again", actor=None)
    assert again.value.code == "illegal_transition"
    with pytest.raises(ValidationFailed):
        services.window_cancel(window_id=scheduled.id, reason="", actor=None)


@pytest.mark.django_db
def test_windows_advance_follows_the_clock_to_the_second(clock):
    # given
    window = MaintenanceWindowFactory(starts_at=T0 + 10 * dt.timedelta(seconds=1), ends_at=T0 + H)
    # when / then: one second before the start nothing moves
    clock.set(T0 + dt.timedelta(seconds=9))
    assert services.windows_advance() == []
    clock.set(T0 + dt.timedelta(seconds=10))
    assert [(w.id, m) for w, m in services.windows_advance()] == [(window.id, ["active"])]
    clock.set(T0 + H)
    assert [(w.id, m) for w, m in services.windows_advance()] == [(window.id, ["completed"])]
    assert services.windows_advance() == []
    assert list(window.events.values_list("kind", flat=True)) == [WindowEventKind.ACTIVATED,
                                                                  WindowEventKind.COMPLETED]


@pytest.mark.django_db
def test_windows_advance_records_both_moves_when_the_beat_missed_the_whole_window(clock):
    window = MaintenanceWindowFactory(starts_at=T0 - 3 * H, ends_at=T0 - H)
    services.windows_advance()
    window.refresh_from_db()
    assert window.status == WindowStatus.COMPLETED
    assert list(window.events.values_list("from_status", "to_status")) == [("scheduled", "active"),
                                                                         ("active", "completed")]


@pytest.mark.django_db
def test_maintenance_admin_group_has_the_model_permissions():
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="maintenance admin")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"add_maintenancewindow", "change_maintenancewindow", "view_maintenancewindow", "add_outage",
            "change_outage", "view_outage", "view_bufferedsubmission", "view_outagereport"} <= codenames
    assert "delete_maintenancewindow" not in codenames
