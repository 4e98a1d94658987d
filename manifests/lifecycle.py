"""The manifest lifecycle: one transition table, one guard.

    draft -> lodged -> arrived -> discharged -> closed
                          \\------------------------^   (arrived -> closed: all B/Ls settled
                                                       before the discharge was recorded)

`closed` is reached only through settlement of every B/L (write-off service) or when arrival /
discharge is recorded for a manifest whose B/Ls are already all settled.
"""

from __future__ import annotations

from core.exceptions import Conflict, error
from manifests.enums import ManifestStatus

S = ManifestStatus

TRANSITIONS: dict[ManifestStatus, frozenset[ManifestStatus]] = {
    S.DRAFT: frozenset({S.LODGED}),
    S.LODGED: frozenset({S.ARRIVED}),
    S.ARRIVED: frozenset({S.DISCHARGED, S.CLOSED}),
    S.DISCHARGED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

# Statuses in which the manifest may be amended (a closed manifest is final).
AMENDABLE: frozenset[ManifestStatus] = frozenset({S.DRAFT, S.LODGED, S.ARRIVED, S.DISCHARGED})
# Statuses in which declarations may write off its B/Ls (pre-arrival processing included).
DECLARABLE: frozenset[ManifestStatus] = frozenset({S.LODGED, S.ARRIVED, S.DISCHARGED})


def can_transition(current: str, target: str) -> bool:
    return ManifestStatus(target) in TRANSITIONS[ManifestStatus(current)]


def guard_transition(current: str, target: str) -> None:
    """Raise 409 `illegal_transition` unless `current -> target` is in the table."""
    if not can_transition(current, target):
        raise Conflict(
            detail=f"A manifest in status {current!r} cannot move to {target!r}.",
            code="illegal_transition",
            errors=[error("illegal_transition", f"{current} -> {target} is not allowed.", "/status")],
            extra={"status_current": current, "status_requested": target},
        )
