"""Tariff data: HS 2022 nomenclature, EAC CET eight-digit lines and their duty rates, Kenyan national
measures (VAT, excise, IDF, RDL, EAC preference, Kenya's vehicle duty) and exchange rates.

Every rate is effective-dated: a row applies on dates `valid_from <= d` and (`valid_to` is null or
`d <= valid_to`), both inclusive. Rates change by Finance Act / Gazette notice, so an assessment
always asks for the rates in force on the declaration's registration date. Edits in the admin go
through `tariff.services`, which bump the cache version read by `tariff.selectors.tariff_book`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

DATE_RANGE_OK = models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from"))


class HSNode(models.Model):
    """One node of the HS 2022 nomenclature: chapter (2 digits), heading (4) or subheading (6)."""

    class Level(models.IntegerChoices):
        CHAPTER = 2, "Chapter"
        HEADING = 4, "Heading"
        SUBHEADING = 6, "Subheading"

    code = models.CharField(primary_key=True, max_length=6, help_text="Digits only: 87, 8703, 870323")
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    description = models.TextField()
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    section = models.CharField(max_length=5, blank=True, help_text="HS section (Roman numeral)")

    class Meta:
        ordering = ["code"]
        verbose_name = "HS node"
        constraints = [
            models.CheckConstraint(condition=models.Q(level__in=[2, 4, 6]), name="hsnode_level_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description[:60]}"


class TariffLine(models.Model):
    """An EAC CET eight-digit national tariff line, stored without dots ("87032290")."""

    code = models.CharField(max_length=8, db_index=True)
    description = models.TextField()
    unit = models.CharField(max_length=16, blank=True, help_text="Statistical unit as printed (kg, u, l, ...)")
    hs_subheading = models.ForeignKey(
        HSNode, on_delete=models.PROTECT, null=True, blank=True, related_name="tariff_lines"
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["code", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "valid_from"], name="tariffline_unique_code_from"),
            models.CheckConstraint(condition=models.Q(code__regex=r"^[0-9]{8}$"), name="tariffline_code_8_digits"),
            models.CheckConstraint(condition=DATE_RANGE_OK, name="tariffline_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.dotted_code} {self.description[:60]}"

    @property
    def dotted_code(self) -> str:
        return f"{self.code[:4]}.{self.code[4:6]}.{self.code[6:]}"


class RateKind(models.TextChoices):
    AD_VALOREM = "ad_valorem", "Ad valorem (% of base)"
    SPECIFIC = "specific", "Specific (amount per unit)"
    COMPOUND = "compound", "Compound (X % or amount per unit, whichever is higher)"


class SpecificUnit(models.TextChoices):
    KG = "kg", "per kilogram (net)"
    MT = "MT", "per metric tonne (net)"
    UNIT = "unit", "per unit (supplementary quantity)"
    LITRE = "litre", "per litre (supplementary quantity)"
    MILLE = "mille", "per 1,000 sticks (supplementary quantity)"


RATE_SHAPE_OK = (
    models.Q(kind="ad_valorem", ad_valorem_rate__isnull=False)
    | models.Q(kind="specific", specific_amount__isnull=False, specific_unit__gt="", specific_currency__gt="")
    | models.Q(
        kind="compound",
        ad_valorem_rate__isnull=False,
        specific_amount__isnull=False,
        specific_unit__gt="",
        specific_currency__gt="",
    )
)


class DutyRate(models.Model):
    """Import duty rule for a tariff line. When rows overlap, the highest-precedence source wins:
    amendment > schedule2 (sensitive items) > schedule1."""

    class Source(models.TextChoices):
        SCHEDULE1 = "schedule1", "CET Schedule 1"
        SCHEDULE2 = "schedule2", "CET Schedule 2 (sensitive items)"
        AMENDMENT = "amendment", "Gazette amendment / stay of application"

    SOURCE_PRECEDENCE = {"schedule1": 1, "schedule2": 2, "amendment": 3}

    tariff_line = models.ForeignKey(TariffLine, on_delete=models.CASCADE, related_name="duty_rates")
    kind = models.CharField(max_length=16, choices=RateKind.choices)
    ad_valorem_rate = models.DecimalField(
        max_digits=7, decimal_places=3, null=True, blank=True, help_text="Percent, e.g. 35.000"
    )
    specific_amount = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    specific_currency = models.CharField(max_length=3, blank=True)
    specific_unit = models.CharField(max_length=8, choices=SpecificUnit.choices, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.SCHEDULE1)
    rate_text = models.CharField(max_length=200, blank=True, help_text="The rate as printed in the source")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["tariff_line", "valid_from"]
        indexes = [models.Index(fields=["valid_from", "valid_to"], name="dutyrate_validity")]
        constraints = [
            models.CheckConstraint(condition=RATE_SHAPE_OK, name="dutyrate_shape_valid"),
            models.CheckConstraint(condition=DATE_RANGE_OK, name="dutyrate_dates_ordered"),
            models.UniqueConstraint(
                fields=["tariff_line", "source", "valid_from"], name="dutyrate_unique_line_source_from"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tariff_line_id} {self.kind} {self.rate_text or self.ad_valorem_rate}"


class NationalMeasure(models.Model):
    """A Kenyan national measure applied on top of the CET.

    Matching: a measure applies to an item when `hs_prefix` is a prefix of the item's 8-digit code
    (empty prefix = every code); of several measures of one kind in force, the longest prefix wins
    (so "870324" 35 % excise beats "8703" 25 %), then the latest `valid_from`. `category` selects
    variants of one kind: VAT `standard`/`exempt`/`zero_rated`; IDF/RDL `standard`/`reduced`.
    """

    class Kind(models.TextChoices):
        VAT = "vat", "VAT"
        EXCISE = "excise", "Excise duty"
        IDF = "idf", "Import Declaration Fee"
        RDL = "rdl", "Railway Development Levy"
        VEHICLE_DUTY = "vehicle_duty", "Kenya import duty override (e.g. 35 % on vehicles)"
        EAC_PREFERENCE = "eac_preference", "EAC-origin preference (import duty)"
        EXEMPTION = "exemption", "Exemption regime (code claimed on an item)"

    class Category(models.TextChoices):
        STANDARD = "standard", "Standard"
        EXEMPT = "exempt", "Exempt"
        ZERO_RATED = "zero_rated", "Zero-rated"
        REDUCED = "reduced", "Reduced"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.STANDARD)
    code = models.CharField(
        max_length=32, blank=True, help_text="Exemption code claimed on items (kind=exemption only)"
    )
    hs_prefix = models.CharField(max_length=8, blank=True, help_text="Digits only; empty = all goods")
    rate_kind = models.CharField(max_length=16, choices=RateKind.choices, default=RateKind.AD_VALOREM)
    ad_valorem_rate = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    specific_amount = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    specific_currency = models.CharField(max_length=3, blank=True)
    specific_unit = models.CharField(max_length=8, choices=SpecificUnit.choices, blank=True)
    description = models.CharField(max_length=300)
    legal_reference = models.CharField(max_length=200, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "hs_prefix", "valid_from"]
        indexes = [models.Index(fields=["kind", "valid_from"], name="natmeasure_kind_from")]
        constraints = [
            models.CheckConstraint(condition=DATE_RANGE_OK, name="natmeasure_dates_ordered"),
            models.UniqueConstraint(
                fields=["kind", "category", "code", "hs_prefix", "valid_from"], name="natmeasure_unique_key"
            ),
            models.CheckConstraint(condition=models.Q(hs_prefix__regex=r"^[0-9]{0,8}$"), name="natmeasure_prefix"),
            models.CheckConstraint(
                condition=models.Q(kind="exemption")
                | models.Q(rate_kind="ad_valorem", ad_valorem_rate__isnull=False)
                | models.Q(rate_kind="specific", specific_amount__isnull=False, specific_unit__gt="")
                | models.Q(
                    rate_kind="compound",
                    ad_valorem_rate__isnull=False,
                    specific_amount__isnull=False,
                    specific_unit__gt="",
                ),
                name="natmeasure_shape_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.category} {self.hs_prefix or '*'} from {self.valid_from}"


class ExchangeRate(models.Model):
    """KES per one unit of `currency`, fixed for customs purposes from `date`. The rate in force on
    a day is the latest row with date <= that day (see tariff.selectors.exchange_rate_get)."""

    currency = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="exchange_rates")
    date = models.DateField()
    kes_per_unit = models.DecimalField(max_digits=16, decimal_places=6)

    class Meta:
        ordering = ["currency", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="exchangerate_unique_currency_date"),
            models.CheckConstraint(condition=models.Q(kes_per_unit__gt=Decimal(0)), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency_id} {self.date} {self.kes_per_unit}"


# ------------------------------------------------------------------------------------------------
# Exemptions register


class CertificateStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"


class ExemptionCertificate(models.Model):
    """An exemption granted to one taxpayer (EACCMA Fifth Schedule; VAT Act First Schedule), kept
    by officers in the admin. An item claiming an exemption names its certificate: the claim is
    valid only for the holder, the goods in scope, the validity period and while quota is left.

    The quota is drawn down at lodging by a compare-and-set UPDATE (tariff.services
    `exemption_quota_draw`), so concurrent lodgings never over-draw it; the database constraint
    `exemptioncert_quota_within_total` is the last line of defence.
    """

    class Category(models.TextChoices):
        DIPLOMATIC = "diplomatic", "Diplomatic mission / privileged person"
        AID_NGO = "aid_ngo", "Aid agency / approved NGO"
        EPZ_SEZ = "epz_sez", "EPZ / SEZ enterprise"
        GOVERNMENT = "government", "Government ministry or agency"
        INVESTMENT = "investment", "Investment (approved project)"

    class QuotaKind(models.TextChoices):
        VALUE = "value", "Customs value (KES)"
        QUANTITY = "quantity", "Quantity (supplementary units)"

    Status = CertificateStatus

    number = models.CharField(max_length=32, unique=True, help_text="Certificate number as issued")
    holder_pin = models.CharField(max_length=11, db_index=True, help_text="KRA PIN of the holder")
    holder_name = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    exemption_code = models.CharField(
        max_length=32, help_text="The exemption regime it grants (NationalMeasure kind=exemption code)"
    )
    hs_prefixes = models.CharField(
        max_length=500, blank=True, help_text="Goods in scope: comma-separated HS prefixes (digits); empty = all"
    )
    goods_description = models.CharField(max_length=300)
    quota_kind = models.CharField(max_length=8, choices=QuotaKind.choices, default=QuotaKind.VALUE)
    quota_total = models.DecimalField(max_digits=18, decimal_places=3)
    quota_used = models.DecimalField(max_digits=18, decimal_places=3, default=Decimal(0))
    reduces_idf_rdl = models.BooleanField(
        default=False, help_text="Legal basis for the reduced IDF/RDL rates on the goods it covers"
    )
    issuing_authority = models.CharField(max_length=200)
    legal_reference = models.CharField(max_length=200, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_to__gte=models.F("valid_from")),
                                   name="exemptioncert_dates_ordered"),
            models.CheckConstraint(condition=models.Q(quota_total__gt=0), name="exemptioncert_quota_positive"),
            models.CheckConstraint(
                condition=models.Q(quota_used__gte=0, quota_used__lte=models.F("quota_total")),
                name="exemptioncert_quota_within_total",
            ),
            models.CheckConstraint(condition=models.Q(status__in=CertificateStatus.values),
                                   name="exemptioncert_status_valid"),
            models.CheckConstraint(condition=models.Q(quota_kind__in=["value", "quantity"]),
                                   name="exemptioncert_quota_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(category__in=["diplomatic", "aid_ngo", "epz_sez", "government", "investment"]),
                name="exemptioncert_category_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.category}, {self.holder_pin})"

    @property
    def quota_left(self) -> Decimal:
        return self.quota_total - self.quota_used


class ExemptionCertificateChange(models.Model):
    """Who created or changed a certificate (status, scope, quota, validity) and what changed."""

    certificate = models.ForeignKey(ExemptionCertificate, on_delete=models.PROTECT, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor_label = models.CharField(max_length=150)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    changed = models.JSONField(default=dict, blank=True, help_text="field: [old, new]")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["certificate", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.certificate_id}: {self.from_status or '-'} -> {self.to_status}"


class ExemptionDrawdown(models.Model):
    """One item's draw on a certificate's quota; `released_at` is set when the declaration is
    cancelled (or an accepted amendment changes the item's claim) and the amount given back. Actors
    are recorded on both moves."""

    certificate = models.ForeignKey(ExemptionCertificate, on_delete=models.PROTECT, related_name="drawdowns")
    declaration_id = models.UUIDField(db_index=True)
    line_no = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    drawn_at = models.DateTimeField()
    drawn_by = models.CharField(max_length=150)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["certificate", "drawn_at"]
        constraints = [
            # One live draw per item; an amendment releases an item's draw and draws it anew, so
            # released rows (the history) may repeat the same item.
            models.UniqueConstraint(fields=["declaration_id", "line_no"], condition=models.Q(released_at__isnull=True),
                                    name="exemptiondraw_unique_live_item"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="exemptiondraw_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} {self.declaration_id}#{self.line_no} {self.amount}"


# ------------------------------------------------------------------------------------------------
# KRA Current Retail Selling Prices (CRSP) for motor vehicles and KRA's depreciation schedule


class CrspEntry(models.Model):
    """One row of KRA's CRSP list (loaded from the workbook in reference data; see
    tariff/data/PROVENANCE.md). `crsp_kes` is the current retail selling price of a new vehicle."""

    class Sheet(models.TextChoices):
        MOTOR_VEHICLE = "motor_vehicle", "Motor vehicles"
        MOTOR_CYCLE = "motor_cycle", "Motor cycles"

    list_date = models.DateField(help_text="Date of the published list (e.g. 2025-07-01)")
    sheet = models.CharField(max_length=16, choices=Sheet.choices)
    row_no = models.PositiveIntegerField(help_text="Row in the published sheet (natural key with the sheet)")
    make = models.CharField(max_length=60, db_index=True)
    model = models.CharField(max_length=120)
    model_number = models.CharField(max_length=60, blank=True)
    transmission = models.CharField(max_length=20, blank=True)
    drive = models.CharField(max_length=20, blank=True)
    engine_capacity = models.CharField(max_length=30, blank=True, help_text="As printed: cc, or kWh for electric")
    body_type = models.CharField(max_length=40, blank=True)
    fuel = models.CharField(max_length=20, blank=True)
    crsp_kes = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["make", "model", "row_no"]
        indexes = [models.Index(fields=["make", "model"], name="crsp_make_model")]
        constraints = [
            models.UniqueConstraint(fields=["list_date", "sheet", "row_no"], name="crsp_unique_row"),
            models.CheckConstraint(condition=models.Q(crsp_kes__gt=0), name="crsp_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.make} {self.model} {self.model_number} KES {self.crsp_kes}"


class CrspDepreciation(models.Model):
    """KRA's depreciation for a vehicle's age in years (workbook sheet "TEMPLATE 2025"):
    applies when `age_over < age <= age_up_to` (open-ended when `age_up_to` is empty)."""

    class Basis(models.TextChoices):
        DIRECT_IMPORT = "direct_import", "Direct import to Kenya"
        PREVIOUSLY_REGISTERED = "previously_registered", "Previously registered in Kenya"

    list_date = models.DateField()
    basis = models.CharField(max_length=24, choices=Basis.choices)
    age_over = models.PositiveSmallIntegerField()
    age_up_to = models.PositiveSmallIntegerField(null=True, blank=True)
    rate = models.DecimalField(max_digits=5, decimal_places=4, help_text="Fraction, e.g. 0.3000")
    label = models.CharField(max_length=40, help_text="As printed, e.g. '>2 <=3 years'")

    class Meta:
        ordering = ["list_date", "basis", "age_over"]
        constraints = [
            models.UniqueConstraint(fields=["list_date", "basis", "age_over"], name="crspdep_unique"),
            models.CheckConstraint(condition=models.Q(rate__gte=0, rate__lt=1), name="crspdep_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.basis} {self.label}: {self.rate}"


class CrspTemplate(models.Model):
    """One of KRA's tabulations ("TEMPLATE 2025"): customs value = CRSP x (1 - depreciation) /
    `divisor`, where the divisor is the product of the factors in KRA's customs-value formula
    (dealer margin 1.25 x duty x excise x VAT), parsed from the workbook, not retyped."""

    list_date = models.DateField()
    code = models.CharField(max_length=16, help_text="up_to_1500cc / over_1500cc / large_engine / electric")
    title = models.TextField()
    formula = models.CharField(max_length=200)
    divisor = models.DecimalField(max_digits=12, decimal_places=8)

    class Meta:
        ordering = ["list_date", "code"]
        constraints = [
            models.UniqueConstraint(fields=["list_date", "code"], name="crsptemplate_unique"),
            models.CheckConstraint(condition=models.Q(divisor__gt=0), name="crsptemplate_divisor_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: / {self.divisor}"
