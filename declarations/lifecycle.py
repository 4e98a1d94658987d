"""The declaration lifecycle: ONE explicit transition table and ONE guard (and the amendment
request's, the other status field of this app).

iCMS flow (DOMAIN.md): Created (draft) -> Registered -> Accepted/assessed -> paid -> Under Control
-> Released -> Exited, with To Amend (queried), Cancel and Reject branches. Cancellation is allowed
from Registered to Under Control (KRA iCMS user guide).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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

# No payment step: ONE rule for everything with nothing to pay (docs/declarations.md, "Nothing to
# pay"). Two cases meet it:
# - secured, not paid (docs/transit.md): under the EAC Single Customs Territory an IM8 transit is
#   assessed for the taxes at risk, but those taxes are SECURED by the regional bond reserved at
#   lodging (EACCMA 2004 s.85 and s.136), not paid in Kenya. Nothing is due unless the movement
#   fails (then the bond principal is asked to pay: `transit.services.bond_demand`);
# - assessed at KES 0.00 (an export, goods of EAC origin, an exemption): there is nothing to pay.
# Such a declaration gets no payment due date (`payment_due_date` null: that IS the stored mark,
# set when it is assessed) and from `assessed` goes to control or release like a paid one, with a
# `nothing_to_pay` event saying why. A KES 0.00 "payment" is refused.
SECURED_REGIMES: frozenset[str] = frozenset({"IM8"})
NO_PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    S.ASSESSED: frozenset({S.UNDER_CONTROL, S.RELEASED}),
}
SECURED_TRANSITIONS = NO_PAYMENT_TRANSITIONS  # the name before zero totals joined the rule


def is_secured_transit(regime: str | None) -> bool:
    """The IM8 rule: a transit declaration's taxes are secured by the regional bond, not paid in
    Kenya (EACCMA 2004 s.85, s.136); it has a transit movement and skips the payment step."""
    return regime in SECURED_REGIMES


def nothing_to_pay(*, regime: str | None, total: Decimal) -> bool:
    """THE rule, applied when a declaration is assessed: secured by bond, or nothing assessed."""
    return is_secured_transit(regime) or total <= 0


def no_payment_step(declaration: Any) -> bool:
    """A lodged declaration assessed with nothing to pay (no payment due date, see above)."""
    return declaration.lodged_at is not None and declaration.payment_due_date is None


def clearable(status: str, *, no_payment_step: bool) -> bool:
    """Ready for selectivity-driven clearance: paid, or assessed with nothing to pay."""
    return status == S.PAID or (status == S.ASSESSED and no_payment_step)


DECLARATION = Lifecycle("a declaration", TRANSITIONS)
# The same table with the payment step skippable: for a declaration with nothing to pay.
NO_PAYMENT_DECLARATION = Lifecycle("a declaration", {
    status: targets | NO_PAYMENT_TRANSITIONS.get(status, frozenset()) for status, targets in TRANSITIONS.items()})


def lifecycle_for(*, no_payment_step: bool) -> Lifecycle:
    return NO_PAYMENT_DECLARATION if no_payment_step else DECLARATION


def transition_allowed(from_status: str, to_status: str, *, no_payment_step: bool = False) -> bool:
    return lifecycle_for(no_payment_step=no_payment_step).transition_allowed(from_status, to_status)


def transition_check(from_status: str, to_status: str, *, no_payment_step: bool = False) -> None:
    """The one guard: raise Conflict `illegal_transition` unless the table allows the move."""
    lifecycle_for(no_payment_step=no_payment_step).transition_check(from_status, to_status)


# An amendment request is decided once: accepted or rejected by an officer (DOMAIN.md "Amendment").
AMENDMENT = Lifecycle("an amendment request", {
    AmendmentStatus.PENDING: frozenset({AmendmentStatus.ACCEPTED, AmendmentStatus.REJECTED}),
    AmendmentStatus.ACCEPTED: frozenset(),
    AmendmentStatus.REJECTED: frozenset(),
}, code="amendment_already_decided")
