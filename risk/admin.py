"""Officer interface for risk analysts (rules, reference prices). The clearance rows (assessments,
officer tasks, release orders, post-clearance audits) are listed office-scoped by the officers app
(`officers.admin_clearance`), which sits above risk (README "Architecture")."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    ReferencePrice,
    RiskRule,
    WebhookDelivery,
    WebhookSubscription,
)


@admin.register(RiskRule)
class RiskRuleAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "description", "weight", "forced_lane", "threshold_percent", "rate", "active",
                    "valid_from", "valid_to"]
    list_editable = ["weight", "active"]
    list_filter = ["kind", "active", "forced_lane"]
    search_fields = ["code", "description", "explanation", "hs_prefixes", "countries"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(ReferencePrice)
class ReferencePriceAdmin(admin.ModelAdmin):
    list_display = ["hs_prefix", "unit", "kes_per_unit", "valid_from", "valid_to", "note"]
    list_filter = ["unit"]
    search_fields = ["hs_prefix", "note"]


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
