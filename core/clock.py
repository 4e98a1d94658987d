"""The one clock domain code asks for "now".

Production: the real time. In sandbox mode (FORODHA_SANDBOX) trainers may move it with
`manage.py sandbox clock`; the offset lives in the database (ClockState) and is mirrored in the
shared cache, so every process (web and workers) follows the moved clock within
`CLOCK_LOCAL_TTL` seconds. Outside sandbox mode the offset is never read.

Tests pin the clock (`pin`): "now" starts at a fixed instant when the pin is set and then runs at
real speed, so no test depends on today's date and code that waits for time to pass still works.
The pin travels to child processes (Celery workers, gunicorn) through the `FORODHA_CLOCK_PIN`
environment variable ("<instant ISO 8601>@<real UNIX time at the pin>"), so every process of a
test agrees on the time. Production settings refuse to start with that variable set.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

from django.core.cache import cache
from django.utils import timezone

from .settings_cache import setting

CLOCK_OFFSET_CACHE_KEY = "forodha:clock:offset_seconds"
# A process re-reads the shared offset at most this often (seconds): cheap, and still "to the second".
CLOCK_LOCAL_TTL = 0.5

_local = threading.local()


def _load_offset_seconds() -> float:
    value = cache.get(CLOCK_OFFSET_CACHE_KEY)
    if value is None:
        from .models import ClockState

        state = ClockState.objects.filter(pk=1).only("offset_seconds").first()
        value = state.offset_seconds if state else 0.0
        cache.set(CLOCK_OFFSET_CACHE_KEY, value, timeout=None)
    return float(value)


_ZERO = dt.timedelta(0)
_UTC = dt.UTC
PIN_ENVIRONMENT_VARIABLE = "FORODHA_CLOCK_PIN"
# The pin as the distance from the real time to the pinned time (None: not pinned).
_pin_shift: dt.timedelta | None = None


def _parse_pin(value: str) -> dt.timedelta:
    instant_text, _, anchor_text = value.partition("@")
    instant = dt.datetime.fromisoformat(instant_text)
    if instant.tzinfo is None:
        raise ValueError(f"{PIN_ENVIRONMENT_VARIABLE} needs an instant with an offset, not {instant_text!r}")
    anchor = dt.datetime.fromtimestamp(float(anchor_text) if anchor_text else time.time(), _UTC)
    return instant - anchor


def pin(at: dt.datetime) -> str:
    """Pin the clock: `now()` is `at` from this moment and runs on at real speed. Returns (and
    exports to child processes) the environment value that pins them to the same time line."""
    global _pin_shift
    if at.tzinfo is None:
        raise ValueError("pin() needs a timezone-aware instant")
    anchor = time.time()
    value = f"{at.astimezone(_UTC).isoformat()}@{anchor!r}"
    _pin_shift = at - dt.datetime.fromtimestamp(anchor, _UTC)
    os.environ[PIN_ENVIRONMENT_VARIABLE] = value
    return value


def unpin() -> None:
    global _pin_shift
    _pin_shift = None
    os.environ.pop(PIN_ENVIRONMENT_VARIABLE, None)


def pinned() -> bool:
    return _pin_shift is not None


if os.environ.get(PIN_ENVIRONMENT_VARIABLE):
    _pin_shift = _parse_pin(os.environ[PIN_ENVIRONMENT_VARIABLE])


def unmoved_now() -> dt.datetime:
    """The time before any sandbox offset: the real time, or the pinned time line in tests."""
    current = dt.datetime.now(_UTC)
    if _pin_shift is not None:
        current += _pin_shift
    return current


def offset() -> dt.timedelta:
    if not setting("FORODHA_SANDBOX"):
        return _ZERO
    memo = getattr(_local, "memo", None)
    mono = time.monotonic()
    if memo is None or mono - memo[0] > CLOCK_LOCAL_TTL:
        memo = (mono, _load_offset_seconds())
        _local.memo = memo
    return dt.timedelta(seconds=memo[1])


def set_offset(seconds: float, *, actor_label: str = "") -> None:
    """Persist and publish a new offset (sandbox only; callers check the mode)."""
    from .models import ClockState

    ClockState.objects.update_or_create(pk=1, defaults={"offset_seconds": seconds, "updated_by": actor_label})
    cache.set(CLOCK_OFFSET_CACHE_KEY, float(seconds), timeout=None)
    _local.memo = None


def now() -> dt.datetime:
    """Timezone-aware current time (UTC), moved by the sandbox offset when one is set.

    Called on every API request (maintenance middleware): `datetime.now(UTC)` directly rather
    than `timezone.now()` (USE_TZ is always on here), and no offset arithmetic outside a sandbox.
    """
    current = dt.datetime.now(_UTC)
    if _pin_shift is not None:
        current += _pin_shift
    if setting("FORODHA_SANDBOX"):
        current += offset()
    return current


def today() -> dt.date:
    """Today's date in East Africa Time (the date that rates and deadlines use)."""
    return timezone.localtime(now()).date()
