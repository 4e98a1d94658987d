"""Reads for clearance: officer queues, the agent's queries, time-to-release statistics, open
provisional-release cases."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from typing import Any

from core.exceptions import NotFound
from declarations.models import Declaration

from .models import AgentQuery, ProvisionalReleaseCase, ReleaseOrder


@dataclass(frozen=True)
class LaneReleaseStats:
    lane: str
    count: int
    median_seconds: float | None
    p90_seconds: float | None


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value below which `fraction` of the observations fall)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def time_to_release_stats(
    *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, LaneReleaseStats]:
    """Time from lodging to release order per lane: count, median and p90 (seconds)."""
    qs = ReleaseOrder.objects.filter(declaration__lodged_at__isnull=False)
    if since is not None:
        qs = qs.filter(issued_at__gte=since)
    if until is not None:
        qs = qs.filter(issued_at__lt=until)
    durations: dict[str, list[float]] = {"green": [], "blue": [], "yellow": [], "red": []}
    for lane, issued_at, lodged_at in qs.values_list("lane", "issued_at", "declaration__lodged_at"):
        if lodged_at is None:
            continue
        durations.setdefault(lane, []).append((issued_at - lodged_at).total_seconds())
    result = {}
    for lane, values in durations.items():
        values.sort()
        result[lane] = LaneReleaseStats(
            lane=lane,
            count=len(values),
            median_seconds=statistics.median(values) if values else None,
            p90_seconds=_percentile(values, 0.9),
        )
    return result


def agent_queries(*, declaration_id: Any, agent: Any) -> list[Any]:
    """The query rounds of the agent's own declaration (another agent's: not found)."""
    if not Declaration.objects.filter(pk=declaration_id, agent=agent).exists():
        raise NotFound(detail="No such declaration.", code="declaration_not_found")
    return list(AgentQuery.objects.filter(declaration_id=declaration_id).prefetch_related("answer_documents")
                .order_by("asked_at"))


def provisional_release_cases_open() -> int:
    """Open cases of the officer queue "Provisional releases to reconcile"."""
    return ProvisionalReleaseCase.objects.filter(status=ProvisionalReleaseCase.Status.OPEN).count()
