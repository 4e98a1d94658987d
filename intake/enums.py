"""Choices of the intake store (re-exported by `maintenance.enums` for its older callers)."""

from __future__ import annotations

from django.db import models


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    REPLAYING = "replaying", "Replaying"
    LODGED = "lodged", "Lodged"
    REJECTED = "rejected", "Rejected"


class SubmissionPriority(models.IntegerChoices):
    """Replay order, lowest first.

    Manifests go before every declaration because declarations write off B/L quantities of a
    manifest: a declaration replayed before its (also buffered) manifest would be rejected.
    Then perishables (DOMAIN.md: tea exports missed their ships in the Nov 2024 outage), then
    AEO traders (priority is one of their published benefits), then everything else.
    """

    MANIFEST = 0, "Manifest"
    PERISHABLE = 1, "Perishable goods"
    AEO = 2, "AEO trader"
    NORMAL = 3, "Normal"


class EpisodeStatus(models.TextChoices):
    """A period the primary database could not be reached, as seen by the web processes."""

    OPEN = "open", "Open (primary unreachable)"
    CLOSED = "closed", "Closed (primary answered again)"
    RECORDED = "recorded", "Recorded in the primary as an outage"


class IdentityKind(models.TextChoices):
    AGENT = "agent", "Clearing agent staff"
    CARRIER = "carrier", "Carrier staff"
    BANK = "bank", "Bank / system client"
    OTHER = "other", "Other"
