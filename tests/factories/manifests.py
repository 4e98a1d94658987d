"""Factories for carriers, manifests, bills of lading and containers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from rest_framework.authtoken.models import Token

from core import clock
from manifests.enums import ManifestStatus, TransportMode
from manifests.models import BillOfLading, Carrier, CarrierStaff, Container, Manifest
from tests.factories.reference import (
    CountryFactory,
    CustomsOfficeFactory,
    LocationFactory,
    PackageKindFactory,
)
from tests.factories.traders import UserFactory


def reference_rows() -> None:
    """The reference rows manifests need (no-ops when the full reference data is loaded)."""
    CountryFactory(code="KE")
    CountryFactory(code="CN")
    LocationFactory(unlocode="KEMBA", name="Mombasa", is_seaport=True)
    LocationFactory(unlocode="KENBO", name="Nairobi", is_seaport=False, is_airport=True, is_icd=True)
    LocationFactory(unlocode="CNSHA", name="Shanghai", is_seaport=True)
    CustomsOfficeFactory(code="MBA", name="Mombasa Port", location=LocationFactory(unlocode="KEMBA"))
    CustomsOfficeFactory(code="JKA", name="JKIA", kind="airport", location=LocationFactory(unlocode="KENBO"))
    for code, description in (("CT", "Carton"), ("BG", "Bag"), ("PK", "Package"), ("NE", "Unpacked")):
        PackageKindFactory(code=code, description=description)


class CarrierFactory(factory.django.DjangoModelFactory[Carrier]):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CAR{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Shipping line {o.code}")


class CarrierStaffFactory(factory.django.DjangoModelFactory[CarrierStaff]):
    class Meta:
        model = CarrierStaff

    user = factory.SubFactory(UserFactory)
    carrier = factory.SubFactory(CarrierFactory)


def carrier_with_token(*, carrier: Carrier | None = None) -> tuple[CarrierStaff, str]:
    staff: CarrierStaff = CarrierStaffFactory(carrier=carrier or CarrierFactory())  # type: ignore[assignment]
    token, _ = Token.objects.get_or_create(user=staff.user)
    return staff, token.key


class ManifestFactory(factory.django.DjangoModelFactory[Manifest]):
    class Meta:
        model = Manifest

    carrier = factory.SubFactory(CarrierFactory)
    reference = factory.Sequence(lambda n: f"MAN-{n:05d}")
    mode = TransportMode.SEA
    vessel_name = "MSC ANNA"
    vessel_imo = "9321483"
    voyage_number = factory.Sequence(lambda n: f"V{n:04d}")
    port_of_loading = factory.LazyFunction(lambda: LocationFactory(unlocode="CNSHA", name="Shanghai"))
    port_of_discharge = factory.LazyFunction(lambda: LocationFactory(unlocode="KEMBA", name="Mombasa"))
    office_of_discharge = factory.LazyFunction(
        lambda: CustomsOfficeFactory(code="MBA", location=LocationFactory(unlocode="KEMBA"))
    )
    eta = factory.LazyFunction(lambda: clock.now() + dt.timedelta(days=5))
    status = ManifestStatus.LODGED
    lodged_at = factory.LazyFunction(clock.now)
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class BillOfLadingFactory(factory.django.DjangoModelFactory[BillOfLading]):
    class Meta:
        model = BillOfLading

    manifest = factory.SubFactory(ManifestFactory)
    carrier = factory.LazyAttribute(lambda o: o.manifest.carrier)
    voyage_number = factory.LazyAttribute(lambda o: o.manifest.voyage_number)
    number = factory.Sequence(lambda n: f"MEDUKE{n:06d}")
    shipper_name = "Shanghai Exports Co Ltd"
    consignee_name = "Nairobi Motors Ltd"
    consignee_pin = "P051234567X"
    description = "Spare parts for motor vehicles"
    packages = 100
    package_kind = factory.LazyFunction(lambda: PackageKindFactory(code="CT"))
    gross_weight_kg = Decimal("10000.000")


class ContainerFactory(factory.django.DjangoModelFactory[Container]):
    class Meta:
        model = Container

    bill_of_lading = factory.SubFactory(BillOfLadingFactory)
    number = "CSQU3054383"
    size_type = "22G1"
    seals = factory.LazyFunction(lambda: ["SEAL001"])
