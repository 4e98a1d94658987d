"""Moving the sandbox clock (trainers' `manage.py sandbox clock`)."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_duration

from core import clock
from core.exceptions import ValidationFailed, error

from .exceptions import SandboxModeRequired

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
    clock.set_offset((at - clock.unmoved_now()).total_seconds(), actor_label=actor_label)
    return clock.now()


def sandbox_clock_advance(*, by: dt.timedelta, actor_label: str) -> dt.datetime:
    _require_sandbox()
    clock.set_offset((clock.offset() + by).total_seconds(), actor_label=actor_label)
    return clock.now()


def sandbox_clock_reset(*, actor_label: str) -> dt.datetime:
    _require_sandbox()
    clock.set_offset(0.0, actor_label=actor_label)
    return clock.now()


def parse_when(text: str) -> dt.datetime:
    parsed = parse_datetime(text.strip())
    if parsed is None:
        raise ValidationFailed(errors=[error("invalid_datetime", f"Not an ISO 8601 time: {text!r}", "--set")])
    return parsed
