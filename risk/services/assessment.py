"""Scoring declarations and storing the result (`RiskAssessment`) with the declaration's channel."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core import clock, policy
from core.events import Event, publish
from declarations.enums import Status
from declarations.lifecycle import clearable, no_payment_step
from declarations.services import declaration_channels_record_locked

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
    no_payment_step: bool = False  # nothing to pay: IM8 secured by bond, or assessed at KES 0.00

    @property
    def ready_for_clearance(self) -> bool:
        return self.assessment is not None and clearable(self.status, no_payment_step=self.no_payment_step)


def _store(scored: list[tuple[Any, ScoreResult]], rule_set: RuleSet) -> list[RiskAssessment]:
    """Store the results of declarations whose rows the caller holds locked, in bulk: the
    assessments, the channel (all the agent ever sees of the result; the ETag changes with it)
    and one `channel` event row per declaration (`declaration_channels_record_locked`)."""
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
    # The channel and its event belong to the declarations app (the owner of the declaration's life).
    declaration_channels_record_locked(lanes=[(declaration, str(result.lane)) for declaration, result in scored],
                                       reason="selectivity")
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
                                              regime=declaration.regime,
                                              no_payment_step=no_payment_step(declaration))
            elif declaration.status not in SCORABLE_STATUSES:
                outcomes[pk] = ScoringOutcome(pk, None, False, declaration.status, "not_scorable")
            else:
                rule_set = rule_set or rule_set_in_force()
                result = score_declaration(declaration_facts(declaration), rule_set.rules, rule_set.config)
                # The installed policy may choose the lane (training sandbox: the reference's first letter).
                result = policy.current().score_override(local_reference=declaration.local_reference, result=result)
                scored.append((declaration, result))
        if scored:
            assert rule_set is not None
            for (declaration, _), assessment in zip(scored, _store(scored, rule_set), strict=True):
                pk = str(declaration.pk)
                logger.info("risk: %s scored %s (%s)", pk, assessment.lane, assessment.score)
                outcomes[pk] = ScoringOutcome(pk, assessment, True, declaration.status, regime=declaration.regime,
                                              no_payment_step=no_payment_step(declaration))
        ordered = [outcomes[pk] for pk in ids]
        # Who acts on a selectivity (clearance: advance the ones ready for it) subscribes; risk names
        # no app above it. Published for stored ones too, so a redelivered message recovers a lost
        # hand-off.
        with_assessment = [o for o in ordered if o.assessment is not None]
        if with_assessment:
            publish(Event.DECLARATIONS_SCORED, outcomes=with_assessment, actor=actor)
    return ordered


def risk_assessment_create(*, declaration_id: Any, actor: Any = None) -> ScoringOutcome:
    """Score one declaration (idempotent: an existing assessment is returned unchanged)."""
    return risk_assessments_create(declaration_ids=[declaration_id], actor=actor)[0]
