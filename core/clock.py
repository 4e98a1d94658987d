"""The one clock domain code asks for "now".

Production: the real time. In sandbox mode (FORODHA_SANDBOX) trainers may move it with
`manage.py sandbox clock`; the offset lives in the database (ClockState) and is mirrored in the
shared cache, so every process (web and workers) follows the moved clock within
`CLOCK_LOCAL_TTL` seconds. Outside sandbox mode the offset is never read.
"""

from __future__ import annotations

import datetime as dt
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
    if setting("FORODHA_SANDBOX"):
        current += offset()
    return current


def today() -> dt.date:
    """Today's date in East Africa Time (the date that rates and deadlines use)."""
    return timezone.localtime(now()).date()
