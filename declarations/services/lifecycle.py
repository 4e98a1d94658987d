"""`declaration_transition`: the one way a declaration changes status."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import F

from core import clock, events
from core.events import Event
from core.exceptions import Conflict, NotFound, error
from tariff.services import exemption_quota_release

from ..enums import Channel, EventKind, Status
from ..lifecycle import no_payment_step, transition_check
from ..models import Declaration, DeclarationEvent
from .common import STATUS_NOTIFICATION_KIND, event_record, events_chain, notify_agent, status_payload


def declaration_transition_locked(
    *,
    declaration: Declaration,
    to_status: str,
    actor: Any,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    extra_fields: dict[str, Any] | None = None,
    notify: bool = True,
    notification_kind: str | None = None,
    subject: str | None = None,
) -> Declaration:
    """Move an already locked declaration (caller holds the row lock inside its transaction).

    The one function that changes a declaration's status: checks the transition table, saves,
    writes the event row, notifies the agent (`notification_kind`/`subject` override the default
    notice of the new status, e.g. `documents_required` for a query), then publishes
    `Event.DECLARATION_STATUS_CHANGED` in this transaction. The subscribers (manifests write-offs,
    transit movements, clearance officer tasks) are wired in their apps' `ready()`.
    """
    from_status = declaration.status
    transition_check(from_status, to_status, no_payment_step=no_payment_step(declaration))
    if to_status in (Status.CANCELLED, Status.REJECTED):
        # Exemption quota drawn at lodging goes back to its certificates (once; no draw: no-op).
        # A direct call down to tariff, not a subscriber: the amount goes on this transition's event.
        released = exemption_quota_release(declaration_id=declaration.pk, actor=actor)
        if released:
            payload = {**(payload or {}), "exemption_quota_released": str(released)}
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
    kind = notification_kind or STATUS_NOTIFICATION_KIND.get(to_status)
    if notify and kind:
        notify_agent(
            declaration=declaration, kind=kind,
            subject=subject or (f"{declaration.entry_number}: {reason or to_status.replace('_', ' ')}"
                                if notification_kind else
                                f"{declaration.entry_number or 'Declaration'}: {to_status.replace('_', ' ')}"),
            payload={**status_payload(declaration), "from": from_status, "reason": reason, **(payload or {})},
            actor=actor,
        )
    events.publish(Event.DECLARATION_STATUS_CHANGED, declaration=declaration, from_status=from_status,
                   to_status=to_status, actor=actor)
    return declaration


def declaration_lock(declaration_id: uuid.UUID | str, *, related: tuple[str, ...] = ()) -> Declaration:
    """Lock the declaration row (the first lock of every declaration write: the lock order)."""
    try:
        rows = Declaration.objects.select_for_update(of=("self",))
        return (rows.select_related(*related) if related else rows).get(pk=declaration_id)
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

    `expected_from` makes the move a compare-and-set (e.g. clearance assigns a lane only if still `paid`):
    a different current status raises Conflict `status_changed`. `channel` sets the selectivity lane
    in the same write (clearance uses it).
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


def declaration_channel_record_locked(
    *, declaration: Declaration, channel: str, actor: Any, reason: str, payload: dict[str, Any]
) -> Declaration:
    """Change the lane of a locked declaration without a status change (an officer moving a
    documentary check to a physical examination): the row, its ETag and the event."""
    declaration.channel = channel
    declaration.updated_at = clock.now()
    declaration.etag_version += 1
    declaration.save(update_fields=["channel", "updated_at", "etag_version"])
    event_record(
        declaration=declaration, kind=EventKind.CHANNEL, from_status=declaration.status,
        to_status=declaration.status, actor=actor, reason=reason, payload=payload,
    )
    return declaration


def declaration_channels_record_locked(*, lanes: list[tuple[Declaration, str]], reason: str) -> None:
    """Selectivity for declarations whose rows the caller holds locked, in bulk (the scoring batch):
    the channel (all the agent ever sees of the result; the ETag changes with it) and one system
    `channel` event per declaration. Queries: one UPDATE per lane, one event chain read, one insert."""
    now = clock.now()
    by_lane: dict[str, list[Any]] = {}
    for declaration, lane in lanes:
        by_lane.setdefault(lane, []).append(declaration.pk)
        declaration.channel = lane
    for lane, pks in by_lane.items():
        Declaration.objects.filter(pk__in=pks).update(channel=lane, etag_version=F("etag_version") + 1, updated_at=now)
    DeclarationEvent.objects.bulk_create(events_chain([
        DeclarationEvent(declaration=declaration, kind=EventKind.CHANNEL, actor=None, actor_label="system",
                         from_status=declaration.status, to_status=declaration.status, reason=reason,
                         payload={"channel": lane}, created_at=now)
        for declaration, lane in lanes
    ]))


def declaration_note_record_locked(
    *, declaration: Declaration, kind: str, actor: Any, reason: str, payload: dict[str, Any]
) -> None:
    """An event on a locked declaration's timeline without a status change (inspection findings,
    an override, a query answered): who did what, hash-chained like every event."""
    event_record(declaration=declaration, kind=kind, from_status=declaration.status,
                 to_status=declaration.status, actor=actor, reason=reason, payload=payload)
