"""Risk rules (data edited by risk analysts), stored assessments, and the clearance workflow rows:
officer tasks, release orders, post-clearance audit records. (Agents' webhooks moved to the
`notifications` app.)"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent

from .enums import LIVE_TASK_STATUSES, AuditStatus, OfficerTaskStatus, ProvisionalCaseStatus
from .scoring import RuleKind

LANE_CHOICES = [("green", "Green"), ("blue", "Blue"), ("yellow", "Yellow"), ("red", "Red")]


class RiskRule(models.Model):
    """One selectivity rule. Effective-dated: it applies to declarations scored while
    valid_from <= now < valid_to (open-ended when valid_to is empty) and `active` is set.
    Each rule adds `weight` points to the score, or forces a lane (or both)."""

    KIND_CHOICES = [(k.value, k.value.replace("_", " ")) for k in RuleKind]

    class ForcedLane(models.TextChoices):
        NONE = "", "None (score only)"
        BLUE = "blue", "Blue"
        YELLOW = "yellow", "Yellow"
        RED = "red", "Red"

    code = models.SlugField(max_length=64, unique=True, help_text="Stable short name, e.g. hs-8703-vehicles.")
    kind = models.CharField(max_length=40, choices=KIND_CHOICES)
    description = models.CharField(max_length=200, help_text="Shown to officers as the reason's prefix.")
    explanation = models.TextField(blank=True, help_text="Why the rule exists and what it looks for.")
    weight = models.PositiveSmallIntegerField(default=0, help_text="Score points added when the rule hits.")
    forced_lane = models.CharField(max_length=8, choices=ForcedLane.choices, blank=True, default="")
    hs_prefixes = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated HS chapter/heading/code prefixes (8703, 8703.22)."
    )
    countries = models.CharField(max_length=300, blank=True, help_text="Comma-separated ISO alpha-2 codes.")
    threshold_percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    threshold_count = models.PositiveIntegerField(null=True, blank=True)
    rate = models.DecimalField(
        max_digits=6, decimal_places=5, null=True, blank=True, help_text="Random selection rate, 0 to 1."
    )
    active = models.BooleanField(default=True)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in RuleKind]), name="risk_rule_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(forced_lane__in=["", "blue", "yellow", "red"]), name="risk_rule_forced_lane_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(weight__gt=0) | ~models.Q(forced_lane=""), name="risk_rule_has_effect"
            ),
            models.CheckConstraint(
                condition=models.Q(rate__isnull=True) | models.Q(rate__gte=0, rate__lte=1), name="risk_rule_rate_range"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=models.F("valid_from")),
                name="risk_rule_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind})"


class ReferencePrice(models.Model):
    """Reference price per HS prefix and unit (valuation database kept by officers), effective-dated:
    KES per kg of net weight, or KES per supplementary unit (NAR, LTR, ...) compared with the
    item's supplementary quantity when declared in that unit."""

    hs_prefix = models.CharField(max_length=10, help_text="Digits only: chapter, heading or full code.")
    unit = models.CharField(max_length=8, default="kg",
                            help_text="kg (net weight) or a supplementary unit code (NAR, LTR, ...)")
    kes_per_unit = models.DecimalField(max_digits=14, decimal_places=2)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["hs_prefix", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hs_prefix__regex=r"^[0-9]{2,10}$"), name="refprice_prefix_digits"
            ),
            models.CheckConstraint(condition=models.Q(kes_per_unit__gt=0), name="refprice_positive"),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="refprice_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hs_prefix}: KES {self.kes_per_unit}/{self.unit}"


class RiskAssessment(models.Model):
    """The stored selectivity result. Officers see `hits`; agents only see the declaration's channel."""

    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="risk_assessment"
    )
    score = models.PositiveIntegerField()
    lane = models.CharField(max_length=8, choices=LANE_CHOICES)
    hits = models.JSONField(default=list, blank=True)
    priority = models.BooleanField(default=False)
    aeo_applied = models.BooleanField(default=False)
    rules_version = models.CharField(max_length=64, help_text="Digest of the rule set and prices used.")
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lane__in=["green", "blue", "yellow", "red"]), name="risk_assessment_lane_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.lane} ({self.score})"


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
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number


class GateEvent(models.Model):
    """A terminal's report that released goods physically left customs control: an import gated
    out of the terminal, an export loaded on board. One per declaration and kind (a repeated report
    is answered with the first), recorded by a terminal operator (docs/risk.md, "Gate events")."""

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
    "ReferencePrice",
    "ReleaseOrder",
    "RiskAssessment",
    "RiskRule",
]
