"""Officer interface for manifests: B/L and container inlines, search by B/L, container, vessel, voyage.

Manifests are lodged and amended through the API (versioned, validated); the admin is for reading
and for customs staff to follow the lifecycle, so the declared content is read-only here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdminMixin
from manifests.models import (
    BillOfLading,
    Carrier,
    CarrierStaff,
    Container,
    Manifest,
    ManifestEvent,
    ManifestVersion,
    WriteOff,
)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class BillOfLadingInline(ReadOnlyInline):
    model = BillOfLading
    fields = ("number", "kind", "consignee_name", "consignee_pin", "packages", "package_kind", "gross_weight_kg",
              "packages_reserved", "packages_settled", "status")
    readonly_fields = fields


class ContainerInline(ReadOnlyInline):
    model = Container
    fields = ("number", "size_type", "seals", "packages")
    readonly_fields = fields


class ManifestEventInline(ReadOnlyInline):
    model = ManifestEvent
    fields = ("created_at", "kind", "from_status", "to_status", "bill_of_lading", "actor", "reason")
    readonly_fields = fields
    show_change_link = False


class ManifestVersionInline(ReadOnlyInline):
    model = ManifestVersion
    fields = ("version", "created_at", "actor", "reason", "changes")
    readonly_fields = fields
    show_change_link = False


@admin.register(Manifest)
class ManifestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("reference", "carrier", "mode", "vessel_name", "voyage_number", "office_of_discharge", "eta",
                    "status", "version", "late_lodging")
    list_filter = ("status", "mode", "late_lodging", "office_of_discharge")
    search_fields = ("reference", "vessel_name", "vessel_imo", "voyage_number", "flight_number",
                     "vehicle_registration", "bills_of_lading__number", "bills_of_lading__containers__number")
    date_hierarchy = "eta"
    inlines = [BillOfLadingInline, ManifestVersionInline, ManifestEventInline]
    list_select_related = ("carrier", "office_of_discharge")
    readonly_fields = [f.name for f in Manifest._meta.fields]

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False


@admin.register(BillOfLading)
class BillOfLadingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "manifest", "kind", "consignee_pin", "packages", "packages_reserved",
                    "packages_settled", "gross_weight_kg", "status")
    list_filter = ("status", "kind")
    search_fields = ("number", "master_number", "consignee_pin", "consignee_name", "containers__number",
                     "manifest__vessel_name", "manifest__voyage_number")
    inlines = [ContainerInline]
    list_select_related = ("manifest",)
    readonly_fields = [f.name for f in BillOfLading._meta.fields]


@admin.register(WriteOff)
class WriteOffAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("bill_of_lading", "declaration_id", "packages", "gross_weight_kg", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("bill_of_lading__number", "declaration_id")
    readonly_fields = [f.name for f in WriteOff._meta.fields]


class CarrierStaffInline(admin.TabularInline):
    model = CarrierStaff
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "pin", "is_active")
    search_fields = ("code", "name", "pin")
    inlines = [CarrierStaffInline]
