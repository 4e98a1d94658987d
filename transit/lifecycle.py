"""The transit movement lifecycle: ONE transition table and ONE guard.

lodged -> in_transit (release order issued: the goods depart under the regional bond)
in_transit -> arrived_at_exit (e-seal `arrival_at_exit` event) -> closed (partner confirmation)
in_transit -> closed (partner confirmation before the arrival event reached us: events are late)
lodged -> cancelled (declaration cancelled before release; the bond is released)
in_transit | arrived_at_exit -> failed (an officer demands the secured amount: the movement failed)

Closure needs evidence (docs/transit.md "Exit on evidence"): the partner's exit confirmation, every
seal at the exit post (or an officer's override), no live tamper/deviation/too-fast alert.
"""

from __future__ import annotations

from core.exceptions import Conflict, error

from .enums import AlertStatus, MovementStatus

M = MovementStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    M.LODGED: frozenset({M.IN_TRANSIT, M.CANCELLED}),
    M.IN_TRANSIT: frozenset({M.ARRIVED_AT_EXIT, M.CLOSED, M.FAILED}),
    M.ARRIVED_AT_EXIT: frozenset({M.CLOSED, M.FAILED}),
    M.CLOSED: frozenset(),
    M.CANCELLED: frozenset(),
    M.FAILED: frozenset(),
}
LIVE: frozenset[str] = frozenset({M.LODGED, M.IN_TRANSIT, M.ARRIVED_AT_EXIT})
EN_ROUTE: frozenset[str] = frozenset({M.IN_TRANSIT, M.ARRIVED_AT_EXIT})


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def transition_check(from_status: str, to_status: str) -> None:
    if not transition_allowed(from_status, to_status):
        raise Conflict(
            detail=f"A transit movement cannot go from {from_status!r} to {to_status!r}.",
            code="illegal_transition",
            errors=[error("illegal_transition", f"{from_status} -> {to_status} is not allowed.", "/status")],
            extra={"from": str(from_status), "to": str(to_status),
                   "allowed": sorted(str(s) for s in TRANSITIONS.get(from_status, frozenset()))},
        )


A = AlertStatus
ALERT_TRANSITIONS: dict[str, frozenset[str]] = {
    A.OPEN: frozenset({A.ACKNOWLEDGED, A.INVESTIGATING, A.RESOLVED}),
    A.ACKNOWLEDGED: frozenset({A.INVESTIGATING, A.RESOLVED}),
    A.INVESTIGATING: frozenset({A.RESOLVED}),
    A.RESOLVED: frozenset(),
}


def alert_transition_check(from_status: str, to_status: str) -> None:
    if to_status not in ALERT_TRANSITIONS.get(from_status, frozenset()):
        raise Conflict(
            detail=f"A transit alert cannot go from {from_status!r} to {to_status!r}.",
            code="illegal_alert_transition",
            errors=[error("illegal_alert_transition", f"{from_status} -> {to_status} is not allowed.", "/status")],
            extra={"from": str(from_status), "to": str(to_status),
                   "allowed": sorted(str(s) for s in ALERT_TRANSITIONS.get(from_status, frozenset()))},
        )
