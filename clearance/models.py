"""The clearance workflow rows: officer tasks and the agent's queries, release orders, gate events,
post-clearance audits, and provisional releases to reconcile (moved from `risk`, issue 19).

The tables keep the names they were created with in the `risk` app (`Meta.db_table`): the move
changed the migration state only, never a row (clearance 0001, docs/clearance.md)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent
from risk.models import LANE_CHOICES

from .enums import LIVE_TASK_STATUSES, AuditStatus, OfficerTaskStatus, ProvisionalCaseStatus


class OfficerTask(models.Model):
    """Work for customs officers on a yellow (documentary check) or red (inspection) declaration."""

    class Queue(models.TextChoices):
        DOCUMENTARY_CHECK = "documentary_check", "Documentary check"
        INSPECTION = "inspection", "Physical inspection"

    Status = OfficerTaskStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.ForeignKey("declarations.Declaration", on_delete=models.CASCADE, related_name="officer_tasks")
    queue = models.CharField(max_length=24, choices=Queue.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    lane = models.CharField(max_length=8, choices=LANE_CHOICES)
    priority = models.BooleanField(default=False, help_text="AEO priority: handle first.")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    inspection_requested_at = models.DateTimeField(null=True, blank=True)
    findings = models.TextField(blank=True)
    outcome = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # The SLA clock stops while a query waits for the agent: `waiting_since` is set when the
    # officer queries, and on the answer (or "documents received") the wait is added to
    # `sla_paused`. SLA age = (waiting_since or now) - created_at - sla_paused.
    waiting_since = models.DateTimeField(null=True, blank=True)
    sla_paused = models.DurationField(default=dt.timedelta(0))

    class Meta:
        db_table = "risk_officertask"
        ordering = ["-priority", "created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="officer_task_status_created"),
            # The work queues' order over live tasks only (officer workspace).
            models.Index(fields=["-priority", "created_at", "-id"], name="officer_task_live_queue",
                         condition=models.Q(status__in=list(LIVE_TASK_STATUSES))),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(queue__in=["documentary_check", "inspection"]), name="officer_task_queue_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OfficerTaskStatus.values), name="officer_task_status_valid"
            ),
            # At most one live task per declaration: a redelivered task cannot create a second one.
            models.UniqueConstraint(
                fields=["declaration"],
                condition=models.Q(status__in=list(LIVE_TASK_STATUSES)),
                name="officer_task_one_live_per_declaration",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queue} {self.declaration_id} ({self.status})"


class AgentQuery(models.Model):
    """One round of the conversation between the officer and the agent on a declaration: what
    the officer asked for, and the agent's answer (a message and uploaded documents, no fee)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.ForeignKey("declarations.Declaration", on_delete=models.CASCADE, related_name="queries")
    task = models.ForeignKey(OfficerTask, on_delete=models.CASCADE, related_name="queries")
    documents_required = models.JSONField(default=list)
    reason = models.TextField(blank=True)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    asked_at = models.DateTimeField()
    answer_message = models.TextField(blank=True)
    answer_documents = models.ManyToManyField("declarations.DeclarationDocument", blank=True, related_name="+")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # Set when the officer resumed without waiting for an answer ("documents received" at the desk).
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "risk_agentquery"
        ordering = ["declaration", "asked_at"]
        verbose_name_plural = "agent queries"
        constraints = [
            # One open round at a time: the declaration is `queried` until it is answered.
            models.UniqueConstraint(fields=["declaration"], condition=models.Q(closed_at__isnull=True),
                                    name="agent_query_one_open"),
        ]

    def __str__(self) -> str:
        return f"query {self.declaration_id} {self.asked_at:%Y-%m-%d %H:%M}"


