"""Officer-task service levels: the ONE rule used by the escalation timer
(`services.officer_tasks_escalate`) and by every page that shows a task's age (the officers'
queues, detail page and "My work"). Limits come from `settings.OFFICERS_SLA_HOURS`.

The SLA clock stops while a query waits for the agent: a task whose outcome is `queried` is
"waiting" (never overdue, never escalated). When the task also records when the wait began and
how long earlier waits lasted (`waiting_since`, `sla_paused`), the age excludes that time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet

from core import clock

QUEUES = ("documentary_check", "inspection")
WAITING_OUTCOME = "queried"


def sla_hours(*, queue: str, priority: bool) -> int:
    table: dict[str, int] = settings.OFFICERS_SLA_HOURS
    if priority:
        # AEO target (DOMAIN.md: AEO cargo cleared in about 6 hours); never longer than the queue's.
        return min(table.get("aeo", 6), table.get(queue, 24))
    return table.get(queue, 24)


def short(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins:02d}m"


@dataclass(frozen=True)
class SlaState:
    age: dt.timedelta
    limit: dt.timedelta
    waiting: bool = False  # a query waits for the agent: the clock is stopped

    @property
    def overdue(self) -> bool:
        return not self.waiting and self.age > self.limit

    @property
    def ratio(self) -> float:
        return self.age / self.limit if self.limit else 0.0

    @property
    def left(self) -> dt.timedelta:
        return self.limit - self.age

    @property
    def label(self) -> str:
        return f"{short(self.age)} / {short(self.limit)}" + (" (waiting for the agent)" if self.waiting else "")

    @property
    def left_label(self) -> str:
        if self.waiting:
            return "paused: waiting for the agent"
        if self.overdue:
            return f"{short(-self.left)} over"
        return f"{short(self.left)} left"

    @property
    def css(self) -> str:
        if self.waiting:
            return "sla-paused"
        return "sla-overdue" if self.overdue else ("sla-warning" if self.ratio >= 0.75 else "sla-ok")


def task_sla(task: Any, now: dt.datetime | None = None) -> SlaState:
    now = now or clock.now()
    limit = dt.timedelta(hours=sla_hours(queue=task.queue, priority=task.priority))
    waiting_since = getattr(task, "waiting_since", None)
    paused = getattr(task, "sla_paused", None) or dt.timedelta(0)
    age = (waiting_since or now) - task.created_at - paused
    waiting = waiting_since is not None or getattr(task, "outcome", "") == WAITING_OUTCOME
    return SlaState(age=age, limit=limit, waiting=waiting)


def created_before_limit(now: dt.datetime) -> Q:
    """Tasks whose time since creation exceeds their queue's limit (indexed prefilter; the
    stopped-clock time is then taken off by `task_sla`, which can only make a task younger)."""
    condition = Q(pk__in=[])
    for queue in QUEUES:
        for priority in (True, False):
            limit = now - dt.timedelta(hours=sla_hours(queue=queue, priority=priority))
            condition |= Q(queue=queue, priority=priority, created_at__lt=limit)
    return condition


def overdue(queryset: QuerySet[Any], now: dt.datetime) -> QuerySet[Any]:
    """Exactly the tasks `task_sla` calls overdue, in SQL: not waiting for the agent, and
    created + stopped-clock time (`sla_paused`) before their queue's limit."""
    condition = Q(pk__in=[])
    for queue in QUEUES:
        for priority in (True, False):
            limit = now - dt.timedelta(hours=sla_hours(queue=queue, priority=priority))
            condition |= Q(queue=queue, priority=priority, sla_start__lt=limit)
    return (
        queryset.alias(sla_start=ExpressionWrapper(F("created_at") + F("sla_paused"), output_field=DateTimeField()))
        .filter(condition, waiting_since__isnull=True)
        .exclude(outcome=WAITING_OUTCOME)
    )
