from django.urls import path

from . import apis
from .webhooks import apis as webhook_apis

urlpatterns = [
    path("notifications", apis.NotificationFeedApi.as_view(), name="notification-feed"),
    path("webhooks", webhook_apis.WebhookListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<uuid:subscription_id>", webhook_apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path(
        "webhooks/<uuid:subscription_id>/deliveries",
        webhook_apis.WebhookDeliveriesApi.as_view(),
        name="webhook-deliveries",
    ),
    path("webhooks/<uuid:subscription_id>/enable", webhook_apis.WebhookEnableApi.as_view(), name="webhook-enable"),
]
