"""Celery entry points of risk: scoring, and the sweeper of declarations left unscored.

Every task takes ids, re-reads the rows, re-checks the state and returns early when the work is
done, so a redelivered message (acks_late + reject_on_worker_lost, a sweeper re-enqueue, an
outbox re-send) is harmless. Only named transient errors are retried, with backoff and a bound.
Names are explicit and stable: producers (the outbox, other apps) refer to them by name.

Risk hands a scored declaration to clearance without naming it: the scoring service publishes
`declarations.scored` in its transaction and the clearance app, which subscribes, writes its own
outbox message (README "Architecture", docs/clearance.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from core import celery_app, clock
from declarations.enums import Status
from declarations.models import Declaration

from .services import risk_assessment_create, risk_assessments_create

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


@shared_task(name=SCORE_TASK, **RELIABLE)
def score_declaration(declaration_id: str) -> dict[str, Any]:
    """Score a lodged declaration (idempotent). One ready for clearance (paid, or nothing to pay)
    is handed to clearance by the `declarations.scored` event of the scoring transaction."""
    outcome = risk_assessment_create(declaration_id=declaration_id, actor=None)
    return {
        "declaration_id": declaration_id,
        "created": outcome.created,
        "lane": outcome.assessment.lane if outcome.assessment else None,
        "skipped": outcome.skipped_reason,
        "ready_for_clearance": outcome.ready_for_clearance,
    }


@shared_task(name=SCORE_BATCH_TASK, **RELIABLE)
def score_declarations_batch(declaration_ids: list[str]) -> dict[str, int]:
    """Score many declarations in one transaction (bulk lodging, the sweeper, the benchmark)."""
    outcomes = risk_assessments_create(declaration_ids=declaration_ids, actor=None)
    return {"scored": sum(1 for o in outcomes if o.created),
            "ready_for_clearance": sum(1 for o in outcomes if o.ready_for_clearance)}


@shared_task(name="risk.sweep_unscored", **RELIABLE)
def sweep_unscored(limit: int = 500) -> dict[str, int]:
    """Beat: re-enqueue declarations stuck without a score for longer than
    RISK_SWEEP_UNSCORED_MINUTES (a lost message, a broker outage the outbox did not cover).
    Scoring is idempotent, so a duplicate is harmless. (Paid + scored but not advanced: the
    clearance app's own sweeper, `clearance.sweep_stalled`.)"""
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
    return {"unscored": len(unscored)}
