"""The declaration lifecycle: ONE explicit transition table and ONE guard (and the amendment
request's, the other status field of this app).

iCMS flow (DOMAIN.md): Created (draft) -> Registered -> Accepted/assessed -> paid -> Under Control
-> Released -> Exited, with To Amend (queried), Cancel and Reject branches. Cancellation is allowed
from Registered to Under Control (KRA iCMS user guide).
"""

from __future__ import annotations

from core.lifecycle import Lifecycle

from .enums import AmendmentStatus, Status

S = Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.REGISTERED, S.CANCELLED}),
    S.REGISTERED: frozenset({S.ASSESSED, S.QUERIED, S.CANCELLED, S.REJECTED}),
    # Home use: assessed -> paid is the only way forward (regimes secured by a bond: below).
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

# Secured, not paid (docs/transit.md): under the EAC Single Customs Territory an IM8 transit is
# assessed for the taxes at risk, but those taxes are SECURED by the regional bond reserved at
# lodging (EACCMA 2004 s.85 and s.136), not paid in Kenya. Such a declaration has no payment step:
# from `assessed` it goes to control or release like a paid one. Nothing is due unless the movement
# fails (then the bond principal is asked to pay: `transit.services.bond_demand`).
SECURED_REGIMES: frozenset[str] = frozenset({"IM8"})
SECURED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.ASSESSED: frozenset({S.UNDER_CONTROL, S.RELEASED}),
}


def clearable(status: str, regime: str | None) -> bool:
    """Ready for selectivity-driven clearance: paid, or assessed under a regime secured by bond."""
    return status == S.PAID or (status == S.ASSESSED and is_secured_transit(regime))


DECLARATION = Lifecycle("a declaration", TRANSITIONS)
SECURED_DECLARATION = Lifecycle("a declaration", {
    status: targets | SECURED_TRANSITIONS.get(status, frozenset()) for status, targets in TRANSITIONS.items()})


def is_secured_transit(regime: str | None) -> bool:
    """The IM8 rule: a transit declaration's taxes are secured by the regional bond, not paid in
    Kenya (EACCMA 2004 s.85, s.136); it has a transit movement and skips the payment step."""
    return regime in SECURED_REGIMES


def _lifecycle(regime: str | None) -> Lifecycle:
    return SECURED_DECLARATION if is_secured_transit(regime) else DECLARATION


def transition_allowed(from_status: str, to_status: str, regime: str | None = None) -> bool:
    return _lifecycle(regime).transition_allowed(from_status, to_status)


def transition_check(from_status: str, to_status: str, regime: str | None = None) -> None:
    """The one guard: raise Conflict `illegal_transition` unless the table allows the move."""
    _lifecycle(regime).transition_check(from_status, to_status)


# An amendment request is decided once: accepted or rejected by an officer (DOMAIN.md "Amendment").
AMENDMENT = Lifecycle("an amendment request", {
    AmendmentStatus.PENDING: frozenset({AmendmentStatus.ACCEPTED, AmendmentStatus.REJECTED}),
    AmendmentStatus.ACCEPTED: frozenset(),
    AmendmentStatus.REJECTED: frozenset(),
}, code="amendment_already_decided")
