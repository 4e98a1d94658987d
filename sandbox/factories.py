"""factory-boy factories for the parties of a sandbox world (seeded by `sandbox seed`).

Only parties are made by factories (they have no lifecycle service); everything with a
lifecycle (manifests, declarations, payments, clearance, windows) is driven through the real
services by `sandbox.seeding`, so the seeded world is exactly what the product would produce.
Every random choice comes from factory-boy's random (reseeded per run) or the scenario's
`random.Random(seed)`: the same seed gives the same world.
"""

from __future__ import annotations

import datetime as dt

import factory
import factory.random
from django.contrib.auth import get_user_model

from manifests.models import Carrier, CarrierStaff
from traders.models import AgentAuthorisation, AgentStaff, ClearingAgent, Trader

PIN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
TOWNS = ("Mombasa", "Nairobi", "Kisumu", "Nakuru", "Eldoret", "Thika", "Machakos", "Kericho")
TRADER_WORDS = ("Imara", "Pwani", "Baraka", "Jambo", "Tumaini", "Upendo", "Neema", "Amani", "Safari",
                "Kilima", "Bahari", "Uhuru", "Nyota", "Simba", "Faraja", "Zawadi", "Mwanga", "Riziki")
TRADER_KINDS = ("Motors", "Traders", "Distributors", "Imports", "Hardware", "Electronics", "Tea Estates",
                "Supplies", "Enterprises", "Holdings")


def kra_pin(number: int, prefix: str = "P") -> str:
    """A syntactically valid KRA PIN (`[AP]` + 9 digits + a letter), distinct per number."""
    return f"{prefix}{number % 10**9:09d}{PIN_LETTERS[number % len(PIN_LETTERS)]}"


class SandboxUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"sandbox-user{n:03d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@sandbox.forodha.test")


class SandboxTraderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trader
        django_get_or_create = ("pin",)

    pin = factory.Sequence(lambda n: kra_pin(51_100_000 + n * 7919))
    name = factory.LazyFunction(lambda: f"{factory.random.randgen.choice(TRADER_WORDS)} "
                                        f"{factory.random.randgen.choice(TRADER_KINDS)} Ltd")
    address = factory.LazyFunction(lambda: f"P.O. Box {factory.random.randgen.randint(100, 99999)}-"
                                           f"{factory.random.randgen.choice(TOWNS)}")
    email = factory.LazyAttribute(lambda o: f"customs@{o.pin.lower()}.sandbox.test")
    phone = factory.LazyFunction(lambda: f"+2547{factory.random.randgen.randint(10_000_000, 99_999_999)}")


class SandboxClearingAgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClearingAgent
        django_get_or_create = ("licence_number",)

    name = factory.Sequence(lambda n: f"Sandbox Clearing Agent {n} Ltd")
    licence_number = factory.Sequence(lambda n: f"SBX/CA/{n:05d}")
    licence_valid_from = dt.date(2020, 1, 1)
    licence_valid_to = dt.date(2030, 12, 31)


class SandboxAgentStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentStaff

    user = factory.SubFactory(SandboxUserFactory)
    agent = factory.SubFactory(SandboxClearingAgentFactory)


class SandboxAuthorisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentAuthorisation

    agent = factory.SubFactory(SandboxClearingAgentFactory)
    trader = factory.SubFactory(SandboxTraderFactory)
    valid_from = dt.date(2020, 1, 1)
    valid_to = None


class SandboxCarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SBX{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Shipping line {o.code}")


class SandboxCarrierStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarrierStaff

    user = factory.SubFactory(SandboxUserFactory)
    carrier = factory.SubFactory(SandboxCarrierFactory)
