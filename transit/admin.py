"""Officer interface (the transit workspace): the transit queue (last position, age, alerts),
alerts worked acknowledge -> investigate -> resolve with a reason, exit accepted with seals missing,
the demand on a bond, bonds and their ledger, partner messages with the delivery log, and the
simulator drill controls. Who may do what is the officers app's group table (`transit officer`,
`supervisor`, `trainer` read-only); every action parses a form, calls ONE service, reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core import clock
from core.admin import ReadOnlyAdminMixin
from core.exceptions import ApplicationError

from . import services
from .enums import LIVE_ALERT_STATUSES
from .lifecycle import EN_ROUTE, LIVE
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


class _ReadOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text="Recorded in the movement's history with your name.")


def _run(modeladmin: admin.ModelAdmin, request: HttpRequest, objects: list[Any], label: str,
         call: Callable[[Any], Any]) -> None:
    done = 0
    for obj in objects:
        try:
            call(obj)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done} done.", messages.SUCCESS)


def _reason_action(*, name: str, label: str, permission: str,
                   call: Callable[[Any, str, Any], Any]) -> Callable[..., Any]:
    """An admin action that asks for a reason on an intermediate page, then calls one service."""

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        objects = list(queryset)
        if "confirm" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                _run(modeladmin, request, objects, label, lambda obj: call(obj, reason, request.user))
                return None
        else:
            form = ReasonForm()
        return TemplateResponse(request, "transit/reason_action.html", {
            **modeladmin.admin_site.each_context(request), "title": f"{label}: give the reason", "label": label,
            "objects": objects, "form": form, "action_name": name, "opts": modeladmin.model._meta,
            "selected": [str(o.pk) for o in objects],
        })

    action.__name__ = name
    action.short_description = label  # type: ignore[attr-defined]
    action.allowed_permissions = (permission,)  # type: ignore[attr-defined]
    return action


class AlertInline(admin.TabularInline):
    model = TransitAlert
    extra = 0
    fields = ("kind", "status", "occurrences", "opened_at", "resolved_at")
    readonly_fields = fields
    can_delete = False


class LiveFilter(admin.SimpleListFilter):
    """The queue by default: live movements and any movement with a live alert."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live or with an open alert"), ("alerts", "With an open alert"), ("all", "All")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "alerts":
            return queryset.filter(live_alerts__gt=0)
        if value == "all":
            return queryset
        return queryset.filter(Q(status__in=LIVE) | Q(live_alerts__gt=0))


@admin.register(TransitMovement)
class TransitMovementAdmin(_ReadOnly):
    """The officer queue: live movements, EAC-AEO priority first, with last position and age."""

    list_display = ("declaration", "status", "priority", "destination_country", "office_of_exit", "departed_at",
                    "age", "due_at", "tracking_state", "last_position", "last_event_at", "open_alerts",
                    "exit_held_by")
    list_filter = (LiveFilter, "status", "priority", "destination_country", "office_of_exit", "tracking_state")
    search_fields = ("declaration__entry_number", "seals__seal_number", "seals__container_number")
    list_select_related = ("declaration", "office_of_exit")
    ordering = ("-priority", "departed_at")
    inlines = [AlertInline]
    actions = [
        _reason_action(name="override_exit", label="Accept exit with e-seals not reported (reason)",
                       permission="override_exit",
                       call=lambda m, reason, user: services.transit_seals_override(movement_id=m.pk, reason=reason,
                                                                                    actor=user)),
        _reason_action(name="demand_bond", label="Movement failed: demand the secured amount on the bond (reason)",
                       permission="demand_bond",
                       call=lambda m, reason, user: services.bond_demand(movement_id=m.pk, reason=reason,
                                                                         actor=user)),
    ]

    def has_override_exit_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("transit.override_exit"))

    def has_demand_bond_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("transit.demand_bond"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransitMovement]:
        return super().get_queryset(request).annotate(
            live_alerts=Count("alerts", filter=Q(alerts__status__in=LIVE_ALERT_STATUSES)))

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

    @admin.display(description="exit held by")
    def exit_held_by(self, obj: TransitMovement) -> str:
        if obj.exit_confirmed_at is None or obj.status not in EN_ROUTE:
            return "-"
        return ", ".join(services.exit_blockers(obj)) or "-"


@admin.register(TransitAlert)
class TransitAlertAdmin(_ReadOnly):
    """Alerts are worked with the actions (acknowledge, investigate, resolve with a reason); the
    record itself is never edited by hand."""

    list_display = ("kind", "status", "priority", "declaration", "occurrences", "opened_at", "assigned_to",
                    "resolved_at")
    list_filter = ("status", "kind", "priority")
    search_fields = ("declaration__entry_number",)
    list_select_related = ("declaration", "assigned_to")
    readonly_fields = ("movement", "declaration", "kind", "status", "priority", "tracking_event", "occurrences",
                       "detail", "assigned_to", "opened_at", "resolved_at", "resolution")
    actions = [
        "acknowledge_alerts",
        "investigate_alerts",
        _reason_action(name="resolve_alerts", label="Resolve (reason)", permission="work",
                       call=lambda a, reason, user: services.alert_resolve(alert_id=a.pk, resolution=reason,
                                                                           actor=user)),
    ]

    def has_work_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("transit.work_alert"))

    @admin.action(description="Acknowledge (take the alert)", permissions=["work"])
    def acknowledge_alerts(self, request: HttpRequest, queryset: QuerySet[TransitAlert]) -> None:
        _run(self, request, list(queryset), "Acknowledged",
             lambda a: services.alert_acknowledge(alert_id=a.pk, actor=request.user))

    @admin.action(description="Investigating (checks under way)", permissions=["work"])
    def investigate_alerts(self, request: HttpRequest, queryset: QuerySet[TransitAlert]) -> None:
        _run(self, request, list(queryset), "Under investigation",
             lambda a: services.alert_investigate(alert_id=a.pk, actor=request.user))


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


@admin.register(BondLedger)
class BondLedgerAdmin(_ReadOnly):
    """The bond register: every reservation, release, demand and top-up with the balance after it."""

    list_display = ("created_at", "bond", "kind", "amount", "balance_after", "movement", "reason", "actor_label")
    list_filter = ("kind",)
    search_fields = ("bond__number", "movement__declaration__entry_number")
    list_select_related = ("bond", "movement__declaration")
    ordering = ("-created_at", "-id")


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
