"""Risk writes: scoring declarations and storing the assessment with the declaration's channel.
(The clearance workflow, release orders and gate-out moved to the `clearance` app.)"""

from .assessment import ScoringOutcome, risk_assessment_create, risk_assessments_create

__all__ = [
    "ScoringOutcome",
    "risk_assessment_create",
    "risk_assessments_create",
]
