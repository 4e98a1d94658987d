"""Celery entry points of risk and clearance.

Every task takes ids, re-reads the rows, re-checks the state and returns early when the work is
done, so a redelivered message (acks_late + reject_on_worker_lost, a sweeper re-enqueue, an
outbox re-send) is harmless. Only named transient errors are retried, with backoff and a bound.
Names are explicit and stable: producers (the outbox, other apps) refer to them by name.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.db.models import Q
from kombu.exceptions import OperationalError as BrokerOperationalError

from core import celery_app, clock
from core.exceptions import ApplicationError
from declarations.enums import Status
from declarations.models import Declaration

from .services.reconciliation import provisional_releases_reconcile

logger = logging.getLogger("forodha.risk")

TRANSIENT_ERRORS = (DatabaseOperationalError, InterfaceError, BrokerOperationalError)

RELIABLE: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
    "time_limit": 120,
    "soft_time_limit": 100,
}

SCORE_TASK = "risk.score_declaration"
SCORE_BATCH_TASK = "risk.score_declarations_batch"
ADVANCE_TASK = "risk.advance_clearance"


def _advance(declaration_id: str) -> str:
    from .services import clearance_advance

    try:
        return clearance_advance(declaration_id=declaration_id, actor=None).action
    except ApplicationError as exc:  # e.g. cancelled meanwhile: a business outcome, not retried
        logger.warning("clearance: %s not advanced: %s", declaration_id, exc)
        return f"refused:{exc.code}"


@shared_task(name=SCORE_TASK, **RELIABLE)
def score_declaration(declaration_id: str) -> dict[str, Any]:
    """Score a lodged declaration (idempotent), then advance clearance if it is already paid."""
    from .services import risk_assessment_create

    outcome = risk_assessment_create(declaration_id=declaration_id, actor=None)
    action = _advance(declaration_id) if outcome.ready_for_clearance else ""
    return {
        "declaration_id": declaration_id,
        "created": outcome.created,
        "lane": outcome.assessment.lane if outcome.assessment else None,
        "skipped": outcome.skipped_reason,
        "clearance": action,
    }


@shared_task(name=SCORE_BATCH_TASK, **RELIABLE)
def score_declarations_batch(declaration_ids: list[str]) -> dict[str, int]:
    """Score many declarations in one transaction (bulk lodging, the sweeper, the benchmark)."""
    from .services import risk_assessments_create

    outcomes = risk_assessments_create(declaration_ids=declaration_ids, actor=None)
    advanced = 0
    for outcome in outcomes:
        if outcome.ready_for_clearance:
            _advance(outcome.declaration_id)
            advanced += 1
    return {"scored": sum(1 for o in outcomes if o.created), "advanced": advanced}


@shared_task(name=ADVANCE_TASK, **RELIABLE)
def advance_clearance(declaration_id: str) -> str:
    """Enqueued by the payment service after commit; a no-op until the declaration is scored."""
    return _advance(declaration_id)


@shared_task(name="risk.sweep_unscored", **RELIABLE)
def sweep_unscored(limit: int = 500) -> dict[str, int]:
    """Beat: re-enqueue declarations stuck without a score, or paid + scored but not advanced,
    for longer than RISK_SWEEP_UNSCORED_MINUTES (a lost message, a broker outage the outbox
    did not cover). Scoring and advancing are idempotent, so a duplicate is harmless."""
    cutoff = clock.now() - dt.timedelta(minutes=settings.RISK_SWEEP_UNSCORED_MINUTES)
    unscored = list(
        Declaration.objects.filter(
            status__in=[Status.REGISTERED, Status.ASSESSED, Status.PAID], risk_assessment__isnull=True,
            lodged_at__lte=cutoff,
        )
        .order_by("lodged_at")
        .values_list("pk", flat=True)[:limit]
    )
    app = celery_app.app()
    for start in range(0, len(unscored), 50):
        app.send_task(SCORE_BATCH_TASK, kwargs={"declaration_ids": [str(pk) for pk in unscored[start : start + 50]]})
    # Ready for clearance: paid, or assessed with nothing to pay (no payment due date: IM8 secured
    # by bond, or assessed at KES 0.00; declarations.lifecycle.no_payment_step).
    ready = Q(status=Status.PAID) | Q(status=Status.ASSESSED, payment_due_date__isnull=True)
    stuck = list(
        Declaration.objects.filter(ready, risk_assessment__isnull=False, updated_at__lte=cutoff).values_list(
            "pk", flat=True
        )[:limit]
    )
    for pk in stuck:
        app.send_task(ADVANCE_TASK, kwargs={"declaration_id": str(pk)})
    return {"unscored": len(unscored), "stuck_paid": len(stuck)}


@shared_task(name="risk.escalate_overdue_tasks", **RELIABLE)
def escalate_overdue_tasks() -> int:
    """Beat: SLA timer for unassigned yellow/red work."""
    from .services import officer_tasks_escalate

    count = officer_tasks_escalate()
    if count:
        logger.warning("clearance: %d unassigned officer task(s) escalated to supervisors", count)
    return count


@shared_task(name="risk.manifest_arrived", **RELIABLE)
def manifest_arrived(manifest_id: str) -> int:
    """Enqueued when a manifest's arrival is recorded: paid declarations waiting for arrival
    (pre-arrival processing) on its bills of lading are advanced (released if green/blue)."""
    waiting = list(
        Declaration.objects.filter(
            bill_of_lading__manifest_id=manifest_id, status=Status.PAID, risk_assessment__isnull=False
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in waiting:
        _advance(str(pk))
    return len(waiting)


@shared_task(name="risk.reconcile_provisional_releases", time_limit=300, soft_time_limit=280)
def reconcile_provisional_releases_task() -> dict[str, int]:
    """Beat (every PROVISIONAL_RELEASE_RECONCILE_SECONDS): compare provisionally released submissions
    with their full processing after recovery; differences open cases for officers."""
    report = provisional_releases_reconcile(actor=None)
    return {"examined": report.examined, "clean": report.clean, "cases_opened": report.cases_opened,
            "waiting": report.waiting}
