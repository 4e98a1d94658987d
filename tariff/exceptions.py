from __future__ import annotations

from dataclasses import dataclass

from core.exceptions import ValidationFailed


@dataclass
class AssessmentFailed(ValidationFailed):
    """The declaration cannot be assessed; `errors` lists every problem with a JSON pointer
    (`/items/3/hs_code`, `/currency`) and a stable code (`hs_code_unknown`, `hs_code_not_in_force`,
    `hs_code_no_tariff_line`, `exchange_rate_missing`, `quantity_required_for_specific_rate`, ...)."""

    detail: str = "The declaration cannot be assessed."
    code: str = "assessment_failed"
