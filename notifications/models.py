"""Agent notifications (pull feed) and, in `notifications.webhooks.models`, the push side:
webhook subscriptions, deliveries and their events (imported at the bottom so Django registers
them with this app)."""

import uuid

from django.conf import settings
from django.db import models

from .enums import NotificationKind


class Notification(models.Model):
    """One message for one agent firm. `seq` (the pk) is the cursor of the pull feed."""

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agent = models.ForeignKey("traders.ClearingAgent", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    subject = models.CharField(max_length=300)
    payload = models.JSONField(default=dict, blank=True)
    declaration_id = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        indexes = [models.Index(fields=["agent", "seq"], name="notification_feed_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=NotificationKind.values),
                                   name="notification_kind_valid"),
        ]
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


from .webhooks.models import (  # noqa: E402
    WebhookDelivery,
    WebhookDispatchTurn,
    WebhookSubscription,
    WebhookSubscriptionEvent,
)

__all__ = ["Notification", "WebhookDelivery", "WebhookDispatchTurn", "WebhookSubscription", "WebhookSubscriptionEvent"]
