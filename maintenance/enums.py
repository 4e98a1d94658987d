"""Choices shared by the maintenance models, services and APIs."""

from __future__ import annotations

from django.db import models


class WindowStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class WindowScope(models.TextChoices):
    # lodging: only the lodging endpoints; writes: every write; full: reads too (not health/status/admin).
    LODGING = "lodging", "Lodging only"
    WRITES = "writes", "All writes"
    FULL = "full", "Full (reads too, except health)"


class WindowMode(models.TextChoices):
    REJECT = "reject", "Reject (503)"
    BUFFER = "buffer", "Buffer lodging with signed receipts"


class WindowEventKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVATED = "activated", "Activated"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    EXTENDED = "extended", "Extended"


class OutageStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


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
