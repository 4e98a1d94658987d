"""Regional bonds and their register. The bond row is locked (FOR UPDATE) for every change, so
the balance is exact under concurrency and a reservation that would make it negative is refused
(the database constraint `bond_balance_not_negative` is the last line of defence).

Lock order everywhere: declaration -> movement -> bond.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from core import clock
from core.exceptions import Conflict, NotFound, ValidationFailed, error

from ..enums import BondStatus, LedgerKind
from ..models import BondLedger, RegionalBond, TransitMovement
from .common import actor_label, actor_user, money


@transaction.atomic
def bond_create(
    *, number: str, amount: Decimal, surety: str, valid_from: dt.date, valid_to: dt.date | None = None,
    principal_agent: Any = None, principal_trader: Any = None, actor: Any,
) -> RegionalBond:
    """Register a regional bond executed by a surety for an agent or a trader (officer action)."""
    if (principal_agent is None) == (principal_trader is None):
        raise ValidationFailed(errors=[error("principal_required", "A bond has exactly one principal: an agent "
                                                                   "or a trader.", "/principal")])
    amount = money(amount)
    if amount <= 0:
        raise ValidationFailed(errors=[error("amount_not_positive", "The bond amount must be positive.", "/amount")])
    now = clock.now()
    bond = RegionalBond.objects.create(
        number=number, principal_agent=principal_agent, principal_trader=principal_trader, surety=surety,
        amount=amount, balance=amount, currency="KES", status=BondStatus.ACTIVE, valid_from=valid_from,
        valid_to=valid_to, created_at=now,
    )
    BondLedger.objects.create(bond=bond, kind=LedgerKind.TOP_UP, amount=amount, balance_after=amount,
                              reason="bond executed", actor=actor_user(actor), actor_label=actor_label(actor),
                              created_at=now)
    return bond


def _lock(bond_id: Any) -> RegionalBond:
    bond = RegionalBond.objects.select_for_update(of=("self",)).filter(pk=bond_id).first()
    if bond is None:
        raise NotFound(detail="No such bond.", code="bond_not_found")
    return bond


def bond_reserve(*, bond_id: Any, movement: TransitMovement, amount: Decimal, actor: Any) -> BondLedger:
    """Reserve `amount` for `movement` (inside the caller's transaction). Refuses with 400
    `bond_insufficient` when the free balance is short: the balance never goes negative."""
    amount = money(amount)
    bond = _lock(bond_id)
    if bond.status != BondStatus.ACTIVE:
        raise ValidationFailed(detail=f"Bond {bond.number} is {bond.status}.", code="bond_not_usable",
                               errors=[error("bond_not_usable", f"Bond {bond.number} is {bond.status}.",
                                             "/transit/bond_number")])
    if bond.balance < amount:
        raise ValidationFailed(
            detail=f"Bond {bond.number} cannot secure this movement.", code="bond_insufficient",
            errors=[error("bond_insufficient",
                          f"Bond {bond.number} has KES {bond.balance} free; this movement needs KES {amount}.",
                          "/transit/bond_number")],
            extra={"bond_number": bond.number, "available": str(bond.balance), "required": str(amount),
                   "currency": "KES"},
        )
    bond.balance = money(bond.balance - amount)
    bond.save(update_fields=["balance"])
    return BondLedger.objects.create(
        bond=bond, movement=movement, kind=LedgerKind.RESERVE, amount=amount, balance_after=bond.balance,
        reason=f"reserved for {movement.declaration.entry_number or movement.declaration_id}",
        actor=actor_user(actor), actor_label=actor_label(actor), created_at=clock.now(),
    )


def bond_release(*, movement: TransitMovement, actor: Any, reason: str) -> BondLedger | None:
    """Give the movement's reservation back (confirmed exit or cancellation). Idempotent: a second
    call returns None. The caller holds the movement row lock."""
    reserved = BondLedger.objects.filter(movement=movement, kind=LedgerKind.RESERVE).first()
    if reserved is None or BondLedger.objects.filter(movement=movement, kind=LedgerKind.RELEASE).exists():
        return None
    bond = _lock(reserved.bond_id)
    bond.balance = money(bond.balance + reserved.amount)
    if bond.balance > bond.amount:  # the register is corrupt: refuse rather than mint security
        raise Conflict(detail=f"Releasing would exceed bond {bond.number}'s face value.", code="bond_register_error")
    bond.save(update_fields=["balance"])
    return BondLedger.objects.create(
        bond=bond, movement=movement, kind=LedgerKind.RELEASE, amount=reserved.amount, balance_after=bond.balance,
        reason=reason[:200], actor=actor_user(actor), actor_label=actor_label(actor), created_at=clock.now(),
    )


@transaction.atomic
def bond_top_up(*, bond_id: Any, amount: Decimal, actor: Any, reason: str = "") -> BondLedger:
    amount = money(amount)
    if amount <= 0:
        raise ValidationFailed(errors=[error("amount_not_positive", "The top-up must be positive.", "/amount")])
    bond = _lock(bond_id)
    bond.amount = money(bond.amount + amount)
    bond.balance = money(bond.balance + amount)
    bond.save(update_fields=["amount", "balance"])
    return BondLedger.objects.create(bond=bond, kind=LedgerKind.TOP_UP, amount=amount, balance_after=bond.balance,
                                     reason=reason[:200] or "bond amount increased", actor=actor_user(actor),
                                     actor_label=actor_label(actor), created_at=clock.now())
