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
