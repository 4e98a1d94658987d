"""The one clock domain code asks for "now".

Production: the real time. Sandboxes (FORODHA_SANDBOX) may move it; the offset is shared by every
process (web and workers) through the cache, so timers follow the moved clock everywhere.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

CLOCK_OFFSET_CACHE_KEY = "forodha:clock:offset_seconds"


def offset() -> dt.timedelta:
    if not settings.FORODHA_SANDBOX:
        return dt.timedelta(0)
    seconds = cache.get(CLOCK_OFFSET_CACHE_KEY)
    return dt.timedelta(seconds=float(seconds)) if seconds else dt.timedelta(0)


def now() -> dt.datetime:
    """Timezone-aware current time (UTC), moved by the sandbox offset when one is set."""
    return timezone.now() + offset()


def today() -> dt.date:
    """Today's date in East Africa Time (the date that rates and deadlines use)."""
    return timezone.localtime(now()).date()
