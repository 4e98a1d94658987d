"""Scoring declarations and storing the result (`RiskAssessment`) with the declaration's channel."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from core import clock
from declarations.enums import Status
from declarations.lifecycle import clearable

from ..models import RiskAssessment
from ..scoring import ScoreResult, score_declaration
from ..selectors import RuleSet, declaration_facts, declarations_for_scoring, rule_set_in_force

logger = logging.getLogger("forodha.risk")

# Statuses in which a lodged declaration is waiting for (or may still receive) its selectivity.
SCORABLE_STATUSES = frozenset({Status.REGISTERED, Status.ASSESSED, Status.PAID, Status.QUERIED})


@dataclass(frozen=True)
class ScoringOutcome:
    declaration_id: str
    assessment: RiskAssessment | None
    created: bool
    status: str
    skipped_reason: str = ""
    regime: str = ""

    @property
    def ready_for_clearance(self) -> bool:
        return self.assessment is not None and clearable(self.status, self.regime)


def _store(scored: list[tuple[Any, ScoreResult]], rule_set: RuleSet) -> list[RiskAssessment]:
    """Store the results of declarations whose rows the caller holds locked, in bulk: the
    assessments, the channel (all the agent ever sees of the result; the ETag changes with it)
    and one `channel` event row per declaration, as `declaration_channel_set` writes it."""
    from declarations.enums import EventKind
    from declarations.models import Declaration, DeclarationEvent
    from declarations.services.common import events_chain

    now = clock.now()
    assessments = RiskAssessment.objects.bulk_create(
        [
            RiskAssessment(
                declaration=declaration,
                score=result.score,
                lane=str(result.lane),
                hits=[hit.as_dict() for hit in result.hits],
                priority=result.priority,
                aeo_applied=result.aeo_applied,
                rules_version=rule_set.version,
                scored_at=now,
            )
            for declaration, result in scored
        ]
    )
    by_lane: dict[str, list[Any]] = {}
    for declaration, result in scored:
        by_lane.setdefault(str(result.lane), []).append(declaration.pk)
        declaration.channel = str(result.lane)
    for lane, pks in by_lane.items():
        Declaration.objects.filter(pk__in=pks).update(channel=lane, etag_version=F("etag_version") + 1, updated_at=now)
    DeclarationEvent.objects.bulk_create(
        events_chain([
            DeclarationEvent(
                declaration=declaration,
                kind=EventKind.CHANNEL,
                actor=None,
                actor_label="system",
                from_status=declaration.status,
                to_status=declaration.status,
                reason="selectivity",
                payload={"channel": str(result.lane)},
                created_at=now,
            )
            for declaration, result in scored
        ])
    )
    return assessments


def risk_assessments_create(*, declaration_ids: Iterable[Any], actor: Any = None) -> list[ScoringOutcome]:
    """Score several declarations in one transaction (the batch path of the scoring task).

    Rows are locked in primary-key order (the lock order of every multi-declaration write) so a
    concurrent payment waits; declarations already scored are returned as they are (idempotent);
    ones not in a scorable status (draft, cancelled...) are skipped. Queries per call, whatever
    the batch size: lock + load, items, existing assessments, rules, prices, then bulk writes.
    """
    ids = sorted({str(i) for i in declaration_ids})
    if not ids:
        return []
    outcomes: dict[str, ScoringOutcome] = {}
    with transaction.atomic():
        loaded = {str(d.pk): d for d in declarations_for_scoring(ids).select_for_update(of=("self",))}
        existing = {str(a.declaration_id): a for a in RiskAssessment.objects.filter(declaration_id__in=list(loaded))}
        scored: list[tuple[Any, ScoreResult]] = []
        rule_set: RuleSet | None = None
        for pk in ids:
            declaration = loaded.get(pk)
            if declaration is None:
                outcomes[pk] = ScoringOutcome(pk, None, False, "", "not_found")
            elif pk in existing:
                outcomes[pk] = ScoringOutcome(pk, existing[pk], False, declaration.status,
                                              regime=declaration.regime)
            elif declaration.status not in SCORABLE_STATUSES:
                outcomes[pk] = ScoringOutcome(pk, None, False, declaration.status, "not_scorable")
            else:
                rule_set = rule_set or rule_set_in_force()
                result = score_declaration(declaration_facts(declaration), rule_set.rules, rule_set.config)
                if settings.FORODHA_SANDBOX:
                    # Training sandbox: the local reference's first letter may choose the lane.
                    from sandbox.outcomes import score_override

                    result = score_override(local_reference=declaration.local_reference, result=result)
                scored.append((declaration, result))
        if scored:
            assert rule_set is not None
            for (declaration, _), assessment in zip(scored, _store(scored, rule_set), strict=True):
                pk = str(declaration.pk)
                logger.info("risk: %s scored %s (%s)", pk, assessment.lane, assessment.score)
                outcomes[pk] = ScoringOutcome(pk, assessment, True, declaration.status, regime=declaration.regime)
    return [outcomes[pk] for pk in ids]


def risk_assessment_create(*, declaration_id: Any, actor: Any = None) -> ScoringOutcome:
    """Score one declaration (idempotent: an existing assessment is returned unchanged)."""
    return risk_assessments_create(declaration_ids=[declaration_id], actor=actor)[0]
