"""Reference data: ISO countries and currencies, UN/LOCODE locations, customs offices, code lists.

Primary keys are the natural codes (ISO alpha-2, ISO 4217, UN/LOCODE, office code, UN/ECE Rec. 21)
because every other app refers to them by code in API payloads and entry numbers.
"""

from __future__ import annotations

from django.db import models

# EAC partner states (Treaty for the Establishment of the EAC, with the 2016-2024 accessions:
# South Sudan 2016, DR Congo 2022, Somalia 2024). Goods originating here enter at 0 % duty.
EAC_PARTNER_STATES: frozenset[str] = frozenset({"KE", "UG", "TZ", "RW", "BI", "SS", "CD", "SO"})


class Country(models.Model):
    code = models.CharField(primary_key=True, max_length=2, help_text="ISO 3166-1 alpha-2")
    name = models.CharField(max_length=100)
    is_eac_partner = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "countries"
        constraints = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[A-Z]{2}$"), name="country_code_format"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Currency(models.Model):
    code = models.CharField(primary_key=True, max_length=3, help_text="ISO 4217")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[A-Z]{3}$"), name="currency_code_format"),
        ]

    def __str__(self) -> str:
        return self.code


class Location(models.Model):
    """A UN/LOCODE location (country code + 3-character location code, e.g. KEMBA)."""

    unlocode = models.CharField(primary_key=True, max_length=5)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField(max_length=120)
    is_seaport = models.BooleanField(default=False)
    is_airport = models.BooleanField(default=False)
    is_road = models.BooleanField(default=False)
    is_rail = models.BooleanField(default=False)
    is_icd = models.BooleanField(default=False)
    is_border_crossing = models.BooleanField(default=False)

    class Meta:
        ordering = ["unlocode"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unlocode__regex=r"^[A-Z]{2}[A-Z0-9]{3}$"), name="location_unlocode_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unlocode} {self.name}"


class CustomsOffice(models.Model):
    """A KRA customs office; its 3-letter code appears in entry numbers (21MBAIM012345674)."""

    class Kind(models.TextChoices):
        SEAPORT = "seaport", "Seaport"
        AIRPORT = "airport", "Airport"
        ICD = "icd", "Inland container depot"
        BORDER = "border", "Border post"
        INLAND = "inland", "Inland station"

    code = models.CharField(primary_key=True, max_length=3)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="customs_offices"
    )
    is_border_post = models.BooleanField(default=False)
    partner_country = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="For border posts: the neighbouring country.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[A-Z]{3}$"), name="office_code_format"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["seaport", "airport", "icd", "border", "inland"]),
                name="office_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PackageKind(models.Model):
    """UN/ECE Recommendation 21 kind of package (e.g. CT carton, PK package, VR bulk)."""

    code = models.CharField(primary_key=True, max_length=3)
    description = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class Unit(models.Model):
    """Unit of measure (supplementary units and specific-rate units: KGM, LTR, NAR, ...)."""

    code = models.CharField(primary_key=True, max_length=8)
    description = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"
