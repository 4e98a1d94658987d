from __future__ import annotations

from typing import Any

from django.db.models import Max

from clearance.tasks import ADVANCE_TASK, advance_clearance
from core import clock
from core.models import OutboxMessage
from risk import tasks as risk_tasks
from tests.risk.conftest import LANE_HS, lane_rules

__all__ = ["LANE_HS", "hand_over", "lane_rules", "score_and_hand_over"]


def hand_over(*, after: int = 0) -> list[str]:
    """Run the pending `clearance.advance` outbox rows (newer than id `after`) as a clearance worker
    would: inside a test's transaction the outbox never sends them (no commit). Returns the actions."""
    rows = list(OutboxMessage.objects.filter(task_name=ADVANCE_TASK, dispatched_at__isnull=True, pk__gt=after)
                .order_by("pk"))
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(dispatched_at=clock.now())
    return [advance_clearance(**row.kwargs) for row in rows]


def score_and_hand_over(declaration: Any) -> tuple[dict[str, Any], list[str]]:
    """The scoring task body, then the clearance work its transaction handed over by the
    `declarations.scored` event (the `clearance.advance` rows it wrote). (result, actions)."""
    last = OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0
    result = risk_tasks.score_declaration(str(declaration.pk))
    return result, hand_over(after=last)
