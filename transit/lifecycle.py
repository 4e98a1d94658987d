"""The transit movement lifecycle: ONE transition table and ONE guard (and those of its alerts and
partner messages).

lodged -> in_transit (release order issued: the goods depart under the regional bond)
in_transit -> arrived_at_exit (e-seal `arrival_at_exit` event) -> closed (partner confirmation)
in_transit -> closed (partner confirmation before the arrival event reached us: events are late)
lodged -> cancelled (declaration cancelled before release; the bond is released)
in_transit | arrived_at_exit -> failed (an officer demands the secured amount: the movement failed)

Closure needs evidence (docs/transit.md "Exit on evidence"): the partner's exit confirmation, every
seal at the exit post (or an officer's override), no live tamper/deviation/too-fast alert.
"""

from __future__ import annotations

from core.lifecycle import Lifecycle

from .enums import AlertStatus, MovementStatus, PartnerMessageStatus

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


MOVEMENT = Lifecycle("a transit movement", TRANSITIONS)
transition_allowed = MOVEMENT.transition_allowed
transition_check = MOVEMENT.transition_check


A = AlertStatus
ALERT_TRANSITIONS: dict[str, frozenset[str]] = {
    A.OPEN: frozenset({A.ACKNOWLEDGED, A.INVESTIGATING, A.RESOLVED}),
    A.ACKNOWLEDGED: frozenset({A.INVESTIGATING, A.RESOLVED}),
    A.INVESTIGATING: frozenset({A.RESOLVED}),
    A.RESOLVED: frozenset(),
}

ALERT = Lifecycle("a transit alert", ALERT_TRANSITIONS, code="illegal_alert_transition")

P = PartnerMessageStatus
# An outbound message is pending until delivered or given up (attempts exhausted, or refused with a
# 4xx); an inbound one is stored accepted, once applied. No way back: a new message is a new row.
PARTNER_MESSAGE = Lifecycle("a partner message", {
    P.PENDING: frozenset({P.DELIVERED, P.FAILED}),
    P.DELIVERED: frozenset(),
    P.FAILED: frozenset(),
    P.ACCEPTED: frozenset(),
})
