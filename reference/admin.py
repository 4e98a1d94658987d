from django.contrib import admin

from reference.models import Country, Currency, CustomsOffice, Location, PackageKind, Unit


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_eac_partner")
    list_filter = ("is_eac_partner",)
    search_fields = ("code", "name")


@admin.register(Currency)
class CurrencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("unlocode", "name", "country", "is_seaport", "is_airport", "is_icd", "is_border_crossing")
    list_filter = ("is_seaport", "is_airport", "is_icd", "is_border_crossing", "is_rail", "is_road")
    search_fields = ("unlocode", "name")
    list_select_related = ("country",)
    raw_id_fields = ("country",)


@admin.register(CustomsOffice)
class CustomsOfficeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "location", "is_border_post", "partner_country")
    list_filter = ("kind", "is_border_post")
    search_fields = ("code", "name")
    raw_id_fields = ("location", "partner_country")


@admin.register(PackageKind)
class PackageKindAdmin(admin.ModelAdmin):
    list_display = ("code", "description")
    search_fields = ("code", "description")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "description")
    search_fields = ("code", "description")
