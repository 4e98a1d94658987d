"""Choices of the clearance app's status fields (a module of its own: read by officers, sandbox and
selectors without loading the models)."""

from __future__ import annotations

from django.db import models


class OfficerTaskStatus(models.TextChoices):
    OPEN = "open", "Open (unassigned)"
    ASSIGNED = "assigned", "Assigned"
    DONE = "done", "Done"


# Tasks still in a work queue (open, or taken by an officer).
LIVE_TASK_STATUSES = (OfficerTaskStatus.OPEN, OfficerTaskStatus.ASSIGNED)


class AuditStatus(models.TextChoices):
    """A post-clearance audit (blue lane) waits for the audit unit, then is closed."""

    PENDING = "pending", "Pending"
    CLOSED = "closed", "Closed"


class ProvisionalCaseStatus(models.TextChoices):
    """A provisional release to reconcile: open in the officers' queue until an officer closes it."""

    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
