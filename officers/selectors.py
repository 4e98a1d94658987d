"""Reads for the officer workspace: office scoping, queue rows, the declaration detail page and
the dashboard figures. Each read runs a fixed number of queries, whatever the data size."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from clearance import sla as _sla
from clearance.enums import LIVE_TASK_STATUSES, OfficerTaskStatus
from clearance.models import AgentQuery, GateEvent, OfficerTask, ReleaseOrder
from clearance.selectors import provisional_release_cases_open, time_to_release_stats
from core import clock
from declarations.enums import Status
from declarations.models import (
    Assessment,
    Declaration,
    DeclarationDocument,
    DeclarationEvent,
    DeclarationVersion,
    Payment,
)
from declarations.services.deadlines import interest_for
from declarations.services.snapshots import body_diff
from intake.enums import SubmissionStatus
from maintenance.enums import OutageStatus, WindowStatus
from maintenance.models import BufferedSubmission, MaintenanceWindow, Outage
from manifests.models import Container
from notifications.models import Notification
from risk.models import RiskAssessment

from .formatting import HistoryEntry, history
from .valuation import valuation_comparison

ALL_OFFICES = "*"
LIVE_TASK = LIVE_TASK_STATUSES
LANES = ("green", "blue", "yellow", "red")
BACKLOG_STATUSES: tuple[str, ...] = (
    Status.REGISTERED, Status.ASSESSED, Status.PAID, Status.UNDER_CONTROL, Status.QUERIED)


# --- scoping --------------------------------------------------------------------------------------


def officer_office(user: Any) -> str | None:
    """`ALL_OFFICES` for supervisors (and anyone with `view_all_offices`), the officer's office
    code, or None when an officer has no office assignment yet (sees nothing)."""
    if hasattr(user, "_officers_office"):
        cached: str | None = user._officers_office
        return cached
    if user.is_superuser or user.has_perm("officers.view_all_offices"):
        office: str | None = ALL_OFFICES
    else:
        from .models import OfficerProfile

        office = OfficerProfile.objects.filter(user_id=user.pk).values_list("office_id", flat=True).first()
    user._officers_office = office
    return office


def scope_declarations(qs: QuerySet[Any], user: Any, *, prefix: str = "") -> QuerySet[Any]:
    office = officer_office(user)
    if office == ALL_OFFICES:
        return qs
    if office is None:
        return qs.none()
    return qs.filter(**{f"{prefix}office_id": office})


# --- SLA ------------------------------------------------------------------------------------------


# One rule for the escalation timer and every display: clearance.sla (re-exported for the officer pages).
sla_hours = _sla.sla_hours
SlaState = _sla.SlaState
task_sla = _sla.task_sla


# --- queues ---------------------------------------------------------------------------------------


QUEUE_SELECT_RELATED = ("declaration", "declaration__office", "declaration__trader", "declaration__trader__aeo",
                        "assigned_to")


def queue_tasks(*, queue: str, user: Any) -> QuerySet[Any]:
    """Live officer tasks of one queue, scoped to the user's office."""
    # "Queried" is read from the task's outcome, which the clearance services set and clear
    # together with the declaration's status (query -> "queried", documents received -> ""):
    # the queue counts then need no join to the declarations table.
    qs = OfficerTask.objects.filter(status__in=LIVE_TASK)
    if queue == "documentary_check":
        qs = qs.filter(queue="documentary_check").exclude(outcome="queried")
    elif queue == "inspection":
        qs = qs.filter(queue="inspection").exclude(outcome="queried")
    elif queue == "assigned_to_me":
        qs = qs.filter(status=OfficerTaskStatus.ASSIGNED, assigned_to_id=user.pk)
    elif queue == "escalated":
        qs = qs.filter(escalated_at__isnull=False)
    elif queue == "queried":
        qs = qs.filter(outcome="queried")
    else:
        raise ValueError(queue)
    return scope_declarations(qs, user, prefix="declaration__").select_related(*QUEUE_SELECT_RELATED)


# The queues of the "My work" page, in the order shown: (queue key, label, admin model name, permission).
WORK_QUEUES = (
    ("documentary_check", "Documentary check", "documentarycheckqueue"),
    ("inspection", "Inspection", "inspectionqueue"),
    ("assigned_to_me", "Assigned to me", "assignedtomequeue"),
    ("escalated", "Escalated", "escalatedqueue"),
    ("queried", "Queried (waiting for the agent)", "queriedqueue"),
)
TAKE_NEXT_QUEUES = ("documentary_check", "inspection")


@dataclass(frozen=True)
class QueueCount:
    key: str
    label: str
    model_name: str
    count: int
    over_sla: int
    can_take: bool


@dataclass(frozen=True)
class MyTask:
    task: Any
    sla: SlaState


@dataclass(frozen=True)
class MyWork:
    queues: list[QueueCount]
    my_tasks: list[MyTask]


def take_next_candidates(*, queue: str, user: Any) -> QuerySet[Any]:
    """Open, unassigned tasks of a queue the user may work, AEO priority first, then oldest."""
    return queue_tasks(queue=queue, user=user).filter(status=OfficerTaskStatus.OPEN).order_by("-priority", "created_at")


