from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.exceptions import ApplicationError


def parse_iso(value: str, name: str) -> dt.datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"{name}: not an ISO 8601 date-time: {value!r}")
    if timezone.is_naive(parsed):
        # Operators think in East Africa Time (TIME_ZONE); an explicit offset always wins.
        parsed = timezone.make_aware(parsed)
    return parsed


def actor_for(username: str | None) -> Any:
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--actor: no user {username!r}")
    return user


def command_error(exc: ApplicationError) -> CommandError:
    lines = [f"{exc.code}: {exc.detail}"]
    lines += [f"  {item.pointer or '/'}: {item.code}: {item.detail}" for item in exc.errors]
    return CommandError("\n".join(lines))
