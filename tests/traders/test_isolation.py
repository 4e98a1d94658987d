"""Agent isolation: an agent sees only traders that authorised it, on the day asked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.exceptions import NotFound
from tests.factories.traders import (
    AEOProfileFactory,
    AgentAuthorisationFactory,
    ClearingAgentFactory,
    TraderFactory,
    agent_with_token,
)
from traders.selectors import agent_authorised_for, agent_for_user, agent_licence_valid, trader_get_for_agent

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 6, 1)


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    agent_a, agent_b = ClearingAgentFactory(), ClearingAgentFactory()
    mine, theirs = TraderFactory(pin="P051234567X"), TraderFactory(pin="P059999999K")
    AgentAuthorisationFactory(agent=agent_a, trader=mine, valid_from=dt.date(2024, 1, 1))
    AgentAuthorisationFactory(agent=agent_b, trader=theirs, valid_from=dt.date(2024, 1, 1))
    return agent_a, agent_b, mine, theirs


def test_agent_sees_only_its_traders(world) -> None:  # type: ignore[no-untyped-def]
    agent_a, agent_b, mine, theirs = world
    assert trader_get_for_agent(agent=agent_a, pin=mine.pin, on=DAY) == mine
    with pytest.raises(NotFound) as exc:
        trader_get_for_agent(agent=agent_a, pin=theirs.pin, on=DAY)
    assert exc.value.code == "trader_not_found"
    assert agent_authorised_for(agent=agent_b, pin=theirs.pin, on=DAY) is True
    assert agent_authorised_for(agent=agent_b, pin=mine.pin, on=DAY) is False


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "authorised"),
    [
        (dt.date(2025, 6, 1), None, True),
        (dt.date(2025, 6, 2), None, False),
        (dt.date(2024, 1, 1), dt.date(2025, 6, 1), True),
        (dt.date(2024, 1, 1), dt.date(2025, 5, 31), False),
    ],
)
def test_authorisation_validity_dates(valid_from: dt.date, valid_to: dt.date | None, authorised: bool) -> None:
    agent, trader = ClearingAgentFactory(), TraderFactory()
    AgentAuthorisationFactory(agent=agent, trader=trader, valid_from=valid_from, valid_to=valid_to)
    assert agent_authorised_for(agent=agent, pin=trader.pin, on=DAY) is authorised


def test_licence_validity() -> None:
    agent = ClearingAgentFactory(licence_valid_from=dt.date(2025, 1, 1), licence_valid_to=dt.date(2025, 12, 31))
    assert agent_licence_valid(agent, dt.date(2025, 12, 31)) is True
    assert agent_licence_valid(agent, dt.date(2026, 1, 1)) is False


def test_agent_for_user() -> None:
    staff, _ = agent_with_token()
    other = get_user_model().objects.create_user("officer")
    assert agent_for_user(staff.user) == staff.agent
    assert agent_for_user(other) is None


def client_for(agent) -> APIClient:  # type: ignore[no-untyped-def]
    _, key = agent_with_token(agent=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_api_returns_own_trader_with_aeo_status(world) -> None:  # type: ignore[no-untyped-def]
    agent_a, _, mine, _ = world
    AEOProfileFactory(trader=mine, tier="eac_regional", valid_from=dt.date(2024, 1, 1), valid_to=None)
    response = client_for(agent_a).get(f"/api/v1/traders/{mine.pin}")
    assert response.status_code == 200
    body = response.json()
    assert (body["pin"], body["name"], body["status"]) == (mine.pin, mine.name, "active")
    assert body["aeo"] == {
        "tier": "eac_regional",
        "status": "active",
        "valid_from": "2024-01-01",
        "valid_to": None,
        "effective": True,
        "automatic_release": True,
        "reduced_inspection": True,
        "pre_arrival_clearance": True,
        "priority": True,
    }
    assert "on_watch_list" not in body


def test_api_hides_other_agents_traders_exactly_like_unknown_pins(world) -> None:  # type: ignore[no-untyped-def]
    agent_a, _, _, theirs = world
    client = client_for(agent_a)
    other = client.get(f"/api/v1/traders/{theirs.pin}")
    unknown = client.get("/api/v1/traders/P000000001A")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["code"] == unknown.json()["code"] == "trader_not_found"


def test_api_rejects_malformed_pin(world) -> None:  # type: ignore[no-untyped-def]
    agent_a, _, _mine, _ = world
    response = client_for(agent_a).get("/api/v1/traders/P051234567X%7C")
    assert response.status_code == 400
    assert [(e["code"], e["pointer"]) for e in response.json()["errors"]] == [("invalid_kra_pin", "/pin")]


def test_api_without_aeo_profile_and_for_officers(world) -> None:  # type: ignore[no-untyped-def]
    _, _, _mine, theirs = world
    officer = get_user_model().objects.create_user("officer", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=officer).key}")
    body = client.get(f"/api/v1/traders/{theirs.pin}").json()
    assert (body["pin"], body["aeo"]) == (theirs.pin, None)


def test_api_non_agent_non_staff_sees_nothing_and_anonymous_is_401(world) -> None:  # type: ignore[no-untyped-def]
    _, _, mine, _ = world
    user = get_user_model().objects.create_user("someone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get(f"/api/v1/traders/{mine.pin}").status_code == 404
    assert APIClient().get(f"/api/v1/traders/{mine.pin}").status_code == 401
