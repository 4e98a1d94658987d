"""Cargo manifests (iCMS "Summary Declaration"): one per voyage / flight / truck trip.

Public ids are UUIDs. A manifest holds bills of lading (air waybills for air), each with its
containers. Amendments change the live rows in place and keep every earlier version as a JSON
snapshot (`ManifestVersion`), so B/L ids stay stable for the write-offs that point at them.
Write-off counters live on the B/L row, which is the row that concurrent declarations lock.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent
from manifests.enums import (
    BillKind,
    BillStatus,
    EventKind,
    ManifestStatus,
    TransportMode,
    WriteOffStatus,
)


def _in(field: str, choices: type[models.TextChoices]) -> models.Q:
    return models.Q(**{f"{field}__in": [c.value for c in choices]})


class Carrier(models.Model):
    """A shipping line, airline, road haulier or their local agent, lodging manifests.

    Carriers authenticate like clearing agents: a staff user (`CarrierStaff`) holds a DRF token.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=17, unique=True, help_text="SCAC / IATA / carrier code")
    name = models.CharField(max_length=200)
    pin = models.CharField("KRA PIN", max_length=11, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CarrierStaff(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="carrier_staff"
    )
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        verbose_name_plural = "carrier staff"

    def __str__(self) -> str:
        return f"{self.user} @ {self.carrier.code}"


class Terminal(models.Model):
    """A terminal or cargo handler (container terminal, CFS, ICD, airline cargo shed) that records
    gate-out and loading (`POST /api/v1/gate-events`). Staff authenticate like carriers: a
    `TerminalStaff` user with a DRF token."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=17, unique=True, help_text="Terminal code, e.g. KPA-CT2, SGR-ICDN")
    name = models.CharField(max_length=200)
    office = models.ForeignKey("reference.CustomsOffice", on_delete=models.PROTECT, related_name="terminals")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TerminalStaff(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="terminal_staff"
    )
    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        verbose_name_plural = "terminal staff"

    def __str__(self) -> str:
        return f"{self.user} @ {self.terminal.code}"


class Manifest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="manifests")
    reference = models.CharField(max_length=35, help_text="Carrier's manifest reference (BGM document number)")
    mode = models.CharField(max_length=8, choices=TransportMode.choices)
    vessel_name = models.CharField(max_length=70, blank=True)
    vessel_imo = models.CharField("IMO number", max_length=7, blank=True)
    flight_number = models.CharField(max_length=8, blank=True)
    vehicle_registration = models.CharField(max_length=16, blank=True)
    voyage_number = models.CharField(max_length=17, blank=True)
    port_of_loading = models.ForeignKey(
        "reference.Location", on_delete=models.PROTECT, related_name="+", db_column="port_of_loading"
    )
    port_of_discharge = models.ForeignKey(
        "reference.Location", on_delete=models.PROTECT, related_name="+", db_column="port_of_discharge"
    )
    office_of_discharge = models.ForeignKey(
        "reference.CustomsOffice", on_delete=models.PROTECT, related_name="+", db_column="office_of_discharge"
    )
    eta = models.DateTimeField("ETA")
    ata = models.DateTimeField("ATA", null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    lodged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=ManifestStatus.choices, default=ManifestStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    late_lodging = models.BooleanField(
        default=False, help_text="Lodged after the pre-arrival deadline (a risk indicator)"
    )
    source = models.CharField(max_length=8, default="json", help_text="json or edifact")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["vessel_name"], name="manifest_vessel_idx"),
            models.Index(fields=["voyage_number"], name="manifest_voyage_idx"),
            models.Index(fields=["status", "eta"], name="manifest_status_eta_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "reference"], name="manifest_reference_unique_per_carrier"),
            models.CheckConstraint(condition=_in("status", ManifestStatus), name="manifest_status_valid"),
            models.CheckConstraint(condition=_in("mode", TransportMode), name="manifest_mode_valid"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="manifest_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier.code} {self.reference} v{self.version} ({self.status})"

    @property
    def transport_id(self) -> str:
        return {
            TransportMode.SEA: self.vessel_name,
            TransportMode.AIR: self.flight_number,
            TransportMode.ROAD: self.vehicle_registration,
        }.get(TransportMode(self.mode), "")


class BillOfLading(models.Model):
    """A transport document (bill of lading / air waybill / road consignment note).

    `carrier` and `voyage_number` are copies of the manifest's, kept so the database itself
    guarantees "B/L number unique per carrier and voyage" across manifests.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="bills_of_lading")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+")
    voyage_number = models.CharField(max_length=17, blank=True)
    number = models.CharField(max_length=35)
    kind = models.CharField(max_length=8, choices=BillKind.choices, default=BillKind.MASTER)
    master_number = models.CharField(max_length=35, blank=True)
    consolidator_pin = models.CharField(max_length=11, blank=True)
    shipper_name = models.CharField(max_length=200)
    shipper_address = models.TextField(blank=True)
    consignee_name = models.CharField(max_length=200)
    consignee_pin = models.CharField("consignee KRA PIN", max_length=11)
    consignee_address = models.TextField(blank=True)
    notify_party_name = models.CharField(max_length=200, blank=True)
    notify_party_address = models.TextField(blank=True)
    description = models.TextField()
    marks = models.TextField(blank=True)
    packages = models.PositiveIntegerField()
    package_kind = models.ForeignKey(
        "reference.PackageKind", on_delete=models.PROTECT, related_name="+", db_column="package_kind"
    )
    gross_weight_kg = models.DecimalField(max_digits=14, decimal_places=3)
    place_of_delivery = models.ForeignKey(
        "reference.Location", on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        db_column="place_of_delivery",
    )
    status = models.CharField(max_length=8, choices=BillStatus.choices, default=BillStatus.OPEN)
    packages_reserved = models.PositiveIntegerField(default=0)
    packages_settled = models.PositiveIntegerField(default=0)
    weight_reserved_kg = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0.000"))
    weight_settled_kg = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0.000"))
    settled_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order on the manifest")

    class Meta:
        ordering = ["manifest", "position"]
        verbose_name = "bill of lading"
        verbose_name_plural = "bills of lading"
        indexes = [models.Index(fields=["number", "status"], name="bl_number_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "voyage_number", "number"], name="bl_number_unique_per_carrier_voyage"
            ),
            models.CheckConstraint(condition=_in("kind", BillKind), name="bl_kind_valid"),
            models.CheckConstraint(condition=_in("status", BillStatus), name="bl_status_valid"),
            models.CheckConstraint(condition=models.Q(packages__gt=0), name="bl_packages_positive"),
            models.CheckConstraint(condition=models.Q(gross_weight_kg__gt=0), name="bl_weight_positive"),
            # The write-off invariant, enforced by the database as well as by the locked service.
            models.CheckConstraint(
                condition=models.Q(
                    packages__gte=models.F("packages_reserved") + models.F("packages_settled")
                ),
                name="bl_packages_not_over_declared",
            ),
            models.CheckConstraint(
                condition=models.Q(weight_reserved_kg__gte=0) & models.Q(weight_settled_kg__gte=0),
                name="bl_weights_non_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="house") | (~models.Q(consolidator_pin="") & ~models.Q(master_number="")),
                name="bl_house_has_consolidator_and_master",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def packages_remaining(self) -> int:
        return self.packages - self.packages_reserved - self.packages_settled

    @property
    def weight_remaining_kg(self) -> Decimal:
        return self.gross_weight_kg - self.weight_reserved_kg - self.weight_settled_kg

    @property
    def is_declared_against(self) -> bool:
        return self.packages_reserved > 0 or self.packages_settled > 0


class Container(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bill_of_lading = models.ForeignKey(BillOfLading, on_delete=models.CASCADE, related_name="containers")
    number = models.CharField(max_length=11, help_text="ISO 6346, e.g. CSQU3054383")
    size_type = models.CharField(max_length=4, blank=True, help_text="ISO 6346 size/type code, e.g. 22G1")
    seals = models.JSONField(default=list, blank=True)
    packages = models.PositiveIntegerField(null=True, blank=True, help_text="Packages of this B/L in it")

    class Meta:
        ordering = ["bill_of_lading", "number"]
        indexes = [models.Index(fields=["number"], name="container_number_idx")]
        constraints = [
            models.UniqueConstraint(fields=["bill_of_lading", "number"], name="container_unique_per_bl"),
        ]

    def __str__(self) -> str:
        return self.number


class ManifestVersion(models.Model):
    """The full content of a manifest as it was at `version` (kept readable after amendments)."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    reason = models.TextField(blank=True)
    changes = models.JSONField(default=list, blank=True, help_text="JSON pointers changed from the previous version")
    snapshot = models.JSONField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["manifest", "version"]
        constraints = [
            models.UniqueConstraint(fields=["manifest", "version"], name="manifest_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.manifest_id} v{self.version}"


class ManifestEvent(ChainedEvent):
    """One row per status transition, amendment and B/L settlement (actor, from, to, reason)."""

    chain_subject_field = "manifest_id"
    chain_hashed_fields = (
        "manifest_id", "bill_of_lading_id", "kind", "from_status", "to_status", "reason", "payload",
        "actor_id", "created_at",
    )

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="events")
    bill_of_lading = models.ForeignKey(
        BillOfLading, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)  # blank: an amendment is no status move


    class Meta:
        ordering = ["manifest", "created_at", "id"]
        constraints = [models.CheckConstraint(condition=_in("kind", EventKind), name="manifest_event_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status or '-'} -> {self.to_status or '-'}"


class WriteOff(models.Model):
    """Packages and weight of a B/L taken by one declaration (reserved, then settled or released).

    `declaration_id` is the declaration's UUID without a foreign key: declarations depend on
    manifests, never the reverse.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bill_of_lading = models.ForeignKey(BillOfLading, on_delete=models.PROTECT, related_name="write_offs")
    declaration_id = models.UUIDField(db_index=True)
    packages = models.PositiveIntegerField()
    gross_weight_kg = models.DecimalField(max_digits=14, decimal_places=3)
    status = models.CharField(max_length=8, choices=WriteOffStatus.choices, default=WriteOffStatus.RESERVED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=_in("status", WriteOffStatus), name="writeoff_status_valid"),
            models.CheckConstraint(condition=models.Q(packages__gt=0), name="writeoff_packages_positive"),
            models.CheckConstraint(condition=models.Q(gross_weight_kg__gte=0), name="writeoff_weight_non_negative"),
            # One active (reserved or settled) write-off per (B/L, declaration).
            models.UniqueConstraint(
                fields=["bill_of_lading", "declaration_id"],
                condition=models.Q(status__in=[WriteOffStatus.RESERVED, WriteOffStatus.SETTLED]),
                name="writeoff_one_active_per_bl_declaration",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bill_of_lading_id} <- {self.declaration_id}: {self.packages} ({self.status})"
