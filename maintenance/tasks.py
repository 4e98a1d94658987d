"""Celery entry points and the `full`-window deferral for clearance tasks."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache

from core import clock
from intake.selectors import episode_pending as intake_episode_pending

from . import selectors, services
from .provisional import release_snapshot_refresh

logger = logging.getLogger("forodha.maintenance")

F = TypeVar("F", bound=Callable[..., Any])

REPLAY_LOCK_KEY = "forodha:maintenance:replay-running"
REPLAY_LOCK_SECONDS = 3600  # = the task time limit: a crashed replay frees it


def seconds_until_window_end(now: dt.datetime | None = None) -> int | None:
    """Seconds until the active `full` window ends (None when there is none)."""
    now = now or clock.now()
    window = selectors.full_window_active(now)
    if window is None:
        return None
    return max(1, math.ceil((window.ends_at - now).total_seconds()))


def defer_if_full_window(task_fn: F) -> F:
    """Decorate a *bound* Celery task (`@shared_task(bind=True)`) so that during a `full` window it
    re-publishes itself (same id, same arguments) with `countdown` = seconds to the window's end,
    and returns without running: no failure, no retry budget spent, nothing lost (with acks_late
    the original message is acknowledged only after the re-publication succeeded).

    The countdown is capped at MAINTENANCE_DEFER_MAX_COUNTDOWN_SECONDS, below the Redis visibility
    timeout; a task that wakes inside a (possibly extended) window simply defers again.
    """

    @functools.wraps(task_fn)
    def wrapper(self: Task, *args: Any, **kwargs: Any) -> Any:
        wait = seconds_until_window_end()
        if wait is None:
            return task_fn(self, *args, **kwargs)
        countdown = min(wait, settings.MAINTENANCE_DEFER_MAX_COUNTDOWN_SECONDS)
        task_id = getattr(self.request, "id", None)
        self.apply_async(args=args, kwargs=kwargs, countdown=countdown, task_id=task_id)
        logger.info("task %s deferred %ss by a full maintenance window", self.name, countdown)
        return {"deferred": True, "countdown": countdown}

    return wrapper  # type: ignore[return-value]


@shared_task(name="maintenance.advance_windows", time_limit=60, soft_time_limit=50)
def advance_windows() -> dict[str, Any]:
    """Beat (every 15 s): record window moves made by the clock, and re-kick a replay that has
    pending work (an enqueue lost while the broker was down, a crashed replay)."""
    moved = services.windows_advance()
    # The primary answers (windows_advance just used it): record an outage the web processes
    # detected, if none of them has yet (e.g. no bufferable request came in since it returned).
    recovered = services.outage_recover_detected(actor=None) if intake_episode_pending() else []
    now = clock.now()
    pending = selectors.pending_submissions().exists()
    kicked = False
    if pending and not selectors.contingency_active(now) and cache.get(f"{REPLAY_LOCK_KEY}:0") is None:
        services.enqueue_replay()
        kicked = True
    return {"moved": [[str(w.id), moves] for w, moves in moved], "replay_kicked": kicked,
            "outages_recorded": [str(o.id) for o in recovered]}


@shared_task(name=services.REPLAY_TASK, acks_late=True, time_limit=3600, soft_time_limit=3500)
def replay_buffered_task(slot: int = 0) -> dict[str, Any]:
    """Replay buffered submissions once service is back. `CONTINGENCY_REPLAY_WORKERS` of these run
    in parallel (one per slot); any number is safe (exactly-once rows), the per-slot cache lock only
    stops a duplicate enqueue from starting a second replayer in the same slot."""
    now = clock.now()
    if selectors.contingency_active(now):
        return {"skipped": "contingency still active"}
    token = uuid.uuid4().hex
    key = f"{REPLAY_LOCK_KEY}:{slot}"
    if not cache.add(key, token, REPLAY_LOCK_SECONDS):
        return {"skipped": "replay already running"}
    try:
        # Only slot 0 gives back rows of interrupted runs: parallel starters must not keep
        # taking each other's fresh claims.
        report = services.replay_buffered(actor=None, reclaim=slot == 0)
    finally:
        if cache.get(key) == token:
            cache.delete(key)
    return {"processed": report.processed, "lodged": report.lodged, "rejected": report.rejected,
            "errored": report.errored, "remaining": report.remaining}


@shared_task(name="maintenance.refresh_release_snapshot", time_limit=120, soft_time_limit=100)
def refresh_release_snapshot_task() -> dict[str, Any]:
    """Beat (every PROVISIONAL_RELEASE_SNAPSHOT_SECONDS): copy the provisional release rules, AEO
    statuses and watch-list to the intake store, so intake decides without the primary."""
    report = release_snapshot_refresh()
    return {"rules": report.rules, "traders": report.traders, "digest": report.digest}
