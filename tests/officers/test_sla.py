"""Service levels per queue (settings.OFFICERS_SLA_HOURS) and the age label."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from officers.selectors import sla_hours, task_sla


@pytest.mark.parametrize(
    ("queue", "priority", "hours"),
    [("documentary_check", False, 4), ("inspection", False, 24), ("inspection", True, 6),
     ("documentary_check", True, 4)],  # the AEO target never lengthens a queue's limit
)
def test_sla_hours(queue, priority, hours):
    assert sla_hours(queue=queue, priority=priority) == hours


def test_task_sla_label_and_state():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    task = SimpleNamespace(queue="inspection", priority=False, created_at=now - dt.timedelta(days=1, hours=3))
    state = task_sla(task, now)
    assert (state.label, state.overdue, round(state.ratio, 3)) == ("1d 3h / 1d 0h", True, 1.125)
    fresh = task_sla(SimpleNamespace(queue="documentary_check", priority=False, created_at=now), now)
    assert (fresh.label, fresh.overdue, fresh.ratio) == ("0h 00m / 4h 00m", False, 0.0)


def test_time_left_and_states():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)

    def state(age: dt.timedelta, **extra):  # type: ignore[no-untyped-def]
        task = SimpleNamespace(queue="documentary_check", priority=False, created_at=now - age, outcome="", **extra)
        return task_sla(task, now)

    within, warning, over = state(dt.timedelta(hours=1, minutes=17)), state(dt.timedelta(hours=3)), \
        state(dt.timedelta(hours=4, minutes=5))
    assert (within.label, within.left_label, within.css, within.overdue) == (
        "1h 17m / 4h 00m", "2h 43m left", "sla-ok", False)
    assert (warning.left_label, warning.css) == ("1h 00m left", "sla-warning")
    assert (over.left_label, over.css, over.overdue) == ("0h 05m over", "sla-overdue", True)


def test_a_query_waiting_for_the_agent_stops_the_clock():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    # given: queried 5 h after creation, still waiting 9 h later
    queried = SimpleNamespace(queue="documentary_check", priority=False, created_at=now - dt.timedelta(hours=9),
                              outcome="queried")
    # when
    state = task_sla(queried, now)
    # then: never overdue while it waits, and the page says why
    assert (state.overdue, state.waiting, state.css, state.left_label) == (
        False, True, "sla-paused", "paused: waiting for the agent")
    assert state.label == "9h 00m / 4h 00m (waiting for the agent)"
    # when the task records the wait (waiting_since / sla_paused), the age leaves it out
    recorded = SimpleNamespace(queue="documentary_check", priority=False, created_at=now - dt.timedelta(hours=9),
                               outcome="", waiting_since=now - dt.timedelta(hours=4),
                               sla_paused=dt.timedelta(hours=2))
    assert task_sla(recorded, now).label == "3h 00m / 4h 00m (waiting for the agent)"
