"""The clearance workflow after payment and selectivity, and the officers' decisions.

`clearance_advance` runs on a worker when a declaration is both paid and scored (whichever
happens second triggers it): green/blue are released automatically, yellow/red go
`under_control` with an officer task. Every decision locks the declaration row first, then the
task row (the lock order everywhere), and records the status change through
`declarations.services.declaration_transition` (event row + agent notification).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F

from core import clock, policy
from core.actors import actor_user
from core.exceptions import Conflict, NotFound, ValidationFailed, error
from declarations import services as declaration_services
from declarations.enums import AmendmentStatus, EventKind, Status
from declarations.lifecycle import clearable, no_payment_step
from declarations.models import AmendmentRequest, Declaration, DeclarationDocument
from declarations.services import (
    declaration_channel_record_locked,
    declaration_note_record_locked,
    declaration_officer_amend,
    declaration_transition_locked,
)
from notifications.services import notification_create
from risk.models import RiskAssessment
from traders.models import Trader

from ..lifecycle import OFFICER_TASK
from ..models import AgentQuery, OfficerTask, ReleaseOrder
from ..sla import WAITING_OUTCOME, created_before_limit, task_sla
from .release import arrival_allows_release, declaration_lock_for_clearance, release_locked

QUEUE_FOR_LANE = {"yellow": OfficerTask.Queue.DOCUMENTARY_CHECK, "red": OfficerTask.Queue.INSPECTION}


@dataclass(frozen=True)
class ClearanceOutcome:
    declaration_id: str
    # released | under_control | waiting_payment | waiting_score | waiting_arrival | nothing_to_do
    action: str
    release_order: ReleaseOrder | None = None
    task: OfficerTask | None = None


@transaction.atomic
def clearance_advance(*, declaration_id: Any, actor: Any = None) -> ClearanceOutcome:
    """Move a paid (or nothing to pay: IM8 bond-secured, KES 0.00) + scored declaration on. Idempotent: anything past
    `paid` is left alone."""
    declaration = declaration_lock_for_clearance(declaration_id)
    pk = str(declaration.pk)
    # paid, or assessed with nothing to pay (IM8 secured by bond, or assessed at KES 0.00)
    if not clearable(declaration.status, no_payment_step=no_payment_step(declaration)):
        return ClearanceOutcome(
            pk, "waiting_payment" if declaration.status in (Status.REGISTERED, Status.ASSESSED) else "nothing_to_do"
        )
    assessment = RiskAssessment.objects.filter(declaration_id=declaration.pk).first()
    if assessment is None:
        return ClearanceOutcome(pk, "waiting_score")
    if assessment.lane in ("green", "blue"):
        if not arrival_allows_release(declaration):
            return ClearanceOutcome(pk, "waiting_arrival")
        order = release_locked(declaration=declaration, actor=actor, automatic=True, reason="")
        return ClearanceOutcome(pk, "released", release_order=order)
    queue = QUEUE_FOR_LANE[assessment.lane]
    documentary = queue == OfficerTask.Queue.DOCUMENTARY_CHECK
    # Yellow: the agent presents the documents for the check; red: the goods for examination.
    declaration_transition_locked(
        declaration=declaration,
        to_status=Status.UNDER_CONTROL,
        actor=actor,
        reason="Documentary check" if documentary else "Physical examination",
        payload={"channel": assessment.lane, "control": str(queue)},
        notification_kind="documents_required" if documentary else "physical_control",
    )
    task, _ = OfficerTask.objects.get_or_create(
        declaration=declaration,
        status=OfficerTask.Status.OPEN,
        defaults={"queue": queue, "lane": assessment.lane, "priority": assessment.priority, "created_at": clock.now()},
    )
    if documentary:
        # The installed policy may act at once (training sandbox: reference Q is queried).
        policy.current().after_documentary_control(declaration=declaration, actor=actor)
    return ClearanceOutcome(pk, "under_control", task=task)


def _live_task_locked(declaration_id: Any) -> OfficerTask:
    task = (
        OfficerTask.objects.select_for_update()
        .filter(declaration_id=declaration_id, status__in=[OfficerTask.Status.OPEN, OfficerTask.Status.ASSIGNED])
        .first()
    )
    if task is None:
        raise Conflict(detail="This declaration has no open officer task.", code="no_open_task")
    return task


@transaction.atomic
def officer_task_assign(*, task_id: Any, officer: Any, actor: Any) -> OfficerTask:
    """Assign (or re-assign) a live task to an officer."""
    task = OfficerTask.objects.filter(pk=task_id).first()
    if task is None:
        raise NotFound(detail="Officer task not found.", code="task_not_found")
    declaration_lock_for_clearance(task.declaration_id)
    task = OfficerTask.objects.select_for_update().get(pk=task_id)
    OFFICER_TASK.transition_check(task.status, OfficerTask.Status.ASSIGNED)  # 409 task_done
    if officer is None or not getattr(officer, "is_staff", False):
        raise ValidationFailed(errors=[error("not_an_officer", "Tasks go to customs officers (staff).", "/officer")])
    task.status = OfficerTask.Status.ASSIGNED
    task.assigned_to = officer
    task.assigned_at = clock.now()
    task.save(update_fields=["status", "assigned_to", "assigned_at"])
    return task


def officer_task_take_next(*, candidates: Any, officer: Any, actor: Any, attempts: int = 5) -> OfficerTask | None:
    """"Take next": assign the first still-open task of `candidates` (a queryset the caller has
    scoped and ordered — AEO priority first, then oldest) to `officer`. Compare-and-set on the
    task's status, so two officers taking at once never get the same task; None when the queue
    is empty."""
    if officer is None or not getattr(officer, "is_staff", False):
        raise ValidationFailed(errors=[error("not_an_officer", "Tasks go to customs officers (staff).", "/officer")])
    for _ in range(attempts):
        task = candidates.filter(status=OfficerTask.Status.OPEN).first()
        if task is None:
            return None
        now = clock.now()
        taken = OfficerTask.objects.filter(pk=task.pk, status=OfficerTask.Status.OPEN).update(
            status=OfficerTask.Status.ASSIGNED, assigned_to=officer, assigned_at=now
        )
        if taken:
            task.refresh_from_db()
            return task
    raise Conflict(detail="Other officers took the next tasks first; try again.", code="take_next_contended")


@transaction.atomic
def declaration_query_agent(*, declaration_id: Any, documents: list[str], reason: str, actor: Any) -> OfficerTask:
    """Documents required: under_control -> queried; the agent is notified with the list."""
    if not documents:
        raise ValidationFailed(errors=[error("required", "Name at least one document.", "/documents")])
    declaration = declaration_lock_for_clearance(declaration_id)
    task = _live_task_locked(declaration.pk)
    if declaration.status != Status.UNDER_CONTROL:
        raise Conflict(detail="Only a declaration under control can be queried.", code="illegal_transition")
    declaration_transition_locked(
        declaration=declaration,
        to_status=Status.QUERIED,
        actor=actor,
        reason=reason or "Documents required",
        payload={"documents_required": list(documents)},
        notification_kind="documents_required",
    )
    now = clock.now()
    AgentQuery.objects.create(declaration=declaration, task=task, documents_required=list(documents),
                              reason=reason or "Documents required", asked_by=actor_user(actor), asked_at=now)
    task.outcome = "queried"
    task.waiting_since = now  # the SLA clock stops until the agent answers
    task.save(update_fields=["outcome", "waiting_since"])
    return task


def _sla_resume(task: OfficerTask, now: Any) -> list[str]:
    """Stop the agent's wait: its length joins the task's paused time. Returns the changed fields."""
    if task.waiting_since is None:
        return []
    task.sla_paused += max(now - task.waiting_since, dt.timedelta(0))
    task.waiting_since = None
    return ["sla_paused", "waiting_since"]


@transaction.atomic
def query_answer(*, declaration_id: Any, agent: Any, message: str, document_ids: list[Any],
                 actor: Any) -> AgentQuery:
    """The agent answers the open query (message + uploaded documents, no fee): the answer is
    recorded, the SLA clock restarts, and the declaration goes back under control to the officer
    (queried -> under_control), who sees the answer in the task."""
    if not Declaration.objects.filter(pk=declaration_id, agent=agent).exists():
        raise NotFound(detail="No such declaration.", code="declaration_not_found")
    if not message.strip():
        raise ValidationFailed(errors=[error("required", "Write the answer.", "/message")])
    declaration = declaration_lock_for_clearance(declaration_id)
    query = AgentQuery.objects.select_for_update().filter(declaration_id=declaration.pk,
                                                          closed_at__isnull=True).first()
    if declaration.status != Status.QUERIED or query is None:
        raise Conflict(detail="There is no open query on this declaration.", code="not_queried",
                       errors=[error("not_queried", f"Status is {declaration.status}.", "/status")])
    wanted = [str(d) for d in document_ids]
    documents = {str(d.pk): d for d in DeclarationDocument.objects.filter(declaration_id=declaration.pk,
                                                                          pk__in=wanted)}
    missing = [error("unknown_document", "No such document on this declaration.", f"/documents/{i}")
               for i, d in enumerate(wanted) if d not in documents]
    if missing:
        raise ValidationFailed(errors=missing)
    task = _live_task_locked(declaration.pk)
    now = clock.now()
    query.answer_message = message
    query.answered_by = actor_user(actor)
    query.answered_at = query.closed_at = now
    query.save(update_fields=["answer_message", "answered_by", "answered_at", "closed_at"])
    query.answer_documents.set(list(documents.values()))
    declaration_note_record_locked(declaration=declaration, kind=EventKind.QUERY_ANSWERED, actor=actor,
                                   reason="Query answered",
                                   payload={"query_id": str(query.pk), "message": message, "documents": wanted})
    task.outcome = "answered"
    task.save(update_fields=["outcome", *_sla_resume(task, now)])
    declaration_transition_locked(declaration=declaration, to_status=Status.UNDER_CONTROL, actor=actor,
                                  reason="Query answered by the agent",
                                  payload={"query_id": str(query.pk), "documents": wanted},
                                  notification_kind="query_answered")
    return query


@transaction.atomic
def declaration_control_resume(*, declaration_id: Any, actor: Any, reason: str = "") -> OfficerTask:
    """The agent supplied what was asked: queried -> under_control, the task continues."""
    declaration = declaration_lock_for_clearance(declaration_id)
    task = _live_task_locked(declaration.pk)
    if declaration.status != Status.QUERIED:
        raise Conflict(detail="Only a queried declaration can return under control.", code="illegal_transition")
    documentary = task.queue == OfficerTask.Queue.DOCUMENTARY_CHECK
    # Tell the agent what happened (documents received) and which control continues — the
    # default "under control" notice would say "physical control" even for a documentary check.
    declaration_transition_locked(
        declaration=declaration, to_status=Status.UNDER_CONTROL, actor=actor, reason=reason or "Documents received",
        notification_kind="documents_required" if documentary else "physical_control",
        subject=f"{declaration.entry_number}: documents received; the "
                f"{'documentary check' if documentary else 'physical examination'} continues",
        payload={"control": str(task.queue)},
    )
    now = clock.now()
    AgentQuery.objects.filter(declaration_id=declaration.pk, closed_at__isnull=True).update(closed_at=now)
    task.outcome = ""
    task.save(update_fields=["outcome", *_sla_resume(task, now)])
    return task


@transaction.atomic
def inspection_request(*, declaration_id: Any, reason: str, actor: Any) -> OfficerTask:
    """A documentary check found cause for a physical examination: the task moves to the
    inspection queue and the channel becomes red (the agent sees "physical control")."""
    declaration = declaration_lock_for_clearance(declaration_id)
    if declaration.status != Status.UNDER_CONTROL:
        raise Conflict(detail="Inspection can only be requested under control.", code="illegal_transition")
    task = _live_task_locked(declaration.pk)
    now = clock.now()
    previous_lane = declaration.channel
    task.queue = OfficerTask.Queue.INSPECTION
    task.inspection_requested_at = now
    task.lane = "red"
    task.save(update_fields=["queue", "inspection_requested_at", "lane"])
    # The lane change is a state change of the declaration: it goes on its timeline with the actor.
    declaration_channel_record_locked(
        declaration=declaration, channel="red", actor=actor, reason=reason or "Physical examination requested",
        payload={"channel": {"from": previous_lane, "to": "red"}, "task": str(task.pk)},
    )
    notification_create(
        agent=declaration.agent,
        kind="physical_control",
        subject=f"{declaration.entry_number}: physical examination required",
        payload={"entry_number": declaration.entry_number, "channel": "red"},
        declaration_id=declaration.pk,
        actor=actor,
    )
    return task


@transaction.atomic
def inspection_findings_record(*, declaration_id: Any, findings: str, compliant: bool, actor: Any) -> OfficerTask:
    """Record the examination's findings. A non-compliant finding counts as an offence of the
    trader (a risk indicator for its next declarations); the officer then releases, amends the
    assessment, or rejects/seizes."""
    if not findings.strip():
        raise ValidationFailed(errors=[error("required", "Findings must be described.", "/findings")])
    declaration = declaration_lock_for_clearance(declaration_id)
    task = _live_task_locked(declaration.pk)
    task.findings = findings
    task.outcome = "compliant" if compliant else "non_compliant"
    task.save(update_fields=["findings", "outcome"])
    # The examination's result is part of the declaration's history (who examined, what was found).
    declaration_note_record_locked(
        declaration=declaration, kind=EventKind.FINDINGS, actor=actor, reason=findings,
        payload={"compliant": compliant, "task": str(task.pk)},
    )
    if not compliant and declaration.trader_id:
        Trader.objects.filter(pk=declaration.trader_id).update(offences_count=F("offences_count") + 1)
    return task


@transaction.atomic
def inspection_findings_override(*, declaration_id: Any, reason: str, actor: Any) -> OfficerTask:
    """A supervisor allows release despite non-compliant findings (e.g. the discrepancy was
    settled otherwise). The findings stay on the task; the override and its reason go on the
    declaration's history; release is possible again."""
    if not reason.strip():
        raise ValidationFailed(errors=[error("required", "Give the reason for the override.", "/reason")])
    declaration = declaration_lock_for_clearance(declaration_id)
    task = _live_task_locked(declaration.pk)
    if task.outcome != "non_compliant":
        raise Conflict(detail="Only non-compliant findings can be overridden.", code="nothing_to_override",
                       errors=[error("nothing_to_override", f"Task outcome is {task.outcome or 'none'}.",
                                     "/findings")])
    task.outcome = "overridden"
    task.save(update_fields=["outcome"])
    declaration_note_record_locked(
        declaration=declaration, kind=EventKind.OVERRIDE, actor=actor, reason=reason,
        payload={"task": str(task.pk), "findings": task.findings},
    )
    return task


