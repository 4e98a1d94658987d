"""Per-process view of the maintenance windows and the declared outage.

The middleware must not query the database on every request. Each process keeps a `Snapshot`
(windows not cancelled that have not yet ended + the active outage) and:
- every `MAINTENANCE_CACHE_SECONDS` (default 2 s) reads one small version stamp from Django's
  cache (shared by every process: Redis, or the file cache without Redis);
- reloads from the database when the stamp changed (services bump it on commit), or at the latest
  every `MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS` (default 60 s: a lost bump or a flushed cache
  still converges), or at every check when the cache cannot be read.
If the reload fails (database away) the previous snapshot is kept.

Whether a window is active is decided from its times and `core.clock.now()` on every request, not
from the stored status, so windows start and end to the second whatever the beat task's lag.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from core import clock
from core.settings_cache import setting
from intake.breaker import breaker

from .enums import OutageStatus, WindowMode, WindowScope, WindowStatus
from .models import MaintenanceWindow, Outage

logger = logging.getLogger("forodha.maintenance")

VERSION_CACHE_KEY = "forodha:maintenance:version"


@dataclass(frozen=True)
class WindowView:  # frozen, but cached_property writes __dict__ directly
    id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    scope: str
    mode: str
    reason: str

    def active_at(self, now: dt.datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    @functools.cached_property
    def notice(self) -> str:
        """The `Forodha-Maintenance` header value (computed once per snapshot, not per request)."""
        start = timezone.localtime(self.starts_at).isoformat()
        end = timezone.localtime(self.ends_at).isoformat()
        return f"start={start}, end={end}"


@dataclass(frozen=True)
class OutageView:
    id: uuid.UUID
    started_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class Contingency:
    active: bool
    since: dt.datetime | None
    source: str | None  # "outage" | "window" | "database_unavailable"
    outage: OutageView | None
    window: WindowView | None

    @property
    def outage_id(self) -> uuid.UUID | None:
        return self.outage.id if self.outage is not None else None

    @property
    def reason(self) -> str | None:
        return self.outage.reason if self.outage else self.window.reason if self.window else None


@dataclass(frozen=True)
class Snapshot:
    windows: tuple[WindowView, ...]  # sorted by starts_at; windows never overlap
    outage: OutageView | None

    def active_window(self, now: dt.datetime) -> WindowView | None:
        for window in self.windows:
            if window.starts_at > now:
                return None
            if now < window.ends_at:
                return window
        return None

    def around(self, now: dt.datetime, horizon: dt.timedelta) -> tuple[WindowView | None, WindowView | None]:
        """(the active window, the next one if it starts within `horizon`) in one pass."""
        active = None
        for window in self.windows:
            if window.starts_at > now:
                return active, (window if window.starts_at - now <= horizon else None)
            if now < window.ends_at:
                active = window
        return active, None

    def upcoming(self, now: dt.datetime) -> list[WindowView]:
        return [w for w in self.windows if w.starts_at > now]

    def next_within(self, now: dt.datetime, horizon: dt.timedelta) -> WindowView | None:
        for window in self.windows:
            if window.starts_at > now:
                return window if window.starts_at - now <= horizon else None
        return None

    def contingency(self, now: dt.datetime) -> Contingency:
        window = self.active_window(now)
        buffer_window = window if window is not None and window.mode == WindowMode.BUFFER else None
        if self.outage is not None:
            return Contingency(True, self.outage.started_at, "outage", self.outage, buffer_window)
        if buffer_window is not None:
            return Contingency(True, buffer_window.starts_at, "window", None, buffer_window)
        return Contingency(False, None, None, None, None)

    def full_window(self, now: dt.datetime) -> WindowView | None:
        window = self.active_window(now)
        return window if window is not None and window.scope == WindowScope.FULL else None


EMPTY = Snapshot(windows=(), outage=None)


def load_snapshot(now: dt.datetime) -> Snapshot:
    rows = (MaintenanceWindow.objects
            .filter(status__in=[WindowStatus.SCHEDULED, WindowStatus.ACTIVE], ends_at__gt=now)
            .order_by("starts_at")
            .values_list("id", "starts_at", "ends_at", "scope", "mode", "reason")[:500])
    windows = tuple(WindowView(*row) for row in rows)
    outage_row = (Outage.objects.filter(status=OutageStatus.ACTIVE)
                  .values_list("id", "started_at", "reason").first())
    outage = OutageView(*outage_row) if outage_row else None
    return Snapshot(windows=windows, outage=outage)


def bump_version() -> None:
    """Tell every process to reload (called on commit by every service that changes windows)."""
    try:
        cache.set(VERSION_CACHE_KEY, uuid.uuid4().hex, None)
    except Exception:
        # The cache being away must not fail the write; processes converge within max age.
        logger.warning("could not bump the maintenance version stamp", exc_info=True)


_UNREADABLE = object()


class SnapshotStore:
    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._version: object = None
        self._checked_at = 0.0
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Reload from the database at the next request."""
        self._snapshot = None

    def prime(self, snapshot: Snapshot = EMPTY) -> None:
        """Install `snapshot` as if just loaded at the current stamp, so the next requests make no
        query (test suites that count queries; it is what a process would load from an empty table)."""
        with self._lock:
            self._snapshot = snapshot
            self._version = self._read_version()
            self._checked_at = self._loaded_at = time.monotonic()

    def get(self) -> Snapshot:
        snapshot = self._snapshot
        mono = time.monotonic()
        if snapshot is not None and mono - self._checked_at < setting("MAINTENANCE_CACHE_SECONDS"):
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and mono - self._checked_at < setting("MAINTENANCE_CACHE_SECONDS"):
                return snapshot
            version = self._read_version()
            self._checked_at = mono
            if (snapshot is None or version is _UNREADABLE or version != self._version
                    or mono - self._loaded_at >= setting("MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS")):
                reloaded = self._reload()
                if reloaded is not None:
                    snapshot = reloaded
                    self._version = version  # only on success: a failed reload is retried next check
                elif snapshot is None:
                    snapshot = self._snapshot = EMPTY
            return snapshot

    def _read_version(self) -> object:
        try:
            return cache.get(VERSION_CACHE_KEY)
        except Exception:
            return _UNREADABLE

    def _reload(self) -> Snapshot | None:
        if breaker.is_open:  # the primary is known to be away: keep the view without waiting on it
            return None
        try:
            snapshot = load_snapshot(clock.now())
        except Exception:
            logger.warning("could not reload maintenance windows; keeping the previous view", exc_info=True)
            self._version = _UNREADABLE
            return None
        self._snapshot = snapshot
        self._loaded_at = time.monotonic()
        return snapshot


# One per process: the middleware, the status endpoint and the worker deferral share it.
store = SnapshotStore()
