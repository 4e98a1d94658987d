"""Transactional outbox: enqueue Celery work atomically with the database change.

`outbox_enqueue()` must be called inside the transaction that makes the change. After commit the
message is sent at once (fast path); if the broker is unreachable it stays pending and the relay
re-sends it. While a send has just failed, this process skips the fast path for a few seconds so a
broker outage does not add a connection timeout to every request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from django.db import transaction

from . import clock
from .models import OutboxMessage

logger = logging.getLogger("forodha.outbox")

CLAIM_SECONDS = 60
_BROKER_BACKOFF_SECONDS = 5.0
_state = threading.local()
_broker_down_until = 0.0


def outbox_enqueue(*, task_name: str, kwargs: dict[str, Any]) -> OutboxMessage:
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs, created_at=clock.now())
    transaction.on_commit(lambda: dispatch_ids([message.pk]))
    return message


def _send(message_task: str, kwargs: dict[str, Any]) -> None:
    from config.celery import app

    app.send_task(message_task, kwargs=kwargs, retry=False)


def dispatch_ids(ids: list[int]) -> int:
    """Claim and send the given messages; returns how many were sent."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return 0
    now = clock.now()
    sent = 0
    for pk in ids:
        claimed = OutboxMessage.objects.filter(
            pk=pk, dispatched_at__isnull=True
        ).exclude(claimed_until__gt=now).update(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
        if not claimed:
            continue
        message = OutboxMessage.objects.only("task_name", "kwargs", "attempts").get(pk=pk)
        try:
            _send(message.task_name, message.kwargs)
        except Exception as exc:  # broker unreachable: leave it for the relay
            _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
            OutboxMessage.objects.filter(pk=pk).update(
                claimed_until=None, attempts=message.attempts + 1, last_error=repr(exc)[:500]
            )
            logger.warning("outbox: broker unavailable, %s left pending: %r", message.task_name, exc)
            return sent
        OutboxMessage.objects.filter(pk=pk).update(dispatched_at=clock.now(), attempts=message.attempts + 1)
        sent += 1
    return sent


def relay_pending(*, older_than_seconds: float = 2.0, limit: int = 1000) -> int:
    """Send pending messages (called by beat). Ignores the fast-path back-off: it is the retry."""
    global _broker_down_until
    _broker_down_until = 0.0
    cutoff = clock.now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(
        OutboxMessage.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        .order_by("pk").values_list("pk", flat=True)[:limit]
    )
    return dispatch_ids(ids)


def purge_dispatched(*, older_than_hours: int = 72) -> int:
    cutoff = clock.now() - dt.timedelta(hours=older_than_hours)
    deleted, _ = OutboxMessage.objects.filter(dispatched_at__lte=cutoff).delete()
    return deleted
