"""Transactional outbox: enqueue Celery work atomically with the database change.

`outbox_enqueue()` must be called inside the transaction that makes the change. After commit the
messages of that transaction are sent at once (fast path), batched: one claim UPDATE for all of
them, one broker producer for all sends, one UPDATE marking them dispatched (3 queries per
message before). If the broker is unreachable they stay pending and the relay re-sends them.
While a send has just failed, this process skips the fast path for a few seconds so a broker
outage does not add a connection timeout to every request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from . import celery_app, clock
from .models import OutboxMessage

logger = logging.getLogger("forodha.outbox")

CLAIM_SECONDS = 60
# Messages sent together (one transaction's, or one relay pass) are coalesced into batch tasks:
# task -> (batch task, kwarg of one message, list kwarg of the batch task). A bulk lodging (the
# contingency replay commits 20 per transaction) then costs the workers one message per 50, not
# one each (the batch task is ~20x cheaper per declaration; docs/performance.md).
COALESCE: dict[str, tuple[str, str, str]] = {
    "risk.score_declaration": ("risk.score_declarations_batch", "declaration_id", "declaration_ids"),
    "clearance.advance": ("clearance.advance_batch", "declaration_id", "declaration_ids"),
    "notifications.fan_out": ("notifications.fan_out", "seqs", "seqs"),
}
COALESCE_MAX = 50
_BROKER_BACKOFF_SECONDS = 5.0
_state = threading.local()
_broker_down_until = 0.0


def outbox_enqueue(*, task_name: str, kwargs: dict[str, Any]) -> OutboxMessage:
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs, created_at=clock.now())
    pending: list[tuple[int, str, dict[str, Any]]] | None = getattr(_state, "pending", None)
    if pending is None:
        pending = _state.pending = []
    pending.append((message.pk, task_name, kwargs))
    # One hook per message, but the first to run flushes every message of the transaction (the
    # others find nothing left). A hook discarded with a rolled-back savepoint loses nothing: a
    # later hook sends the rest. Ids of rolled-back rows (savepoint or whole transaction) stay in
    # the list until the next flush and are filtered out there: the claim UPDATE cannot match them.
    transaction.on_commit(_flush_pending)
    return message


def outbox_enqueue_many(messages: list[tuple[str, dict[str, Any]]]) -> list[OutboxMessage]:
    """`outbox_enqueue` for many messages of one transaction: one INSERT, one commit hook (the
    contingency replay writes a chunk of lodgings at once). The same rows, sent the same way."""
    if not messages:
        return []
    now = clock.now()
    created = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task_name=task_name, kwargs=kwargs, created_at=now) for task_name, kwargs in messages])
    pending: list[tuple[int, str, dict[str, Any]]] | None = getattr(_state, "pending", None)
    if pending is None:
        pending = _state.pending = []
    pending.extend((message.pk, message.task_name, message.kwargs) for message in created)
    transaction.on_commit(_flush_pending)
    return created


def _flush_pending() -> None:
    pending = getattr(_state, "pending", None)
    if not pending:
        return
    _state.pending = []
    _dispatch(pending)


def _send(message_task: str, kwargs: dict[str, Any], producer: Any = None) -> None:
    if producer is None:
        celery_app.app().send_task(message_task, kwargs=kwargs, retry=False)
    else:
        celery_app.app().send_task(message_task, kwargs=kwargs, retry=False, producer=producer)


def _claim(ids: list[int]) -> set[int]:
    """Claim the still-pending, unclaimed messages among ids; returns the ids claimed."""
    now = clock.now()
    until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    claimed = OutboxMessage.objects.filter(
        pk__in=ids, dispatched_at__isnull=True
    ).exclude(claimed_until__gt=now).update(claimed_until=until)
    if claimed == len(ids):
        return set(ids)
    if not claimed:
        return set()
    return set(OutboxMessage.objects.filter(pk__in=ids, claimed_until=until, dispatched_at__isnull=True)
               .values_list("pk", flat=True))


def _dispatch(messages: Iterable[tuple[int, str, dict[str, Any]]]) -> int:
    """Claim and send the given (id, task, kwargs) messages; returns how many were sent.
    Queries: one claim UPDATE (+ one SELECT only if some were not claimable) and one UPDATE
    marking the sent ones dispatched, whatever the number of messages."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return 0
    messages = list(messages)
    if not messages:
        return 0
    ids = _claim([pk for pk, _task, _kwargs in messages])
    todo = [m for m in messages if m[0] in ids]
    if not todo:
        return 0
    sent: list[int] = []
    failure: Exception | None = None
    try:
        with celery_app.app().producer_or_acquire() as producer:
            for pks, task_name, kwargs in _coalesce(todo):
                _send(task_name, kwargs, producer)
                sent.extend(pks)
    except Exception as exc:  # broker unreachable: leave the rest for the relay
        failure = exc
    if sent:
        OutboxMessage.objects.filter(pk__in=sent).update(dispatched_at=clock.now(), attempts=F("attempts") + 1)
    if failure is not None:
        _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
        unsent = [pk for pk, _task, _kwargs in todo if pk not in set(sent)]
        OutboxMessage.objects.filter(pk__in=unsent).update(
            claimed_until=None, attempts=F("attempts") + 1, last_error=repr(failure)[:500]
        )
        logger.warning("outbox: broker unavailable, %d message(s) left pending: %r", len(unsent), failure)
    return len(sent)


