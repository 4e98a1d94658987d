"""Officer admin: every page of the three apps renders, and edits go through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories.traders import AEOProfileFactory
from traders.models import AEOProfileChange

pytestmark = pytest.mark.django_db

MODELS = [
    "reference/country",
    "reference/currency",
    "reference/location",
    "reference/customsoffice",
    "reference/packagekind",
    "reference/unit",
    "tariff/hsnode",
    "tariff/tariffline",
    "tariff/dutyrate",
    "tariff/nationalmeasure",
    "tariff/exchangerate",
    "tariff/exemptioncertificate",
    "tariff/crspentry",
    "tariff/crspdepreciation",
    "tariff/crsptemplate",
    "traders/trader",
    "traders/clearingagent",
    "traders/agentauthorisation",
    "traders/agentstaff",
    "traders/aeoprofile",
    "traders/aeoprofilechange",
]


@pytest.fixture
def admin_client_h1() -> Client:
    user = get_user_model().objects.create_superuser("chief", "chief@kra.example", "pw-not-used")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render(admin_client_h1: Client, model: str) -> None:
    response = admin_client_h1.get(f"/admin/{model}/")
    assert response.status_code == 200


def test_tariff_line_change_page_renders_with_rates(admin_client_h1: Client) -> None:
    from tariff.models import TariffLine

    line = TariffLine.objects.get(code="10063000")
    response = admin_client_h1.get(reverse("admin:tariff_tariffline_change", args=[line.pk]))
    assert response.status_code == 200
    assert b"75% or $345/MT whichever is higher" in response.content


def test_exchange_rate_added_in_admin_is_effective(admin_client_h1: Client) -> None:
    from tariff.selectors import exchange_rate_get, tariff_book

    assert "XAF" not in tariff_book(dt.date(2025, 3, 10)).exchange_rates
    response = admin_client_h1.post(
        reverse("admin:tariff_exchangerate_add"),
        {"currency": "XAF", "date": "2025-03-01", "kes_per_unit": "0.214"},
    )
    assert response.status_code == 302
    assert exchange_rate_get("XAF", dt.date(2025, 3, 10)) == Decimal("0.214000")


def test_aeo_status_change_in_admin_is_recorded_with_actor(admin_client_h1: Client) -> None:
    profile = AEOProfileFactory(valid_from=dt.date(2024, 1, 1), valid_to=None)
    response = admin_client_h1.post(
        reverse("admin:traders_aeoprofile_change", args=[profile.pk]),
        {
            "trader": str(profile.trader_id),
            "tier": "national",
            "status": "suspended",
            "valid_from": "2024-01-01",
            "valid_to": "",
            "automatic_release": "on",
            "reduced_inspection": "on",
            "pre_arrival_clearance": "on",
            "priority": "on",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
            "changes-MIN_NUM_FORMS": "0",
            "changes-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    (change,) = AEOProfileChange.objects.filter(profile=profile)
    assert (change.from_status, change.to_status, change.actor.username) == ("active", "suspended", "chief")


def test_aeo_profile_granted_in_admin_records_history(admin_client_h1: Client) -> None:
    from tests.factories.traders import TraderFactory

    trader = TraderFactory()
    response = admin_client_h1.post(
        reverse("admin:traders_aeoprofile_add"),
        {
            "trader": str(trader.pk),
            "tier": "eac_regional",
            "status": "active",
            "valid_from": "2025-01-01",
            "valid_to": "",
            "automatic_release": "on",
            "priority": "on",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
            "changes-MIN_NUM_FORMS": "0",
            "changes-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    (change,) = AEOProfileChange.objects.filter(profile__trader=trader)
    assert (change.from_status, change.to_status, change.actor.username) == ("", "active", "chief")
    assert (change.profile.tier, change.profile.reduced_inspection, change.profile.priority) == (
        "eac_regional",
        False,
        True,
    )


def test_exemption_certificate_kept_in_the_admin_never_overwrites_the_quota_used(admin_client_h1: Client) -> None:
    # given: a certificate with part of its quota drawn since the officer opened the form
    from tariff.models import ExemptionCertificate
    from tests.factories.tariff import ExemptionCertificateFactory

    cert = ExemptionCertificateFactory(number="MFA/DIP/77777", quota_total=Decimal("1000000.000"))
    ExemptionCertificate.objects.filter(pk=cert.pk).update(quota_used=Decimal("400000.000"))

    # when: the officer suspends it (the form does not carry quota_used)
    response = admin_client_h1.post(reverse("admin:tariff_exemptioncertificate_change", args=[cert.pk]), {
        "number": cert.number, "holder_pin": cert.holder_pin, "holder_name": cert.holder_name,
        "category": "diplomatic", "exemption_code": "DIPLOMATIC", "hs_prefixes": "8703",
        "goods_description": cert.goods_description, "quota_kind": "value", "quota_total": "1000000.000",
        "issuing_authority": cert.issuing_authority, "legal_reference": cert.legal_reference,
        "valid_from": cert.valid_from.isoformat(), "valid_to": cert.valid_to.isoformat(), "status": "suspended",
        "drawdowns-TOTAL_FORMS": "0", "drawdowns-INITIAL_FORMS": "0", "drawdowns-MIN_NUM_FORMS": "0",
        "drawdowns-MAX_NUM_FORMS": "1000",
        "changes-TOTAL_FORMS": "0", "changes-INITIAL_FORMS": "0", "changes-MIN_NUM_FORMS": "0",
        "changes-MAX_NUM_FORMS": "1000",
    })

    # then
    assert response.status_code == 302, response.content[:2000]
    cert.refresh_from_db()
    assert (cert.status, cert.quota_used) == ("suspended", Decimal("400000.000"))
    (change,) = cert.changes.all()
    assert (change.actor.username, change.from_status, change.to_status, change.changed) == (
        "chief", "active", "suspended", {"status": ["active", "suspended"]})


def test_crsp_list_is_read_only_in_the_admin(admin_client_h1: Client) -> None:
    from tariff.models import CrspEntry

    entry = CrspEntry.objects.filter(make="TOYOTA", model="COROLLA AXIO").first()
    response = admin_client_h1.get(reverse("admin:tariff_crspentry_change", args=[entry.pk]))
    assert response.status_code == 200
    assert b"3236062.27" in response.content
    assert admin_client_h1.get(reverse("admin:tariff_crspentry_add")).status_code == 403
