from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("forodha.notifications")


@shared_task(name="notifications.fan_out", acks_late=True)
def fan_out(seqs: list[int]) -> int:
    """Hand notifications to push delivery (webhook subscriptions). Idempotent per delivery."""
    from risk.webhooks import webhook_deliveries_enqueue

    from .models import Notification

    count = 0
    for notification in Notification.objects.filter(seq__in=seqs).select_related("agent"):
        count += webhook_deliveries_enqueue(notification)
    return count
