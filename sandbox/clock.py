"""The sandbox clock: its offset from the real time, and moving it (trainers' `manage.py sandbox clock`).

`core.clock.now()` adds the installed policy's `clock_offset()`: `SandboxPolicy` answers with
`offset()` below. The offset lives in the database (`sandbox.ClockState`) and is mirrored in the
shared cache, so every process (web and workers) follows the moved clock within `CLOCK_LOCAL_TTL`
seconds. Outside sandbox mode the offset is never read.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_duration

from core import clock
from core.exceptions import ValidationFailed, error

from .exceptions import SandboxModeRequired
from .models import ClockState

CLOCK_OFFSET_CACHE_KEY = "forodha:clock:offset_seconds"
# A process re-reads the shared offset at most this often (seconds): cheap, and still "to the second".
CLOCK_LOCAL_TTL = 0.5

_local = threading.local()


def _load_offset_seconds() -> float:
    value = cache.get(CLOCK_OFFSET_CACHE_KEY)
    if value is None:
        state = ClockState.objects.filter(pk=1).only("offset_seconds").first()
        value = state.offset_seconds if state else 0.0
        cache.set(CLOCK_OFFSET_CACHE_KEY, value, timeout=None)
    return float(value)


def offset() -> dt.timedelta:
    """The trainers' offset (memoised per thread). Called by every `core.clock.now()` through
    `SandboxPolicy.clock_offset`, installed only in sandbox mode (outside it the neutral policy
    answers zero without reading it); the trainers' commands check the mode first."""
    memo = getattr(_local, "memo", None)
    mono = time.monotonic()
    if memo is None or mono - memo[0] > CLOCK_LOCAL_TTL:
        memo = (mono, _load_offset_seconds())
        _local.memo = memo
    return dt.timedelta(seconds=memo[1])


def set_offset(seconds: float, *, actor_label: str = "") -> None:
    """Persist and publish a new offset (callers check the mode)."""
    ClockState.objects.update_or_create(pk=1, defaults={"offset_seconds": seconds, "updated_by": actor_label})
    cache.set(CLOCK_OFFSET_CACHE_KEY, float(seconds), timeout=None)
    _local.memo = None

_SIMPLE_DURATION = re.compile(r"^(?P<sign>[-+]?)((?P<d>\d+)d)?((?P<h>\d+)h)?((?P<m>\d+)m)?((?P<s>\d+)s)?$")


def parse_duration_text(text: str) -> dt.timedelta:
    """`2h`, `3d`, `1d12h30m`, `-15m`, `90s` or ISO 8601 / Django durations (`P1DT2H`, `01:30:00`)."""
    match = _SIMPLE_DURATION.match(text.strip())
    if match and any(match.group(k) for k in "dhms"):
        delta = dt.timedelta(days=int(match.group("d") or 0), hours=int(match.group("h") or 0),
                             minutes=int(match.group("m") or 0), seconds=int(match.group("s") or 0))
        return -delta if match.group("sign") == "-" else delta
    parsed = parse_duration(text.strip())
    if parsed is None:
        raise ValidationFailed(errors=[error("invalid_duration", f"Not a duration: {text!r}", "--advance")])
    return parsed


def _require_sandbox() -> None:
    if not settings.FORODHA_SANDBOX:
        raise SandboxModeRequired()


def sandbox_clock_set(*, at: dt.datetime, actor_label: str) -> dt.datetime:
    _require_sandbox()
    if timezone.is_naive(at):
        raise ValidationFailed(errors=[error("naive_datetime", "Give a time with an offset, e.g. "
                                             "2024-11-18T08:00:00+03:00.", "--set")])
    set_offset((at - clock.unmoved_now()).total_seconds(), actor_label=actor_label)
    return clock.now()


def sandbox_clock_advance(*, by: dt.timedelta, actor_label: str) -> dt.datetime:
    _require_sandbox()
    set_offset((offset() + by).total_seconds(), actor_label=actor_label)
    return clock.now()


def sandbox_clock_reset(*, actor_label: str) -> dt.datetime:
    _require_sandbox()
    set_offset(0.0, actor_label=actor_label)
    return clock.now()


def parse_when(text: str) -> dt.datetime:
    parsed = parse_datetime(text.strip())
    if parsed is None:
        raise ValidationFailed(errors=[error("invalid_datetime", f"Not an ISO 8601 time: {text!r}", "--set")])
    return parsed


def offset_text(offset: dt.timedelta) -> str:
    """+2d 3h 05m / -15m / "" (real time), for people."""
    seconds = int(offset.total_seconds())
    if abs(seconds) < 60:
        return ""
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = ([f"{days}d"] if days else []) + ([f"{hours}h"] if hours or days else []) + [f"{mins:02d}m"]
    return f"{sign}{' '.join(parts)} from real time"
