"""The decision page: confirmation + reason form, then one service call (see `decisions`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from clearance.models import OfficerTask
from clearance.services import officer_task_take_next
from core.exceptions import ApplicationError
from declarations.enums import AmendmentStatus
from declarations.models import AmendmentRequest

from .decisions import DECISIONS, allowed, decide, initial_for
from .selectors import LIVE_TASK


def decision_view(request: HttpRequest, *, model_admin: Any, object_id: str, key: str) -> HttpResponse:
    decision = DECISIONS.get(key)
    if decision is None:
        raise Http404("No such decision.")
    declaration = model_admin.get_object(request, object_id)
    if declaration is None:  # not found, or another office's declaration: same answer
        raise Http404("No such declaration.")
    if not model_admin.has_view_permission(request, declaration) or not allowed(decision, request.user):
        raise PermissionDenied
    task = OfficerTask.objects.filter(declaration=declaration, status__in=LIVE_TASK).first()
    amendment = AmendmentRequest.objects.filter(declaration=declaration, status=AmendmentStatus.PENDING).first()
    detail_url = reverse("admin:declarations_declaration_change", args=[declaration.pk])
    status = 200
    if not decision.applies(declaration, task, amendment):
        refusal = (f"“{decision.label}” does not apply to {declaration.entry_number} "
                   f"(status {declaration.get_status_display().lower()}).")
        if request.method != "POST":
            messages.error(request, refusal)
            return redirect(detail_url)
        # A decision posted from a page that another officer's decision has made stale is a
        # conflict, whether it lost the race on the row lock or arrived after the winner committed.
        form = decision.form(request.POST)
        form.is_valid()
        form.add_error(None, refusal)
        status = 409
    elif request.method == "POST":
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


@require_POST
def take_next_view(request: HttpRequest, *, queue: str) -> HttpResponse:
    """"Take next" on the My work page: the next open task of the queue (AEO first, then oldest,
    office-scoped) is assigned to the officer, who lands on its declaration."""
    from .selectors import TAKE_NEXT_QUEUES, WORK_QUEUES, take_next_candidates

    if queue not in TAKE_NEXT_QUEUES:
        raise Http404("No such queue.")
    model_name = next(name for key, _, name in WORK_QUEUES if key == queue)
    if not (request.user.has_perm(f"officers.view_{model_name}") and request.user.has_perm("officers.assign_task")):
        raise PermissionDenied
    try:
        task = officer_task_take_next(candidates=take_next_candidates(queue=queue, user=request.user),
                                      officer=request.user, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
        return redirect("admin:index")
    if task is None:
        messages.info(request, "Nothing waiting in this queue.")
        return redirect("admin:index")
    messages.success(request, f"{task.declaration.entry_number} assigned to you.")
    return redirect(reverse("admin:declarations_declaration_change", args=[task.declaration_id]))
