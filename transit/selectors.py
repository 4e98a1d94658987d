"""Reads: the officer queue (movements with last position and age), an agent's movements, bonds."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from core import clock
from core.exceptions import NotFound

from .enums import LIVE_ALERT_STATUSES
from .lifecycle import LIVE
from .models import BondLedger, RegionalBond, TransitAlert, TransitMovement


@dataclass(frozen=True)
class QueueRow:
    movement_id: uuid.UUID
    declaration_id: uuid.UUID
    entry_number: str | None
    status: str
    destination_country: str
    office_of_exit: str
    priority: bool
    departed_at: dt.datetime | None
    due_at: dt.datetime | None
    age: dt.timedelta
    overdue: bool
    tracking_state: str
    last_event_at: dt.datetime | None
    last_position: dict[str, Any] | None
    open_alerts: int


def movements_live() -> QuerySet[TransitMovement]:
    """The queue's movements: live ones, and any other with a live alert (an alert on a finished
    movement is still an officer's task, so it never drops out of the queue while open)."""
    return (TransitMovement.objects
            .select_related("declaration", "office_of_exit")
            .annotate(live_alerts=Count("alerts", filter=Q(alerts__status__in=LIVE_ALERT_STATUSES)))
            .filter(Q(status__in=LIVE) | Q(live_alerts__gt=0)))


def transit_officer_queue(*, status: str | None = None, office_of_exit: str | None = None,
                          alerts_only: bool = False) -> list[QueueRow]:
    """Live movements, EAC-AEO priority first, then open alerts, then the oldest departure; with
    last position and age (time since departure, or since lodging while awaiting release)."""
    from .services.movements import position_of

    now = clock.now()
    qs = movements_live()
    if status:
        qs = qs.filter(status=status)
    if office_of_exit:
        qs = qs.filter(office_of_exit_id=office_of_exit)
    if alerts_only:
        qs = qs.filter(live_alerts__gt=0)  # type: ignore[misc]
    rows = [
        QueueRow(
            movement_id=m.pk, declaration_id=m.declaration_id, entry_number=m.declaration.entry_number,
            status=m.status, destination_country=m.destination_country, office_of_exit=m.office_of_exit_id,
            priority=m.priority, departed_at=m.departed_at, due_at=m.due_at,
            age=now - (m.departed_at or m.lodged_at),
            overdue=bool(m.due_at and m.due_at < now), tracking_state=m.tracking_state,
            last_event_at=m.last_event_at, last_position=position_of(m),
            open_alerts=int(getattr(m, "live_alerts", 0)),
        )
        for m in qs
    ]
    rows.sort(key=lambda r: (not r.priority, r.open_alerts == 0, r.departed_at or r.due_at or now))
    return rows


def movement_get_for_agent(*, agent: Any, movement_id: Any) -> TransitMovement:
    movement = (TransitMovement.objects.select_related("declaration", "bond")
                .filter(pk=movement_id, agent=agent).first())
    if movement is None:
        raise NotFound(detail="No such transit movement.", code="movement_not_found")
    return movement


def movements_for_agent(*, agent: Any, status: str | None = None) -> QuerySet[TransitMovement]:
    qs = TransitMovement.objects.filter(agent=agent).select_related("declaration", "bond").order_by("-created_at")
    return qs.filter(status=status) if status else qs


def bonds_for_agent(*, agent: Any) -> QuerySet[RegionalBond]:
    """Bonds the agent is principal of, or of traders it is authorised for."""
    return RegionalBond.objects.filter(
        Q(principal_agent=agent) | Q(principal_trader__authorisations__agent=agent)).distinct().order_by("number")


def bond_ledger(bond: RegionalBond) -> QuerySet[BondLedger]:
    return BondLedger.objects.filter(bond=bond).select_related("movement__declaration").order_by("created_at", "pk")


def alerts_for_officers(*, status: str = "live") -> QuerySet[TransitAlert]:
    """Transit alerts, priority first then oldest; `live` = open, acknowledged or investigating."""
    qs = TransitAlert.objects.select_related("declaration", "assigned_to").order_by("-priority", "opened_at", "pk")
    return qs.filter(status__in=LIVE_ALERT_STATUSES) if status == "live" else qs.filter(status=status)


def alert_get(*, alert_id: Any) -> TransitAlert:
    alert = TransitAlert.objects.select_related("declaration", "assigned_to").filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(detail="No such transit alert.", code="alert_not_found")
    return alert
