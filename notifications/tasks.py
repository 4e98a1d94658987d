"""Celery entry points of notifications: the push fan-out and the webhook deliveries.

The delivery tasks keep the names they had in the `risk` app (names are stable: messages already
queued or written to the outbox refer to them by name); they run on the `webhooks` queue.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from .models import Notification
from .webhooks.services import (
    webhook_agent_busy,
    webhook_deliveries_due,
    webhook_deliveries_enqueue,
    webhook_delivery_attempt,
)

logger = logging.getLogger("forodha.notifications")

TRANSIENT_ERRORS = (DatabaseOperationalError, InterfaceError, BrokerOperationalError)


@shared_task(name="notifications.fan_out", acks_late=True)
def fan_out(seqs: list[int]) -> int:
    """Hand notifications to push delivery (webhook subscriptions). Idempotent per delivery."""
    count = 0
    for notification in Notification.objects.filter(seq__in=seqs).select_related("agent"):
        count += webhook_deliveries_enqueue(notification)
    return count


@shared_task(
    name="risk.deliver_webhook",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseOperationalError, InterfaceError),
    retry_backoff=2,
    max_retries=5,
    # One attempt is bounded by the connect + read timeouts (a few seconds); these only stop a
    # receiver that trickles its answer byte by byte.
    time_limit=40,
    soft_time_limit=30,
)
def deliver_webhook(delivery_id: str, agent_id: str | None = None) -> str:
    """One attempt at one delivery (queue `webhooks`, never the notifications fan-out's). On
    failure, or when the endpoint is backing off or the firm's in-flight slots are taken, the task
    is sent again with a countdown. One task per delivery: a slow or failing endpoint never holds
    up another; a firm whose slots are all taken costs the worker one cache read per message."""
    kwargs = {"delivery_id": delivery_id, **({"agent_id": agent_id} if agent_id else {})}
    wait = webhook_agent_busy(agent_id=agent_id) if agent_id else None
    if wait is not None:
        deliver_webhook.apply_async(kwargs=kwargs, countdown=wait)
        return "deferred"
    result = webhook_delivery_attempt(delivery_id=delivery_id)
    if result.retry_in_seconds is not None:
        deliver_webhook.apply_async(kwargs=kwargs, countdown=result.retry_in_seconds)
    return result.status


@shared_task(
    name="risk.sweep_webhooks",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    time_limit=120,
    soft_time_limit=100,
)
def sweep_webhooks() -> int:
    """Beat: re-enqueue pending deliveries whose retry message was lost."""
    due = webhook_deliveries_due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id=delivery_id)
    return len(due)
