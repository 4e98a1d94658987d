"""Helpers shared by the transit services: actors, money, events, agent notifications."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core import clock
from core.actors import actor_user
from notifications.services import notification_create

from ..models import TransitMovement, TransitMovementEvent

logger = logging.getLogger("forodha.transit")
CENT = Decimal("0.01")


def iso(value: dt.datetime | None) -> str | None:
    """API times: ISO 8601 in UTC, as the rest of the API renders them (notices quote EAT)."""
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor[:150]
    return str(getattr(actor, "get_username", lambda: "")() or getattr(actor, "pk", "") or "system")[:150]


def movement_event(*, movement: TransitMovement, from_status: str, to_status: str, actor: Any, reason: str = "",
                   payload: dict[str, Any] | None = None) -> TransitMovementEvent:
    return TransitMovementEvent.objects.create(
        movement=movement, actor=actor_user(actor), actor_label=actor_label(actor), from_status=from_status,
        to_status=to_status, reason=reason, payload=payload or {}, created_at=clock.now(),
    )


def movement_summary(movement: TransitMovement) -> dict[str, Any]:
    return {
        "movement_id": str(movement.pk),
        "declaration_id": str(movement.declaration_id),
        "entry_number": movement.declaration.entry_number,
        "status": movement.status,
        "destination_country": movement.destination_country,
        "office_of_entry": movement.office_of_entry_id,
        "office_of_exit": movement.office_of_exit_id,
    }


def notify_agent(*, movement: TransitMovement, subject: str, payload: dict[str, Any], actor: Any) -> None:
    """A `transit` notification for the declaring agent (pull feed + webhooks)."""
    notification_create(
        agent=movement.agent, kind="transit", subject=subject,
        payload={**movement_summary(movement), **payload}, declaration_id=movement.declaration_id, actor=actor,
    )
