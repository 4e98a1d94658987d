"""Transit's answers to declaration events (`core.events`), subscribed in `TransitConfig.ready`.

Only IM8 (EAC Single Customs Territory transit) declarations have a movement; every handler
returns at once for any other regime, without a query."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.exceptions import ErrorItem
from declarations.enums import Status as DeclarationStatus
from declarations.events import Security

from .services import (
    transit_on_cancelled,
    transit_on_lodged,
    transit_on_registered,
    transit_on_released,
    transit_status_for,
    transit_validate,
)

TRANSIT_REGIME = "IM8"


def on_declaration_validating(*, payload: dict[str, Any], on: dt.date) -> list[ErrorItem]:
    # Every regime: a transit section on a non-IM8 body is itself a problem.
    return transit_validate(payload=payload, on=on)


def on_declaration_lodged(*, declaration: Any, payload: dict[str, Any], actor: Any) -> Security | None:
    """Reserve the regional bond for the taxes at risk (refused: raises, the lodging rolls back)."""
    if declaration.regime != TRANSIT_REGIME:
        return None
    movement = transit_on_lodged(declaration=declaration, payload=payload, actor=actor)
    return Security(f"secured by bond {movement.bond.number} (KES {movement.amount_secured} reserved)")


def on_declaration_registered(*, declaration: Any, actor: Any) -> None:
    if declaration.regime == TRANSIT_REGIME:
        transit_on_registered(declaration=declaration, actor=actor)


def on_declaration_status_changed(*, declaration: Any, from_status: str, to_status: str, actor: Any) -> None:
    if declaration.regime != TRANSIT_REGIME:
        return
    if to_status == DeclarationStatus.RELEASED:
        # SCT transit: the movement departs under its regional bond and the destination partner
        # state is told (docs/transit.md); exit is confirmed by the partner, not at our gate.
        transit_on_released(declaration=declaration, actor=actor)
    elif to_status in (DeclarationStatus.CANCELLED, DeclarationStatus.REJECTED):
        # A movement not yet released is cancelled and its regional bond reservation freed.
        transit_on_cancelled(declaration=declaration, actor=actor)


def on_declaration_status_sections(*, declaration_id: Any, regime: str) -> dict[str, Any] | None:
    if regime != TRANSIT_REGIME:
        return None
    return {"transit": transit_status_for(declaration_id)}
