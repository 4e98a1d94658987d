"""Officer admin for tariff data. Rates, national measures, exchange rates and lines are
editable and effective-dated (valid_from / valid_to): to change a rate, close the old row
(valid_to) and add a new one from the change date. Saves go through tariff.services so every
process's cached tariff books are invalidated."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdminMixin
from tariff.models import (
    CrspDepreciation,
    CrspEntry,
    CrspTemplate,
    DutyRate,
    ExchangeRate,
    ExemptionCertificate,
    ExemptionCertificateChange,
    ExemptionDrawdown,
    HSNode,
    NationalMeasure,
    TariffLine,
)
from tariff.services import (
    exemption_certificate_save,
    tariff_cache_invalidate,
    tariff_row_delete,
    tariff_row_save,
)


class ServiceSavedAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        tariff_row_save(instance=obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        tariff_row_delete(instance=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        for obj in queryset:
            tariff_row_delete(instance=obj, actor=request.user)
        tariff_cache_invalidate()


@admin.register(HSNode)
class HSNodeAdmin(admin.ModelAdmin):
    list_display = ("code", "level", "section", "description")
    list_filter = ("level", "section")
    search_fields = ("code", "description")
    raw_id_fields = ("parent",)


class DutyRateInline(admin.TabularInline):
    model = DutyRate
    extra = 0
    fields = (
        "kind",
        "ad_valorem_rate",
        "specific_amount",
        "specific_currency",
        "specific_unit",
        "source",
        "rate_text",
        "valid_from",
        "valid_to",
    )


@admin.register(TariffLine)
class TariffLineAdmin(ServiceSavedAdmin):
    list_display = ("code", "description", "unit", "valid_from", "valid_to")
    list_filter = ("valid_from", "valid_to")
    search_fields = ("code", "description")
    raw_id_fields = ("hs_subheading",)
    inlines = [DutyRateInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        tariff_cache_invalidate()


@admin.register(DutyRate)
class DutyRateAdmin(ServiceSavedAdmin):
    list_display = (
        "tariff_line",
        "kind",
        "ad_valorem_rate",
        "specific_amount",
        "specific_unit",
        "source",
        "valid_from",
        "valid_to",
    )
    list_filter = ("kind", "source", "valid_from")
    search_fields = ("tariff_line__code", "rate_text")
    raw_id_fields = ("tariff_line",)
    list_select_related = ("tariff_line",)


@admin.register(NationalMeasure)
class NationalMeasureAdmin(ServiceSavedAdmin):
    list_display = (
        "kind",
        "category",
        "code",
        "hs_prefix",
        "rate_kind",
        "ad_valorem_rate",
        "specific_amount",
        "specific_currency",
        "specific_unit",
        "valid_from",
        "valid_to",
    )
    list_filter = ("kind", "category", "rate_kind")
    search_fields = ("hs_prefix", "description", "code", "legal_reference")


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ServiceSavedAdmin):
    list_display = ("currency", "date", "kes_per_unit")
    list_filter = ("currency",)
    date_hierarchy = "date"
    search_fields = ("currency__code",)


class ExemptionDrawdownInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Draws on the quota: written by lodging and cancellation only, never edited here."""

    model = ExemptionDrawdown
    extra = 0
    can_delete = False
    fields = ("declaration_id", "line_no", "amount", "drawn_at", "drawn_by", "released_at", "released_by")
    readonly_fields = fields


class ExemptionCertificateChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ExemptionCertificateChange
    extra = 0
    can_delete = False
    fields = ("created_at", "actor_label", "from_status", "to_status", "changed")
    readonly_fields = fields


@admin.register(ExemptionCertificate)
class ExemptionCertificateAdmin(admin.ModelAdmin):
    """The exemptions register. `quota_used` moves only with lodgings and cancellations."""

    list_display = ("number", "holder_pin", "category", "exemption_code", "quota_kind", "quota_total", "quota_used",
                    "valid_from", "valid_to", "status")
    list_filter = ("category", "status", "quota_kind", "exemption_code")
    search_fields = ("number", "holder_pin", "holder_name", "goods_description")
    readonly_fields = ("quota_used", "created_at", "updated_at")
    inlines = [ExemptionCertificateChangeInline, ExemptionDrawdownInline]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        exemption_certificate_save(instance=obj, actor=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: drawdowns refer to it


class _ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Loaded from KRA's workbook by load_reference_data: read here, corrected at the source."""


@admin.register(CrspEntry)
class CrspEntryAdmin(_ReadOnlyAdmin):
    list_display = ("make", "model", "model_number", "engine_capacity", "fuel", "body_type", "crsp_kes", "sheet",
                    "list_date")
    list_filter = ("sheet", "list_date", "fuel")
    search_fields = ("make", "model", "model_number")


@admin.register(CrspDepreciation)
class CrspDepreciationAdmin(_ReadOnlyAdmin):
    list_display = ("basis", "label", "age_over", "age_up_to", "rate", "list_date")
    list_filter = ("basis", "list_date")


@admin.register(CrspTemplate)
class CrspTemplateAdmin(_ReadOnlyAdmin):
    list_display = ("code", "divisor", "formula", "list_date")
