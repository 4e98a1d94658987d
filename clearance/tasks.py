"""Celery entry points of clearance: advance a declaration that is paid and scored, the sweeper
of declarations left so, the SLA timer, pre-arrival release on a manifest's arrival, and the
reconciliation of provisional releases.

Every task takes ids, re-reads the rows, re-checks the state and returns early when the work is
done, so a redelivered message is harmless (`risk.tasks.RELIABLE`: acks late, bounded retries of
transient errors only). Names are explicit and stable: producers (the outbox, the payment hook in
settings, the manifests app, beat) refer to them by name.

The tasks had `risk.*` names before the app was split out (issue 19). Those names stay registered
below as thin aliases, for messages already in the broker or in pending outbox rows when a
deployment upgrades; nothing new is sent under them (docs/clearance.md, "Task names").
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db.models import Q

from core import celery_app, clock
from core.exceptions import ApplicationError
from declarations.enums import Status
from declarations.models import Declaration
from risk.tasks import RELIABLE

from .services import clearance_advance, officer_tasks_escalate
from .services.reconciliation import provisional_releases_reconcile

logger = logging.getLogger("forodha.clearance")

ADVANCE_TASK = "clearance.advance"
ADVANCE_BATCH_TASK = "clearance.advance_batch"
MANIFEST_ARRIVED_TASK = "clearance.manifest_arrived"


def _advance(declaration_id: str) -> str:
    try:
        return clearance_advance(declaration_id=declaration_id, actor=None).action
    except ApplicationError as exc:  # e.g. cancelled meanwhile: a business outcome, not retried
        logger.warning("clearance: %s not advanced: %s", declaration_id, exc)
        return f"refused:{exc.code}"


@shared_task(name=ADVANCE_TASK, **RELIABLE)
def advance_clearance(declaration_id: str) -> str:
    """Sent after commit by clearance's subscribers: to the `paid` transition
    (`declaration.status_changed`) and to the scoring transaction's `declarations.scored`; a
    no-op until the declaration is paid and scored."""
    return _advance(declaration_id)


@shared_task(name=ADVANCE_BATCH_TASK, **RELIABLE)
def advance_clearance_batch(declaration_ids: list[str]) -> dict[str, str]:
    """Several `clearance.advance` messages of one transaction, coalesced by the outbox (a batch
    scored together). Each declaration is advanced in its own transaction, in id order."""
    return {pk: _advance(pk) for pk in sorted(set(declaration_ids))}


@shared_task(name="clearance.sweep_stalled", **RELIABLE)
def sweep_stalled(limit: int = 500) -> dict[str, int]:
    """Beat: re-enqueue declarations ready for clearance (paid, or nothing to pay) and scored but
    not advanced for longer than CLEARANCE_SWEEP_STALLED_MINUTES (a lost message). Advancing is
    idempotent, so a duplicate is harmless."""
    cutoff = clock.now() - dt.timedelta(minutes=settings.CLEARANCE_SWEEP_STALLED_MINUTES)
    # Ready for clearance: paid, or assessed with nothing to pay (no payment due date: IM8 secured
    # by bond, or assessed at KES 0.00; declarations.lifecycle.no_payment_step).
    ready = Q(status=Status.PAID) | Q(status=Status.ASSESSED, payment_due_date__isnull=True)
    stuck = list(
        Declaration.objects.filter(ready, risk_assessment__isnull=False, updated_at__lte=cutoff).values_list(
            "pk", flat=True
        )[:limit]
    )
    app = celery_app.app()
    for start in range(0, len(stuck), 50):  # batches, as the outbox coalesces them
        app.send_task(ADVANCE_BATCH_TASK, kwargs={"declaration_ids": [str(pk) for pk in stuck[start:start + 50]]})
    return {"stalled": len(stuck)}


@shared_task(name="clearance.escalate_overdue_tasks", **RELIABLE)
def escalate_overdue_tasks() -> int:
    """Beat: SLA timer for unassigned yellow/red work."""
    count = officer_tasks_escalate()
    if count:
        logger.warning("clearance: %d unassigned officer task(s) escalated to supervisors", count)
    return count


@shared_task(name=MANIFEST_ARRIVED_TASK, **RELIABLE)
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


@shared_task(name="clearance.reconcile_provisional_releases", time_limit=300, soft_time_limit=280)
def reconcile_provisional_releases_task() -> dict[str, int]:
    """Beat (every PROVISIONAL_RELEASE_RECONCILE_SECONDS): compare provisionally released submissions
    with their full processing after recovery; differences open cases for officers."""
    report = provisional_releases_reconcile(actor=None)
    return {"examined": report.examined, "clean": report.clean, "cases_opened": report.cases_opened,
            "waiting": report.waiting}


# ------------------------------------------------------------------------------------------------
# The names of the risk days, for messages sent before the upgrade (none is sent any more)


@shared_task(name="risk.advance_clearance", **RELIABLE)
def advance_clearance_legacy(declaration_id: str) -> str:
    return _advance(declaration_id)


@shared_task(name="risk.escalate_overdue_tasks", **RELIABLE)
def escalate_overdue_tasks_legacy() -> int:
    return escalate_overdue_tasks()


@shared_task(name="risk.manifest_arrived", **RELIABLE)
def manifest_arrived_legacy(manifest_id: str) -> int:
    return manifest_arrived(manifest_id)


@shared_task(name="risk.reconcile_provisional_releases", time_limit=300, soft_time_limit=280)
def reconcile_provisional_releases_legacy() -> dict[str, int]:
    return reconcile_provisional_releases_task()

