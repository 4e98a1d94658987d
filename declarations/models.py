"""Declarations: header, items, documents, versions, stored assessment, e-slip, payment, events.

Amounts in the invoice currency keep 2 places; KES amounts are quantized to 2 places with
ROUND_HALF_UP (services do it, models only store). Weights keep 3 places (kg to the gram).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent

from .enums import AmendmentStatus, Channel, EventKind, Regime, Status

STATUS_VALUES = [s.value for s in Status]


class Declaration(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    regime = models.CharField(max_length=3, choices=Regime.choices, blank=True)
    cpc = models.CharField("customs procedure code", max_length=7, blank=True)
    agent = models.ForeignKey("traders.ClearingAgent", on_delete=models.PROTECT, related_name="declarations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    importer_pin = models.CharField(max_length=11, blank=True)
    exporter_pin = models.CharField(max_length=11, blank=True)
    trader = models.ForeignKey(
        "traders.Trader", on_delete=models.PROTECT, null=True, blank=True, related_name="declarations"
    )
    office = models.ForeignKey(
        "reference.CustomsOffice", on_delete=models.PROTECT, null=True, blank=True, related_name="declarations"
    )
    local_reference = models.CharField(max_length=35, blank=True)
    ucr = models.CharField("unique consignment reference", max_length=35, blank=True)
    idf_number = models.CharField("IDF number", max_length=12, blank=True)
    bill_of_lading_number = models.CharField(max_length=35, blank=True)
    bill_of_lading = models.ForeignKey(
        "manifests.BillOfLading", on_delete=models.PROTECT, null=True, blank=True, related_name="declarations"
    )
    currency = models.CharField(max_length=3, blank=True)
    invoice_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    freight_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    insurance_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    incoterm = models.CharField(max_length=3, blank=True)
    country_of_export = models.CharField(max_length=2, blank=True)
    country_of_origin = models.CharField(max_length=2, blank=True)
    country_of_destination = models.CharField(max_length=2, blank=True)
    transport_mode = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # null = no lane yet (API.md: channel is green/blue/yellow/red or null).
    channel = models.CharField(max_length=6, choices=Channel.choices, null=True, blank=True)  # noqa: DJ001
    entry_number = models.CharField(max_length=16, unique=True, null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    # Registration time: the exchange-rate and tariff date. For a contingency replay it is the
    # time the buffered body was received, not the time it was replayed.
    lodged_at = models.DateTimeField(null=True, blank=True)
    exchange_rate = models.DecimalField(max_digits=16, decimal_places=6, null=True, blank=True)
    late_entry = models.BooleanField(default=False)
    payment_due_date = models.DateField(null=True, blank=True)
    # The canonical request body as last accepted (drafts are stored only here until lodged).
    body = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Bumped on every write; the ETag is derived from it.
    etag_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["agent", "status", "-created_at"], name="decl_agent_status"),
            models.Index(fields=["agent", "-created_at"], name="decl_agent_created"),
            models.Index(fields=["ucr"], name="decl_ucr"),
            # The agent's own key (HMRC CDS LRN, ASYCUDA "declarant reference"): exact look-up.
            models.Index(fields=["agent", "local_reference"], name="decl_agent_local_ref"),
            models.Index(fields=["bill_of_lading_number"], name="decl_bl_number"),
            # Officer workspace at 100k declarations (bench/bench_officer_queues.py): default list
            # order, trader search, age filters, backlog per status and office.
            models.Index(fields=["-created_at", "-id"], name="decl_created_desc"),
            models.Index(fields=["importer_pin"], name="decl_importer_pin"),
            models.Index(fields=["exporter_pin"], name="decl_exporter_pin"),
            models.Index(fields=["lodged_at"], name="decl_lodged_at"),
            models.Index(fields=["status", "office"], name="decl_status_office"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=STATUS_VALUES), name="decl_status_valid"),
            models.CheckConstraint(
                condition=models.Q(channel__isnull=True) | models.Q(channel__in=[c.value for c in Channel]),
                name="decl_channel_valid",
            ),
            models.CheckConstraint(
                # A draft has no entry number yet; neither has a draft cancelled before lodging
                # (never lodged: lodged_at is null). Every lodged declaration has one.
                condition=models.Q(status=Status.DRAFT) | models.Q(entry_number__isnull=False)
                | models.Q(status=Status.CANCELLED, lodged_at__isnull=True),
                name="decl_lodged_has_entry_number",
            ),
            models.CheckConstraint(
                condition=models.Q(regime="") | models.Q(regime__in=[r.value for r in Regime]),
                name="decl_regime_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.entry_number or f"draft {self.id}"

    @property
    def etag(self) -> str:
        return f'"{self.id.hex[:12]}-{self.etag_version}"'

    @property
    def trader_pin(self) -> str:
        return self.importer_pin or self.exporter_pin


class DeclarationItem(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="items")
    line_no = models.PositiveIntegerField()
    hs_code = models.CharField(max_length=10)
    description = models.CharField(max_length=500)
    origin_country = models.CharField(max_length=2)
    packages = models.PositiveIntegerField()
    package_kind = models.CharField(max_length=3)
    gross_weight_kg = models.DecimalField(max_digits=14, decimal_places=3)
    net_weight_kg = models.DecimalField(max_digits=14, decimal_places=3)
    supplementary_quantity = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)
    supplementary_unit = models.CharField(max_length=8, blank=True)
    item_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    # CIF in the invoice currency (declared, or apportioned from invoice value + freight + insurance).
    customs_value = models.DecimalField(max_digits=18, decimal_places=2)
    customs_value_kes = models.DecimalField(max_digits=18, decimal_places=2)
    cpc = models.CharField(max_length=7, blank=True)
    preference = models.CharField(max_length=16, blank=True)
    exemption = models.CharField(max_length=32, blank=True)
    exemption_certificate = models.CharField(max_length=32, blank=True)
    # Motor vehicle particulars (HS 87.02-87.05), as validated: vin, chassis_number, make, model,
    # year_of_manufacture, engine_capacity_cc, fuel, condition.
    vehicle = models.JSONField(null=True, blank=True)
    idf_reduced = models.BooleanField(default=False)
    rdl_reduced = models.BooleanField(default=False)

    class Meta:
        ordering = ["declaration", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "line_no"], name="declitem_unique_line"),
            models.CheckConstraint(
                condition=models.Q(net_weight_kg__lte=models.F("gross_weight_kg")), name="declitem_net_le_gross"
            ),
            models.CheckConstraint(condition=models.Q(customs_value__gt=0), name="declitem_value_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id} #{self.line_no} {self.hs_code}"


class AttachedDocument(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=16, help_text="Document code, e.g. IDF, INV, PKL, COO")
    reference = models.CharField(max_length=70)
    issued_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["declaration", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class DeclarationVersion(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    reason = models.CharField(max_length=200)
    changed_fields = models.JSONField(default=list, blank=True)
    fee_kes = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["declaration", "number"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "number"], name="declversion_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id} v{self.number}"


class Assessment(models.Model):
    """The tariff engine's result stored with the declaration (one per assessed version)."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="assessments")
    version = models.PositiveIntegerField()
    rate_date = models.DateField()
    currency = models.CharField(max_length=3)
    exchange_rate = models.DecimalField(max_digits=16, decimal_places=6)
    # The date the declaration currency's rate was fixed (null for KES declarations).
    exchange_rate_date = models.DateField(null=True, blank=True)
    import_duty = models.DecimalField(max_digits=18, decimal_places=2)
    excise_duty = models.DecimalField(max_digits=18, decimal_places=2)
    vat = models.DecimalField(max_digits=18, decimal_places=2)
    idf = models.DecimalField(max_digits=18, decimal_places=2)
    rdl = models.DecimalField(max_digits=18, decimal_places=2)
    penalties = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    fees = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=18, decimal_places=2)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["declaration", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "version"], name="assessment_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id} v{self.version} KES {self.total}"


