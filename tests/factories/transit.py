"""Factories for transit: border-post reference rows, regional bonds, an IM8 declaration built
directly with the ORM (assessed, with its stored assessment), its lodging body, the tracking
system's client, and signed partner messages."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import clock
from declarations.entry_numbers import entry_number_format
from declarations.models import Assessment, Declaration, DeclarationItem
from manifests.codes import iso6346_check_digit
from reference.models import CustomsOffice
from tests.factories.declarations import World, world_create
from tests.factories.manifests import ContainerFactory
from tests.factories.reference import CountryFactory, CustomsOfficeFactory, LocationFactory
from tests.factories.traders import UserFactory
from transit.models import RegionalBond

_serial = {"n": 0}


def container_number(owner: str = "MSCU", serial: int = 0) -> str:
    first_ten = f"{owner}{serial % 1_000_000:06d}"
    return f"{first_ten}{iso6346_check_digit(first_ten) % 10}"


def transit_reference() -> None:
    """Mombasa (entry), the Malaba and Busia border posts into Uganda, Namanga into Tanzania, and
    Nairobi ICD (not a border post)."""
    for code in ("KE", "UG", "RW", "TZ", "SS", "CD", "BI", "ET", "JP", "CN"):
        CountryFactory(code=code)
    CustomsOfficeFactory(code="MBA", name="Mombasa Port", location=LocationFactory(unlocode="KEMBA"))
    for code, name, unlocode, partner in (("MAL", "Malaba OSBP", "KEMAL", "UG"), ("BSA", "Busia OSBP", "KEBUS", "UG"),
                                          ("NMG", "Namanga OSBP", "KENMA", "TZ"),
                                          ("MOY", "Moyale OSBP", "KEOYL", "ET")):
        office = CustomsOfficeFactory(code=code, name=name, kind=CustomsOffice.Kind.BORDER,
                                      location=LocationFactory(unlocode=unlocode, is_seaport=False, is_road=True))
        if not office.is_border_post or office.partner_country_id != partner:
            office.is_border_post = True
            office.partner_country_id = partner
            office.kind = CustomsOffice.Kind.BORDER
            office.save()
    CustomsOfficeFactory(code="NBO", name="Nairobi ICD", kind=CustomsOffice.Kind.ICD,
                         location=LocationFactory(unlocode="KEEMB", is_seaport=False, is_icd=True))


class RegionalBondFactory(factory.django.DjangoModelFactory[RegionalBond]):
    class Meta:
        model = RegionalBond

    number = factory.Sequence(lambda n: f"RB/2026/{n:06d}")
    surety = "Kenya Commercial Bank"
    amount = Decimal("1000000.00")
    balance = factory.LazyAttribute(lambda o: o.amount)
    currency = "KES"
    valid_from = dt.date(2024, 1, 1)
    valid_to = dt.date(2030, 12, 31)
    created_at = factory.LazyFunction(clock.now)


def transit_world(*, containers: int = 1) -> World:
    transit_reference()
    world = world_create()
    for i in range(containers):
        _serial["n"] += 1
        ContainerFactory(bill_of_lading=world.bl, number=container_number(serial=300000 + _serial["n"] * 7 + i),
                         seals=[f"SEAL{i}"])
    return world


def transit_payload(world: World, *, office_of_exit: str = "MAL", destination: str = "UG",
                    bond_number: str | None = None, seals_per_container: int = 1, **overrides: Any) -> dict[str, Any]:
    containers = [
        {"number": c.number, "e_seals": [f"KE-ES-{c.number[4:10]}{k}" for k in range(seals_per_container)]}
        for c in world.bl.containers.all()
    ]
    transit: dict[str, Any] = {"destination_country": destination, "office_of_exit": office_of_exit,
                               "containers": containers, "vehicle_registration": "KCA 123A"}
    if bond_number:
        transit["bond_number"] = bond_number
    transit.update(overrides.pop("transit", {}))
    body: dict[str, Any] = {
        "regime": "IM8", "cpc": "8000000", "office": "MBA", "importer_pin": world.trader.pin,
        "local_reference": "AGT-TRANSIT-1", "bill_of_lading": world.bl.number, "currency": "KES",
        "invoice_amount": "2000000.00", "freight_amount": "0.00", "insurance_amount": "0.00", "incoterm": "CIF",
        "country_of_export": "JP",
        "items": [{"hs_code": "8708.99.00", "description": "Vehicle parts", "origin_country": "JP", "packages": 10,
                   "package_kind": "CT", "gross_weight_kg": "5000.000", "net_weight_kg": "4800.000",
                   "customs_value": "2000000.00"}],
        "transit": transit,
    }
    body.update(overrides)
    return body


def transit_declaration(world: World, payload: dict[str, Any], *, total: Decimal = Decimal("683000.00"),
                        status: str = "assessed") -> Declaration:
    """An assessed IM8 declaration written with the ORM (what lodging stores before its hooks run)."""
    _serial["n"] += 1
    now = clock.now()
    local = timezone.localtime(now)
    declaration = Declaration.objects.create(
        regime="IM8", cpc="8000000", agent=world.agent, created_by=world.user, importer_pin=world.trader.pin,
        trader=world.trader, office=CustomsOffice.objects.get(pk="MBA"), local_reference="AGT-TRANSIT-1",
        bill_of_lading_number=world.bl.number, bill_of_lading=world.bl, currency="KES",
        invoice_amount=Decimal("2000000.00"), country_of_export="JP", country_of_destination="UG",
        status=status, lodged_at=now, exchange_rate=Decimal(1),
        entry_number=entry_number_format(year=local.year, office_code="MBA", regime="IM8", serial=_serial["n"]),
        body=payload, created_at=now, updated_at=now,
    )
    DeclarationItem.objects.create(
        declaration=declaration, line_no=1, hs_code="87089900", description="Vehicle parts", origin_country="JP",
        packages=10, package_kind="CT", gross_weight_kg=Decimal("5000.000"), net_weight_kg=Decimal("4800.000"),
        customs_value=Decimal("2000000.00"), customs_value_kes=Decimal("2000000.00"),
    )
    zero = Decimal("0.00")
    Assessment.objects.create(declaration=declaration, version=1, rate_date=local.date(), currency="KES",
                              exchange_rate=Decimal(1), import_duty=total, excise_duty=zero, vat=zero, idf=zero,
                              rdl=zero, total=total, created_at=now)
    return declaration


def tracking_system_token(group_name: str = "cargo_tracking_system") -> str:
    user = UserFactory(username=f"rects-{uuid.uuid4().hex[:8]}")
    user.groups.add(Group.objects.get_or_create(name=group_name)[0])
    return Token.objects.get_or_create(user=user)[0].key


def tracking_event_body(
    seal: str, kind: str, at: dt.datetime, *, event_id: str | None = None, place: str = "",
    lat: str | None = None, lon: str | None = None, **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": event_id or f"EV-{uuid.uuid4().hex[:16]}", "seal_number": seal,
                            "kind": kind, "occurred_at": at.isoformat()}
    if lat is not None:
        body["location"] = {"name": place, "latitude": lat, "longitude": lon}
    body.update(extra)
    return body


def partner_message_bytes(*, movement_id: Any, kind: str = "exit_confirmation", message_id: str | None = None,
                          occurred_at: dt.datetime | None = None, **extra: Any) -> bytes:
    return json.dumps({"message_id": message_id or f"URA-{uuid.uuid4().hex[:12]}", "kind": kind,
                       "movement_id": str(movement_id), "occurred_at": (occurred_at or clock.now()).isoformat(),
                       "office": "UGMAL", **extra}).encode()
