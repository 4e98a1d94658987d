"""Code lists of the transit app (EAC Single Customs Territory transit, RECTS e-seals)."""

from __future__ import annotations

from django.db import models


class MovementStatus(models.TextChoices):
    """Lifecycle of one transit movement (transitions in `transit.lifecycle`)."""

    LODGED = "lodged", "Lodged (bond reserved, awaiting release)"
    IN_TRANSIT = "in_transit", "In transit (released, departed)"
    ARRIVED_AT_EXIT = "arrived_at_exit", "Arrived at the exit border post"
    CLOSED = "closed", "Closed (exit confirmed by the partner state, bond released)"
    CANCELLED = "cancelled", "Cancelled (bond released)"
    FAILED = "failed", "Failed (the secured amount was demanded from the bond principal)"


class BondStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"


class LedgerKind(models.TextChoices):
    RESERVE = "reserve", "Reserved for a movement"
    RELEASE = "release", "Released on confirmed exit / cancellation"
    TOP_UP = "top_up", "Bond amount increased"
    DEMAND = "demand", "Demanded: the secured amount became payable (movement failed)"


class TrackingEventKind(models.TextChoices):
    """RECTS e-seal events, in their natural order along a journey."""

    ARMED = "armed", "E-seal armed"
    DEPARTURE = "departure", "Departure from the office of entry"
    CHECKPOINT_PASSED = "checkpoint_passed", "Checkpoint passed"
    TAMPER_ALERT = "tamper_alert", "Tamper alert"
    ROUTE_DEVIATION = "route_deviation", "Deviation from the approved route (geofence)"
    LOW_BATTERY = "low_battery", "Low battery"
    ARRIVAL_AT_EXIT = "arrival_at_exit", "Arrival at the exit border post"


class AlertKind(models.TextChoices):
    TAMPER = "tamper", "E-seal tamper alert"
    DEVIATION = "deviation", "Route deviation"
    TOO_FAST = "too_fast", "Journey faster than plausible for the corridor"
    OVERDUE = "overdue", "Transit period exceeded"
    PARTNER_REFUSED = "partner_refused", "Refused by the partner state"
    DELIVERY_FAILED = "delivery_failed", "Message to the partner state undeliverable"


# Alerts that hold the movement open (and its bond reserved) until an officer resolves them.
EXIT_BLOCKING_ALERTS = (AlertKind.TAMPER, AlertKind.DEVIATION, AlertKind.TOO_FAST)


class AlertStatus(models.TextChoices):
    """open -> acknowledged -> investigating -> resolved (transitions in `transit.lifecycle`)."""

    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by an officer"
    INVESTIGATING = "investigating", "Under investigation"
    RESOLVED = "resolved", "Resolved (with the officer's reason)"


LIVE_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.INVESTIGATING)


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound (Forodha to partner)"
    INBOUND = "inbound", "Inbound (partner to Forodha)"


class PartnerMessageKind(models.TextChoices):
    TRANSIT_DECLARATION = "transit_declaration", "Transit declaration (goods released for transit)"
    EXIT_CONFIRMATION = "exit_confirmation", "Exit confirmed at the border"
    ARRIVAL_CONFIRMATION = "arrival_confirmation", "Arrival confirmed in the destination state"
    REJECTION = "rejection", "Refused by the partner state"


INBOUND_KINDS = (
    PartnerMessageKind.EXIT_CONFIRMATION,
    PartnerMessageKind.ARRIVAL_CONFIRMATION,
    PartnerMessageKind.REJECTION,
)


class PartnerMessageStatus(models.TextChoices):
    PENDING = "pending", "Pending delivery"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (attempts exhausted)"
    ACCEPTED = "accepted", "Accepted (inbound, applied)"


class DeliveryOutcome(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class SimulatorMode(models.TextChoices):
    """How the sandbox partner-state simulator answers (drills)."""

    AUTO = "auto", "Acknowledge; confirm exit as soon as the goods arrive at the exit"
    DELAY = "delay", "Acknowledge; confirm exit `delay_minutes` after arrival at the exit"
    REFUSE = "refuse", "Acknowledge, then refuse the movement"
    SILENT = "silent", "Acknowledge, never confirm (drives the overdue path)"
    UNREACHABLE = "unreachable", "Do not answer (delivery retries, then fails)"
