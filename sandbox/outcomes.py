"""Deterministic outcomes for teaching (sandbox mode only).

The first character of a declaration's `local_reference` (upper case) chooses its path, so a
trainer can demonstrate every path on demand (HMRC's public stub does the same with the trader's
reference):

| letter | path |
|---|---|
| G | green lane: released automatically once paid (and arrived) |
| B | blue lane: released automatically, post-clearance audit later |
| Y | yellow lane: documentary check (officer task) |
| R | red lane: physical examination (officer task) |
| Q | yellow lane, then automatically queried: "documents required" (status `queried`) |
| X | rejected at validation: lodging refused with `sandbox_outcome_rejected` on `/local_reference` |
| anything else | normal risk scoring |

Reached only through `sandbox.policy.SandboxPolicy`, which is installed only in sandbox mode: outside
it nothing here runs, so production scoring is never affected.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from clearance.services.clearance import declaration_query_agent
from core.exceptions import ErrorItem, error
from risk.scoring import Hit, Lane

LANE_FOR_LETTER: dict[str, str] = {"G": "green", "B": "blue", "Y": "yellow", "R": "red", "Q": "yellow"}
REJECT_LETTER = "X"
QUERY_LETTER = "Q"
LETTERS = (*LANE_FOR_LETTER, REJECT_LETTER)
REJECT_CODE = "sandbox_outcome_rejected"
SANDBOX_RULE_KIND = "sandbox"
QUERY_DOCUMENTS = ["commercial invoice", "packing list"]
QUERY_REASON = "Documents required (sandbox deterministic outcome: Q)"


def outcome_letter(local_reference: Any) -> str | None:
    """The deterministic-outcome letter of a local reference, or None (normal processing)."""
    if not isinstance(local_reference, str) or not local_reference:
        return None
    first = local_reference.strip()[:1]
    return first if first in LETTERS else None


def lodging_errors(data: Any) -> list[ErrorItem]:
    """Validation errors a lodging gets from the sandbox rules (X = rejected at validation).

    `data` is the declaration body (a dict with `local_reference`). Called by the declarations
    validation (`declaration_prepare`) and, for the API, by `sandbox.middleware`.
    """
    reference = data.get("local_reference") if isinstance(data, dict) else None
    if outcome_letter(reference) != REJECT_LETTER:
        return []
    return [error(REJECT_CODE, "Sandbox deterministic outcome X: this declaration is rejected at validation "
                  "(local references starting with X always are, in the training sandbox).", "/local_reference")]


def forced_lane(local_reference: Any) -> str | None:
    letter = outcome_letter(local_reference)
    return LANE_FOR_LETTER.get(letter) if letter else None


def score_override(*, local_reference: Any, result: Any) -> Any:
    """Risk scoring hook: the lane chosen by the letter replaces the scored lane (whatever the
    rules said), with a hit that explains why. `result` is a `risk.scoring.ScoreResult`."""
    letter = outcome_letter(local_reference)
    lane = LANE_FOR_LETTER.get(letter) if letter else None
    if lane is None:
        return result
    hit = Hit(rule_id=0, kind=SANDBOX_RULE_KIND, weight=0, forced_lane=lane,
              reason=f"sandbox deterministic outcome: {letter}")
    return dataclasses.replace(result, lane=Lane(lane), hits=(*result.hits, hit))


def auto_query_due(local_reference: Any) -> bool:
    return outcome_letter(local_reference) == QUERY_LETTER


def auto_query(*, declaration: Any, actor: Any = None) -> None:
    """Clearance hook (Q): the declaration just went under control for a documentary check; the
    officer-query path is taken at once, as an officer would: "documents required"."""
    if not auto_query_due(declaration.local_reference):
        return
    declaration_query_agent(declaration_id=declaration.pk, documents=list(QUERY_DOCUMENTS), reason=QUERY_REASON,
                            actor=actor)
