"""`declaration_transition`: the one way a declaration changes status."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from core import clock
from core.exceptions import Conflict, NotFound, error

from ..enums import EventKind, Status
from ..lifecycle import is_secured_transit, transition_check
from ..models import Declaration
from .common import STATUS_NOTIFICATION_KIND, event_record, notify_agent, status_payload


def declaration_transition_locked(
    *,
    declaration: Declaration,
    to_status: str,
    actor: Any,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    extra_fields: dict[str, Any] | None = None,
    notify: bool = True,
) -> Declaration:
    """Move an already locked declaration (caller holds the row lock inside its transaction)."""
    from_status = declaration.status
    transition_check(from_status, to_status, declaration.regime)
    if to_status in (Status.CANCELLED, Status.REJECTED) and declaration.bill_of_lading_id is not None:
        # The goods were not (or will not be) cleared under this entry: give the B/L quantities
        # back so another declaration can write them off. Idempotent (nothing reserved: no-op).
        from manifests.services import writeoff_release

        writeoff_release(declaration_id=declaration.pk, actor=actor)
    if to_status in (Status.CANCELLED, Status.REJECTED):
        # Exemption quota drawn at lodging goes back to its certificates (once; no draw: no-op).
        from tariff.services import exemption_quota_release

        released = exemption_quota_release(declaration_id=declaration.pk, actor=actor)
        if released:
            payload = {**(payload or {}), "exemption_quota_released": str(released)}
    if to_status == Status.CANCELLED and from_status == Status.UNDER_CONTROL:
        # Cancelled while under officer control: close its task so it leaves the work queues.
        from risk.services.clearance import officer_tasks_close

        officer_tasks_close(declaration_id=declaration.pk, outcome="cancelled")
    if to_status in (Status.CANCELLED, Status.REJECTED) and is_secured_transit(declaration.regime):
        # A transit movement not yet released is cancelled and its regional bond reservation freed.
        from transit.services import transit_on_cancelled

        transit_on_cancelled(declaration=declaration, actor=actor)
    declaration.status = to_status
    declaration.updated_at = clock.now()
    declaration.etag_version += 1
    fields = ["status", "updated_at", "etag_version"]
    for name, value in (extra_fields or {}).items():
        setattr(declaration, name, value)
        fields.append(name)
    declaration.save(update_fields=fields)
    event_record(
        declaration=declaration, kind=EventKind.TRANSITION, from_status=from_status, to_status=to_status,
        actor=actor, reason=reason, payload=payload,
    )
    kind = STATUS_NOTIFICATION_KIND.get(to_status)
    if notify and kind:
        notify_agent(
            declaration=declaration, kind=kind,
            subject=f"{declaration.entry_number or 'Declaration'}: {to_status.replace('_', ' ')}",
            payload={**status_payload(declaration), "from": from_status, "reason": reason, **(payload or {})},
            actor=actor,
        )
    return declaration


def declaration_lock(declaration_id: uuid.UUID | str) -> Declaration:
    try:
        return Declaration.objects.select_for_update(of=("self",)).get(pk=declaration_id)
    except (Declaration.DoesNotExist, ValueError, TypeError):
        raise NotFound(detail="No such declaration.", code="declaration_not_found") from None


@transaction.atomic
def declaration_transition(
    *,
    declaration_id: uuid.UUID | str,
    to_status: str,
    actor: Any,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    expected_from: str | None = None,
    channel: str | None = None,
) -> Declaration:
    """Lock the declaration, check the transition table, write the event, save, notify the agent.

    `expected_from` makes the move a compare-and-set (e.g. risk assigns a lane only if still `paid`):
    a different current status raises Conflict `status_changed`. `channel` sets the selectivity lane
    in the same write (risk/clearance use it).
    """
    declaration = declaration_lock(declaration_id)
    if expected_from is not None and declaration.status != expected_from:
        raise Conflict(
            detail=f"The declaration is {declaration.status!r}, not {expected_from!r}.",
            code="status_changed",
            errors=[error("status_changed", f"Current status is {declaration.status}.", "/status")],
        )
    extra = {"channel": channel} if channel is not None else None
    return declaration_transition_locked(
        declaration=declaration, to_status=to_status, actor=actor, reason=reason, payload=payload,
        extra_fields=extra,
    )


@transaction.atomic
def declaration_channel_set(
    *, declaration_id: uuid.UUID | str, channel: str, actor: Any, reason: str = ""
) -> Declaration:
    """Record the selectivity lane without a status change (risk scoring before payment)."""
    from ..enums import Channel

    if channel not in Channel.values:
        raise Conflict(detail=f"Unknown channel {channel!r}.", code="invalid_channel")
    declaration = declaration_lock(declaration_id)
    declaration.channel = channel
    declaration.updated_at = clock.now()
    declaration.etag_version += 1
    declaration.save(update_fields=["channel", "updated_at", "etag_version"])
    event_record(
        declaration=declaration, kind=EventKind.CHANNEL, from_status=declaration.status,
        to_status=declaration.status, actor=actor, reason=reason or f"channel {channel}",
        payload={"channel": channel},
    )
    return declaration
