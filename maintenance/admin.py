"""Officer admin for the "maintenance admin" group: windows, outages, buffered submissions, reports.

Every write goes through `services` (the forms validate with `window_validate`, which yields the
same errors as the API and the command); times are shown in East Africa Time (TIME_ZONE).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core import clock
from core.admin import ReadOnlyAdminMixin
from core.exceptions import ApplicationError
from intake.models import ProvisionalRelease

from . import provisional, selectors, services
from .display import EAT, duration_text, eat_text
from .enums import OutageStatus, WindowStatus
from .models import BufferedSubmission, MaintenanceWindow, Outage, OutageReport, ProvisionalReleaseRule


def _payload_text(payload: Any) -> str:
    """An event's payload as "key: value" pairs, ISO times shown in East Africa Time."""
    if not isinstance(payload, dict) or not payload:
        return ""
    parts = []
    for key, value in payload.items():
        parsed = parse_datetime(value) if isinstance(value, str) and len(value) >= 16 else None
        shown = eat_text(parsed) if parsed is not None and parsed.tzinfo is not None else value
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "(" + "; ".join(parts) + ")"


def _history(events: Any) -> str:
    """Events as a list in East Africa Time (read-only; written by the services only)."""
    rows = [
        format_html("<li>{} — {}{} &rarr; {} by {}{}{}</li>",
                    eat_text(e.created_at), f"{e.kind}: " if getattr(e, "kind", "") else "",
                    e.from_status or "-", e.to_status, e.actor or "system",
                    f": {e.reason}" if e.reason else "", f" {_payload_text(e.payload)}" if e.payload else "")
        for e in events
    ]
    return format_html("<ul>{}</ul>", mark_safe("".join(rows)))


class EatDateTimeField(forms.SplitDateTimeField):
    """The browser's date and time pickers, read as East Africa Time (the wall time typed, whatever
    the active time zone), to the minute."""

    widget = forms.SplitDateTimeWidget(date_attrs={"type": "date"}, time_attrs={"type": "time"},
                                       date_format="%Y-%m-%d", time_format="%H:%M")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "East Africa Time (UTC+3)")
        super().__init__(input_date_formats=["%Y-%m-%d"], input_time_formats=["%H:%M", "%H:%M:%S"], **kwargs)

    def compress(self, data_list: Any) -> dt.datetime | None:
        value = super().compress(data_list)
        return value.replace(tzinfo=None).replace(tzinfo=EAT) if value is not None else None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(EAT).replace(tzinfo=None)
        return value


