"""The declaration lifecycle: ONE explicit transition table and ONE guard.

iCMS flow (DOMAIN.md): Created (draft) -> Registered -> Accepted/assessed -> paid -> Under Control
-> Released -> Exited, with To Amend (queried), Cancel and Reject branches. Cancellation is allowed
from Registered to Under Control (KRA iCMS user guide).
"""

from __future__ import annotations

from core.exceptions import Conflict, error

from .enums import Status

S = Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.REGISTERED, S.CANCELLED}),
    S.REGISTERED: frozenset({S.ASSESSED, S.QUERIED, S.CANCELLED, S.REJECTED}),
    # An AEO with a bond / exempt goods may reach under_control/released without a payment step
    # only through `paid`; Forodha has no bonds, so assessed -> paid is the only way forward.
    S.ASSESSED: frozenset({S.PAID, S.QUERIED, S.CANCELLED, S.REJECTED}),
    S.PAID: frozenset({S.UNDER_CONTROL, S.RELEASED, S.QUERIED, S.CANCELLED}),
    S.UNDER_CONTROL: frozenset({S.RELEASED, S.QUERIED, S.CANCELLED, S.REJECTED}),
    # A query is answered by the agent; the officer puts the declaration back where it was.
    S.QUERIED: frozenset({S.REGISTERED, S.ASSESSED, S.PAID, S.UNDER_CONTROL, S.CANCELLED, S.REJECTED}),
    S.RELEASED: frozenset({S.EXITED}),
    S.EXITED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}

# Statuses in which the agent may still cancel (DOMAIN.md: "from Registered to Under Control").
CANCELLABLE: frozenset[str] = frozenset({S.REGISTERED, S.ASSESSED, S.PAID, S.UNDER_CONTROL, S.QUERIED})
# Lodged but not yet released: non-tax alterations and amendment requests are possible.
AMENDABLE: frozenset[str] = frozenset({S.REGISTERED, S.ASSESSED, S.PAID, S.UNDER_CONTROL, S.QUERIED})
# Tax-affecting amendments only before payment (after payment: post-clearance amendment by officers).
TAX_AMENDABLE: frozenset[str] = frozenset({S.REGISTERED, S.ASSESSED, S.QUERIED})
TERMINAL: frozenset[str] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def transition_check(from_status: str, to_status: str) -> None:
    """The one guard: raise Conflict `illegal_transition` unless the table allows the move."""
    if not transition_allowed(from_status, to_status):
        raise Conflict(
            detail=f"A declaration cannot go from {from_status!r} to {to_status!r}.",
            code="illegal_transition",
            errors=[error("illegal_transition", f"{from_status} -> {to_status} is not allowed.", "/status")],
            extra={"from": str(from_status), "to": str(to_status),
                   "allowed": sorted(str(s) for s in TRANSITIONS.get(from_status, frozenset()))},
        )
