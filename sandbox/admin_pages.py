"""Trainer controls in the officer admin: the sandbox clock page (show it, move it forward/back,
set it to an East Africa Time instant, back to real time), the outage drill run step by step, and
trainee reports. Forms are parsed here; the work is done by the same functions as
`manage.py sandbox clock|drill|report` (sandbox.clock, sandbox.drills, sandbox.report).

Every page needs `sandbox.change_clockstate` (the trainer group's permission: a drill moves the clock)
and answers 404 outside a training sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from core import clock
from core.exceptions import ApplicationError, NotFound
from officers.formatting import EAT, eat
from officers.site import register_page
from traders.models import ClearingAgent

from . import clock as sandbox_clock
from .drills import OUTAGE, STEP_TITLES, drill_progress, drill_run
from .groups import OFFICER_GROUPS
from .models import Drill
from .report import agent_report, class_report, officer_report

PERMISSION = "sandbox.change_clockstate"


class ClockForm(forms.Form):
    action = forms.ChoiceField(choices=[("advance", "Move by"), ("set", "Set to"), ("reset", "Back to real time")],
                               widget=forms.RadioSelect, initial="advance")
    by = forms.CharField(required=False, max_length=40, help_text="e.g. 2h, 1d12h, -15m")
    # The browser's own date and time pickers; they open on the sandbox clock's date and time
    # (initial values below), not the machine's, and are read as East Africa Time whatever the
    # browser's time zone.
    at = forms.SplitDateTimeField(
        required=False, label="Date and time", input_date_formats=["%Y-%m-%d"],
        input_time_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.SplitDateTimeWidget(date_attrs={"type": "date"}, time_attrs={"type": "time"},
                                         date_format="%Y-%m-%d", time_format="%H:%M"),
        help_text="East Africa Time (UTC+3)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "advance" and not data.get("by"):
            self.add_error("by", "Say how far to move the clock, e.g. 2h.")
        if data.get("action") == "set" and not data.get("at") and "at" not in self.errors:
            self.add_error("at", "Give the time to set (East Africa Time).")
        return data


def _sandbox_now_eat() -> dt.datetime:
    """The sandbox clock as a naive East Africa wall time to the minute (what the pickers show)."""
    return timezone.localtime(clock.now(), EAT).replace(tzinfo=None, second=0, microsecond=0)


def _as_eat(value: dt.datetime) -> dt.datetime:
    """The form's time as East Africa Time: the wall time the trainer typed, whatever zone the
    form attached (it uses the active time zone, which need not be Nairobi)."""
    return value.replace(tzinfo=None).replace(tzinfo=EAT) if timezone.is_aware(value) else value.replace(tzinfo=EAT)


def _require_trainer(request: HttpRequest) -> None:
    if not settings.FORODHA_SANDBOX:
        raise Http404("Trainer pages exist only in a training sandbox.")
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def clock_view(request: HttpRequest, *, site: Any) -> HttpResponse:
    _require_trainer(request)
    actor = f"admin:{request.user.get_username()}"
    status = 200
    if request.method == "POST":
        form = ClockForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["action"] == "advance":
                    now = sandbox_clock.sandbox_clock_advance(by=sandbox_clock.parse_duration_text(data["by"]),
                                                              actor_label=actor)
                elif data["action"] == "set":
                    at = _as_eat(data["at"])
                    now = sandbox_clock.sandbox_clock_set(at=at, actor_label=actor)
                else:
                    now = sandbox_clock.sandbox_clock_reset(actor_label=actor)
            except ApplicationError as exc:
                details = "; ".join(e.detail for e in (exc.errors or []) if e.detail)
                form.add_error(None, details or str(exc.detail))
                status = 400
            else:
                messages.success(request, f"Sandbox clock now {eat(now)}.")
                return redirect("admin:sandbox_clock")
        else:
            status = 400
    else:
        form = ClockForm(initial={"at": _sandbox_now_eat()})
    context = {
        **site.each_context(request),
        "title": "Sandbox clock",
        "form": form,
        "now": eat(clock.now()),
        "offset": sandbox_clock.offset_text(clock.offset()) or "real time",
    }
    return TemplateResponse(request, "sandbox/clock.html", context, status=status)


# --- the outage drill, step by step ---------------------------------------------------------------


class DrillStepForm(forms.Form):
    step = forms.IntegerField(min_value=1, max_value=len(STEP_TITLES))


def drill_view(request: HttpRequest, *, site: Any) -> HttpResponse:
    _require_trainer(request)
    actor_label = f"admin:{request.user.get_username()}"
    status = 200
    error = ""
    if request.method == "POST":
        form = DrillStepForm(request.POST)
        if not form.is_valid():
            error, status = "Choose a step of the drill to run.", 400
        else:
            try:
                result = drill_run(step=form.cleaned_data["step"], actor_label=actor_label, actor=request.user)
            except ApplicationError as exc:
                error, status = str(exc.detail), exc.status
            else:
                messages.success(request, f"Step {result.step} ({result.title}) done at {eat(result.clock)}.")
                return redirect("admin:sandbox_drill")
    drill = Drill.objects.filter(name=OUTAGE).first()
    context = {
        **site.each_context(request),
        "title": "Outage drill",
        "drill": drill,
        "steps": drill_progress(drill) if drill is not None else [],
        "total": len(STEP_TITLES),
        "error": error,
        "now": eat(clock.now()),
        "started_at": eat(drill.started_at) if drill is not None and drill.started_at else "",
    }
    return TemplateResponse(request, "sandbox/drill.html", context, status=status)


# --- trainee reports ------------------------------------------------------------------------------


def _eat_times(value: Any, key: str = "") -> Any:
    """The report's ISO times (keys `at` and `*_at`) as East Africa Time for people."""
    if isinstance(value, dict):
        return {k: _eat_times(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_eat_times(v, key) for v in value]
    if isinstance(value, str) and (key == "at" or key.endswith("_at")):
        return eat(dt.datetime.fromisoformat(value))
    return value


def reports_view(request: HttpRequest, *, site: Any) -> HttpResponse:
    """The class: one line per agent firm, and the officer trainees (links to each report)."""
    _require_trainer(request)
    officers = list(get_user_model().objects.filter(groups__name__in=OFFICER_GROUPS, is_active=True)
                    .distinct().order_by("username").values_list("username", flat=True))
    context = {
        **site.each_context(request),
        "title": "Trainee reports",
        "firms": [(row, firm) for row, firm in zip(class_report(), _firms(), strict=True)],
        "officers": officers,
    }
    return TemplateResponse(request, "sandbox/reports.html", context)


def _firms() -> list[Any]:
    return list(ClearingAgent.objects.order_by("name"))  # the order of class_report()


def agent_report_view(request: HttpRequest, firm_id: Any, *, site: Any) -> HttpResponse:
    _require_trainer(request)
    licence = ClearingAgent.objects.filter(pk=firm_id).values_list("licence_number", flat=True).first()
    if licence is None:
        raise Http404("No such agent firm.")
    return _report_page(request, site, lambda: agent_report(agent=licence))


def officer_report_view(request: HttpRequest, username: str, *, site: Any) -> HttpResponse:
    _require_trainer(request)
    return _report_page(request, site, lambda: officer_report(username=username))


def _report_page(request: HttpRequest, site: Any, build: Callable[[], dict[str, Any]]) -> HttpResponse:
    try:
        report = build()
    except NotFound as exc:
        raise Http404(str(exc.detail)) from exc
    shown = _eat_times(report)
    who = report["agent"] if report["kind"] == "agent" else report["officer"]
    context = {
        **site.each_context(request),
        "title": f"Trainee report: {who}",
        "report": shown,
    }
    return TemplateResponse(request, "sandbox/report.html", context)


def pages_register() -> None:
    """The trainer pages on the officer site (from `SandboxConfig.ready`)."""
    register_page("sandbox/clock/", clock_view, "sandbox_clock")
    register_page("sandbox/drill/", drill_view, "sandbox_drill")
    register_page("sandbox/reports/", reports_view, "sandbox_reports")
    register_page("sandbox/reports/agent/<uuid:firm_id>/", agent_report_view, "sandbox_report_agent")
    register_page("sandbox/reports/officer/<str:username>/", officer_report_view, "sandbox_report_officer")
