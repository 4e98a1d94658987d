"""The fiscal-integrity pages (issue 21) per officer group: the exemptions register, KRA's CRSP
list, depreciation schedule and templates, the reference prices and the risk rules. Each role gets
exactly the pages docs/officers.md lists, and existing installs get them from the group sync."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from officers.groups import GROUP_PERMISSIONS
from tariff.models import CrspDepreciation, CrspEntry, CrspTemplate, ExemptionCertificate, ExemptionCertificateChange
from tests.factories.officers import officer_create
from tests.factories.risk import ReferencePriceFactory, RiskRuleFactory
from tests.factories.tariff import ExemptionCertificateFactory

pytestmark = pytest.mark.django_db

PAGES = ("exemptioncertificate", "crspentry", "crspdepreciation", "crsptemplate", "referenceprice", "riskrule")
APP = {"exemptioncertificate": "tariff", "crspentry": "tariff", "crspdepreciation": "tariff",
       "crsptemplate": "tariff", "referenceprice": "risk", "riskrule": "risk"}

# (changelist, change page, add page) per page, per group: 200 or 403.
READ = (200, 200, 403)
NONE = (403, 403, 403)
FULL = (200, 200, 200)
_READ_ALL = {"exemptioncertificate": READ, "crspentry": READ, "crspdepreciation": READ, "crsptemplate": READ,
             "referenceprice": READ, "riskrule": NONE}
EXPECTED: dict[str, dict[str, tuple[int, int, int]]] = {
    "officer": _READ_ALL,
    "inspector": _READ_ALL,
    "supervisor": {**_READ_ALL, "exemptioncertificate": FULL},
    "risk analyst": {**_READ_ALL, "referenceprice": FULL, "riskrule": FULL},
    "trainer": {**_READ_ALL, "riskrule": READ},
    "transit officer": dict.fromkeys(PAGES, NONE),
    "maintenance admin": dict.fromkeys(PAGES, NONE),
}


@pytest.fixture
def objects() -> dict[str, Any]:
    # The CRSP rows come from KRA's workbook (loaded with the session's reference data).
    found = {
        "exemptioncertificate": ExemptionCertificateFactory(),
        "crspentry": CrspEntry.objects.order_by("pk").first(),
        "crspdepreciation": CrspDepreciation.objects.order_by("pk").first(),
        "crsptemplate": CrspTemplate.objects.order_by("pk").first(),
        "referenceprice": ReferencePriceFactory(),
        "riskrule": RiskRuleFactory(code="fiscal-permissions-rule"),
    }
    assert all(obj is not None for obj in found.values())
    return found


def _urls(page: str, obj: Any) -> tuple[str, str, str]:
    prefix = f"admin:{APP[page]}_{page}"
    return (reverse(f"{prefix}_changelist"), reverse(f"{prefix}_change", args=[obj.pk]), reverse(f"{prefix}_add"))


@pytest.mark.parametrize("group", sorted(EXPECTED))
def test_each_group_gets_exactly_its_fiscal_pages(group: str, objects: dict[str, Any], officer_client) -> None:
    # given an officer of the group
    client = officer_client(officer_create(group))
    # when every page is opened
    seen = {page: tuple(client.get(url).status_code for url in _urls(page, objects[page])) for page in PAGES}
    # then each answers exactly as the table says
    assert seen == EXPECTED[group]


def test_an_officer_reads_a_certificate_with_its_drawdowns_and_history_but_cannot_change_it(
    objects: dict[str, Any], officer_client
) -> None:
    # given a documentary-check officer and a certificate
    cert = objects["exemptioncertificate"]
    client = officer_client(officer_create("officer"))
    url = reverse("admin:tariff_exemptioncertificate_change", args=[cert.pk])
    # when
    page = client.get(url)
    post = client.post(url, {"number": cert.number, "status": "revoked"})
    # then: read-only, with both inlines (they need their own view permissions), and the POST refused
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert [f.opts.model._meta.model_name for f in page.context["inline_admin_formsets"]] == [
        "exemptioncertificatechange", "exemptiondrawdown"]
    assert post.status_code == 403
    cert.refresh_from_db()
    assert cert.status == "active"
    assert not ExemptionCertificateChange.objects.filter(certificate=cert).exists()


def test_a_supervisor_issues_a_certificate_through_the_admin_with_its_actor(officer_client) -> None:
    # given
    supervisor = officer_create("supervisor")
    client = officer_client(supervisor)
    form = {
        "number": "MFA/DIP/SUP/0001", "holder_pin": "P051234567X", "holder_name": "Embassy of Testland",
        "category": "diplomatic", "exemption_code": "DIPLOMATIC", "hs_prefixes": "8703",
        "goods_description": "one motor car for the mission", "quota_kind": "value", "quota_total": "1500000",
        "issuing_authority": "Ministry of Foreign and Diaspora Affairs, Protocol",
        "legal_reference": "EACCMA Fifth Schedule Part A item 2", "valid_from": "2026-01-01",
        "valid_to": "2026-12-31", "status": "active",
        **{f"{prefix}-{key}": value for prefix in ("changes", "drawdowns")
           for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"),
                              ("MAX_NUM_FORMS", "1000"))},
    }
    # when
    response = client.post(reverse("admin:tariff_exemptioncertificate_add"), form)
    # then: saved through the service, with the supervisor as the recorded actor, nothing drawn
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    cert = ExemptionCertificate.objects.get(number="MFA/DIP/SUP/0001")
    assert cert.quota_used == 0
    change = ExemptionCertificateChange.objects.get(certificate=cert)
    assert (change.actor_id, change.to_status) == (supervisor.pk, "active")


def test_existing_installs_get_the_new_permissions_from_the_sync_after_migrate() -> None:
    from django.core.management.sql import emit_post_migrate_signal

    # given an install whose groups predate the fiscal pages (their permissions taken away)
    fiscal = Permission.objects.filter(content_type__app_label="tariff", codename__contains="exemption") | \
        Permission.objects.filter(content_type__app_label="tariff", codename__contains="crsp")
    for group in Group.objects.filter(name__in=GROUP_PERMISSIONS):
        group.permissions.remove(*fiscal)
    assert not Group.objects.filter(permissions__in=fiscal).exists()
    # when `migrate` runs (it sends post_migrate, even with no migration to apply)
    emit_post_migrate_signal(0, False, "default")
    # then every group holds its table again
    officer = Group.objects.get(name="officer")
    assert set(officer.permissions.filter(content_type__app_label="tariff").values_list("codename", flat=True)) == {
        "view_exemptioncertificate", "view_exemptiondrawdown", "view_exemptioncertificatechange",
        "view_crspentry", "view_crspdepreciation", "view_crsptemplate"}
    supervisor = Group.objects.get(name="supervisor")
    assert {"add_exemptioncertificate", "change_exemptioncertificate"} <= set(
        supervisor.permissions.values_list("codename", flat=True))
    assert not supervisor.permissions.filter(codename="delete_exemptioncertificate").exists()
    assert not Group.objects.get(name="transit officer").permissions.filter(content_type__app_label="tariff").exists()


def test_nobody_but_superusers_may_delete_or_edit_the_crsp_list() -> None:
    # the CRSP pages are read-only for everyone: no group holds a write permission on them
    writes = {p for perms in GROUP_PERMISSIONS.values() for p in perms
              if p.split(".")[1].split("_", 1)[0] in ("add", "change", "delete") and "crsp" in p}
    assert writes == set()