def _coalesce(messages: list[tuple[int, str, dict[str, Any]]]) -> list[tuple[list[int], str, dict[str, Any]]]:
    """(outbox ids, task, kwargs) to send: coalescible messages merged into batches of at most
    COALESCE_MAX; a lone message goes as it was written."""
    out: list[tuple[list[int], str, dict[str, Any]]] = []
    if not getattr(settings, "OUTBOX_COALESCE", True):  # off only to measure the difference
        return [([pk], task_name, kwargs) for pk, task_name, kwargs in messages]
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for pk, task_name, kwargs in messages:
        spec = COALESCE.get(task_name)
        if spec is None or set(kwargs) != {spec[1]}:
            out.append(([pk], task_name, kwargs))
        else:
            groups.setdefault(task_name, []).append((pk, kwargs))
    for task_name, group in groups.items():
        batch_task, one, many = COALESCE[task_name]
        for offset in range(0, len(group), COALESCE_MAX):
            chunk = group[offset:offset + COALESCE_MAX]
            if len(chunk) == 1:
                out.append(([chunk[0][0]], task_name, chunk[0][1]))
                continue
            values: list[Any] = []
            for _pk, kwargs in chunk:
                value = kwargs[one]
                values.extend(value) if isinstance(value, list) else values.append(value)
            out.append(([pk for pk, _kwargs in chunk], batch_task, {many: values}))
    return out


def dispatch_ids(ids: list[int]) -> int:
    """Claim and send the given messages (read from the database); returns how many were sent."""
    if not ids or time.monotonic() < _broker_down_until:
        return 0
    rows = OutboxMessage.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "task_name", "kwargs")
    return _dispatch(list(rows))


def relay_pending(*, older_than_seconds: float = 2.0, limit: int = 1000) -> int:
    """Send pending messages (called by beat). Ignores the fast-path back-off: it is the retry."""
    global _broker_down_until
    _broker_down_until = 0.0
    cutoff = clock.now() - dt.timedelta(seconds=older_than_seconds)
    rows = list(
        OutboxMessage.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        .order_by("pk").values_list("pk", "task_name", "kwargs")[:limit]
    )
    return _dispatch(rows)


def purge_dispatched(*, older_than_hours: int = 72) -> int:
    cutoff = clock.now() - dt.timedelta(hours=older_than_hours)
    deleted, _ = OutboxMessage.objects.filter(dispatched_at__lte=cutoff).delete()
    return deleted