def _next_hour_eat(after: dt.datetime) -> dt.datetime:
    """The first whole hour (EAT) at or after `after`: what the pickers open on."""
    local = after.astimezone(EAT)
    whole = local.replace(minute=0, second=0, microsecond=0)
    return whole if whole == local else whole + dt.timedelta(hours=1)


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
    starts_at = EatDateTimeField(label="Starts")
    ends_at = EatDateTimeField(label="Ends")

    class Meta:
        model = MaintenanceWindow
        fields = ["starts_at", "ends_at", "scope", "mode", "reason", "emergency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # Open the pickers on the (sandbox) clock, not the browser's date: the first whole hour
            # after the 24 h notice, for two hours.
            notice = dt.timedelta(hours=settings.MAINTENANCE_MIN_NOTICE_HOURS)
            start = _next_hour_eat(clock.now() + notice)
            self.initial.setdefault("starts_at", start)
            self.initial.setdefault("ends_at", start + dt.timedelta(hours=2))

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
    extend_until = EatDateTimeField(required=False, help_text="New end (East Africa Time, UTC+3).")
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
    list_display = ["starts", "ends", "status", "scope", "mode", "emergency", "reason"]
    list_filter = ["status", "scope", "mode", "emergency"]
    search_fields = ["reason"]
    date_hierarchy = "starts_at"
    actions = ["cancel_windows"]
    readonly_fields = ["id", "status", "starts", "ends", "scope", "mode", "reason", "emergency",
                       "notice", "created_by", "created", "updated", "history"]

    @admin.display(description="starts (EAT)", ordering="starts_at")
    def starts(self, obj: MaintenanceWindow) -> str:
        return eat_text(obj.starts_at)

    @admin.display(description="ends (EAT)", ordering="ends_at")
    def ends(self, obj: MaintenanceWindow) -> str:
        return eat_text(obj.ends_at)

    @admin.display(description="announced")
    def notice(self, obj: MaintenanceWindow) -> str:
        return eat_text(obj.notice_given)

    @admin.display(description="created")
    def created(self, obj: MaintenanceWindow) -> str:
        return eat_text(obj.created_at)

    @admin.display(description="updated")
    def updated(self, obj: MaintenanceWindow) -> str:
        return eat_text(obj.updated_at)

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


class EndOutageForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, label="Reason (recorded and sent to agents)",
                             initial="Service restored")


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    list_display = ["started", "ended", "length", "status", "reason", "started_by", "ended_by"]
    list_filter = ["status"]
    actions = ["end_outages"]
    readonly_fields = ["id", "status", "reason", "started", "ended", "length", "started_by", "ended_by", "history"]

    @admin.display(description="started (EAT)", ordering="started_at")
    def started(self, obj: Outage) -> str:
        return eat_text(obj.started_at)

    @admin.display(description="ended (EAT)", ordering="ended_at")
    def ended(self, obj: Outage) -> str:
        return eat_text(obj.ended_at)

    @admin.display(description="length")
    def length(self, obj: Outage) -> str:
        return duration_text(obj.length(clock.now())) + ("" if obj.ended_at else " so far")

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
    def end_outages(self, request: HttpRequest, queryset: QuerySet[Outage]) -> HttpResponse | None:
        """First a confirmation page (what ends, since when, what waits to be replayed, a reason);
        the outages end only when that page is confirmed."""
        active = list(queryset.filter(status=OutageStatus.ACTIVE).select_related("started_by").order_by("started_at"))
        if not active:
            messages.warning(request, "None of the selected outages is active: nothing to end.")
            return None
        form = EndOutageForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"] or "Ended in the admin"
            for outage in active:
                try:
                    ended = services.outage_end(outage_id=outage.pk, actor=request.user, reason=reason)
                    messages.success(request, f"Outage of {eat_text(ended.started_at)} ended after "
                                              f"{duration_text(ended.length(clock.now()))}; replay started.")
                except ApplicationError as exc:
                    messages.error(request, f"{outage}: {exc.detail}")
            return None
        now = clock.now()
        context = {
            **self.admin_site.each_context(request),
            "title": "End the outage: confirm",
            "opts": self.model._meta,
            "outages": [{"outage": o, "started": eat_text(o.started_at), "length": duration_text(o.length(now))}
                        for o in active],
            "pending": selectors.buffered_counts().get("pending", 0),
            "form": form,
            "selected": [str(o.pk) for o in active],
            "action_name": "end_outages",
        }
        return TemplateResponse(request, "admin/maintenance/outage/end_confirmation.html", context)

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
    list_display = ["period_start", "period_end", "outage", "window", "submissions", "lodged",
                    "rejected", "pending", "drain", "oldest", "drained"]
    list_select_related = ["outage", "window"]

    @admin.display(description="period started (EAT)", ordering="period_started_at")
    def period_start(self, obj: OutageReport) -> str:
        return eat_text(obj.period_started_at)

    @admin.display(description="period ended (EAT)", ordering="period_ended_at")
    def period_end(self, obj: OutageReport) -> str:
        return eat_text(obj.period_ended_at)

    @admin.display(description="time to drain", ordering="time_to_drain")
    def drain(self, obj: OutageReport) -> str:
        return duration_text(obj.time_to_drain)

    @admin.display(description="oldest wait", ordering="oldest_wait")
    def oldest(self, obj: OutageReport) -> str:
        return duration_text(obj.oldest_wait)

    @admin.display(description="drained (EAT)", ordering="drained_at")
    def drained(self, obj: OutageReport) -> str:
        return eat_text(obj.drained_at)


