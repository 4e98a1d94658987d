"""Reads of the intake store (answer while the primary is away)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from .enums import SubmissionStatus
from .models import BufferedSubmission


def _iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def pending_submissions() -> QuerySet[BufferedSubmission]:
    return BufferedSubmission.objects.filter(
        Q(status=SubmissionStatus.PENDING) | Q(status=SubmissionStatus.REPLAYING))


def submission_for_agent(*, submission_id: Any, user_id: int) -> BufferedSubmission | None:
    """The submission if `user_id` sent it (None otherwise: others learn nothing, not even that it exists)."""
    try:
        pk = uuid.UUID(str(submission_id))
    except ValueError:
        return None
    return BufferedSubmission.objects.filter(pk=pk, agent_id=user_id).first()


def receipt_state(*, submission_id: uuid.UUID, submission: BufferedSubmission | None = None) -> dict[str, Any]:
    """The look-up document: buffered | replaying | lodged (declaration id, entry number) |
    rejected (every problem with its pointer)."""
    row = submission or BufferedSubmission.objects.get(pk=submission_id)
    state = {SubmissionStatus.PENDING: "buffered", SubmissionStatus.REPLAYING: "replaying",
             SubmissionStatus.LODGED: "lodged", SubmissionStatus.REJECTED: "rejected"}[SubmissionStatus(row.status)]
    result = row.result or {}
    doc: dict[str, Any] = {
        "submission_id": str(row.id), "state": state, "endpoint": row.receipt.get("endpoint", row.endpoint),
        "received_at": _iso(row.received_at), "lodged_at": _iso(row.lodged_at),
        "corrects": str(row.corrects_id) if row.corrects_id else None,
        "finished_at": _iso(row.finished_at), "receipt": row.receipt,
        "lodged": None, "rejected": None,
    }
    if state == "lodged":
        doc["lodged"] = {"resource_id": result.get("resource_id"), "entry_number": result.get("entry_number"),
                         **({"result": result["result"]} if result.get("result") else {})}
    elif state == "rejected":
        doc["rejected"] = {"code": result.get("code", ""), "detail": result.get("detail", ""),
                           "errors": result.get("errors", [])}
    return doc


def episode_pending() -> bool:
    """A detected outage not yet recorded in the primary (open or closed episode)."""
    from .enums import EpisodeStatus
    from .models import Episode

    return Episode.objects.filter(status__in=[EpisodeStatus.OPEN, EpisodeStatus.CLOSED]).exists()
