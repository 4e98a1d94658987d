"""Maintenance windows, declared outages, buffered submissions and outage reports.

All times are stored in UTC (USE_TZ) and shown in East Africa Time by the admin and the ICS
description. Business rules live in `services.py`; models only hold data and constraints.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent
from intake.models import BufferedSubmission  # noqa: F401  (moved to the intake store; old import path)

from .display import EAT
from .enums import (
    OutageSource,
    OutageStatus,
    ReleaseFlow,
    ReleaseRuleEventKind,
    WindowEventKind,
    WindowMode,
    WindowScope,
    WindowStatus,
)


class MaintenanceWindow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=WindowStatus.choices, default=WindowStatus.SCHEDULED)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    scope = models.CharField(max_length=16, choices=WindowScope.choices, default=WindowScope.LODGING)
    mode = models.CharField(max_length=16, choices=WindowMode.choices, default=WindowMode.REJECT)
    reason = models.CharField(max_length=500)
    emergency = models.BooleanField(default=False)
    notice_given = models.DateTimeField(help_text="When the window was announced.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["status", "ends_at"], name="maint_window_status_end")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="maint_window_ends_after_start"),
            models.CheckConstraint(condition=models.Q(status__in=WindowStatus.values),
                                   name="maint_window_status_valid"),
            models.CheckConstraint(condition=models.Q(scope__in=WindowScope.values),
                                   name="maint_window_scope_valid"),
            models.CheckConstraint(condition=models.Q(mode__in=WindowMode.values),
                                   name="maint_window_mode_valid"),
        ]

    def __str__(self) -> str:
        start, end = self.starts_at.astimezone(EAT), self.ends_at.astimezone(EAT)
        return f"{self.scope}/{self.mode} {start:%Y-%m-%d %H:%M}-{end:%Y-%m-%d %H:%M} EAT"

    def effective_status(self, now: dt.datetime) -> str:
        """The status the clock says the window is in (the stored one may lag the beat task)."""
        if self.status == WindowStatus.CANCELLED:
            return WindowStatus.CANCELLED
        if now >= self.ends_at:
            return WindowStatus.COMPLETED
        if now >= self.starts_at:
            return WindowStatus.ACTIVE
        return WindowStatus.SCHEDULED


class MaintenanceWindowEvent(ChainedEvent):
    chain_subject_field = "window_id"
    chain_hashed_fields = (
        "window_id", "kind", "from_status", "to_status", "actor_id", "reason", "payload", "created_at",
    )

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=WindowEventKind.choices)
    reason = models.CharField(max_length=500, blank=True)


    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_status or '-'} -> {self.to_status}"


class Outage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=OutageStatus.choices, default=OutageStatus.ACTIVE)
    # operator: declared with `outage start`; database_unavailable: detected by the web processes
    # (the primary could not be reached) and recorded here once it answered again.
    source = models.CharField(max_length=32, choices=OutageSource.choices, default=OutageSource.OPERATOR)
    reason = models.CharField(max_length=500)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=OutageStatus.values),
                                   name="outage_status_valid"),
            # At most one declared outage at a time (a partial unique index, PostgreSQL and SQLite).
            models.UniqueConstraint(fields=["status"], condition=models.Q(status=OutageStatus.ACTIVE),
                                    name="outage_single_active"),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="outage_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"outage {self.started_at.astimezone(EAT):%Y-%m-%d %H:%M} EAT ({self.status})"

    def length(self, now: dt.datetime) -> dt.timedelta:
        return (self.ended_at or now) - self.started_at


class OutageEvent(ChainedEvent):
    chain_subject_field = "outage_id"
    chain_hashed_fields = (
        "outage_id", "from_status", "to_status", "actor_id", "reason", "payload", "created_at",
    )

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="events")
    reason = models.CharField(max_length=500, blank=True)


    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class ReplayLedger(models.Model):
    """The outcome of one buffered submission, written in the primary in the same transaction as
    its lodgement (or rejection). The buffered row lives in the intake store, so the two cannot
    commit together: this row is what makes the replay exactly-once across the two databases
    (a replay that finds it copies the outcome back to the intake row instead of lodging again)."""

    submission_id = models.UUIDField(primary_key=True)
    lodged = models.BooleanField()
    result = models.JSONField(default=dict)
    outage = models.ForeignKey(Outage, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    window = models.ForeignKey(MaintenanceWindow, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["finished_at"]

    def __str__(self) -> str:
        return f"{self.submission_id}: {'lodged' if self.lodged else 'rejected'}"


class OutageReport(models.Model):
    """Outcome of one contingency period (a declared outage or a buffer-mode window)."""

    outage = models.OneToOneField(Outage, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="report")
    window = models.OneToOneField(MaintenanceWindow, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="report")
    period_started_at = models.DateTimeField()
    period_ended_at = models.DateTimeField(null=True, blank=True)
    submissions = models.PositiveIntegerField(default=0)
    lodged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    replay_started_at = models.DateTimeField(null=True, blank=True)
    drained_at = models.DateTimeField(null=True, blank=True)
    time_to_drain = models.DurationField(null=True, blank=True,
                                         help_text="From the end of the period to the last submission replayed.")
    oldest_wait = models.DurationField(null=True, blank=True,
                                       help_text="Longest time between receipt and replay outcome.")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_started_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(outage__isnull=False, window__isnull=True)
                           | models.Q(outage__isnull=True, window__isnull=False)),
                name="outage_report_one_period"),
        ]

    def __str__(self) -> str:
        return (f"report {self.period_started_at.astimezone(EAT):%Y-%m-%d %H:%M} EAT: {self.lodged} lodged, "
                f"{self.rejected} rejected")


class ProvisionalReleaseRule(models.Model):
    """A published rule deciding which buffered declarations get a provisional release during
    contingency (docs/maintenance.md, "Provisional release"). Officers edit the rules in the admin;
    every change is an event with its actor and is copied to the intake store at once, so the
    decision needs no primary database. A watch-listed trader never qualifies, whatever the rules."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, help_text="Why these goods qualify (published to traders).")
    flow = models.CharField(max_length=8, choices=ReleaseFlow.choices, default=ReleaseFlow.EXPORT)
    hs_prefixes = models.JSONField(
        default=list, blank=True,
        help_text="HS prefixes (digits) EVERY item must fall under, e.g. [\"06\", \"0902\"]; empty: any goods.")
    requires_aeo = models.BooleanField(default=False, help_text="Only traders with an active AEO profile.")
    validity_hours = models.PositiveIntegerField(default=72, help_text="How long the release is valid.")
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=100, help_text="Rules are tried in this order.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(flow__in=ReleaseFlow.values), name="release_rule_flow_valid"),
            models.CheckConstraint(condition=models.Q(validity_hours__gte=1, validity_hours__lte=720),
                                   name="release_rule_validity_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def as_snapshot(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "flow": self.flow, "hs_prefixes": list(self.hs_prefixes),
                "requires_aeo": self.requires_aeo, "validity_hours": self.validity_hours}


class ProvisionalReleaseRuleEvent(ChainedEvent):
    """One change of a qualifying rule: what it was, what it became, who changed it and why."""

    chain_subject_field = "rule_id"
    chain_hashed_fields = ("rule_id", "kind", "actor_id", "reason", "before", "after", "created_at")

    rule = models.ForeignKey(ProvisionalReleaseRule, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=ReleaseRuleEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    # A rule change moves no status and keeps its details in before/after: the ChainedEvent columns
    # it has no use for are left out (Django drops an abstract parent's field set to None).
    from_status = None  # type: ignore[assignment]
    to_status = None  # type: ignore[assignment]
    payload = None  # type: ignore[assignment]

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.kind}"
