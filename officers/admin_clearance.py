"""Risk assessments and the clearance app's rows in the officer workspace, scoped to the officer's
office (registered by `officers.admin`; the scoping belongs to the officers app, which sits above
risk and clearance, README "Architecture")."""

from __future__ import annotations

from django.contrib import admin

from clearance.models import OfficerTask, PostClearanceAudit, ReleaseOrder
from core.admin import ReadOnlyAdminMixin
from risk.models import RiskAssessment

from .scoping import OfficeScopedAdminMixin


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(ReadOnlyAdminMixin, OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["declaration", "lane", "score", "priority", "aeo_applied", "scored_at", "rules_version"]
    list_filter = ["lane", "priority", "aeo_applied"]
    readonly_fields = [f.name for f in RiskAssessment._meta.fields]


@admin.register(OfficerTask)
class OfficerTaskAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["declaration", "queue", "status", "lane", "priority", "assigned_to", "created_at", "escalated_at"]
    list_filter = ["queue", "status", "lane", "priority"]
    readonly_fields = ["declaration", "created_at", "completed_at", "escalated_at"]


@admin.register(ReleaseOrder)
class ReleaseOrderAdmin(ReadOnlyAdminMixin, OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["number", "declaration", "lane", "automatic", "issued_at", "gate_out_at"]
    list_filter = ["lane", "automatic"]
    search_fields = ["number"]
    readonly_fields = [f.name for f in ReleaseOrder._meta.fields]


@admin.register(PostClearanceAudit)
class PostClearanceAuditAdmin(OfficeScopedAdminMixin, admin.ModelAdmin):
    list_display = ["declaration", "status", "created_at", "closed_at"]
    list_filter = ["status"]
