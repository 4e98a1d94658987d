"""Officer interface for risk analysts (rules, reference prices). Assessments and the clearance
rows are listed office-scoped by the officers app (`officers.admin_clearance`), which sits above
risk and clearance (README "Architecture"); provisional releases to reconcile: `clearance.admin`."""

from __future__ import annotations

from django.contrib import admin

from .models import ReferencePrice, RiskRule


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
