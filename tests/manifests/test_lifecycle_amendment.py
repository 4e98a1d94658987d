"""Lifecycle (transition table, events) and amendments (versions, ETag, frozen fields)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from core.exceptions import Conflict
from core.models import OutboxMessage
from manifests.enums import ManifestStatus
from manifests.lifecycle import TRANSITIONS, transition_allowed, transition_check
from manifests.models import BillOfLading, Manifest, ManifestEvent, ManifestVersion
from manifests.services import writeoff_reserve
from tests.manifests.conftest import manifest_body

S = ManifestStatus


def test_transition_table_is_exactly_the_documented_one() -> None:
    assert {k.value: sorted(v) for k, v in TRANSITIONS.items()} == {
        "draft": ["lodged"],
        "lodged": ["arrived"],
        "arrived": ["closed", "discharged"],
        "discharged": ["closed"],
        "closed": [],
    }
    assert transition_allowed("lodged", "arrived") is True
    assert transition_allowed("lodged", "discharged") is False


def test_guard_raises_conflict_with_code() -> None:
    with pytest.raises(Conflict) as info:
        transition_check("closed", "lodged")
    assert info.value.code == "illegal_transition"
    assert info.value.status == 409


def _lodge(client: APIClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/manifests", manifest_body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json() | {"etag": response["ETag"]}


def test_arrival_and_discharge_record_events(carrier_client: APIClient, carrier_staff: Any) -> None:
    # given
    manifest = _lodge(carrier_client)
    ata = clock.now()  # after lodging, not in the future
    # when
    arrival = carrier_client.post(f"/api/v1/manifests/{manifest['id']}/arrival", {"ata": ata.isoformat()},
                                  format="json")
    discharge = carrier_client.post(f"/api/v1/manifests/{manifest['id']}/discharge", {}, format="json")
    # then
    assert arrival.status_code == 200
    assert arrival.json()["status"] == "arrived"
    assert dt.datetime.fromisoformat(arrival.json()["ata"]) == ata
    assert discharge.status_code == 200
    assert discharge.json()["status"] == "discharged"
    row = Manifest.objects.get(pk=manifest["id"])
    assert row.discharged_at is not None
    transitions = list(ManifestEvent.objects.filter(manifest=row, kind="transition").order_by("id")
                       .values_list("from_status", "to_status", "actor"))
    user = carrier_staff.user.pk
    assert transitions == [("", "draft", user), ("draft", "lodged", user), ("lodged", "arrived", user),
                           ("arrived", "discharged", user)]
    # and an illegal move is a 409 that changes nothing
    again = carrier_client.post(f"/api/v1/manifests/{manifest['id']}/arrival", {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"
    assert ManifestEvent.objects.filter(manifest=row, kind="transition").count() == 4
    # arrival (once) handed the manifest to the clearance workers through the outbox
    assert list(OutboxMessage.objects.filter(task_name="clearance.manifest_arrived").values_list("kwargs", flat=True)) \
        == [{"manifest_id": str(row.pk)}]


def test_arrival_in_the_future_is_refused(carrier_client: APIClient) -> None:
    manifest = _lodge(carrier_client)
    future = (clock.now() + dt.timedelta(hours=2)).isoformat()
    response = carrier_client.post(f"/api/v1/manifests/{manifest['id']}/arrival", {"ata": future}, format="json")
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [("/ata", "in_future")]
    assert Manifest.objects.get(pk=manifest["id"]).status == "lodged"


def test_amendment_creates_a_version_and_keeps_the_old_one(carrier_client: APIClient) -> None:
    # given
    manifest = _lodge(carrier_client)
    url = f"/api/v1/manifests/{manifest['id']}"
    patch = {
        "reason": "Vessel name misspelt; notify party added; one more carton",
        "vessel_name": "MSC ANNA II",
        "bills_of_lading": [{"number": "MEDUKE123456", "packages": 11, "notify_party_name": "Agent X"}],
    }
    # when
    response = carrier_client.patch(url, patch, format="json", HTTP_IF_MATCH=manifest["etag"])
    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["version"], body["vessel_name"]) == (2, "MSC ANNA II")
    assert body["bills_of_lading"][0]["packages"] == 11
    assert response["ETag"] != manifest["etag"]
    versions = list(ManifestVersion.objects.filter(manifest_id=manifest["id"]).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].snapshot["vessel_name"] == "MSC ANNA"
    assert versions[0].snapshot["bills_of_lading"][0]["packages"] == 10
    assert versions[1].snapshot["vessel_name"] == "MSC ANNA II"
    assert versions[1].reason == patch["reason"]
    assert versions[1].changes == ["/vessel_name", "/bills_of_lading/MEDUKE123456/notify_party_name",
                                   "/bills_of_lading/MEDUKE123456/packages"]
    old = carrier_client.get(f"{url}/versions/1")
    assert old.status_code == 200
    assert old.json()["snapshot"]["vessel_name"] == "MSC ANNA"
    history = carrier_client.get(f"{url}/history").json()
    assert [e["kind"] for e in history["events"]] == ["transition", "transition", "amendment"]
    assert history["events"][2]["payload"]["to_version"] == 2


def test_amendment_needs_if_match_and_a_fresh_etag(carrier_client: APIClient) -> None:
    manifest = _lodge(carrier_client)
    url = f"/api/v1/manifests/{manifest['id']}"
    patch = {"reason": "typo", "vessel_name": "MSC ANNE"}
    missing = carrier_client.patch(url, patch, format="json")
    assert missing.status_code == 428
    assert carrier_client.patch(url, patch, format="json", HTTP_IF_MATCH=manifest["etag"]).status_code == 200
    stale = carrier_client.patch(url, {"reason": "again", "vessel_name": "MSC ANNIE"}, format="json",
                                 HTTP_IF_MATCH=manifest["etag"])
    assert stale.status_code == 412
    assert Manifest.objects.get(pk=manifest["id"]).vessel_name == "MSC ANNE"


def test_amendment_reports_every_problem_and_changes_nothing(carrier_client: APIClient) -> None:
    manifest = _lodge(carrier_client)
    patch = {
        "reason": "",
        "port_of_loading": "XXZZZ",
        "bills_of_lading": [
            {"number": "MEDUKE654321", "containers": [{"number": "TGHU1000003"}]},
            {"number": "NEWBL0001", "packages": 3},
        ],
    }
    response = carrier_client.patch(f"/api/v1/manifests/{manifest['id']}", patch, format="json",
                                    HTTP_IF_MATCH=manifest["etag"])
    assert response.status_code == 400
    problems = {(e["pointer"], e["code"]) for e in response.json()["errors"]}
    assert ("/reason", "blank") in problems or ("/reason", "required") in problems
    assert Manifest.objects.get(pk=manifest["id"]).version == 1


def _reserve(number: str, packages: int = 1) -> None:
    bill = BillOfLading.objects.get(number=number)
    writeoff_reserve(bill_of_lading_id=bill.pk, declaration_id=uuid.uuid4(), packages=packages,
                     gross_weight_kg=Decimal("100"), actor=None)


def test_declared_bill_freezes_declaration_fields_only(carrier_client: APIClient) -> None:
    # given a declaration reserved part of B/L MEDUKE123456
    manifest = _lodge(carrier_client)
    _reserve("MEDUKE123456")
    url = f"/api/v1/manifests/{manifest['id']}"
    etag = carrier_client.get(url)["ETag"]
    # when the amendment touches frozen fields
    frozen = {
        "reason": "correction",
        "office_of_discharge": "MBA",  # unchanged: fine
        "port_of_discharge": "KENBO",
        "bills_of_lading": [{"number": "MEDUKE123456", "packages": 12, "consignee_pin": "P000000001B",
                             "notify_party_name": "New notify"}],
        "remove_bills_of_lading": [],
    }
    response = carrier_client.patch(url, frozen, format="json", HTTP_IF_MATCH=etag)
    # then it is refused, naming each frozen field
    assert response.status_code == 400
    frozen_pointers = {e["pointer"] for e in response.json()["errors"] if e["code"] == "bl_declared_against"}
    assert frozen_pointers == {"/port_of_discharge", "/bills_of_lading/0/packages",
                               "/bills_of_lading/0/consignee_pin"}
    # when only free fields change (notify party, vessel spelling, seals), and the other B/L changes
    free = {
        "reason": "notify party and seals",
        "vessel_name": "MSC ANNA",
        "bills_of_lading": [
            {"number": "MEDUKE123456", "notify_party_name": "New notify",
             "containers": [{"number": "CSQU3054383", "seals": ["NEWSEAL"]}, {"number": "MSCU0000060"}]},
            {"number": "MEDUKE654321", "packages": 201},
        ],
    }
    response = carrier_client.patch(url, free, format="json", HTTP_IF_MATCH=etag)
    # then it is accepted
    assert response.status_code == 200, response.json()
    bill = BillOfLading.objects.get(number="MEDUKE123456")
    assert (bill.notify_party_name, bill.packages, bill.packages_reserved) == ("New notify", 10, 1)
    assert sorted(bill.containers.values_list("number", "seals")) == [("CSQU3054383", ["NEWSEAL"]),
                                                                       ("MSCU0000060", [])]
    assert BillOfLading.objects.get(number="MEDUKE654321").packages == 201
    # and a declared B/L cannot be removed
    etag = response["ETag"]
    response = carrier_client.patch(url, {"reason": "x", "remove_bills_of_lading": ["MEDUKE123456"]},
                                    format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["bl_declared_against"]


def test_undeclared_bill_can_be_removed_and_added(carrier_client: APIClient) -> None:
    manifest = _lodge(carrier_client)
    url = f"/api/v1/manifests/{manifest['id']}"
    new_bill = manifest_body()["bills_of_lading"][1] | {"number": "MEDUKE777777", "containers": []}
    response = carrier_client.patch(
        url, {"reason": "split", "remove_bills_of_lading": ["MEDUKE654321"], "bills_of_lading": [new_bill]},
        format="json", HTTP_IF_MATCH=manifest["etag"])
    assert response.status_code == 200, response.json()
    assert [b["number"] for b in response.json()["bills_of_lading"]] == ["MEDUKE123456", "MEDUKE777777"]


def test_closed_manifest_cannot_be_amended(carrier_client: APIClient) -> None:
    manifest = _lodge(carrier_client)
    Manifest.objects.filter(pk=manifest["id"]).update(status=S.CLOSED)
    etag = carrier_client.get(f"/api/v1/manifests/{manifest['id']}")["ETag"]
    response = carrier_client.patch(f"/api/v1/manifests/{manifest['id']}", {"reason": "x", "vessel_name": "Y"},
                                    format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 409
    assert response.json()["code"] == "manifest_not_amendable"