class AssessmentLine(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField(help_text="Item line; 0 for declaration-level penalties and fees")
    tax = models.CharField(max_length=32)
    base = models.DecimalField(max_digits=18, decimal_places=2)
    rule = models.CharField(max_length=200, help_text="The rate applied")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    legal_basis = models.CharField(max_length=300, blank=True, help_text="Act, schedule or section")
    # [{"currency": "USD", "kes_per_unit": "129.500000", "date": "2026-11-01"}] for each rate used.
    exchange_rates = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["assessment", "line_no", "id"]

    def __str__(self) -> str:
        return f"{self.line_no} {self.tax} {self.amount}"


class ESlip(models.Model):
    """The payment slip: the bank matches a payment to it by `reference`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="eslips")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="eslips")
    reference = models.CharField(max_length=24, unique=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3, default="KES")
    due_date = models.DateField()
    is_current = models.BooleanField(default=True)
    # Regimes secured by a bond (IM8): amount is 0.00 (nothing payable) and this says what secures
    # the taxes at risk, e.g. "secured by bond RB/2026/000001 (KES 642000.00 reserved)".
    secured_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["declaration", "-created_at"]

    def __str__(self) -> str:
        return f"{self.reference} KES {self.amount}"


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        MPESA = "mpesa", "M-Pesa"
        RTGS = "rtgs", "RTGS"
        BANK_CALLBACK = "bank_callback", "Bank confirmation (system)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One successful payment per declaration: a duplicate is refused by this constraint even when
    # two requests race past the status check.
    declaration = models.OneToOneField(Declaration, on_delete=models.CASCADE, related_name="payment")
    eslip = models.ForeignKey(ESlip, on_delete=models.PROTECT, related_name="payments")
    reference = models.CharField(max_length=24, unique=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3, default="KES")
    method = models.CharField(max_length=16, choices=Method.choices)
    bank_reference = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField()

    class Meta:
        ordering = ["-paid_at"]

    def __str__(self) -> str:
        return f"{self.reference} KES {self.amount}"


class BankCallbackNonce(models.Model):
    """A bank callback's nonce, kept while its signed timestamp is inside the accepted window: the
    unique constraint refuses a second use, so a captured callback cannot be replayed (issue 17)."""

    nonce = models.CharField(max_length=64, unique=True)
    signed_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.nonce


class DeclarationEvent(ChainedEvent):
    chain_subject_field = "declaration_id"
    chain_hashed_fields = (
        "declaration_id", "kind", "actor_id", "actor_label", "from_status", "to_status", "reason", "payload",
        "created_at",
    )

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices, default=EventKind.TRANSITION)
    actor_label = models.CharField(max_length=150)


    class Meta:
        ordering = ["declaration", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.from_status or '-'} -> {self.to_status}"


class AmendmentRequest(models.Model):
    """A tax-affecting change asked for by the agent; an officer accepts or rejects it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="amendment_requests")
    status = models.CharField(max_length=10, choices=AmendmentStatus.choices, default=AmendmentStatus.PENDING)
    base_version = models.PositiveIntegerField()
    body = models.JSONField(help_text="The complete proposed canonical body")
    changed_fields = models.JSONField(default=list)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["declaration", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AmendmentStatus.values), name="amendreq_status_valid"
            ),
            # At most one open request per declaration: the officer decides on one change at a time.
            models.UniqueConstraint(
                fields=["declaration"], condition=models.Q(status=AmendmentStatus.PENDING), name="amendreq_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id} amendment {self.status}"


class EntryNumberCounter(models.Model):
    """The last serial issued per office/regime/year. Locked FOR UPDATE inside the lodging
    transaction: a rollback rolls the increment back too, so serials never have gaps."""

    office_code = models.CharField(max_length=3)
    regime = models.CharField(max_length=3)
    year = models.PositiveSmallIntegerField()
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office_code", "regime", "year"], name="entrycounter_unique"),
            models.CheckConstraint(condition=models.Q(last_serial__lte=9_999_999), name="entrycounter_7_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.office_code} {self.regime}: {self.last_serial}"


def document_upload_to(instance: DeclarationDocument, filename: str) -> str:
    # The stored name never uses the client's file name (path tricks, clashes): the declaration id
    # and the document id, with the extension of the SNIFFED type.
    return f"declarations/{instance.declaration_id}/{instance.pk}{DOCUMENT_EXTENSIONS[instance.content_type]}"


# The only types accepted, decided by the bytes (content sniffing), never by the client's claim.
DOCUMENT_EXTENSIONS: dict[str, str] = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


class DeclarationDocument(models.Model):
    """A supporting document uploaded as a file (invoice, packing list, certificate, ...).

    Stored through Django's storage API (`STORAGES["default"]`: the filesystem under var/ by
    default, S3-compatible object storage in docker-compose). Served only as an attachment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="uploaded_documents")
    kind = models.CharField(max_length=16, help_text="Document code, e.g. INV, PKL, COO, IDF")
    reference = models.CharField(max_length=70)
    item_line_no = models.PositiveIntegerField(null=True, blank=True, help_text="Item line it supports, if any")
    filename = models.CharField(max_length=255, help_text="The client's file name (shown, never used to store)")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=document_upload_to, max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["declaration", "uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(content_type__in=list(DOCUMENT_EXTENSIONS)),
                                   name="decldoc_content_type_allowed"),
            models.CheckConstraint(condition=models.Q(size__gt=0), name="decldoc_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} ({self.filename})"


class ImportDeclarationForm(models.Model):
    """The simulated single window's IDF (Import Declaration Form) register.

    Kenya requires an IDF, raised on the single window before shipment, for goods imported for
    home use; the declaration quotes its number and customs checks it against the register:
    importer, HS codes and value (docs/declarations.md, "IDF"). Seeded in sandboxes and raised
    there with `POST /api/v1/idfs`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=12, unique=True)
    importer_pin = models.CharField(max_length=11, db_index=True)
    currency = models.CharField(max_length=3)
    value = models.DecimalField(max_digits=18, decimal_places=2, help_text="Proforma invoice value")
    hs_codes = models.JSONField(default=list, help_text="8-digit HS codes (digits only) of the goods")
    issued_on = models.DateField()
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "IDF (simulated single window)"
        verbose_name_plural = "IDFs (simulated single window)"
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gt=0), name="idf_value_positive"),
            models.CheckConstraint(condition=models.Q(number__regex=r"^E[0-9]{11}$"), name="idf_number_format"),
        ]

    def __str__(self) -> str:
        return f"IDF {self.number} ({self.importer_pin})"


class DeadlineShift(models.Model):
    """One contingency period's move of payment due dates (docs/declarations.md, "Deadlines").

    Created in the transaction that ends the period (maintenance.periods subscriber), once per
    period (`period` is unique); the shift itself runs later, in chunks, on a worker. `cursor` is
    the last declaration id moved: each chunk locks the next declarations after it, moves them,
    writes their events and advances the cursor in ONE transaction, so an interrupted shift resumes
    where it stopped and no declaration moves twice. `done_at` set: every declaration moved.
    """

    period = models.CharField(max_length=64, unique=True, help_text="outage:<id> or window:<id>")
    source = models.CharField(max_length=32)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    days = models.PositiveIntegerField(help_text="The period's length in whole days, rounded up.")
    first_due_date = models.DateField(help_text="Due dates on or after this day (the start, EAT) move.")
    cursor = models.UUIDField(null=True, blank=True)
    moved = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.period}: +{self.days} d from {self.first_due_date} ({self.moved} moved)"
