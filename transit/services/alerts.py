"""Officer alerts on transit movements (the transit officer queue).

An alert is worked open -> acknowledged -> investigating -> resolved (`transit.lifecycle`); every
step is an event row in the movement's (hash-chained) history with the officer as actor. A live
tamper, deviation or too-fast alert holds the movement open and its bond reserved: resolving the
last one closes a movement whose exit the partner already confirmed.

Lock order (as everywhere in transit): declaration -> movement -> alert -> bond.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core import clock
from core.exceptions import Conflict, NotFound, ValidationFailed, error
from declarations.models import Declaration

from ..enums import LIVE_ALERT_STATUSES, AlertKind, AlertStatus
from ..lifecycle import ALERT
from ..models import TrackingEvent, TransitAlert, TransitMovement
from .common import actor_user, movement_event, notify_agent

LIVE_ALERT = LIVE_ALERT_STATUSES

_SUBJECTS = {
    AlertKind.TAMPER: "e-seal tamper alert: the goods will be checked by customs",
    AlertKind.DEVIATION: "route deviation: the truck left the approved corridor",
    AlertKind.TOO_FAST: "journey faster than plausible for the corridor: exit held for checks",
    AlertKind.OVERDUE: "transit period exceeded: exit not confirmed in time",
    AlertKind.PARTNER_REFUSED: "refused by the destination partner state",
    AlertKind.DELIVERY_FAILED: "the transit message could not be delivered to the partner state",
}


def alert_open(
    *, movement: TransitMovement, kind: str, detail: str, actor: Any, tracking_event: TrackingEvent | None = None,
) -> tuple[TransitAlert, bool]:
    """Open an alert or count one more occurrence on the live one of that kind (the caller holds the
    movement row lock, so two events cannot both open one). Notifies the agent on opening."""
    live = TransitAlert.objects.filter(movement=movement, kind=kind, status__in=LIVE_ALERT).first()
    if live is not None:
        live.occurrences += 1
        live.detail = f"{live.detail}\n{detail}"[-4000:]
        live.save(update_fields=["occurrences", "detail"])
        return live, False
    alert = TransitAlert.objects.create(
        movement=movement, declaration_id=movement.declaration_id, kind=kind, priority=movement.priority,
        tracking_event=tracking_event, detail=detail, opened_at=clock.now(),
    )
    movement_event(movement=movement, from_status=movement.status, to_status=movement.status, actor=actor,
                   reason=f"alert {kind} opened", payload={"alert_id": str(alert.pk), "alert_kind": kind,
                                                           "alert_from": "", "alert_to": AlertStatus.OPEN})
    notify_agent(movement=movement, subject=f"{movement.declaration.entry_number}: {_SUBJECTS[AlertKind(kind)]}",
                 payload={"alert_id": str(alert.pk), "alert_kind": kind, "detail": detail}, actor=actor)
    return alert, True


def alerts_resolve_for(*, movement: TransitMovement, kinds: tuple[str, ...], resolution: str) -> int:
    return TransitAlert.objects.filter(movement=movement, kind__in=kinds, status__in=LIVE_ALERT).update(
        status=AlertStatus.RESOLVED, resolved_at=clock.now(), resolution=resolution)


def _lock(alert_id: Any) -> tuple[TransitAlert, TransitMovement]:
    """Lock declaration -> movement -> alert (the order closure uses) and return alert and movement."""
    ref = TransitAlert.objects.filter(pk=alert_id).values("movement_id", "declaration_id").first()
    if ref is None:
        raise NotFound(detail="No such transit alert.", code="alert_not_found")
    Declaration.objects.select_for_update(of=("self",)).filter(pk=ref["declaration_id"]).first()
    movement = (TransitMovement.objects.select_for_update(of=("self",)).select_related("declaration", "bond")
                .get(pk=ref["movement_id"]))
    alert = TransitAlert.objects.select_for_update(of=("self",)).get(pk=alert_id)
    return alert, movement


def _move(alert: TransitAlert, movement: TransitMovement, to_status: str, *, actor: Any, note: str = "",
          fields: tuple[str, ...] = ()) -> None:
    from_status = alert.status
    if from_status == AlertStatus.RESOLVED:
        raise Conflict(detail="The alert is already resolved.", code="alert_resolved",
                       errors=[error("alert_resolved", "Nothing left to do on this alert.", "/status")])
    ALERT.transition_check(from_status, to_status)
    alert.status = to_status
    if alert.assigned_to_id is None:
        alert.assigned_to = actor_user(actor)
    alert.save(update_fields=["status", "assigned_to", *fields])
    movement_event(movement=movement, from_status=movement.status, to_status=movement.status, actor=actor,
                   reason=f"alert {alert.kind} {to_status}" + (f": {note}" if note else ""),
                   payload={"alert_id": str(alert.pk), "alert_kind": alert.kind, "alert_from": from_status,
                            "alert_to": to_status})


@transaction.atomic
def alert_acknowledge(*, alert_id: Any, actor: Any) -> TransitAlert:
    """An officer takes the alert (it is assigned to them)."""
    alert, movement = _lock(alert_id)
    _move(alert, movement, AlertStatus.ACKNOWLEDGED, actor=actor)
    return alert


@transaction.atomic
def alert_investigate(*, alert_id: Any, actor: Any, note: str = "") -> TransitAlert:
    """Investigation under way (e.g. the truck is stopped and the seal checked at Mariakani)."""
    alert, movement = _lock(alert_id)
    _move(alert, movement, AlertStatus.INVESTIGATING, actor=actor, note=note.strip())
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: Any, resolution: str, actor: Any) -> TransitAlert:
    """Resolve with the officer's reason (required). Resolving the last blocking alert of a movement
    whose exit the partner confirmed closes it and frees its bond."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationFailed(errors=[error("reason_required", "Say how the alert was resolved.", "/resolution")])
    alert, movement = _lock(alert_id)
    alert.resolved_at = clock.now()
    alert.resolution = resolution
    _move(alert, movement, AlertStatus.RESOLVED, actor=actor, note=resolution,
          fields=("resolved_at", "resolution"))
    from .movements import movement_try_close_locked

    movement_try_close_locked(movement=movement, actor=actor)
    return alert
