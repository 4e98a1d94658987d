"""Officer interface: the transit queue (last position, age, alerts), alerts, bonds and their
register, partner messages with the delivery log, and the simulator drill controls."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from core import clock

from .models import (
    BondLedger,
    PartnerDelivery,
    PartnerMessage,
    PartnerSimulatorControl,
    RegionalBond,
    TrackingEvent,
    TransitAlert,
    TransitMovement,
)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AlertInline(admin.TabularInline):
    model = TransitAlert
    extra = 0
    fields = ("kind", "status", "occurrences", "opened_at", "resolved_at")
    readonly_fields = fields
    can_delete = False


@admin.register(TransitMovement)
class TransitMovementAdmin(_ReadOnly):
    """The officer queue: live movements, EAC-AEO priority first, with last position and age."""

    list_display = ("declaration", "status", "priority", "destination_country", "office_of_exit", "departed_at",
                    "age", "due_at", "tracking_state", "last_position", "last_event_at", "open_alerts")
    list_filter = ("status", "priority", "destination_country", "office_of_exit", "tracking_state")
    search_fields = ("declaration__entry_number", "seals__seal_number", "seals__container_number")
    list_select_related = ("declaration", "office_of_exit")
    ordering = ("-priority", "departed_at")
    inlines = [AlertInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransitMovement]:
        return super().get_queryset(request).annotate(
            live_alerts=Count("alerts", filter=Q(alerts__status__in=("open", "assigned"))))

    @admin.display(description="age")
    def age(self, obj: TransitMovement) -> str:
        delta = clock.now() - (obj.departed_at or obj.lodged_at)
        hours = int(delta.total_seconds() // 3600)
        return f"{hours // 24}d {hours % 24}h"

    @admin.display(description="last position")
    def last_position(self, obj: TransitMovement) -> str:
        if obj.last_latitude is None:
            return obj.last_position_name or "-"
        return f"{obj.last_position_name or ''} ({obj.last_latitude}, {obj.last_longitude})".strip()

    @admin.display(description="open alerts", ordering="live_alerts")
    def open_alerts(self, obj: TransitMovement) -> int:
        return int(getattr(obj, "live_alerts", 0))


@admin.register(TransitAlert)
class TransitAlertAdmin(admin.ModelAdmin):
    list_display = ("kind", "status", "priority", "declaration", "occurrences", "opened_at", "assigned_to",
                    "resolved_at")
    list_filter = ("kind", "status", "priority")
    search_fields = ("declaration__entry_number",)
    readonly_fields = ("movement", "declaration", "kind", "priority", "tracking_event", "occurrences", "detail",
                       "opened_at", "resolved_at")


class LedgerInline(admin.TabularInline):
    model = BondLedger
    extra = 0
    fields = ("created_at", "kind", "amount", "balance_after", "movement", "reason", "actor_label")
    readonly_fields = fields
    can_delete = False


@admin.register(RegionalBond)
class RegionalBondAdmin(admin.ModelAdmin):
    list_display = ("number", "principal_agent", "principal_trader", "surety", "amount", "balance", "status",
                    "valid_to")
    list_filter = ("status",)
    search_fields = ("number", "principal_trader__pin", "principal_agent__name")
    readonly_fields = ("balance", "created_at")
    inlines = [LedgerInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The face value changes only through `bond_top_up` (ledger row); the number is its identity.
        return (*self.readonly_fields, "amount", "number", "principal_agent", "principal_trader") if obj else \
            self.readonly_fields

    def save_model(self, request: HttpRequest, obj: RegionalBond, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # surety, status, validity
            return
        from .services import bond_create

        bond = bond_create(number=obj.number, amount=obj.amount, surety=obj.surety, valid_from=obj.valid_from,
                           valid_to=obj.valid_to, principal_agent=obj.principal_agent,
                           principal_trader=obj.principal_trader, actor=request.user)
        obj.pk, obj.balance, obj.created_at, obj._state.adding = bond.pk, bond.balance, bond.created_at, False


@admin.register(TrackingEvent)
class TrackingEventAdmin(_ReadOnly):
    list_display = ("event_id", "kind", "occurred_at", "received_at", "seal", "location_name", "applied")
    list_filter = ("kind", "applied")
    search_fields = ("event_id", "seal__seal_number", "movement__declaration__entry_number")


class DeliveryInline(admin.TabularInline):
    model = PartnerDelivery
    extra = 0
    fields = ("attempt", "target", "started_at", "outcome", "http_status", "error")
    readonly_fields = fields
    can_delete = False


@admin.register(PartnerMessage)
class PartnerMessageAdmin(_ReadOnly):
    list_display = ("message_id", "direction", "partner", "kind", "status", "attempts", "created_at",
                    "delivered_at")
    list_filter = ("direction", "partner", "kind", "status")
    search_fields = ("message_id",)
    inlines = [DeliveryInline]


@admin.register(PartnerSimulatorControl)
class PartnerSimulatorControlAdmin(admin.ModelAdmin):
    list_display = ("partner", "mode", "delay_minutes", "note", "updated_at")
