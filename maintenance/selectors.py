"""Reads for maintenance windows, outages and buffered submissions."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, QuerySet

from intake.selectors import pending_submissions as intake_pending_submissions
from traders.models import AEOProfile
from traders.selectors import aeo_in_force_q

from .enums import OutageStatus, SubmissionStatus, WindowMode, WindowScope, WindowStatus
from .models import BufferedSubmission, MaintenanceWindow, Outage

logger = logging.getLogger("forodha.maintenance")

_LIVE = [WindowStatus.SCHEDULED, WindowStatus.ACTIVE]


def window_list(*, status: str | None = None) -> QuerySet[MaintenanceWindow]:
    qs = MaintenanceWindow.objects.all().order_by("starts_at", "id")
    if status:
        qs = qs.filter(status=status)
    return qs


def active_window(now: dt.datetime) -> MaintenanceWindow | None:
    """The window in force at `now` by its times (the stored status may lag the beat task)."""
    return (MaintenanceWindow.objects.filter(status__in=_LIVE, starts_at__lte=now, ends_at__gt=now)
            .order_by("starts_at").first())


def full_window_active(now: dt.datetime) -> MaintenanceWindow | None:
    """The active `full` window, if any: clearance tasks must wait until it ends."""
    window = active_window(now)
    return window if window is not None and window.scope == WindowScope.FULL else None


def upcoming_windows(now: dt.datetime) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(status__in=_LIVE, starts_at__gt=now).order_by("starts_at")


def overlapping_windows(starts_at: dt.datetime, ends_at: dt.datetime,
                        exclude_id: Any = None) -> QuerySet[MaintenanceWindow]:
    qs = MaintenanceWindow.objects.exclude(status=WindowStatus.CANCELLED).filter(
        starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.order_by("starts_at")


def active_outage() -> Outage | None:
    return Outage.objects.filter(status=OutageStatus.ACTIVE).first()


def contingency_active(now: dt.datetime) -> bool:
    """Database view (workers, replay task): an outage is declared or a buffer window is on."""
    if Outage.objects.filter(status=OutageStatus.ACTIVE).exists():
        return True
    window = active_window(now)
    return window is not None and window.mode == WindowMode.BUFFER


def buffered_counts() -> dict[str, int]:
    counts = {status: 0 for status in SubmissionStatus.values}
    for row in BufferedSubmission.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def pending_submissions() -> QuerySet[BufferedSubmission]:
    """Buffered submissions not yet lodged or rejected (intake store)."""
    return intake_pending_submissions()


def aeo_active_pins(pins: Iterable[str], on: dt.date) -> set[str]:
    """PINs among `pins` whose trader holds an AEO profile active and valid on `on`."""
    wanted = {p for p in pins if p}
    if not wanted:
        return set()
    return set(AEOProfile.objects
               .filter(aeo_in_force_q(on), trader__pin__in=wanted)
               .values_list("trader__pin", flat=True))


def contingency_since(now: dt.datetime) -> dt.datetime | None:
    """When the contingency in force at `now` began (a declared outage or an active buffer window;
    the earliest of both), or None. Payment due dates on or after it will move when it ends, so
    nothing falling due from then on is late meanwhile (declarations: late-payment interest)."""
    starts = list(Outage.objects.filter(status=OutageStatus.ACTIVE).values_list("started_at", flat=True))
    window = active_window(now)
    if window is not None and window.mode == WindowMode.BUFFER:
        starts.append(window.starts_at)
    return min(starts) if starts else None
