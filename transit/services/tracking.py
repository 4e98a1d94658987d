"""Intake of RECTS e-seal events from the cargo tracking system.

Idempotent by `event_id` (a repeat returns the stored result and changes nothing; the same id with
a different body is a 409). Out-of-order tolerant: every event is stored with its own time; the
movement's tracking state follows the latest event BY EVENT TIME (ties broken by event id, so the
outcome does not depend on arrival order) and an older event never rolls it back. Lifecycle moves
are forward-only: the movement is `arrived_at_exit` once EVERY seal has reported its
`arrival_at_exit` (one seal of two is not the consignment), and an arrival sooner after departure
than the corridor allows opens a `too_fast` alert.

Events received while the movement is still `lodged` (not released: the goods have not departed)
are stored `deferred` and applied in event order when the release departs the movement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from core import clock
from core.exceptions import Conflict, ValidationFailed, error
from declarations.models import Declaration

from ..enums import AlertKind, MovementStatus, TrackingEventKind
from ..lifecycle import EN_ROUTE, LIVE
from ..models import TrackingEvent, TransitMovement, TransitSeal
from .alerts import alert_open
from .common import actor_user, iso, notify_agent

M = MovementStatus
K = TrackingEventKind


@dataclass(frozen=True)
class TrackingOutcome:
    event: TrackingEvent
    created: bool


def _request_hash(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _existing(event_id: str, request_hash: str) -> TrackingEvent | None:
    event = TrackingEvent.objects.filter(event_id=event_id).first()
    if event is not None and event.request_hash != request_hash:
        raise Conflict(detail=f"Event {event_id} was already received with different content.",
                       code="event_id_reused",
                       errors=[error("event_id_reused", "Same event id, different content.", "/event_id")])
    return event


def _seal_for(seal_number: str) -> TransitSeal:
    seal = (TransitSeal.objects.filter(seal_number=seal_number, is_active=True).first()
            # A late event for a finished journey: the seal's most recent movement.
            or TransitSeal.objects.filter(seal_number=seal_number).order_by("-movement__created_at").first())
    if seal is None:
        raise ValidationFailed(detail=f"E-seal {seal_number} is not armed on any transit movement.",
                               code="unknown_seal",
                               errors=[error("unknown_seal", f"No transit movement carries e-seal {seal_number}.",
                                             "/seal_number")])
    return seal


def tracking_event_record(
    *,
    event_id: str,
    seal_number: str,
    kind: str,
    occurred_at: dt.datetime,
    location_name: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    battery_percent: int | None = None,
    details: dict[str, Any] | None = None,
    actor: Any,
) -> TrackingOutcome:
    fields = {"event_id": event_id, "seal_number": seal_number, "kind": kind,
              "occurred_at": occurred_at.astimezone(dt.UTC).isoformat(), "location_name": location_name,
              "latitude": None if latitude is None else str(latitude),
              "longitude": None if longitude is None else str(longitude),
              "battery_percent": battery_percent, "details": details or {}}
    request_hash = _request_hash(fields)
    existing = _existing(event_id, request_hash)
    if existing is not None:
        return TrackingOutcome(event=existing, created=False)
    now = clock.now()
    if occurred_at > now + dt.timedelta(seconds=settings.TRANSIT_EVENT_FUTURE_TOLERANCE_SECONDS):
        raise ValidationFailed(errors=[error("occurred_at_in_future",
                                             f"The event time is after now ({now.isoformat()}).", "/occurred_at")])
    seal = _seal_for(seal_number)
    with transaction.atomic():
        # One writer per movement: the derived state is computed under the row lock. The declaration
        # is locked first (lock order declaration -> movement): the last seal at the exit post may
        # close the movement, which moves the declaration to `exited`.
        declaration_id = TransitMovement.objects.filter(pk=seal.movement_id).values_list("declaration_id",
                                                                                          flat=True).get()
        Declaration.objects.select_for_update(of=("self",)).filter(pk=declaration_id).first()
        movement = (TransitMovement.objects.select_for_update(of=("self",)).select_related("declaration", "bond")
                    .get(pk=seal.movement_id))
        try:
            with transaction.atomic():
                event = TrackingEvent.objects.create(
                    event_id=event_id, movement=movement, seal=seal, kind=kind, occurred_at=occurred_at,
                    received_at=now, location_name=location_name, latitude=latitude, longitude=longitude,
                    battery_percent=battery_percent, details=details or {}, request_hash=request_hash,
                    submitted_by=actor_user(actor),
                )
        except IntegrityError:
            # The same event raced in on another connection and committed first.
            raced = _existing(event_id, request_hash)
            if raced is None:
                raise
            return TrackingOutcome(event=raced, created=False)
        effects = _apply(movement=movement, event=event, actor=actor)
        _store_result(movement=movement, event=event, effects=effects)
    return TrackingOutcome(event=event, created=True)


def _store_result(*, movement: TransitMovement, event: TrackingEvent, effects: list[str]) -> None:
    event.result = {
        "event_id": event.event_id,
        "movement_id": str(movement.pk),
        "declaration_id": str(movement.declaration_id),
        "entry_number": movement.declaration.entry_number,
        "seal_number": event.seal.seal_number,
        "kind": event.kind,
        "occurred_at": iso(event.occurred_at),
        "received_at": iso(event.received_at),
        "applied": event.applied,
        "deferred": event.deferred,
        "effects": effects,
        "movement_status": movement.status,
        "tracking_state": movement.tracking_state,
        "last_event_at": iso(movement.last_event_at),
    }
    event.save(update_fields=["applied", "deferred", "result"])


def tracking_events_apply_deferred(*, movement: TransitMovement, actor: Any) -> int:
    """Apply the events stored while the movement was `lodged`, in event order (the release hook
    calls this right after departure, holding the movement lock). Returns how many."""
    pending = list(TrackingEvent.objects.filter(movement=movement, deferred=True).select_related("seal")
                   .order_by("occurred_at", "event_id"))
    for event in pending:
        event.deferred = False
        effects = _apply(movement=movement, event=event, actor=actor)
        _store_result(movement=movement, event=event, effects=["applied_after_departure", *effects])
    return len(pending)


def _apply(*, movement: TransitMovement, event: TrackingEvent, actor: Any) -> list[str]:
    effects: list[str] = []
    if movement.status == M.LODGED:
        event.deferred = True
        return ["stored_until_departure"]
    if movement.status not in LIVE:
        return ["stored_movement_finished"]
    latest = (movement.last_event_at, movement.last_event_id) if movement.last_event_at else None
    if latest is None or (event.occurred_at, event.event_id) > latest:
        event.applied = True
        movement.tracking_state = event.kind
        movement.last_event_at = event.occurred_at
        movement.last_event_id = event.event_id
        if event.latitude is not None:
            movement.last_latitude, movement.last_longitude = event.latitude, event.longitude
        if event.location_name or event.latitude is not None:
            movement.last_position_name = event.location_name
        movement.updated_at = clock.now()
        movement.save(update_fields=["tracking_state", "last_event_at", "last_event_id", "last_latitude",
                                     "last_longitude", "last_position_name", "updated_at"])
        effects.append("state_advanced")
    else:
        effects.append("stored_out_of_order")

    if event.kind == K.ARRIVAL_AT_EXIT and movement.status in EN_ROUTE:
        effects.extend(_seal_at_exit(movement=movement, event=event, actor=actor))
    elif event.kind in (K.TAMPER_ALERT, K.ROUTE_DEVIATION):
        kind, what = ((AlertKind.TAMPER, "tamper") if event.kind == K.TAMPER_ALERT
                      else (AlertKind.DEVIATION, "route deviation"))
        _alert, created = alert_open(
            movement=movement, kind=kind, actor=actor, tracking_event=event,
            detail=f"e-seal {event.seal.seal_number} {what} at {iso(event.occurred_at)} "
                   f"({event.location_name or 'position unknown'})")
        effects.append("alert_opened" if created else "alert_updated")
    elif event.kind == K.LOW_BATTERY:
        notify_agent(movement=movement,
                     subject=f"{movement.declaration.entry_number}: e-seal {event.seal.seal_number} battery low "
                             f"({event.battery_percent if event.battery_percent is not None else '?'} %)",
                     payload={"event_id": event.event_id, "battery_percent": event.battery_percent}, actor=actor)
        effects.append("agent_notified")
    return effects


def _seal_at_exit(*, movement: TransitMovement, event: TrackingEvent, actor: Any) -> list[str]:
    """One seal reported at the exit post: recorded on the seal; the movement arrives when every
    seal has; too soon after departure opens a `too_fast` alert; a confirmed exit may now close."""
    from ..simulator import simulator_on_arrival
    from .movements import _transition, journey_check, movement_try_close_locked

    effects: list[str] = []
    seal = event.seal
    if seal.arrived_at_exit_at is None or event.occurred_at < seal.arrived_at_exit_at:
        seal.arrived_at_exit_at = event.occurred_at
        seal.save(update_fields=["arrived_at_exit_at"])
    effects.append("seal_at_exit")
    if not journey_check(movement=movement, reached_at=event.occurred_at,
                         evidence=f"e-seal {seal.seal_number} at exit", actor=actor):
        effects.append("alert_opened:too_fast")
    missing = TransitSeal.objects.filter(movement=movement, arrived_at_exit_at__isnull=True).count()
    if missing:
        effects.append(f"seals_missing:{missing}")
    elif movement.status == M.IN_TRANSIT:
        movement.arrived_at_exit_at = event.occurred_at
        _transition(movement, M.ARRIVED_AT_EXIT, actor=actor,
                    reason=f"every e-seal at the exit post (last: {seal.seal_number})",
                    payload={"event_id": event.event_id}, fields=("arrived_at_exit_at",))
        effects.append("arrived_at_exit")
        if simulator_on_arrival(movement=movement):
            effects.append("simulator_confirmation_scheduled")
    if movement_try_close_locked(movement=movement, actor=actor) is not None or movement.status == M.CLOSED:
        effects.append("movement_closed")
    return effects


@transaction.atomic
def tracking_client_create(*, username: str, actor: Any) -> tuple[Any, str]:
    """The cargo tracking system's API client: a user in TRANSIT_TRACKING_GROUP and its token
    (for `sandbox seed` and operators). Idempotent per username; returns (user, token key)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=settings.TRANSIT_TRACKING_GROUP)[0])
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key