def my_work(*, user: Any) -> MyWork:
    """The landing page: per queue the user may open, live tasks and how many are over the SLA
    (two COUNTs each, indexed); the user's own open tasks with the SLA time left, most urgent first."""
    now = clock.now()
    queues: list[QueueCount] = []
    for key, label, model_name in WORK_QUEUES:
        if not user.has_perm(f"officers.view_{model_name}"):
            continue
        qs = queue_tasks(queue=key, user=user).order_by()
        over = qs.filter(_sla.created_before_limit(now)).exclude(outcome=_sla.WAITING_OUTCOME).count()
        queues.append(QueueCount(key=key, label=label, model_name=model_name, count=qs.count(), over_sla=over,
                                 can_take=key in TAKE_NEXT_QUEUES and user.has_perm("officers.assign_task")))
    mine = [MyTask(task=task, sla=task_sla(task, now))
            for task in queue_tasks(queue="assigned_to_me", user=user).order_by("created_at")[:50]]
    mine.sort(key=lambda m: (m.sla.waiting, m.sla.left))
    return MyWork(queues=queues, my_tasks=mine)


_PIN = re.compile(r"^[AP][0-9]{9}[A-Z]$")
_CONTAINER = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")


def search_declarations(qs: QuerySet[Any], term: str, *, prefix: str = "") -> QuerySet[Any]:
    """Exact look-up by entry number, UCR, B/L number, and (when the term has their shape) trader
    PIN or ISO 6346 container number. Every branch is an indexed equality, so PostgreSQL
    combines them with a bitmap OR instead of scanning the table."""
    term = term.strip().upper()
    if not term:
        return qs
    condition = (
        Q(**{f"{prefix}entry_number": term})
        | Q(**{f"{prefix}ucr": term})
        | Q(**{f"{prefix}bill_of_lading_number": term})
    )
    if _PIN.match(term):
        condition |= Q(**{f"{prefix}importer_pin": term}) | Q(**{f"{prefix}exporter_pin": term})
    if _CONTAINER.match(term):
        # One small indexed read first: an IN list of B/L ids keeps the main query index-only.
        bl_ids = list(Container.objects.filter(number=term).values_list("bill_of_lading_id", flat=True)[:100])
        if bl_ids:
            condition |= Q(**{f"{prefix}bill_of_lading_id__in": bl_ids})
    return qs.filter(condition)


# --- declaration detail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionPair:
    number: int
    previous: int | None
    reason: str
    created_at: dt.datetime
    created_by: str
    rows: list[dict[str, Any]]  # {"pointer", "before", "after"}


@dataclass(frozen=True)
class DeclarationDetail:
    declaration: Any
    items: list[Any]
    documents: list[Any]
    assessment: Any | None
    assessment_lines: list[Any]
    risk: Any | None
    task: Any | None
    task_sla: SlaState | None
    events: list[Any]
    versions: list[VersionPair]
    notifications: list[Any]
    amendment_requests: list[Any]
    release_order: Any | None
    payment: Any | None
    containers: list[ContainerRow] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    files: list[Any] = field(default_factory=list)  # uploaded documents (DeclarationDocument)
    queries: list[Any] = field(default_factory=list)  # the officer/agent conversation (AgentQuery)
    gate_events: list[Any] = field(default_factory=list)
    valuation: list[Any] = field(default_factory=list)  # officers.valuation.ValuationRow per valued item
    interest: Any | None = None  # late-payment interest owed today (declarations.interest.LateInterest)


@dataclass(frozen=True)
class ContainerRow:
    number: str
    size_type: str
    seals: list[str]