def assessment_amend(
    *,
    declaration_id: Any,
    actor: Any,
    accept: bool = True,
    reason: str = "",
    body: dict[str, Any] | None = None,
) -> Any:
    """Officer decision on the assessment, delegated to the declarations app (which owns
    versions, re-assessment and e-slips): decide the agent's pending amendment request (accept:
    re-assessed at the original registration date, new version and e-slip; reject with a
    reason), or, with `body`, an officer-initiated amendment (`declaration_officer_amend`)."""
    if body is not None:
        return declaration_officer_amend(declaration_id=declaration_id, body=body, reason=reason, actor=actor)
    pending = AmendmentRequest.objects.filter(declaration_id=declaration_id, status=AmendmentStatus.PENDING).first()
    if pending is None:
        raise Conflict(detail="There is no pending amendment request.", code="no_pending_amendment")
    if accept:
        return declaration_services.amendment_request_accept(request_id=pending.pk, actor=actor)
    if not reason.strip():
        raise ValidationFailed(errors=[error("required", "Give the reason.", "/reason")])
    return declaration_services.amendment_request_reject(request_id=pending.pk, actor=actor, reason=reason)


@transaction.atomic
def declaration_reject(*, declaration_id: Any, reason: str, actor: Any, seize: bool = False) -> OfficerTask | None:
    """Reject the declaration (and optionally seize the goods, EACCMA s.210)."""
    if not reason.strip():
        raise ValidationFailed(errors=[error("required", "Give the reason.", "/reason")])
    declaration = declaration_lock_for_clearance(declaration_id)
    task = (
        OfficerTask.objects.select_for_update()
        .filter(declaration_id=declaration.pk, status__in=[OfficerTask.Status.OPEN, OfficerTask.Status.ASSIGNED])
        .first()
    )
    # The notice to the agent carries the reason (subject and payload), not only the new status.
    declaration_transition_locked(declaration=declaration, to_status=Status.REJECTED, actor=actor, reason=reason,
                                  payload={"seized": seize},
                                  notification_kind="rejected",
                                  subject=f"{declaration.entry_number}: rejected{' and goods seized' if seize else ''}"
                                          f" — {reason}")
    if task is not None:
        OFFICER_TASK.transition_check(task.status, OfficerTask.Status.DONE)
        task.status = OfficerTask.Status.DONE
        task.outcome = "seized" if seize else "rejected"
        task.completed_at = clock.now()
        if task.assigned_to_id is None and actor_user(actor) is not None:
            task.assigned_to = actor_user(actor)
        task.save(update_fields=["status", "outcome", "completed_at", "assigned_to"])
    return task


