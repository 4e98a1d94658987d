"""Officer admin for parties. AEO profiles change only through traders.services so every change
(status, tier, validity, benefits) leaves a history row with its actor."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdminMixin
from traders.models import AEOProfile, AEOProfileChange, AgentAuthorisation, AgentStaff, ClearingAgent, Trader
from traders.services import EDITABLE, aeo_profile_change, aeo_profile_grant


class AgentAuthorisationInline(admin.TabularInline):
    model = AgentAuthorisation
    extra = 0
    raw_id_fields = ("agent", "trader")


@admin.register(Trader)
class TraderAdmin(admin.ModelAdmin):
    list_display = (
        "pin",
        "name",
        "status",
        "on_watch_list",
        "declarations_count",
        "offences_count",
        "first_declared_at",
    )
    list_filter = ("status", "on_watch_list")
    search_fields = ("pin", "name", "email")
    readonly_fields = ("created_at",)
    inlines = [AgentAuthorisationInline]


class AgentStaffInline(admin.TabularInline):
    model = AgentStaff
    extra = 0
    raw_id_fields = ("user",)


@admin.register(ClearingAgent)
class ClearingAgentAdmin(admin.ModelAdmin):
    list_display = ("name", "licence_number", "licence_valid_from", "licence_valid_to", "on_watch_list")
    list_filter = ("on_watch_list",)
    search_fields = ("name", "licence_number")
    inlines = [AgentStaffInline, AgentAuthorisationInline]


@admin.register(AgentAuthorisation)
class AgentAuthorisationAdmin(admin.ModelAdmin):
    list_display = ("agent", "trader", "valid_from", "valid_to")
    search_fields = ("agent__name", "trader__pin", "trader__name")
    raw_id_fields = ("agent", "trader")
    list_select_related = ("agent", "trader")


@admin.register(AgentStaff)
class AgentStaffAdmin(admin.ModelAdmin):
    list_display = ("user", "agent")
    search_fields = ("user__username", "agent__name")
    raw_id_fields = ("user", "agent")


class AEOProfileChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AEOProfileChange
    extra = 0
    readonly_fields = ("created_at", "actor", "from_status", "to_status", "reason", "payload")
    fields = readonly_fields


@admin.register(AEOProfile)
class AEOProfileAdmin(admin.ModelAdmin):
    list_display = ("trader", "tier", "status", "valid_from", "valid_to", "automatic_release", "pre_arrival_clearance")
    list_filter = ("tier", "status")
    search_fields = ("trader__pin", "trader__name")
    raw_id_fields = ("trader",)
    inlines = [AEOProfileChangeInline]

    def save_model(self, request: HttpRequest, obj: AEOProfile, form: Any, change: bool) -> None:
        if not change:
            benefits = {f: getattr(obj, f) for f in EDITABLE if f not in ("tier", "valid_from", "valid_to")}
            saved = aeo_profile_grant(
                trader=obj.trader,
                tier=obj.tier,
                valid_from=obj.valid_from,
                valid_to=obj.valid_to,
                actor=request.user,
                reason="granted in admin",
                **benefits,
            )
            obj.pk = saved.pk
            return
        changes = {f: getattr(obj, f) for f in EDITABLE if f in form.changed_data}
        aeo_profile_change(
            profile_id=obj.pk, actor=request.user, reason="changed in admin", status=obj.status, **changes
        )


@admin.register(AEOProfileChange)
class AEOProfileChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("profile", "from_status", "to_status", "actor", "created_at")
    list_filter = ("to_status",)
    readonly_fields = ("profile", "actor", "from_status", "to_status", "reason", "payload", "created_at")
