"""Push notifications: agents' webhook subscriptions and the delivery log.

A delivery is one notification to one subscription. The delivery rows are the queue: a
dispatcher (`services.webhook_delivery_claim`) hands a worker the next due delivery round-robin
across agent firms (`WebhookDispatchTurn`), so one firm's backlog never sits in front of another
firm's notice. Attempts are logged on the row (`attempts_log`). A subscription is `active` or
`suspended` (circuit breaker after `WEBHOOK_BREAKER_THRESHOLD` consecutive failures; the agent
re-enables it); every change of a subscription is an append-only, hash-chained
`WebhookSubscriptionEvent` with its actor.

The tables keep the names they had when this code lived in the `risk` app (`db_table`): moving
the code to `notifications` moved no data (migrations risk 0006 / notifications 0005 change only
Django's model state, and the content types).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent


class WebhookSubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended (circuit breaker)"


class WebhookSubscription(models.Model):
    Status = WebhookSubscriptionStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("traders.ClearingAgent", on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(max_length=500)
    # HMAC-SHA256 key shared with the agent; shown once, at creation.
    secret = models.CharField(max_length=64)
    kinds = models.JSONField(default=list, blank=True, help_text="Notification kinds to push; empty = all.")
    description = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=WebhookSubscriptionStatus.choices,
                              default=WebhookSubscriptionStatus.ACTIVE)
    # Circuit breaker and per-endpoint back-off: failed attempts in a row (any delivery), and the
    # earliest time the endpoint may be tried again (no request is made to it before then).
    consecutive_failures = models.PositiveIntegerField(default=0)
    retry_not_before = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "notifications"
        db_table = "risk_webhooksubscription"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=WebhookSubscriptionStatus.values),
                                   name="webhook_subscription_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status=WebhookSubscriptionStatus.ACTIVE, suspended_at__isnull=True)
                | models.Q(status=WebhookSubscriptionStatus.SUSPENDED, suspended_at__isnull=False),
                name="webhook_subscription_suspended_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} -> {self.url}"

    @property
    def active(self) -> bool:
        return self.status == WebhookSubscriptionStatus.ACTIVE


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (attempts exhausted)"


class WebhookDelivery(models.Model):
    Status = WebhookDeliveryStatus

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
    # Lease of an attempt in progress (a worker holds it until then): counts against the firm's
    # WEBHOOK_AGENT_CONCURRENCY; a lease left by a dead worker simply expires.
    in_flight_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "notifications"
        db_table = "risk_webhookdelivery"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["in_flight_until"], name="webhook_delivery_in_flight",
                         condition=models.Q(in_flight_until__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=WebhookDeliveryStatus.values), name="webhook_delivery_status_valid"
            ),
            # A notification is delivered at most once per subscription (idempotent enqueue).
            models.UniqueConstraint(fields=["subscription", "notification_id"], name="webhook_delivery_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.subscription_id} ({self.status})"


class WebhookDispatchTurn(models.Model):
    """One row per agent firm with webhook deliveries: when the dispatcher last handed one of the
    firm's deliveries to a worker. The firm served longest ago goes first (round-robin), and the
    row is the lock that serialises claims of one firm, so its in-flight cap holds across workers."""

    agent = models.OneToOneField("traders.ClearingAgent", on_delete=models.CASCADE, primary_key=True,
                                 related_name="+")
    last_served_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "notifications"

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.last_served_at}"


class WebhookSubscriptionEvent(ChainedEvent):
    """One change of a subscription (created, suspended by the breaker, enabled, deleted) with its
    actor (None: the system). Keyed by the subscription's id, not a foreign key, so the history
    outlives a deleted subscription."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        SUSPENDED = "suspended", "Suspended"
        ENABLED = "enabled", "Enabled"
        DELETED = "deleted", "Deleted"

    chain_subject_field = "subscription_id"
    chain_hashed_fields = (
        "subscription_id", "agent_id", "actor_id", "action", "from_status", "to_status", "reason", "payload",
        "created_at",
    )

    subscription_id = models.UUIDField(db_index=True)
    agent = models.ForeignKey("traders.ClearingAgent", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    action = models.CharField(max_length=12, choices=Action.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "notifications"
        db_table = "risk_webhooksubscriptionevent"
        ordering = ["subscription_id", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(action__in=["created", "suspended", "enabled", "deleted"]),
                                   name="webhook_subscription_event_action_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}: {self.action}"