def declaration_detail(*, declaration: Any) -> DeclarationDetail:
    """Everything the detail page shows, in a fixed number of queries (one per related table)."""
    items = list(declaration.items.all())
    documents = list(declaration.documents.all())
    assessment = (
        Assessment.objects.filter(declaration=declaration)
        .order_by("-version")
        .prefetch_related("lines")
        .first()
    )
    lines = list(assessment.lines.all()) if assessment is not None else []
    risk = RiskAssessment.objects.filter(declaration=declaration).first()
    # The live task if there is one, else the latest finished one.
    task = (
        OfficerTask.objects.filter(declaration=declaration)
        .select_related("assigned_to")
        .order_by(Case(When(status__in=LIVE_TASK, then=Value(0)), default=Value(1)), "-created_at")
        .first()
    )
    events = list(
        DeclarationEvent.objects.filter(declaration=declaration).select_related("actor").order_by("created_at", "id")
    )
    version_rows = list(
        DeclarationVersion.objects.filter(declaration=declaration).select_related("created_by").order_by("number")
    )
    versions: list[VersionPair] = []
    previous_body: dict[str, Any] | None = None
    previous_number: int | None = None
    for version in version_rows:
        body = (version.snapshot or {}).get("body", version.snapshot or {})
        rows: list[dict[str, Any]] = []
        if previous_body is not None:
            for change in body_diff(previous_body, body):
                rows.append({"pointer": change.get("pointer", ""), "before": change.get("old", change.get("before")),
                             "after": change.get("new", change.get("after"))})
        versions.append(VersionPair(
            number=version.number, previous=previous_number, reason=version.reason, created_at=version.created_at,
            created_by=version.created_by.get_username() if version.created_by else "system", rows=rows,
        ))
        previous_body, previous_number = body, version.number
    versions.reverse()
    notifications = list(Notification.objects.filter(declaration_id=declaration.pk).order_by("seq"))
    amendment_requests = list(declaration.amendment_requests.select_related("requested_by", "decided_by").all())
    release_order = ReleaseOrder.objects.filter(declaration=declaration).first()
    payment = getattr(declaration, "payment", None) if _has_payment(declaration) else None
    containers: list[ContainerRow] = []
    if declaration.bill_of_lading_id:
        containers = [
            ContainerRow(number=number, size_type=size_type, seals=[str(s) for s in (seals or [])])
            for number, size_type, seals in Container.objects.filter(bill_of_lading_id=declaration.bill_of_lading_id)
            .order_by("number").values_list("number", "size_type", "seals")
        ]
    files = list(DeclarationDocument.objects.filter(declaration=declaration).order_by("uploaded_at", "id"))
    queries = list(AgentQuery.objects.filter(declaration=declaration).select_related("asked_by", "answered_by")
                   .prefetch_related("answer_documents").order_by("asked_at"))
    gate_events = list(GateEvent.objects.filter(declaration=declaration).select_related("terminal")
                       .order_by("occurred_at"))
    valuation = valuation_comparison(declaration=declaration, items=items)
    eslip = declaration.eslips.filter(is_current=True).select_related("assessment").first()
    interest = interest_for(declaration=declaration, assessment=eslip.assessment if eslip else None,
                            paid=payment is not None or eslip is None)
    return DeclarationDetail(
        declaration=declaration, items=items, documents=documents, assessment=assessment, assessment_lines=lines,
        risk=risk, task=task, task_sla=task_sla(task) if task is not None and task.status in LIVE_TASK else None,
        events=events, versions=versions, notifications=notifications, amendment_requests=amendment_requests,
        release_order=release_order, payment=payment, containers=containers,
        history=history(events, risk_score=risk.score if risk is not None else None),
        files=files, queries=queries, gate_events=gate_events, valuation=valuation, interest=interest,
    )


def _has_payment(declaration: Any) -> bool:
    try:
        declaration.payment  # noqa: B018 - loaded by select_related in the admin queryset
    except Payment.DoesNotExist:
        return False
    return True


# --- dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaneDay:
    day: dt.date
    counts: dict[str, int]


@dataclass(frozen=True)
class Dashboard:
    days: list[LaneDay]
    release_times: dict[str, Any]  # lane -> clearance.selectors.LaneReleaseStats
    backlog: dict[str, int]
    windows: list[Any]
    active_outage: Any | None
    buffered_pending: int
    generated_at: dt.datetime
    # Open cases of the queue "Provisional releases to reconcile" (clearance.ProvisionalReleaseCase).
    provisional_releases_to_reconcile: int = 0


def dashboard_figures(*, user: Any, days: int = 14, release_days: int = 30) -> Dashboard:
    """Declarations per lane per day (lodging date, East Africa Time), time to release per lane,
    backlog per status (office-scoped like the queues), maintenance and contingency state."""
    now = clock.now()
    tz = timezone.get_current_timezone()
    today = timezone.localtime(now, tz).date()
    first_day = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=tz)
    base = scope_declarations(Declaration.objects.all(), user)
    per_day: dict[dt.date, dict[str, int]] = {first_day + dt.timedelta(days=n): dict.fromkeys(LANES, 0)
                                              for n in range(days)}
    rows = (
        base.filter(lodged_at__gte=start, channel__isnull=False)
        .annotate(day=TruncDate("lodged_at", tzinfo=tz))
        .values("day", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        if row["day"] in per_day and row["channel"] in LANES:
            per_day[row["day"]][row["channel"]] = row["n"]
    backlog = dict.fromkeys(BACKLOG_STATUSES, 0)
    for row in base.filter(status__in=BACKLOG_STATUSES).values("status").annotate(n=Count("pk")).order_by():
        backlog[row["status"]] = row["n"]
    windows = list(
        MaintenanceWindow.objects.filter(status__in=[WindowStatus.SCHEDULED, WindowStatus.ACTIVE], ends_at__gte=now)
        .order_by("starts_at")[:5]
    )
    outage = Outage.objects.filter(status=OutageStatus.ACTIVE).order_by("-started_at").first()
    buffered = BufferedSubmission.objects.filter(
        status__in=[SubmissionStatus.PENDING, SubmissionStatus.REPLAYING]).count()
    return Dashboard(
        days=[LaneDay(day=d, counts=c) for d, c in sorted(per_day.items())],
        release_times=time_to_release_stats(since=now - dt.timedelta(days=release_days)),
        backlog=backlog,
        windows=windows,
        active_outage=outage,
        buffered_pending=buffered,
        generated_at=now,
        provisional_releases_to_reconcile=provisional_release_cases_open(),
    )
