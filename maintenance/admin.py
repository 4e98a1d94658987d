"""Officer admin for the "maintenance admin" group: windows, outages, buffered submissions, reports.

Every write goes through `services` (the forms validate with `window_validate`, which yields the
same errors as the API and the command); times are shown in East Africa Time (TIME_ZONE).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.admin import ReadOnlyAdminMixin
from core.exceptions import ApplicationError

from . import services
from .enums import OutageStatus, WindowStatus
from .models import BufferedSubmission, MaintenanceWindow, Outage, OutageReport


def _history(events: Any) -> str:
    """Events as a list in East Africa Time (read-only; written by the services only)."""
    rows = [
        format_html("<li>{} {} {} &rarr; {} by {}: {} {}</li>",
                    timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S %Z"),
                    getattr(e, "kind", ""), e.from_status or "-", e.to_status, e.actor or "system", e.reason,
                    e.payload or "")
        for e in events
    ]
    return format_html("<ul>{}</ul>", mark_safe("".join(rows)))


def _form_errors(form: forms.BaseForm, exc: ApplicationError) -> None:
    for item in exc.errors or []:
        field = item.pointer.strip("/").split("/")[0] if item.pointer else None
        target = field if field in form.fields else None
        form.add_error(target, item.detail)
    if not exc.errors:
        form.add_error(None, exc.detail)


class WindowAddForm(forms.ModelForm):
    """Scheduling happens in `clean()` through the service, so every refusal (including a race
    lost to another officer under the service's lock) shows as a form error with its field."""

    actor: Any = None  # set per request by MaintenanceWindowAdmin.get_form
    result: MaintenanceWindow | None = None

    class Meta:
        model = MaintenanceWindow
        fields = ["starts_at", "ends_at", "scope", "mode", "reason", "emergency"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.result = services.window_schedule(
                starts_at=data["starts_at"], ends_at=data["ends_at"], scope=data["scope"], mode=data["mode"],
                reason=data.get("reason", ""), emergency=bool(data.get("emergency")), actor=self.actor)
        except ApplicationError as exc:
            _form_errors(self, exc)
        return data

    def _post_clean(self) -> None:
        """No ModelForm model validation: the service owns the rules and created the instance."""


class WindowChangeForm(forms.ModelForm):
    extend_until = forms.SplitDateTimeField(required=False, widget=AdminSplitDateTime,
                                            help_text="New end (East Africa Time).")
    cancel = forms.BooleanField(required=False, help_text="Cancel the window (ends it now if active).")
    action_reason = forms.CharField(required=False, max_length=500, label="Reason for the extension/cancellation")

    actor: Any = None

    class Meta:
        model = MaintenanceWindow
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("extend_until") and data.get("cancel"):
            self.add_error("cancel", "Extend or cancel, not both.")
            return data
        try:
            if data.get("cancel"):
                services.window_cancel(window_id=self.instance.pk, reason=data.get("action_reason", ""),
                                       actor=self.actor)
            elif data.get("extend_until"):
                services.window_extend(window_id=self.instance.pk, until=data["extend_until"],
                                       reason=data.get("action_reason", ""), actor=self.actor)
        except ApplicationError as exc:
            for item in exc.errors or []:
                target = {"/ends_at": "extend_until", "/reason": "action_reason"}.get(item.pointer)
                self.add_error(target, item.detail)
            if not exc.errors:
                self.add_error(None, exc.detail)
        return data

    def _post_clean(self) -> None:
        pass


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "ends_at", "status", "scope", "mode", "emergency", "reason"]
    list_filter = ["status", "scope", "mode", "emergency"]
    search_fields = ["reason"]
    date_hierarchy = "starts_at"
    actions = ["cancel_windows"]
    readonly_fields = ["id", "status", "starts_at", "ends_at", "scope", "mode", "reason", "emergency",
                       "notice_given", "created_by", "created_at", "updated_at", "history"]

    @admin.display(description="History")
    def history(self, obj: MaintenanceWindow) -> str:
        return _history(obj.events.select_related("actor"))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = WindowChangeForm if obj is not None else WindowAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["starts_at", "ends_at", "scope", "mode", "reason", "emergency"]
        return [*self.readonly_fields, "extend_until", "cancel", "action_reason"]

    def save_model(self, request: HttpRequest, obj: MaintenanceWindow, form: Any, change: bool) -> None:
        # The form already went through the service; only hand the admin the saved row.
        created = getattr(form, "result", None)
        if created is not None:
            obj.pk = created.pk
            obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related to save here: the window's events are written by the services only."""

    @admin.action(description="Cancel the selected windows")
    def cancel_windows(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]) -> None:
        done = 0
        for window in queryset.exclude(status__in=[WindowStatus.CANCELLED, WindowStatus.COMPLETED]):
            try:
                services.window_cancel(window_id=window.pk, reason=f"Cancelled in the admin by {request.user}",
                                       actor=request.user)
                done += 1
            except ApplicationError as exc:
                messages.error(request, f"{window}: {exc.detail}")
        messages.success(request, f"{done} window(s) cancelled.")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is kept; cancel instead


class OutageAddForm(forms.ModelForm):
    class Meta:
        model = Outage
        fields = ["reason"]


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    list_display = ["started_at", "ended_at", "status", "reason", "started_by", "ended_by"]
    list_filter = ["status"]
    actions = ["end_outages"]
    readonly_fields = ["id", "status", "reason", "started_at", "ended_at", "started_by", "ended_by", "history"]

    @admin.display(description="History")
    def history(self, obj: Outage) -> str:
        return _history(obj.events.select_related("actor"))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = OutageAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["reason"] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Outage, form: Any, change: bool) -> None:
        if change:
            return
        try:
            created = services.outage_start(reason=form.cleaned_data["reason"], actor=request.user)
            obj.pk = created.pk
            obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        except ApplicationError as exc:
            messages.error(request, f"Not declared: {exc.detail}")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass

    @admin.action(description="End the selected outages (starts the replay)")
    def end_outages(self, request: HttpRequest, queryset: QuerySet[Outage]) -> None:
        for outage in queryset.filter(status=OutageStatus.ACTIVE):
            try:
                services.outage_end(outage_id=outage.pk, actor=request.user, reason="Ended in the admin")
                messages.success(request, f"{outage} ended; replay started.")
            except ApplicationError as exc:
                messages.error(request, f"{outage}: {exc.detail}")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(BufferedSubmission)
class BufferedSubmissionAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "endpoint", "priority", "status", "agent_username", "attempts", "finished_at"]
    list_filter = ["status", "priority", "endpoint"]
    search_fields = ["id", "body_sha256", "agent_username"]
    exclude = ["body"]


@admin.register(OutageReport)
class OutageReportAdmin(ReadOnlyAdmin):
    list_display = ["period_started_at", "period_ended_at", "outage", "window", "submissions", "lodged",
                    "rejected", "pending", "time_to_drain", "oldest_wait", "drained_at"]
    list_select_related = ["outage", "window"]


