"""Push notifications: agents' webhook subscriptions and the delivery log.

A delivery is one notification to one subscription; each is delivered by its own Celery task so
a slow or failing endpoint never delays another. Attempts are logged on the row (`attempts_log`).
"""

from __future__ import annotations

import uuid

from django.db import models


class WebhookSubscription(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("traders.ClearingAgent", on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(max_length=500)
    # HMAC-SHA256 key shared with the agent; shown once, at creation.
    secret = models.CharField(max_length=64)
    kinds = models.JSONField(default=list, blank=True, help_text="Notification kinds to push; empty = all.")
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "risk"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.agent_id} -> {self.url}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (attempts exhausted)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    notification_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=40)
    body = models.TextField(help_text="Exact JSON bytes sent (and signed).")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempts_log = models.JSONField(default=list, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "risk"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "delivered", "failed"]), name="webhook_delivery_status_valid"
            ),
            # A notification is delivered at most once per subscription (idempotent enqueue).
            models.UniqueConstraint(fields=["subscription", "notification_id"], name="webhook_delivery_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.subscription_id} ({self.status})"