def officer_tasks_close(*, declaration_id: Any, outcome: str) -> int:
    """Close the live officer task of a declaration that left control some other way (the agent
    cancelled it): it must not linger in the work queues. Caller holds the declaration lock."""
    return OfficerTask.objects.filter(
        declaration_id=declaration_id, status__in=[OfficerTask.Status.OPEN, OfficerTask.Status.ASSIGNED]
    ).update(status=OfficerTask.Status.DONE, outcome=outcome, completed_at=clock.now())


def officer_tasks_escalate(*, actor: Any = None) -> int:
    """SLA timer: unassigned yellow/red tasks past their queue's service level (`clearance.sla`, the
    same rule the officer pages show) go to supervisors (marked escalated once; supervisors get
    them at the top of their queue). A task waiting for the agent's answer does not age."""
    now = clock.now()
    candidates = (
        OfficerTask.objects.filter(status=OfficerTask.Status.OPEN, escalated_at__isnull=True)
        .filter(created_before_limit(now))
        .exclude(outcome=WAITING_OUTCOME)
    )
    overdue = [task.pk for task in candidates if task_sla(task, now).overdue]
    if not overdue:
        return 0
    return OfficerTask.objects.filter(pk__in=overdue, escalated_at__isnull=True).update(escalated_at=now)
