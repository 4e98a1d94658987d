"""Factories for tariff rows. Most tests use the real loaded data (see tests/conftest.py); these
build extra lines/rates for edge cases (rate changes on a date, specific rates, ...)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from core import clock
from tariff.models import DutyRate, ExchangeRate, ExemptionCertificate, HSNode, NationalMeasure, RateKind, TariffLine
from tariff.selectors import clear_local_cache
from tests.factories.reference import CurrencyFactory


class _TariffRowFactory(factory.django.DjangoModelFactory):
    """Creating a tariff row drops this process's cached tariff books, so the next
    `tariff_book(date)` sees it (books are cached per date; see tariff.selectors)."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        obj = super()._create(model_class, *args, **kwargs)
        clear_local_cache()
        return obj


class HSNodeFactory(factory.django.DjangoModelFactory[HSNode]):
    class Meta:
        model = HSNode
        django_get_or_create = ("code",)

    code = "999999"
    level = factory.LazyAttribute(lambda o: len(o.code))
    description = factory.LazyAttribute(lambda o: f"HS {o.code}")
    parent = None


class TariffLineFactory(_TariffRowFactory):
    class Meta:
        model = TariffLine

    code = factory.Sequence(lambda n: f"9999{n % 10000:04d}")
    description = factory.LazyAttribute(lambda o: f"Test line {o.code}")
    unit = "kg"
    hs_subheading = None
    valid_from = dt.date(2022, 7, 1)
    valid_to = None


class DutyRateFactory(_TariffRowFactory):
    class Meta:
        model = DutyRate

    tariff_line = factory.SubFactory(TariffLineFactory)
    kind = RateKind.AD_VALOREM
    ad_valorem_rate = Decimal("25")
    source = DutyRate.Source.SCHEDULE1
    valid_from = dt.date(2022, 7, 1)
    valid_to = None


class NationalMeasureFactory(_TariffRowFactory):
    class Meta:
        model = NationalMeasure

    kind = NationalMeasure.Kind.EXCISE
    category = NationalMeasure.Category.STANDARD
    hs_prefix = ""
    rate_kind = RateKind.AD_VALOREM
    ad_valorem_rate = Decimal("10")
    description = "Test measure"
    valid_from = dt.date(2022, 7, 1)
    valid_to = None


class ExchangeRateFactory(_TariffRowFactory):
    class Meta:
        model = ExchangeRate
        django_get_or_create = ("currency", "date")

    currency = factory.SubFactory(CurrencyFactory)
    date = dt.date(2025, 1, 1)
    kes_per_unit = Decimal("129.500000")


class ExemptionCertificateFactory(factory.django.DjangoModelFactory[ExemptionCertificate]):
    """A diplomatic certificate for one car's worth of value (KES 1.5 m), valid a year around the
    test clock's date."""

    class Meta:
        model = ExemptionCertificate

    number = factory.Sequence(lambda n: f"MFA/DIP/{n:05d}")
    holder_pin = "P051234567X"
    holder_name = "Embassy of Testland"
    category = ExemptionCertificate.Category.DIPLOMATIC
    exemption_code = "DIPLOMATIC"
    hs_prefixes = "8703"
    goods_description = "one motor car for the mission"
    quota_kind = ExemptionCertificate.QuotaKind.VALUE
    quota_total = Decimal("1500000.000")
    quota_used = Decimal("0.000")
    reduces_idf_rdl = False
    issuing_authority = "Ministry of Foreign and Diaspora Affairs, Protocol"
    legal_reference = "EACCMA Fifth Schedule Part A item 2; Privileges and Immunities Act (Cap. 179)"
    valid_from = factory.LazyFunction(lambda: clock.today() - dt.timedelta(days=180))
    valid_to = factory.LazyFunction(lambda: clock.today() + dt.timedelta(days=185))
    status = ExemptionCertificate.Status.ACTIVE
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)
