"""Celery entry points of notifications: the push fan-out and the webhook dispatcher (queue
`webhooks`). Names are explicit and stable: producers (the outbox) refer to them by name.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from .models import Notification
from .webhooks.services import DISPATCH_TASK, webhook_deliveries_enqueue, webhook_dispatch, webhook_sweep

logger = logging.getLogger("forodha.notifications")

TRANSIENT_ERRORS = (DatabaseOperationalError, InterfaceError, BrokerOperationalError)


@shared_task(name="notifications.fan_out", acks_late=True)
def fan_out(seqs: list[int]) -> int:
    """Hand notifications to push delivery (webhook subscriptions). Idempotent per delivery."""
    count = 0
    for notification in Notification.objects.filter(seq__in=seqs).select_related("agent"):
        count += webhook_deliveries_enqueue(notification)
    return count


# One dispatcher message works through due deliveries for up to WEBHOOK_DISPATCH_BUDGET_SECONDS
# plus one attempt (connect + read timeouts, seconds); the limits stop a receiver that trickles its
# answer byte by byte. Redelivery is harmless: deliveries are leased, and a lease left by a dead
# worker expires (services._lease_seconds).
DISPATCH_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseOperationalError, InterfaceError),
    "retry_backoff": 2,
    "max_retries": 5,
    "time_limit": 90,
    "soft_time_limit": 75,
}


@shared_task(name=DISPATCH_TASK, **DISPATCH_OPTIONS)
def dispatch_webhooks() -> int:
    """Deliver due webhooks, fairly across agent firms (queue `webhooks`): claim the next one
    round-robin, attempt it, repeat (services.webhook_dispatch). Returns the attempts made."""
    return webhook_dispatch()


@shared_task(name="risk.deliver_webhook", **DISPATCH_OPTIONS)
def deliver_webhook_legacy(delivery_id: str | None = None, agent_id: str | None = None) -> int:
    """The per-delivery task of the version before the dispatcher (messages or outbox rows written
    before an upgrade): the delivery is in the database, so it simply runs the dispatcher."""
    return webhook_dispatch()


@shared_task(
    name="notifications.sweep_webhooks",
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
    """Beat: wake the dispatcher for deliveries that waited unclaimed past the grace period."""
    return webhook_sweep()
