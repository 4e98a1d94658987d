"""B/L look-up with remaining quantities (carrier, agent, customs), and the admin search."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from manifests.models import BillOfLading
from manifests.services import writeoff_reserve
from tests.factories.manifests import BillOfLadingFactory, ContainerFactory, ManifestFactory, carrier_with_token
from tests.factories.traders import AgentAuthorisationFactory, TraderFactory, agent_with_token


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_carrier_sees_remaining_quantities(refdata: None) -> None:
    # given a carrier's B/L of 100 packages / 10000 kg with 30 / 2500.5 kg reserved
    staff, token = carrier_with_token()
    bill = BillOfLadingFactory(manifest=ManifestFactory(carrier=staff.carrier))
    writeoff_reserve(bill_of_lading_id=bill.pk, declaration_id=uuid.uuid4(), packages=30,
                     gross_weight_kg=Decimal("2500.5"), actor=None)
    # when
    response = _client(token).get(f"/api/v1/bills-of-lading/{bill.number}")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["packages"], body["packages_reserved"], body["packages_remaining"]) == (100, 30, 70)
    assert (body["gross_weight_kg"], body["weight_remaining_kg"]) == ("10000.000", "7499.500")
    assert body["manifest"]["id"] == str(bill.manifest_id)
    assert body["manifest"]["office_of_discharge"] == "MBA"


def test_other_carrier_gets_404(refdata: None) -> None:
    bill = BillOfLadingFactory()
    _, token = carrier_with_token()
    response = _client(token).get(f"/api/v1/bills-of-lading/{bill.number}")
    assert response.status_code == 404
    assert response.json()["code"] == "bl_not_found"


def test_agent_sees_bills_of_traders_it_acts_for_only(refdata: None) -> None:
    # given an agent authorised for the consignee of one B/L but not of another
    staff, token = agent_with_token()
    trader = TraderFactory(pin="P051234567X")
    AgentAuthorisationFactory(agent=staff.agent, trader=trader)
    mine = BillOfLadingFactory(consignee_pin="P051234567X")
    other = BillOfLadingFactory(consignee_pin="P000111222Z")
    client = _client(token)
    # then
    assert client.get(f"/api/v1/bills-of-lading/{mine.number}").status_code == 200
    assert client.get(f"/api/v1/bills-of-lading/{other.number}").status_code == 404


def test_admin_searches_by_bill_container_vessel_and_voyage(refdata: None) -> None:
    # given
    manifest = ManifestFactory(vessel_name="KOTA PERMAI", voyage_number="KP042E")
    bill = BillOfLadingFactory(manifest=manifest, number="PILU0000042")
    ContainerFactory(bill_of_lading=bill, number="TGHU1000002")
    ManifestFactory(vessel_name="MAERSK KENSINGTON", voyage_number="MK001")
    admin = get_user_model().objects.create_superuser("officer", "officer@kra.example", "pw")
    client = Client()
    client.force_login(admin)
    # then each search term finds exactly that manifest
    for term in ("PILU0000042", "TGHU1000002", "KOTA", "KP042E"):
        response = client.get("/admin/manifests/manifest/", {"q": term})
        assert response.status_code == 200
        assert list(response.context["cl"].queryset) == [manifest], term
    # and the change page renders the inlines
    response = client.get(f"/admin/manifests/manifest/{manifest.pk}/change/")
    assert response.status_code == 200
    assert b"PILU0000042" in response.content
    assert BillOfLading.objects.count() == 1


def test_customs_staff_read_any_manifest_and_bill(refdata: None) -> None:
    from rest_framework.authtoken.models import Token

    bill = BillOfLadingFactory()
    officer = get_user_model().objects.create_user("doc_checker", is_staff=True)
    client = _client(Token.objects.create(user=officer).key)
    assert client.get(f"/api/v1/manifests/{bill.manifest_id}").status_code == 200
    assert client.get(f"/api/v1/bills-of-lading/{bill.number}").json()["id"] == str(bill.pk)


def test_manifest_list_is_filtered_and_paginated(refdata: None) -> None:
    staff, token = carrier_with_token()
    mine = ManifestFactory(carrier=staff.carrier, voyage_number="FA612R")
    ManifestFactory(carrier=staff.carrier, voyage_number="FA613R", status="arrived")
    ManifestFactory(voyage_number="FA612R")  # another carrier's
    client = _client(token)
    body = client.get("/api/v1/manifests", {"voyage": "FA612R"}).json()
    assert [m["id"] for m in body["results"]] == [str(mine.pk)]
    assert {"next", "previous", "results"} <= set(body)
    assert [m["status"] for m in client.get("/api/v1/manifests", {"status": "arrived"}).json()["results"]] == [
        "arrived"]
