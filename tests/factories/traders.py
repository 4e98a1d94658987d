"""Factories for parties: traders, clearing agents with staff users and tokens, authorisations, AEO."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from traders.models import AEOProfile, AgentAuthorisation, AgentStaff, ClearingAgent, Trader

_PIN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def make_pin(n: int, prefix: str = "P") -> str:
    """A syntactically valid KRA PIN, distinct per `n`."""
    return f"{prefix}{n % 10**9:09d}{_PIN_LETTERS[n % len(_PIN_LETTERS)]}"


class TraderFactory(factory.django.DjangoModelFactory[Trader]):
    class Meta:
        model = Trader
        django_get_or_create = ("pin",)

    pin = factory.Sequence(lambda n: make_pin(51000000 + n))
    name = factory.Sequence(lambda n: f"Trader {n} Ltd")
    address = "P.O. Box 100-80100, Mombasa"
    email = factory.Sequence(lambda n: f"imports{n}@trader.example")
    phone = "+254700000000"


class ClearingAgentFactory(factory.django.DjangoModelFactory[ClearingAgent]):
    class Meta:
        model = ClearingAgent

    name = factory.Sequence(lambda n: f"Clearing Agent {n} Ltd")
    licence_number = factory.Sequence(lambda n: f"CA/{2024}/{n:05d}")
    licence_valid_from = dt.date(2024, 1, 1)
    licence_valid_to = dt.date(2030, 12, 31)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")


class AgentStaffFactory(factory.django.DjangoModelFactory[AgentStaff]):
    class Meta:
        model = AgentStaff

    user = factory.SubFactory(UserFactory)
    agent = factory.SubFactory(ClearingAgentFactory)


class AgentAuthorisationFactory(factory.django.DjangoModelFactory[AgentAuthorisation]):
    class Meta:
        model = AgentAuthorisation

    agent = factory.SubFactory(ClearingAgentFactory)
    trader = factory.SubFactory(TraderFactory)
    valid_from = dt.date(2024, 1, 1)
    valid_to = None


class AEOProfileFactory(factory.django.DjangoModelFactory[AEOProfile]):
    class Meta:
        model = AEOProfile

    trader = factory.SubFactory(TraderFactory)
    tier = AEOProfile.Tier.NATIONAL
    status = AEOProfile.Status.ACTIVE
    valid_from = dt.date(2024, 1, 1)
    valid_to = dt.date(2030, 12, 31)


def agent_with_token(
    *, agent: ClearingAgent | None = None, username: str | None = None
) -> tuple[AgentStaff, str]:
    """A staff user of `agent` (a new agent by default) and its API token key."""
    from rest_framework.authtoken.models import Token

    staff: AgentStaff = AgentStaffFactory(  # type: ignore[assignment]
        agent=agent or ClearingAgentFactory(), **({"user__username": username} if username else {})
    )
    token, _ = Token.objects.get_or_create(user=staff.user)
    return staff, token.key
