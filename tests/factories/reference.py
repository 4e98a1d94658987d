"""Factories for reference data. Reference rows are natural-keyed; `django_get_or_create` makes a
factory call for an already-loaded code (KE, USD, KEMBA, MBA) return the loaded row."""

from __future__ import annotations

import factory

from reference.models import Country, Currency, CustomsOffice, Location, PackageKind, Unit


class CountryFactory(factory.django.DjangoModelFactory[Country]):
    class Meta:
        model = Country
        django_get_or_create = ("code",)

    code = "KE"
    name = factory.LazyAttribute(lambda o: f"Country {o.code}")
    is_eac_partner = factory.LazyAttribute(
        lambda o: o.code in {"KE", "UG", "TZ", "RW", "BI", "SS", "CD", "SO"}
    )


class CurrencyFactory(factory.django.DjangoModelFactory[Currency]):
    class Meta:
        model = Currency
        django_get_or_create = ("code",)

    code = "USD"
    name = factory.LazyAttribute(lambda o: f"Currency {o.code}")


class LocationFactory(factory.django.DjangoModelFactory[Location]):
    class Meta:
        model = Location
        django_get_or_create = ("unlocode",)

    unlocode = "KEMBA"
    country = factory.LazyAttribute(lambda o: CountryFactory(code=o.unlocode[:2]))
    name = factory.LazyAttribute(lambda o: f"Location {o.unlocode}")
    is_seaport = True


class CustomsOfficeFactory(factory.django.DjangoModelFactory[CustomsOffice]):
    class Meta:
        model = CustomsOffice
        django_get_or_create = ("code",)

    code = "MBA"
    name = factory.LazyAttribute(lambda o: f"Office {o.code}")
    kind = CustomsOffice.Kind.SEAPORT
    location = factory.SubFactory(LocationFactory)


class PackageKindFactory(factory.django.DjangoModelFactory[PackageKind]):
    class Meta:
        model = PackageKind
        django_get_or_create = ("code",)

    code = "CT"
    description = "Carton"


class UnitFactory(factory.django.DjangoModelFactory[Unit]):
    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = "KGM"
    description = "Kilogram"
