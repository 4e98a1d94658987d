"""Celery entry points of declarations: deadline shifts after an outage, late-payment interest.

Both are idempotent (a shift resumes from its cursor and moves each declaration once; interest
months already recorded are not recorded again), so a redelivered message is harmless."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError

from .services.deadlines import deadlines_shift, deadlines_shift_pending, interest_record

RELIABLE: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseOperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
    # A shift over every unpaid declaration of a big backlog: chunks of 1,000, minutes at most.
    "time_limit": 1800,
    "soft_time_limit": 1700,
}


@shared_task(name="declarations.shift_deadlines", **RELIABLE)
def shift_deadlines(shift_id: int) -> dict[str, Any]:
    """Enqueued (outbox) when a contingency period ends: move the unpaid due dates it covers."""
    shift = deadlines_shift(shift_id=shift_id)
    return {"period": shift.period, "days": shift.days, "moved": shift.moved}


@shared_task(name="declarations.record_interest", **RELIABLE)
def record_interest() -> dict[str, int]:
    """Beat (hourly): finish any deadline shift whose message was lost, then record the months of
    late-payment interest begun since the last run."""
    shifts = deadlines_shift_pending()
    return {"shifts_finished": shifts, "interest_events": interest_record()}
