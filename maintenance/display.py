"""Times and durations of the maintenance pages and commands, for people: East Africa Time, to the
second at most (no microseconds), durations as "5d 22h 00m" rather than `5 days, 22:00:00.028936`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

EAT = ZoneInfo("Africa/Nairobi")


def eat_text(value: dt.datetime | None) -> str:
    """25 Nov 2026 22:00 EAT (pages); None -> "—"."""
    if value is None:
        return "—"
    return value.astimezone(EAT).strftime("%d %b %Y %H:%M") + " EAT"


def eat_iso(value: dt.datetime | None) -> str:
    """2026-11-25T22:00:00+03:00 (commands: still ISO 8601, in East Africa Time, whole seconds)."""
    if value is None:
        return "-"
    return value.astimezone(EAT).isoformat(timespec="seconds")


def duration_text(value: dt.timedelta | None) -> str:
    """1d 2h 05m / 2h 00m / 4m 07s / 12s; None -> "—". Truncated to the second."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"
