from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import Notification, WebhookDelivery, WebhookSubscription


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("seq", "agent", "kind", "subject", "declaration_id", "created_at")
    list_filter = ("kind",)
    search_fields = ("subject", "declaration_id")
    list_select_related = ("agent",)
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "agent", "url", "status", "consecutive_failures", "created_at"]
    list_filter = ["status"]
    exclude = ["secret"]
    # The lifecycle is changed by its services only (breaker, agent's enable), with an event row.
    readonly_fields = ["status", "consecutive_failures", "retry_not_before", "suspended_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscription", "kind", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
