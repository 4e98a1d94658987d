"""The decision page: confirmation + reason form, then one service call (see `decisions`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from .decisions import DECISIONS, allowed, decide, initial_for
from .selectors import LIVE_TASK


def decision_view(request: HttpRequest, *, model_admin: Any, object_id: str, key: str) -> HttpResponse:
    from declarations.models import AmendmentRequest
    from risk.models import OfficerTask

    decision = DECISIONS.get(key)
    if decision is None:
        raise Http404("No such decision.")
    declaration = model_admin.get_object(request, object_id)
    if declaration is None:  # not found, or another office's declaration: same answer
        raise Http404("No such declaration.")
    if not model_admin.has_view_permission(request, declaration) or not allowed(decision, request.user):
        raise PermissionDenied
    task = OfficerTask.objects.filter(declaration=declaration, status__in=LIVE_TASK).first()
    amendment = AmendmentRequest.objects.filter(declaration=declaration, status="pending").first()
    detail_url = reverse("admin:declarations_declaration_change", args=[declaration.pk])
    if not decision.applies(declaration, task, amendment):
        messages.error(request, f"“{decision.label}” does not apply to {declaration.entry_number} "
                                f"(status {declaration.get_status_display().lower()}).")
        return redirect(detail_url)
    status = 200
    if request.method == "POST":
        form = decision.form(request.POST)
        if form.is_valid():
            outcome = decide(decision=decision, declaration=declaration, task=task, amendment=amendment,
                             data=form.cleaned_data, actor=request.user)
            if outcome.ok:
                messages.success(request, outcome.message)
                return redirect(detail_url)
            form.add_error(None, outcome.message)
            status = outcome.error.status if outcome.error is not None else 400
        else:
            status = 400
    else:
        form = decision.form(initial=initial_for(decision, declaration))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{decision.label}: {declaration.entry_number}",
        "decision": decision,
        "form": form,
        "declaration": declaration,
        "task": task,
        "amendment": amendment,
        "opts": model_admin.model._meta,
        "detail_url": detail_url,
    }
    return TemplateResponse(request, "officers/decision.html", context, status=status)
