"""Is the primary database reachable? A per-process circuit breaker and the detected-outage record.

Closed: requests use the primary; each connect or query failure counts, a success resets.
After `INTAKE_BREAKER_FAILURES` consecutive failures it opens: for `INTAKE_BREAKER_OPEN_SECONDS`
bufferable requests go straight to the intake store and the rest get 503 at once, without
waiting on the primary. Then it is half-open: ONE request (per process) probes the primary;
success closes it, failure opens it again for another period.

Per process and in memory on purpose: it must work with the primary AND Redis away. The
processes agree through the intake store instead: the first failure opens an `Episode` row
(one open at a time, a partial unique index) that every process's submissions join.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connections, transaction
from django.db.models import F

from core import clock
from core.settings_cache import setting

from .enums import EpisodeStatus
from .models import Episode, PrimaryCutoff
from .routers import INTAKE_ALIAS

logger = logging.getLogger("forodha.intake")

PRIMARY_ERRORS = (OperationalError, InterfaceError)
EPISODE_REASON = "The primary database could not be reached; submissions are buffered by the intake store."


@dataclass(frozen=True)
class BreakerState:
    state: str  # closed | open | half_open
    failures: int
    opened_at: float | None


class CircuitBreaker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    def reset(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False
        episodes.forget()

    def state(self) -> BreakerState:
        opened = self._opened_at
        if opened is None:
            return BreakerState("closed", self._failures, None)
        if time.monotonic() - opened < setting("INTAKE_BREAKER_OPEN_SECONDS"):
            return BreakerState("open", self._failures, opened)
        return BreakerState("half_open", self._failures, opened)

    @property
    def is_open(self) -> bool:
        """True while requests must not try the primary (open, or half-open with a probe running)."""
        opened = self._opened_at
        if opened is None:
            return False
        if time.monotonic() - opened < setting("INTAKE_BREAKER_OPEN_SECONDS"):
            return True
        with self._lock:  # half-open: the first caller becomes the probe, the others stay away
            if self._probing:
                return True
            self._probing = True
            return False

    def record_success(self) -> None:
        if self._failures or self._opened_at is not None:
            with self._lock:
                self._failures, self._opened_at, self._probing = 0, None, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._probing = False
            if self._opened_at is not None or self._failures >= setting("INTAKE_BREAKER_FAILURES"):
                self._opened_at = time.monotonic()


breaker = CircuitBreaker()


class EpisodeMemory:
    """This process's view of the open episode: touched in the intake store at most once a
    second per process (not on every buffered request), and remembered so that the first
    request after the primary returns records the outage (`seen`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[uuid.UUID, dt.datetime, float] | None = None

    @property
    def seen(self) -> bool:
        return self._current is not None

    def touch(self) -> tuple[uuid.UUID, dt.datetime]:
        mono = time.monotonic()
        current = self._current
        if current is None or mono - current[2] >= 1.0:
            with self._lock:
                episode = episode_touch()
                current = self._current = (episode.id, episode.first_failure_at, mono)
        return current[0], current[1]

    def forget(self) -> bool:
        """True for the one caller that should record the recovery."""
        with self._lock:
            had = self._current is not None
            self._current = None
            return had


episodes = EpisodeMemory()


def primary_reachable() -> bool:
    """Connect (or health-check the persistent connection) within the connect timeout."""
    conn = connections["default"]
    try:
        conn.close_if_health_check_failed()
        conn.ensure_connection()
    except PRIMARY_ERRORS:
        _drop(conn)
        return False
    return True


def _drop(conn: Any) -> None:
    with contextlib.suppress(DatabaseError):
        conn.close()


# --- episodes (intake store) ----------------------------------------------------------------------

def episode_touch(*, now: dt.datetime | None = None, detail: str = "") -> Episode:
    """Record a failure to reach the primary: the open episode, or a new one from this instant."""
    now = now or clock.now()
    with transaction.atomic(using=INTAKE_ALIAS):
        episode = Episode.objects.filter(status=EpisodeStatus.OPEN).first()
        if episode is not None:
            Episode.objects.filter(pk=episode.pk).update(last_failure_at=now, failures=F("failures") + 1)
            return episode
    try:
        with transaction.atomic(using=INTAKE_ALIAS):
            return Episode.objects.create(first_failure_at=now, last_failure_at=now, detail=detail[:500])
    except IntegrityError:  # another process opened it in between
        return Episode.objects.get(status=EpisodeStatus.OPEN)


def episode_open() -> Episode | None:
    return Episode.objects.filter(status=EpisodeStatus.OPEN).first()


def episode_close(*, episode_id: Any, now: dt.datetime) -> bool:
    """The primary answered again: close the open episode (compare-and-set; True if this call did)."""
    with transaction.atomic(using=INTAKE_ALIAS):
        return bool(Episode.objects.filter(pk=episode_id, status=EpisodeStatus.OPEN).update(
            status=EpisodeStatus.CLOSED, ended_at=now))


# --- drill cut-off (intake store) -------------------------------------------------------------------

_cutoff_cache: list[tuple[float, bool]] = []


def cutoff_active() -> bool:
    """True while a drill has cut the web processes off from the primary (read at most once a
    second per process; the intake store being away counts as no cut-off)."""
    mono = time.monotonic()
    if _cutoff_cache and mono - _cutoff_cache[0][0] < 1.0:
        return _cutoff_cache[0][1]
    try:
        active = PrimaryCutoff.objects.exists()
    except DatabaseError:
        active = False
    _cutoff_cache[:] = [(mono, active)]
    return active


def cutoff_clear_cache() -> None:
    _cutoff_cache.clear()


def primary_cutoff_set(*, reason: str) -> PrimaryCutoff:
    with transaction.atomic(using=INTAKE_ALIAS):
        row, _ = PrimaryCutoff.objects.update_or_create(pk=1, defaults={"reason": reason[:500], "since": clock.now()})
    cutoff_clear_cache()
    return row


def primary_cutoff_lift() -> bool:
    with transaction.atomic(using=INTAKE_ALIAS):
        deleted = PrimaryCutoff.objects.filter(pk=1).delete()[0]
    cutoff_clear_cache()
    return bool(deleted)
