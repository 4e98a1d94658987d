"""Fixtures of the transit tests: a movable clock, a transit world with two containers on the B/L,
an agent bond, the tracking system's token, and helpers that run the lodging/release hooks the way
declarations and risk call them (inside their transactions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from core import clock
from declarations.models import Declaration
from tests.factories.declarations import World
from tests.factories.transit import (
    RegionalBondFactory,
    tracking_system_token,
    transit_declaration,
    transit_payload,
    transit_world,
)
from transit.models import RegionalBond, TransitMovement
from transit.services import transit_on_lodged, transit_on_released, transit_validate


class MovableClock:
    def __init__(self) -> None:
        self.value = clock.now().replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.value

    def advance(self, **delta: float) -> dt.datetime:
        self.value += dt.timedelta(**delta)
        return self.value


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    """`core.clock.now` under the test's control (every domain module calls `clock.now()`)."""
    movable = MovableClock()
    monkeypatch.setattr(clock, "now", movable)
    return movable


@pytest.fixture
def simulator(settings: Any) -> None:
    settings.TRANSIT_PARTNER_SIMULATOR = True


@pytest.fixture
def world(db: None) -> World:
    return transit_world(containers=2)


@pytest.fixture
def bond(world: World) -> RegionalBond:
    return RegionalBondFactory(principal_agent=world.agent, amount=Decimal("1000000.00"))


@pytest.fixture
def tracking_client(db: None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tracking_system_token()}")
    return client


@pytest.fixture
def agent_client(world: World) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    return client


def lodge(world: World, payload: dict[str, Any] | None = None, *, total: Decimal = Decimal("683000.00"),
          actor: Any = None) -> TransitMovement:
    """What lodging does for an IM8 body: validate, write the declaration, then the hook, in one transaction."""
    payload = payload or transit_payload(world)
    assert transit_validate(payload=payload, on=clock.today()) == []
    with transaction.atomic():
        declaration = transit_declaration(world, payload, total=total)
        return transit_on_lodged(declaration=declaration, payload=payload, actor=actor or world.user)


def release(movement: TransitMovement, *, actor: Any = None) -> TransitMovement:
    """What risk's release does: lock the declaration, move it to released, call the hook."""
    with transaction.atomic():
        declaration = Declaration.objects.select_for_update(of=("self",)).get(pk=movement.declaration_id)
        declaration.status = "released"
        declaration.save(update_fields=["status"])
        result = transit_on_released(declaration=declaration, actor=actor)
    assert result is not None
    return TransitMovement.objects.get(pk=movement.pk)


def seals_of(movement: TransitMovement) -> list[str]:
    return sorted(movement.seals.values_list("seal_number", flat=True))
