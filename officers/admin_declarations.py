"""Declarations in the officer workspace (registered by `officers.admin`: the officers app sits
above declarations, README "Architecture").

Read-only everywhere: financial and risk fields are never edited here. Changes happen only
through the decision pages (`officers.views.decision_view`), each calling one service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from core.exceptions import NotFound
from declarations.apis import document_file_response
from declarations.enums import AmendmentStatus
from declarations.models import Declaration
from declarations.selectors import document_get

from . import decisions, formatting, selectors
from .filters import AeoFilter, AgeFilter, LodgedOnFilter, OfficeFilter
from .views import decision_view


@admin.register(Declaration)
class DeclarationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("entry_number", "regime", "office_id", "status", "lane", "trader_pin_column", "lodged_at",
                    "version")
    list_filter = ("status", "channel", "regime", OfficeFilter, AgeFilter, AeoFilter, LodgedOnFilter)
    list_select_related = False
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    ordering = ("-created_at",)
    search_fields = ("entry_number",)
    search_help_text = "Exact entry number, UCR, trader PIN, B/L number or container number."
    date_hierarchy = None
    actions = None
    change_form_template = "officers/declaration_change_form.html"
    readonly_fields = ("lodged", "invoice", "freight", "insurance", "late_entry_text")
    # Several fields per row: the officer reads the header at a glance, the sections below matter.
    fieldsets = (
        ("Declaration", {"fields": (
            ("entry_number", "status", "channel", "version"),
            ("regime", "cpc", "office", "transport_mode"),
            ("lodged", "local_reference", "ucr", "idf_number", "bill_of_lading_number"),
        )}),
        ("Parties", {"fields": (("agent", "trader", "importer_pin", "exporter_pin"),)}),
        ("Value (read-only)", {"fields": (
            ("currency", "invoice", "freight", "insurance"),
            ("incoterm", "exchange_rate", "payment_due_date", "late_entry_text"),
            ("country_of_export", "country_of_origin", "country_of_destination"),
        )}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.scope_declarations(super().get_queryset(request), request.user)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        return selectors.search_declarations(queryset, search_term), False

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # One joined query, cached for the request (change_view and the detail context share it).
        cache: dict[str, Any] = request.__dict__.setdefault("_officers_declarations", {})
        if object_id not in cache:
            try:
                cache[object_id] = (
                    self.get_queryset(request)
                    .select_related("office", "trader", "agent", "payment", "bill_of_lading")
                    .filter(pk=object_id)
                    .first()
                )
            except (ValidationError, ValueError):  # malformed UUID -> "does not exist"
                cache[object_id] = None
        return cache[object_id]

    @admin.display(description="lane", ordering="channel")
    def lane(self, obj: Declaration) -> str:
        if not obj.channel:
            return "—"
        return format_html('<span class="lane lane-{}">{}</span>', obj.channel, obj.channel)

    # Read like a customs system: money with thousands separators, times in East Africa Time,
    # plain Yes/No (the admin's red cross read as an error when "late entry" is simply false).
    @admin.display(description="lodged")
    def lodged(self, obj: Declaration) -> str:
        return formatting.eat(obj.lodged_at)

    @admin.display(description="invoice amount")
    def invoice(self, obj: Declaration) -> str:
        return formatting.money(obj.invoice_amount)

    @admin.display(description="freight amount")
    def freight(self, obj: Declaration) -> str:
        return formatting.money(obj.freight_amount)

    @admin.display(description="insurance amount")
    def insurance(self, obj: Declaration) -> str:
        return formatting.money(obj.insurance_amount)

    @admin.display(description="late entry")
    def late_entry_text(self, obj: Declaration) -> str:
        return formatting.yes_no(obj.late_entry)

    @admin.display(description="trader PIN")
    def trader_pin_column(self, obj: Declaration) -> str:
        return obj.trader_pin

    def get_urls(self) -> list[URLPattern]:
        def view(request: HttpRequest, object_id: str, key: str) -> HttpResponse:
            return decision_view(request, model_admin=self, object_id=object_id, key=key)

        def document(request: HttpRequest, object_id: str, document_id: str) -> HttpResponseBase:
            return self.document_view(request, object_id, document_id)

        return [
            path("<path:object_id>/decide/<slug:key>/", self.admin_site.admin_view(view),
                 name="declarations_declaration_decide"),
            path("<uuid:object_id>/documents/<uuid:document_id>/", self.admin_site.admin_view(document),
                 name="declarations_declaration_document"),
            *super().get_urls(),
        ]

    def document_view(self, request: HttpRequest, object_id: Any, document_id: Any) -> HttpResponseBase:
        """An uploaded document of a declaration the officer may see (scoped like the page), as a
        download with the same headers as the API: never rendered inline by this origin."""
        declaration = self.get_object(request, str(object_id))
        if declaration is None or not self.has_view_permission(request, declaration):
            raise Http404("No such declaration.")
        try:
            document = document_get(declaration_id=declaration.pk, document_id=document_id)
        except NotFound:
            raise Http404("No such document.") from None
        return document_file_response(document)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        declaration = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if declaration is not None and self.has_view_permission(request, declaration):
            detail = selectors.declaration_detail(declaration=declaration)
            live_task = detail.task if detail.task is not None and detail.task.status in selectors.LIVE_TASK else None
            pending = next((r for r in detail.amendment_requests if r.status == AmendmentStatus.PENDING), None)
            context.update({
                "detail": detail,
                "decisions": decisions.available(user=request.user, declaration=declaration, task=live_task,
                                                 amendment=pending),
            })
        return super().change_view(request, object_id, form_url, context)

    class Media:
        css = {"all": ("officers/officers.css",)}
