"""Trainer controls in the officer admin: the sandbox clock page (show it, move it forward/back,
set it to an East Africa Time instant, back to real time). The form is parsed here; the moves
are the same functions as `manage.py sandbox clock` (sandbox.clock)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from core import clock
from core.exceptions import ApplicationError
from officers.formatting import EAT, eat

from . import clock as sandbox_clock

PERMISSION = "core.change_clockstate"


class ClockForm(forms.Form):
    action = forms.ChoiceField(choices=[("advance", "Move by"), ("set", "Set to"), ("reset", "Back to real time")],
                               widget=forms.RadioSelect, initial="advance")
    by = forms.CharField(required=False, max_length=40, help_text="e.g. 2h, 1d12h, -15m")
    at = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                             help_text="East Africa Time")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "advance" and not data.get("by"):
            self.add_error("by", "Say how far to move the clock, e.g. 2h.")
        if data.get("action") == "set" and not data.get("at"):
            self.add_error("at", "Give the time to set (East Africa Time).")
        return data


def clock_view(request: HttpRequest, *, site: Any) -> HttpResponse:
    if not settings.FORODHA_SANDBOX:
        raise Http404("The clock moves only in a training sandbox.")
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
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
                    at: dt.datetime = data["at"]
                    at = at.replace(tzinfo=EAT) if timezone.is_naive(at) else at
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
        form = ClockForm(initial={"at": timezone.localtime(clock.now(), EAT).replace(tzinfo=None, second=0,
                                                                                       microsecond=0)})
    context = {
        **site.each_context(request),
        "title": "Sandbox clock",
        "form": form,
        "now": eat(clock.now()),
        "offset": sandbox_clock.offset_text(clock.offset()) or "real time",
    }
    return TemplateResponse(request, "sandbox/clock.html", context, status=status)
