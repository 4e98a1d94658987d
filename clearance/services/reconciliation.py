"""Reconciling provisional releases after recovery (docs/maintenance.md, "Reconciliation").

Goods released provisionally during contingency left on the strength of the published rules
alone. After recovery their submission is replayed, lodged, assessed and scored like any other;
this compares the outcome with the release and, where they differ, opens a post-clearance case
in the officers' queue "Provisional releases to reconcile":

    rejected at replay                       -> case (the errors)
    lodged, cancelled or rejected since      -> case
    lane yellow or red                       -> case (documentary check / examination skipped)
    green/blue, duty unpaid after due date   -> case (amount and due date)
    green/blue, paid (or nothing to pay)     -> clean
    not replayed, not scored, not yet due    -> wait for the next run

Two databases: the release row is in the intake store, the case in the primary. The case is
unique per release (a second run finds it instead of opening another); only after the primary
has committed is the release marked reconciled in the intake store.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import clock
from core.exceptions import Conflict, ValidationFailed, error
from declarations.enums import Status
from declarations.models import Declaration, Payment
from intake.enums import SubmissionStatus
from intake.models import BufferedSubmission, ProvisionalRelease
from intake.routers import INTAKE_ALIAS

from ..models import ProvisionalReleaseCase, ProvisionalReleaseCaseEvent

logger = logging.getLogger("forodha.clearance")

LANE_DIFFERENCE = {
    "yellow": "scored yellow (documentary check) by the full risk assessment",
    "red": "scored red (physical examination) by the full risk assessment",
}
PAID_STATUSES = frozenset({Status.PAID, Status.UNDER_CONTROL, Status.QUERIED, Status.RELEASED, Status.EXITED})


@dataclass(frozen=True)
class Finding:
    """What the full processing says about one release: wait, clean, or the differences."""

    ready: bool
    differences: tuple[dict[str, str], ...] = ()
    declaration: Any = None


@dataclass(frozen=True)
class ReconcileReport:
    examined: int
    clean: int
    cases_opened: int
    waiting: int


def _money(value: Decimal) -> str:
    return f"KES {value:,.2f}"


def release_compare(*, release: ProvisionalRelease, submission: BufferedSubmission | None,
                    today: dt.date) -> Finding:
    """The differences between a provisional release and the full processing of its submission."""
    if submission is None or submission.status in (SubmissionStatus.PENDING, SubmissionStatus.REPLAYING):
        return Finding(ready=False)
    result = submission.result or {}
    if submission.status == SubmissionStatus.REJECTED:
        problems = "; ".join(f"{e.get('pointer') or '/'} {e.get('detail', '')}".strip()
                             for e in result.get("errors") or []) or result.get("detail", "")
        return Finding(ready=True, differences=({
            "code": "rejected_at_replay",
            "detail": f"the declaration was rejected when replayed ({result.get('code', 'rejected')}): {problems}"},))
    resource_id = str(result.get("resource_id") or "")
    declaration = Declaration.objects.filter(pk=resource_id).first() if resource_id else None
    if declaration is None:
        return Finding(ready=True, differences=({
            "code": "not_lodged", "detail": "the replay lodged no declaration for this submission"},))
    differences: list[dict[str, str]] = []
    if declaration.status in (Status.CANCELLED, Status.REJECTED):
        differences.append({"code": f"declaration_{declaration.status}",
                            "detail": f"declaration {declaration.entry_number} is {declaration.status}"})
    elif declaration.channel is None:
        return Finding(ready=False, declaration=declaration)  # not scored yet
    if declaration.channel in LANE_DIFFERENCE:
        differences.append({"code": f"lane_{declaration.channel}", "detail": LANE_DIFFERENCE[declaration.channel]})
    if not differences:
        assessment = declaration.assessments.order_by("-version").first()
        due = assessment.total if assessment is not None else Decimal("0.00")
        paid = declaration.status in PAID_STATUSES or Payment.objects.filter(declaration=declaration).exists()
        if due > 0 and not paid:
            if declaration.payment_due_date is None or declaration.payment_due_date >= today:
                return Finding(ready=False, declaration=declaration)  # not due yet
            differences.append({"code": "duty_unpaid",
                                "detail": f"{_money(due)} assessed, unpaid after the due date "
                                          f"{declaration.payment_due_date.isoformat()}"})
    return Finding(ready=True, differences=tuple(differences), declaration=declaration)


def _summary(release: ProvisionalRelease, finding: Finding) -> str:
    issued = timezone.localtime(release.issued_at).strftime("%Y-%m-%d %H:%M %Z")
    what = "; ".join(d["detail"] for d in finding.differences)
    entry = f" (entry {finding.declaration.entry_number})" if finding.declaration is not None else ""
    return (f"Released provisionally on {issued} under rule '{release.rule}' for trader {release.trader_pin}"
            f"{entry}, but {what}.")


def provisional_releases_reconcile(*, actor: Any = None, limit: int = 500) -> ReconcileReport:
    """Compare every unreconciled provisional release whose submission has been processed with
    the outcome; open a case where they differ (beat task `clearance.reconcile_provisional_releases`)."""
    now = clock.now()
    today = timezone.localtime(now).date()
    releases = list(ProvisionalRelease.objects.filter(reconciled_at__isnull=True).order_by("issued_at", "id")[:limit])
    submissions = {row.pk: row for row in BufferedSubmission.objects.filter(
        pk__in=[release.submission_id for release in releases])}
    clean = opened = waiting = 0
    for release in releases:
        finding = release_compare(release=release, submission=submissions.get(release.submission_id), today=today)
        if not finding.ready:
            waiting += 1
            continue
        outcome = "clean"
        if finding.differences:
            outcome = "case"
            if _case_open(release=release, finding=finding, actor=actor, now=now):
                opened += 1
        else:
            clean += 1
        # The primary has committed (or had nothing to write): mark the intake row.
        with transaction.atomic(using=INTAKE_ALIAS):
            ProvisionalRelease.objects.filter(pk=release.pk, reconciled_at__isnull=True).update(
                reconciled_at=now, reconciliation=outcome)
    return ReconcileReport(examined=len(releases), clean=clean, cases_opened=opened, waiting=waiting)


def _case_open(*, release: ProvisionalRelease, finding: Finding, actor: Any, now: dt.datetime) -> bool:
    """Open the case (False when an earlier run already did: one case per release)."""
    declaration = finding.declaration
    try:
        with transaction.atomic():
            case = ProvisionalReleaseCase.objects.create(
                release_id=release.pk, submission_id=release.submission_id, declaration=declaration,
                entry_number=(declaration.entry_number or "") if declaration is not None else "",
                trader_pin=release.trader_pin, agent_username=release.agent_username, rule=release.rule,
                released_at=release.issued_at, expires_at=release.expires_at,
                differences=list(finding.differences), summary=_summary(release, finding), created_at=now)
            ProvisionalReleaseCaseEvent.objects.create(
                case=case, from_status="", to_status=ProvisionalReleaseCase.Status.OPEN,
                actor=actor if getattr(actor, "pk", None) else None,
                reason="Full processing after recovery differs from the provisional release",
                payload={"differences": list(finding.differences), "release_id": str(release.pk),
                         "issued_to": release.agent_username, "key_id": release.key_id},
                created_at=now)
    except IntegrityError:
        if ProvisionalReleaseCase.objects.filter(release_id=release.pk).exists():
            return False
        raise
    return True


def provisional_release_case_close(*, case_id: Any, outcome: str, actor: Any) -> ProvisionalReleaseCase:
    """An officer closes a case with what was found and done (post-clearance audit, demand note...)."""
    if not outcome.strip():
        raise ValidationFailed(errors=[error("required", "Say what was found and done.", "/outcome")])
    now = clock.now()
    with transaction.atomic():
        case = ProvisionalReleaseCase.objects.select_for_update(of=("self",)).get(pk=uuid.UUID(str(case_id)))
        if case.status != ProvisionalReleaseCase.Status.OPEN:
            raise Conflict(detail="The case is already closed.", code="case_closed",
                           errors=[error("case_closed", "Already closed.", "/status")])
        case.status = ProvisionalReleaseCase.Status.CLOSED
        case.closed_at = now
        case.closed_by = actor
        case.outcome = outcome.strip()
        case.save(update_fields=["status", "closed_at", "closed_by", "outcome"])
        ProvisionalReleaseCaseEvent.objects.create(
            case=case, from_status=ProvisionalReleaseCase.Status.OPEN, to_status=ProvisionalReleaseCase.Status.CLOSED,
            actor=actor, reason=case.outcome, payload={}, created_at=now)
    return case
