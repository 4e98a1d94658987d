"""Choices shared by the maintenance models, services and APIs."""

from __future__ import annotations

from django.db import models

from intake.enums import SubmissionPriority, SubmissionStatus

__all__ = ["OutageSource", "OutageStatus", "SubmissionPriority", "SubmissionStatus", "WindowEventKind",
           "WindowMode", "WindowScope", "WindowStatus"]


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


class OutageSource(models.TextChoices):
    OPERATOR = "operator", "Declared by an operator"
    DATABASE_UNAVAILABLE = "database_unavailable", "Primary database unreachable (detected)"


class ReleaseFlow(models.TextChoices):
    """Which declarations a provisional release rule looks at (regime EX* = export)."""

    EXPORT = "export", "Exports (EX regimes)"
    IMPORT = "import", "Imports and other regimes"
    ANY = "any", "Any"


class ReleaseRuleEventKind(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DEACTIVATED = "deactivated", "Deactivated"
    REACTIVATED = "reactivated", "Reactivated"
