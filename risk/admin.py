"""Officer interface for risk analysts (rules, reference prices) and the clearance queues."""

from __future__ import annotations

from django.contrib import admin

from officers.scoping import OfficeScopedAdminMixin

from .models import (
    OfficerTask,
    PostClearanceAudit,
    ReferencePrice,
    ReleaseOrder,
    RiskAssessment,
    RiskRule,
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


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["declaration", "lane", "score", "priority", "aeo_applied", "scored_at", "rules_version"]
    list_filter = ["lane", "priority", "aeo_applied"]
    readonly_fields = [f.name for f in RiskAssessment._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(OfficerTask)
class OfficerTaskAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["declaration", "queue", "status", "lane", "priority", "assigned_to", "created_at", "escalated_at"]
    list_filter = ["queue", "status", "lane", "priority"]
    readonly_fields = ["declaration", "created_at", "completed_at", "escalated_at"]


@admin.register(ReleaseOrder)
class ReleaseOrderAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["number", "declaration", "lane", "automatic", "issued_at", "gate_out_at"]
    list_filter = ["lane", "automatic"]
    search_fields = ["number"]
    readonly_fields = [f.name for f in ReleaseOrder._meta.fields]


@admin.register(PostClearanceAudit)
class PostClearanceAuditAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["declaration", "status", "created_at", "closed_at"]
    list_filter = ["status"]