class ReleaseOrder(models.Model):
    """The release order sent to the cargo handler. One per declaration, enforced by the database."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="release_order"
    )
    number = models.CharField(max_length=32, unique=True)
    lane = models.CharField(max_length=8, choices=LANE_CHOICES)
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    message_json = models.JSONField(default=dict)
    message_edifact = models.TextField()
    gate_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "risk_releaseorder"
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number


class GateEvent(models.Model):
    """A terminal's report that released goods physically left customs control: an import gated
    out of the terminal, an export loaded on board. One per declaration and kind (a repeated report
    is answered with the first), recorded by a terminal operator (docs/clearance.md, "Gate events")."""

    class Kind(models.TextChoices):
        GATE_OUT = "gate_out", "Gate out (import)"
        LOADED_ON_BOARD = "loaded_on_board", "Loaded on board (export)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.ForeignKey("declarations.Declaration", on_delete=models.PROTECT, related_name="gate_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    terminal = models.ForeignKey("manifests.Terminal", on_delete=models.PROTECT, related_name="gate_events")
    container = models.CharField(max_length=11, blank=True, help_text="As reported by the terminal, if any")
    occurred_at = models.DateTimeField(help_text="When the goods passed the gate / were loaded")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        db_table = "risk_gateevent"
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=["gate_out", "loaded_on_board"]),
                                   name="gate_event_kind_valid"),
            # Idempotency, also against two terminals' reports racing past the status check.
            models.UniqueConstraint(fields=["declaration", "kind"], name="gate_event_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.declaration_id} @ {self.terminal_id}"


class PostClearanceAudit(models.Model):
    """Blue lane: released now, audited later by the post-clearance audit unit."""

    Status = AuditStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="post_clearance_audit"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "risk_postclearanceaudit"
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=AuditStatus.values), name="pca_status_valid"),
        ]

    def __str__(self) -> str:
        return f"PCA {self.declaration_id} ({self.status})"


class ProvisionalReleaseCase(models.Model):
    """A post-clearance case: goods released provisionally during contingency (maintenance,
    "Provisional release") whose full processing after recovery found a difference: a yellow or
    red lane, a rejection at replay, a cancellation, or duty unpaid past its due date. Queue
    "Provisional releases to reconcile" in the officer workspace; one case per release."""

    Status = ProvisionalCaseStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The release and its submission live in the intake store: ids, not foreign keys.
    release_id = models.UUIDField(unique=True)
    submission_id = models.UUIDField()
    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.PROTECT, null=True, blank=True,
        related_name="provisional_release_cases")
    entry_number = models.CharField(max_length=16, blank=True)
    trader_pin = models.CharField(max_length=11)
    agent_username = models.CharField(max_length=150, blank=True)
    rule = models.CharField(max_length=40)
    released_at = models.DateTimeField(help_text="When the provisional release was issued.")
    expires_at = models.DateTimeField()
    differences = models.JSONField(default=list, help_text="[{code, detail}] found by the full processing.")
    summary = models.TextField(help_text="The difference, in words.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    outcome = models.TextField(blank=True, help_text="What the officer found and did.")

    class Meta:
        db_table = "risk_provisionalreleasecase"
        ordering = ["created_at", "id"]
        verbose_name = "provisional release to reconcile"
        verbose_name_plural = "Provisional releases to reconcile"
        indexes = [models.Index(fields=["status", "created_at"], name="prov_case_status_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ProvisionalCaseStatus.values),
                                   name="prov_case_status_valid"),
        ]

    def __str__(self) -> str:
        return f"provisional release {self.release_id} ({self.status})"


class ProvisionalReleaseCaseEvent(ChainedEvent):
    """Opening and closing of a reconciliation case, with the actor (none: the reconciliation task)."""

    chain_subject_field = "case_id"
    chain_hashed_fields = ("case_id", "from_status", "to_status", "actor_id", "reason", "payload", "created_at")

    case = models.ForeignKey(ProvisionalReleaseCase, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=8, blank=True)
    to_status = models.CharField(max_length=8)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "risk_provisionalreleasecaseevent"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_status or '-'} -> {self.to_status}"


__all__ = [
    "AgentQuery",
    "GateEvent",
    "OfficerTask",
    "PostClearanceAudit",
    "ProvisionalReleaseCase",
    "ProvisionalReleaseCaseEvent",
    "ReleaseOrder",
]
