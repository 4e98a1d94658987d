"""Celery entry points of the intake store."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .identity import token_copies_reconcile


@shared_task(name="intake.reconcile_tokens", time_limit=60, soft_time_limit=50)
def reconcile_tokens_task() -> dict[str, Any]:
    """Beat (every INTAKE_TOKEN_RECONCILE_SECONDS): the intake token copy equals the primary's."""
    report = token_copies_reconcile()
    return {"active": report.active, "written": report.written, "removed": report.removed}
