"""Transit movements (IM8 / EAC SCT), regional bonds with their ledger, RECTS e-seal events,
officer alerts, and the partner-state message exchange with its delivery log.

Amounts are KES, 2 places, ROUND_HALF_UP (services quantize). Every time is timezone-aware UTC.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent

from .enums import (
    LIVE_ALERT_STATUSES,
    AlertKind,
    AlertStatus,
    BondStatus,
    DeliveryOutcome,
    Direction,
    LedgerKind,
    MovementStatus,
    PartnerMessageKind,
    PartnerMessageStatus,
    SimulatorMode,
    TrackingEventKind,
)


def _values(choices: type[models.TextChoices]) -> list[str]:
    return [str(c.value) for c in choices]


class RegionalBond(models.Model):
    """A regional customs bond (EACCMA s.136 security; one COMESA/EAC regional guarantee covers the
    whole corridor). The principal is a clearing agent or a trader; `balance` is what is still free.
    The row is locked (SELECT ... FOR UPDATE) for every reservation and release."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=32, unique=True)
    principal_agent = models.ForeignKey(
        "traders.ClearingAgent", on_delete=models.PROTECT, null=True, blank=True, related_name="regional_bonds"
    )
    principal_trader = models.ForeignKey(
        "traders.Trader", on_delete=models.PROTECT, null=True, blank=True, related_name="regional_bonds"
    )
    surety = models.CharField(max_length=200, help_text="Bank or insurer that issued the guarantee")
    amount = models.DecimalField(max_digits=18, decimal_places=2, help_text="Face value")
    balance = models.DecimalField(max_digits=18, decimal_places=2, help_text="Free (unreserved) amount")
    currency = models.CharField(max_length=3, default="KES")
    status = models.CharField(max_length=12, choices=BondStatus.choices, default=BondStatus.ACTIVE)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(principal_agent__isnull=False, principal_trader__isnull=True)
                           | models.Q(principal_agent__isnull=True, principal_trader__isnull=False)),
                name="bond_one_principal",
            ),
            # The register can never go negative, nor free more than the face value.
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="bond_balance_not_negative"),
            models.CheckConstraint(condition=models.Q(balance__lte=models.F("amount")), name="bond_balance_le_amount"),
            models.CheckConstraint(condition=models.Q(currency="KES"), name="bond_currency_kes"),
            models.CheckConstraint(condition=models.Q(status__in=_values(BondStatus)), name="bond_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.number} KES {self.balance}/{self.amount}"


class TransitMovement(models.Model):
    """One IM8 transit movement: office of entry -> exit border post -> destination partner state."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="transit_movement"
    )
    agent = models.ForeignKey("traders.ClearingAgent", on_delete=models.PROTECT, related_name="transit_movements")
    status = models.CharField(max_length=16, choices=MovementStatus.choices, default=MovementStatus.LODGED)
    destination_country = models.CharField(max_length=2)
    office_of_entry = models.ForeignKey("reference.CustomsOffice", on_delete=models.PROTECT, related_name="+")
    office_of_exit = models.ForeignKey("reference.CustomsOffice", on_delete=models.PROTECT, related_name="+")
    vehicle_registration = models.CharField(max_length=20, blank=True)
    bond = models.ForeignKey(RegionalBond, on_delete=models.PROTECT, related_name="movements")
    taxes_at_risk = models.DecimalField(max_digits=18, decimal_places=2)
    bond_factor = models.DecimalField(max_digits=4, decimal_places=2, default=1)
    amount_secured = models.DecimalField(max_digits=18, decimal_places=2)
    eac_aeo = models.BooleanField(default=False, help_text="EAC regional AEO: reduced bond, priority")
    priority = models.BooleanField(default=False)
    lodged_at = models.DateTimeField()
    departed_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Departure + TRANSIT_PERIOD_DAYS")
    arrived_at_exit_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Exit on evidence: the partner's confirmation is recorded here and the movement closes only
    # once every seal reached the exit post (or an officer overrode it) and no blocking alert is live.
    exit_confirmed_at = models.DateTimeField(null=True, blank=True, help_text="Partner's exit confirmation time")
    exit_confirmation = models.JSONField(default=dict, blank=True, help_text="message_id, partner, kind, office")
    seals_override_reason = models.TextField(blank=True, help_text="Officer's reason to accept exit with "
                                                                   "seals not reported at the exit post")
    seals_override_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="+")
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Security demanded (movement failed)")
    # Tracking state derived from the latest e-seal event BY EVENT TIME (never rolled back).
    tracking_state = models.CharField(max_length=20, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_event_id = models.CharField(max_length=64, blank=True)
    last_position_name = models.CharField(max_length=120, blank=True)
    last_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    last_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # Sandbox simulator: when the simulated partner will confirm the exit (None: not scheduled).
    simulator_confirm_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-priority", "departed_at", "created_at"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="transit_status_due"),
            models.Index(fields=["agent", "-created_at"], name="transit_agent_created"),
        ]
        permissions = [
            ("override_exit", "Accept exit with e-seals not reported at the exit post (with a reason)"),
            ("demand_bond", "Demand the secured amount from the bond principal (movement failed)"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=_values(MovementStatus)),
                                   name="transit_status_valid"),
            models.CheckConstraint(condition=models.Q(amount_secured__gte=0), name="transit_secured_not_negative"),
            models.CheckConstraint(condition=~models.Q(office_of_entry=models.F("office_of_exit")),
                                   name="transit_entry_ne_exit"),
        ]

    def __str__(self) -> str:
        return f"transit {self.declaration_id} -> {self.destination_country} ({self.status})"


class TransitSeal(models.Model):
    """An e-seal fixed on a container for one movement. A seal device is reused across journeys, so
    uniqueness holds among active seals only."""

    movement = models.ForeignKey(TransitMovement, on_delete=models.CASCADE, related_name="seals")
    container_number = models.CharField(max_length=11, blank=True)
    seal_number = models.CharField(max_length=20)
    is_active = models.BooleanField(default=True)
    # Time of this seal's first `arrival_at_exit` event (event time).
    arrived_at_exit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["movement", "container_number", "seal_number"]
        constraints = [
            models.UniqueConstraint(fields=["seal_number"], condition=models.Q(is_active=True),
                                    name="transit_seal_active_unique"),
            models.UniqueConstraint(fields=["movement", "seal_number"], name="transit_seal_unique_per_movement"),
        ]

    def __str__(self) -> str:
        return f"{self.seal_number} on {self.container_number or '-'}"


class TransitMovementEvent(ChainedEvent):
    chain_subject_field = "movement_id"
    chain_hashed_fields = (
        "movement_id", "actor_id", "actor_label", "from_status", "to_status", "reason", "payload",
        "created_at",
    )

    movement = models.ForeignKey(TransitMovement, on_delete=models.CASCADE, related_name="events")
    actor_label = models.CharField(max_length=150)


    class Meta:
        ordering = ["movement", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.movement_id}: {self.from_status or '-'} -> {self.to_status}"


class BondLedger(models.Model):
    """The bond register: every reservation and release with the balance after it."""

    bond = models.ForeignKey(RegionalBond, on_delete=models.PROTECT, related_name="ledger")
    movement = models.ForeignKey(TransitMovement, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="ledger_entries")
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    balance_after = models.DecimalField(max_digits=18, decimal_places=2)
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor_label = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["bond", "created_at", "id"]
        verbose_name = "bond ledger entry"
        verbose_name_plural = "bond ledger"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=_values(LedgerKind)), name="bondledger_kind_valid"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="bondledger_amount_not_negative"),
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="bondledger_balance_not_negative"),
            # One reservation, one release, one demand per movement: a replay cannot double-count.
            models.UniqueConstraint(fields=["movement", "kind"],
                                    condition=models.Q(kind__in=["reserve", "release", "demand"]),
                                    name="bondledger_once_per_movement"),
        ]

    def __str__(self) -> str:
        return f"{self.bond_id} {self.kind} {self.amount} -> {self.balance_after}"


class TrackingEvent(models.Model):
    """One e-seal event from the cargo tracking system, stored by its event id (idempotency)."""

    event_id = models.CharField(max_length=64, unique=True)
    movement = models.ForeignKey(TransitMovement, on_delete=models.CASCADE, related_name="tracking_events")
    seal = models.ForeignKey(TransitSeal, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=TrackingEventKind.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    location_name = models.CharField(max_length=120, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    battery_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_hash = models.CharField(max_length=64)
    # True when the event became the movement's latest (by event time); False = stored out of order.
    applied = models.BooleanField(default=False)
    # Received while the movement was still `lodged`: applied in event order once it departs.
    deferred = models.BooleanField(default=False)
    result = models.JSONField(default=dict, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")

    class Meta:
        ordering = ["movement", "occurred_at", "id"]
        indexes = [models.Index(fields=["movement", "-occurred_at"], name="tracking_movement_time")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=_values(TrackingEventKind)),
                                   name="tracking_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.kind} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class TransitAlert(models.Model):
    """Officer task for a transit movement (tamper, overdue, partner refusal, undeliverable message)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    movement = models.ForeignKey(TransitMovement, on_delete=models.CASCADE, related_name="alerts")
    declaration = models.ForeignKey("declarations.Declaration", on_delete=models.CASCADE,
                                    related_name="transit_alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    priority = models.BooleanField(default=False)
    tracking_event = models.ForeignKey(TrackingEvent, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="+")
    occurrences = models.PositiveIntegerField(default=1)
    detail = models.TextField(blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-priority", "opened_at"]
        permissions = [("work_alert", "Acknowledge, investigate and resolve transit alerts")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=_values(AlertKind)), name="transit_alert_kind_valid"),
            models.CheckConstraint(condition=models.Q(status__in=_values(AlertStatus)),
                                   name="transit_alert_status_valid"),
            # One live alert per movement and kind: repeated tamper events or beat runs add occurrences.
            models.UniqueConstraint(fields=["movement", "kind"],
                                    condition=models.Q(status__in=list(LIVE_ALERT_STATUSES)),
                                    name="transit_alert_one_live_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.movement_id} ({self.status})"


class PartnerMessage(models.Model):
    """A message exchanged with a partner state's customs. Outbound: signed at each delivery
    attempt over `body_text`; inbound: stored after its signature was verified."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    partner = models.CharField(max_length=2)
    kind = models.CharField(max_length=24, choices=PartnerMessageKind.choices)
    message_id = models.CharField(max_length=64)
    movement = models.ForeignKey(TransitMovement, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="partner_messages")
    body = models.JSONField(default=dict)
    body_text = models.TextField()
    status = models.CharField(max_length=10, choices=PartnerMessageStatus.choices)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["direction", "partner", "message_id"], name="partnermsg_unique_id"),
            models.CheckConstraint(condition=models.Q(direction__in=_values(Direction)),
                                   name="partnermsg_direction_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=_values(PartnerMessageKind)),
                                   name="partnermsg_kind_valid"),
            models.CheckConstraint(condition=models.Q(status__in=_values(PartnerMessageStatus)),
                                   name="partnermsg_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.partner} {self.kind} {self.message_id}"


class PartnerDelivery(models.Model):
    """The delivery log: one row per attempt to deliver an outbound message."""

    message = models.ForeignKey(PartnerMessage, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField()
    target = models.CharField(max_length=300)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=DeliveryOutcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["message", "attempt"]
        verbose_name_plural = "partner deliveries"
        constraints = [
            models.UniqueConstraint(fields=["message", "attempt"], name="partnerdelivery_unique_attempt"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.attempt} {self.outcome}"


class PartnerSimulatorControl(models.Model):
    """Sandbox drills: how the simulated partner state answers (edit in the admin)."""

    partner = models.CharField(max_length=2, primary_key=True)
    mode = models.CharField(max_length=12, choices=SimulatorMode.choices, default=SimulatorMode.AUTO)
    delay_minutes = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["partner"]
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=_values(SimulatorMode)), name="simulator_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"simulator {self.partner}: {self.mode}"


__all__ = [
    "AlertKind",
    "BondLedger",
    "PartnerDelivery",
    "PartnerMessage",
    "PartnerMessageKind",
    "PartnerSimulatorControl",
    "RegionalBond",
    "TrackingEvent",
    "TransitAlert",
    "TransitMovement",
    "TransitMovementEvent",
    "TransitSeal",
]
