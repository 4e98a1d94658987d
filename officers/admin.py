"""Work queues as admin list views (proxy models of clearance.OfficerTask) and officer-office admin.

Lists are built for 100,000+ declarations: one joined query per page (`list_select_related`),
no full-table count (`show_full_result_count = False`), exact indexed search only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from traders.models import AEOStatus

from . import admin_clearance, admin_declarations, selectors  # noqa: F401  (their ModelAdmins register)
from .decisions import DECISIONS, Decision, decide
from .filters import TaskAeoFilter, TaskAgeFilter, TaskLaneFilter, TaskOfficeFilter, TaskStatusFilter
from .models import (
    AssignedToMeQueue,
    DocumentaryCheckQueue,
    EscalatedQueue,
    InspectionQueue,
    OfficerProfile,
    QueriedQueue,
)


def declaration_url(declaration_id: Any) -> str:
    return reverse("admin:declarations_declaration_change", args=[declaration_id])


def _bulk_action(decision: Decision) -> Callable[..., HttpResponse | None]:
    """A queue action: first an intermediate page (confirmation + reason form), then the
    decision's service for each selected task; failures are reported per declaration."""

    def action(modeladmin: QueueAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        tasks = list(queryset.select_related("declaration"))
        if "confirm" in request.POST:
            form = decision.form(request.POST)
            if form.is_valid():
                done: list[tuple[Any, str]] = []
                failed: list[tuple[Any, str]] = []
                for task in tasks:
                    outcome = decide(decision=decision, declaration=task.declaration, task=task, amendment=None,
                                     data=form.cleaned_data, actor=request.user)
                    (done if outcome.ok else failed).append((task.declaration, outcome.message))
                if done:
                    modeladmin.message_user(request, f"{decision.label}: {len(done)} declaration(s) done.",
                                            messages.SUCCESS)
                for declaration, message in failed:
                    modeladmin.message_user(request, f"{declaration.entry_number}: {message}", messages.ERROR)
                return None
        else:
            form = decision.form()
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": f"{decision.label}: confirm",
            "decision": decision,
            "form": form,
            "tasks": tasks,
            "action_name": f"decide_{decision.key}",
            "opts": modeladmin.model._meta,
            "selected": [str(t.pk) for t in tasks],
        }
        return TemplateResponse(request, "officers/bulk_decision.html", context)

    action.__name__ = f"decide_{decision.key}"
    action.short_description = f"{decision.label} (selected)"  # type: ignore[attr-defined]
    # The admin offers the action only when `has_<permission>_permission` (below) says yes.
    action.allowed_permissions = (decision.permission,)  # type: ignore[attr-defined]
    return action


def _permission_check(codename: str) -> Callable[[Any, HttpRequest], bool]:
    def check(self: Any, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(f"officers.{codename}"))

    check.__name__ = f"has_{codename}_permission"
    return check


class QueueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    queue = ""
    # Age/SLA right after the lane: what the officer reads first, never scrolled off at 1366 px.
    list_display = ("entry", "lane_badge", "sla", "office_code", "regime", "declaration_status", "trader_pin", "aeo",
                    "assigned")
    list_display_links = None
    # Only what applies to officer tasks (yellow/red; under control/queried); the office filter
    # shows for roles that span offices only.
    list_filter = (TaskLaneFilter, TaskOfficeFilter, "declaration__regime", TaskStatusFilter, TaskAgeFilter,
                   TaskAeoFilter)
    list_select_related = selectors.QUEUE_SELECT_RELATED
    show_full_result_count = False
    # Facet counts would run one COUNT per filter choice over the whole queue: never.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    ordering = ("-priority", "created_at")
    search_fields = ("declaration__entry_number",)  # shows the box; get_search_results does the work
    search_help_text = "Exact entry number, UCR, trader PIN, B/L number or container number."
    actions = [_bulk_action(d) for d in DECISIONS.values() if d.bulk]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.queue_tasks(queue=self.queue, user=request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return selectors.search_declarations(queryset, search_term, prefix="declaration__"), False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        self._now = selectors.clock.now()
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from django.shortcuts import redirect

        task = self.get_queryset(request).filter(pk=object_id).only("declaration_id").first()
        if task is None:
            raise Http404("No such task in this queue.")
        return redirect(declaration_url(task.declaration_id))

    # --- columns ---------------------------------------------------------------------------------

    @admin.display(description="entry number", ordering="declaration__entry_number")
    def entry(self, task: Any) -> str:
        star = "★ " if task.priority else ""
        return format_html('<a href="{}">{}{}</a>', declaration_url(task.declaration_id), star,
                           task.declaration.entry_number or "-")

    @admin.display(description="lane", ordering="lane")
    def lane_badge(self, task: Any) -> str:
        return format_html('<span class="lane lane-{}">{}</span>', task.lane, task.lane)

    @admin.display(description="office")
    def office_code(self, task: Any) -> str:
        return task.declaration.office_id or "-"

    @admin.display(description="regime")
    def regime(self, task: Any) -> str:
        return task.declaration.regime

    @admin.display(description="status")
    def declaration_status(self, task: Any) -> str:
        return task.declaration.get_status_display()

    @admin.display(description="trader PIN")
    def trader_pin(self, task: Any) -> str:
        return task.declaration.trader_pin

    @admin.display(description="AEO", boolean=True)
    def aeo(self, task: Any) -> bool:
        trader = task.declaration.trader
        profile = getattr(trader, "aeo", None) if trader is not None else None
        return bool(profile is not None and profile.status == AEOStatus.ACTIVE)

    @admin.display(description="assigned to")
    def assigned(self, task: Any) -> str:
        return task.assigned_to.get_username() if task.assigned_to_id else "—"

    @admin.display(description="age / SLA", ordering="created_at")
    def sla(self, task: Any) -> str:
        state = selectors.task_sla(task, getattr(self, "_now", None))
        return format_html('<span class="sla {}">{}</span>', state.css, state.label)

    class Media:
        css = {"all": ("officers/officers.css",)}


for _codename in {d.permission for d in DECISIONS.values()}:
    setattr(QueueAdmin, f"has_{_codename}_permission", _permission_check(_codename))


@admin.register(DocumentaryCheckQueue)
class DocumentaryCheckQueueAdmin(QueueAdmin):
    queue = "documentary_check"


@admin.register(InspectionQueue)
class InspectionQueueAdmin(QueueAdmin):
    queue = "inspection"


@admin.register(AssignedToMeQueue)
class AssignedToMeQueueAdmin(QueueAdmin):
    queue = "assigned_to_me"


@admin.register(EscalatedQueue)
class EscalatedQueueAdmin(QueueAdmin):
    queue = "escalated"
    ordering = ("escalated_at", "created_at")


@admin.register(QueriedQueue)
class QueriedQueueAdmin(QueueAdmin):
    queue = "queried"


@admin.register(OfficerProfile)
class OfficerProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "office", "staff_number")
    list_filter = ("office",)
    list_select_related = ("user", "office")
    search_fields = ("user__username", "staff_number")
    raw_id_fields = ("user",)
