"""Officer alerts on transit movements (the transit officer queue)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core import clock
from core.exceptions import Conflict, NotFound

from ..enums import AlertKind, AlertStatus
from ..models import TrackingEvent, TransitAlert, TransitMovement
from .common import actor_user, notify_agent

LIVE_ALERT = (AlertStatus.OPEN, AlertStatus.ASSIGNED)

_SUBJECTS = {
    AlertKind.TAMPER: "e-seal tamper alert: the goods will be checked by customs",
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
    notify_agent(movement=movement, subject=f"{movement.declaration.entry_number}: {_SUBJECTS[AlertKind(kind)]}",
                 payload={"alert_id": str(alert.pk), "alert_kind": kind, "detail": detail}, actor=actor)
    return alert, True


def alerts_resolve_for(*, movement: TransitMovement, kinds: tuple[str, ...], resolution: str) -> int:
    return TransitAlert.objects.filter(movement=movement, kind__in=kinds, status__in=LIVE_ALERT).update(
        status=AlertStatus.RESOLVED, resolved_at=clock.now(), resolution=resolution)


def _lock(alert_id: Any) -> TransitAlert:
    alert = TransitAlert.objects.select_for_update(of=("self",)).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(detail="No such transit alert.", code="alert_not_found")
    return alert


@transaction.atomic
def alert_assign(*, alert_id: Any, officer: Any, actor: Any) -> TransitAlert:
    alert = _lock(alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict(detail="The alert is already resolved.", code="alert_resolved")
    alert.status = AlertStatus.ASSIGNED
    alert.assigned_to = actor_user(officer)
    alert.save(update_fields=["status", "assigned_to"])
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: Any, resolution: str, actor: Any) -> TransitAlert:
    alert = _lock(alert_id)
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict(detail="The alert is already resolved.", code="alert_resolved")
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = clock.now()
    alert.resolution = resolution
    if alert.assigned_to_id is None:
        alert.assigned_to = actor_user(actor)
    alert.save(update_fields=["status", "resolved_at", "resolution", "assigned_to"])
    return alert
