"""The one clock domain code asks for "now".

Production: the real time. The installed policy (`core.policy`) may move it by an offset: the
training sandbox's does, when trainers move its clock with `manage.py sandbox clock`
(`sandbox.clock`: the offset lives in the database, `ClockState`, and is mirrored in the shared
cache, so every process follows the moved clock within half a second). This module never asks
whether it runs in a sandbox.

Tests pin the clock (`pin`): "now" starts at a fixed instant when the pin is set and then runs at
real speed, so no test depends on today's date and code that waits for time to pass still works.
The pin travels to child processes (Celery workers, gunicorn) through the `FORODHA_CLOCK_PIN`
environment variable ("<instant ISO 8601>@<real UNIX time at the pin>"), so every process of a
test agrees on the time. Production settings refuse to start with that variable set.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.utils import timezone

from . import policy

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
    """The time before the policy's offset (the sandbox clock): the real time, or the pinned time line
    in tests."""
    current = dt.datetime.now(_UTC)
    if _pin_shift is not None:
        current += _pin_shift
    return current


def offset() -> dt.timedelta:
    """How far the installed policy moves the clock (zero in production)."""
    return policy.current().clock_offset()


def now() -> dt.datetime:
    """Timezone-aware current time (UTC), moved by the installed policy's offset when it has one.

    Called on every API request (maintenance middleware): `datetime.now(UTC)` directly rather
    than `timezone.now()` (USE_TZ is always on here), and no offset arithmetic for a zero offset.
    """
    current = dt.datetime.now(_UTC)
    if _pin_shift is not None:
        current += _pin_shift
    moved = policy.current().clock_offset()
    if moved:
        current += moved
    return current


def today() -> dt.date:
    """Today's date in East Africa Time (the date that rates and deadlines use)."""
    return timezone.localtime(now()).date()
