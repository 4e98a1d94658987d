"""What risk does when another app publishes a domain event (subscribed in `RiskConfig.ready`)."""

from __future__ import annotations

from typing import Any

from .services import risk_assessments_create


def on_declarations_score_now(*, declaration_ids: list[Any], actor: Any = None) -> list[str]:
    """A replayed chunk asks for its selectivity in its own transaction: scored as the scoring task
    scores (same locks, rules and `declarations.scored` event); returns the ids that now have one."""
    outcomes = risk_assessments_create(declaration_ids=declaration_ids, actor=actor)
    return [o.declaration_id for o in outcomes if o.assessment is not None]