# --- provisional release rules -------------------------------------------------------------------


class ReleaseRuleForm(forms.ModelForm):
    """Saving goes through `provisional.release_rule_save` in `clean()`: the service's refusals show
    as field errors, and every change is an event with the officer as actor."""

    hs_prefixes_text = forms.CharField(
        required=False, label="HS prefixes",
        help_text="Digits, separated by spaces or commas (e.g. '06 07 08 09' or '0902 0603'); every item of "
                  "the declaration must fall under one. Empty: any goods.")
    change_reason = forms.CharField(required=False, max_length=500, label="Reason for the change")

    actor: Any = None
    result: ProvisionalReleaseRule | None = None

    class Meta:
        model = ProvisionalReleaseRule
        fields = ["code", "name", "description", "flow", "requires_aeo", "validity_hours", "active", "position"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["hs_prefixes_text"].initial = " ".join(self.instance.hs_prefixes)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        values = {name: data[name] for name in self.Meta.fields if name in data}
        values["hs_prefixes"] = data.get("hs_prefixes_text", "")
        try:
            self.result = provisional.release_rule_save(
                rule=self.instance if self.instance.pk else None, data=values, actor=self.actor,
                reason=data.get("change_reason", ""))
        except ApplicationError as exc:
            for item in exc.errors or []:
                field = item.pointer.strip("/").split("/")[0] if item.pointer else None
                field = "hs_prefixes_text" if field == "hs_prefixes" else field
                self.add_error(field if field in self.fields else None, item.detail)
            if not exc.errors:
                self.add_error(None, exc.detail)
        return data

    def _post_clean(self) -> None:
        """The service validated and saved the rule."""


@admin.register(ProvisionalReleaseRule)
class ProvisionalReleaseRuleAdmin(admin.ModelAdmin):
    form = ReleaseRuleForm
    list_display = ["position", "code", "name", "flow", "prefixes", "requires_aeo", "validity_hours", "active",
                    "updated_at", "updated_by"]
    list_display_links = ["code"]
    list_filter = ["active", "flow", "requires_aeo"]
    readonly_fields = ["created_at", "updated_at", "updated_by", "history"]

    @admin.display(description="HS prefixes")
    def prefixes(self, obj: ProvisionalReleaseRule) -> str:
        return " ".join(obj.hs_prefixes) or "any goods"

    @admin.display(description="History")
    def history(self, obj: ProvisionalReleaseRule) -> str:
        rows = [
            format_html("<li>{} {} by {}: {}<br><small>{} &rarr; {}</small></li>",
                        eat_text(e.created_at), e.kind,
                        e.actor or "system", e.reason or "-", e.before or "{}", e.after)
            for e in obj.events.select_related("actor")
        ]
        return format_html("<ul>{}</ul>", mark_safe("".join(rows)))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        editable = ["code", "name", "description", "flow", "hs_prefixes_text", "requires_aeo", "validity_hours",
                    "active", "position", "change_reason"]
        return editable if obj is None else [*editable, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ProvisionalReleaseRule, form: Any, change: bool) -> None:
        saved = getattr(form, "result", None)
        if saved is not None:
            obj.pk = saved.pk
            obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related: events are written by the service."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: the history and the releases issued under it stay


@admin.register(ProvisionalRelease)
class ProvisionalReleaseAdmin(ReadOnlyAdmin):
    """Releases issued during contingency (intake store)."""

    list_display = ["issued_at", "trader_pin", "rule", "agent_username", "expires_at", "reconciliation",
                    "reconciled_at"]
    list_filter = ["rule", "reconciliation"]
    search_fields = ["id", "submission_id", "trader_pin"]
    exclude = ["token"]
