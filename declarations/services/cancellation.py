"""Cancellation: a draft, or from registered up to under_control (iCMS rule); releases the B/L reservation."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from core.exceptions import Conflict, NotFound, error

from ..enums import Status
from ..lifecycle import CANCELLABLE
from ..models import Declaration, Payment
from .lifecycle import declaration_transition_locked


@transaction.atomic
def declaration_cancel(*, declaration_id: uuid.UUID | str, agent: Any, reason: str, actor: Any) -> Declaration:
    try:
        declaration = Declaration.objects.select_for_update(of=("self",)).get(pk=declaration_id, agent=agent)
    except (Declaration.DoesNotExist, ValueError):
        raise NotFound(detail="No such declaration.", code="declaration_not_found") from None
    if declaration.status not in CANCELLABLE and declaration.status != Status.DRAFT:
        raise Conflict(
            detail=f"A {declaration.status} declaration cannot be cancelled "
                   "(allowed from registered up to under control).",
            code="illegal_transition",
            errors=[error("illegal_transition", f"{declaration.status} -> cancelled is not allowed.", "/status")],
        )
    payload: dict[str, Any] = {}
    if declaration.status != Status.DRAFT and declaration.bill_of_lading_id is not None:
        # (a draft reserves nothing: it is cancelled without an entry number, never lodged)
        # declaration_transition_locked releases the reservation (writeoff_release) in this transaction.
        payload["bl_released"] = declaration.bill_of_lading_number
    payment = Payment.objects.filter(declaration=declaration).first()
    if payment is not None:
        # Refunds go through KRA's refund process (not simulated): the event records the claim.
        payload["refund_due"] = {"amount": str(payment.amount), "currency": payment.currency,
                                 "payment_reference": payment.reference}
    return declaration_transition_locked(
        declaration=declaration, to_status=Status.CANCELLED, actor=actor, reason=reason or "cancelled by agent",
        payload=payload,
    )
