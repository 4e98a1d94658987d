"""Scoring declarations and storing the result (`RiskAssessment`) with the declaration's channel."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core import clock

from ..models import RiskAssessment
from ..scoring import score_declaration
from ..selectors import RuleSet, declaration_facts, declarations_for_scoring, rule_set_in_force

logger = logging.getLogger("forodha.risk")

# Statuses in which a lodged declaration is waiting for (or may still receive) its selectivity.
SCORABLE_STATUSES = frozenset({"registered", "assessed", "paid", "queried"})


@dataclass(frozen=True)
class ScoringOutcome:
    declaration_id: str
    assessment: RiskAssessment | None
    created: bool
    status: str
    skipped_reason: str = ""

    @property
    def ready_for_clearance(self) -> bool:
        return self.assessment is not None and self.status == "paid"


def _score_locked(declaration: Any, rule_set: RuleSet) -> RiskAssessment:
    result = score_declaration(declaration_facts(declaration), rule_set.rules, rule_set.config)
    assessment = RiskAssessment.objects.create(
        declaration=declaration,
        score=result.score,
        lane=str(result.lane),
        hits=[hit.as_dict() for hit in result.hits],
        priority=result.priority,
        aeo_applied=result.aeo_applied,
        rules_version=rule_set.version,
        scored_at=clock.now(),
    )
    # The channel is all the agent ever sees of the result (an event row records it; the ETag
    # changes with it). The caller holds the row lock, so this re-lock is immediate.
    from declarations.services import declaration_channel_set

    declaration_channel_set(
        declaration_id=declaration.pk, channel=str(result.lane), actor=None, reason="selectivity"
    )
    declaration.channel = str(result.lane)
    return assessment


def risk_assessments_create(*, declaration_ids: Iterable[Any], actor: Any = None) -> list[ScoringOutcome]:
    """Score several declarations in one transaction (the batch path of the scoring task).

    Rows are locked in primary-key order (the lock order of every multi-declaration write) so a
    concurrent payment waits; declarations already scored are returned as they are (idempotent);
    ones not in a scorable status (draft, cancelled...) are skipped.
    """
    from declarations.models import Declaration

    ids = sorted({str(i) for i in declaration_ids})
    outcomes: list[ScoringOutcome] = []
    if not ids:
        return outcomes
    with transaction.atomic():
        locked = list(
            Declaration.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        existing = {str(a.declaration_id): a for a in RiskAssessment.objects.filter(declaration_id__in=locked)}
        todo = [pk for pk in locked if str(pk) not in existing]
        rule_set = rule_set_in_force() if todo else None
        loaded = {str(d.pk): d for d in declarations_for_scoring(locked)}
        for pk in ids:
            declaration = loaded.get(pk)
            if declaration is None:
                outcomes.append(ScoringOutcome(pk, None, False, "", "not_found"))
                continue
            if pk in existing:
                outcomes.append(ScoringOutcome(pk, existing[pk], False, declaration.status))
                continue
            if declaration.status not in SCORABLE_STATUSES:
                outcomes.append(ScoringOutcome(pk, None, False, declaration.status, "not_scorable"))
                continue
            assert rule_set is not None
            assessment = _score_locked(declaration, rule_set)
            logger.info("risk: %s scored %s (%s)", pk, assessment.lane, assessment.score)
            outcomes.append(ScoringOutcome(pk, assessment, True, declaration.status))
    return outcomes


def risk_assessment_create(*, declaration_id: Any, actor: Any = None) -> ScoringOutcome:
    """Score one declaration (idempotent: an existing assessment is returned unchanged)."""
    return risk_assessments_create(declaration_ids=[declaration_id], actor=actor)[0]
