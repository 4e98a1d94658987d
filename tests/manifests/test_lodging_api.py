"""Lodging manifests as JSON: the happy path, late lodging, every bad input, isolation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.test import override_settings
from rest_framework.test import APIClient

from core import clock
from manifests.models import BillOfLading, Container, Manifest, ManifestEvent, ManifestVersion
from tests.factories.manifests import ManifestFactory, carrier_with_token
from tests.manifests.conftest import manifest_body


def _nothing_saved() -> None:
    assert Manifest.objects.count() == 0
    assert BillOfLading.objects.count() == 0
    assert Container.objects.count() == 0
    assert ManifestEvent.objects.count() == 0


def test_lodge_json_manifest(carrier_client: APIClient, carrier: Any, carrier_staff: Any) -> None:
    # when
    response = carrier_client.post("/api/v1/manifests", manifest_body(), format="json")
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    manifest = Manifest.objects.get(pk=body["id"])
    assert response["Location"] == f"/api/v1/manifests/{manifest.pk}"
    assert (body["status"], body["version"], body["late_lodging"], body["office_of_discharge"]) == (
        "lodged", 1, False, "MBA")
    assert body["carrier"] == carrier.code
    first = body["bills_of_lading"][0]
    assert (first["packages_remaining"], first["weight_remaining_kg"], first["status"]) == (10, "12000.500", "open")
    assert [c["number"] for c in first["containers"]] == ["CSQU3054383", "MSCU0000060"]
    events = list(manifest.events.order_by("id").values_list("from_status", "to_status", "actor"))
    assert events == [("", "draft", carrier_staff.user.pk), ("draft", "lodged", carrier_staff.user.pk)]
    assert list(ManifestVersion.objects.filter(manifest=manifest).values_list("version", flat=True)) == [1]


def test_late_sea_manifest_is_accepted_and_flagged(carrier_client: APIClient) -> None:
    # given an ETA 47 hours away (sea manifests are due 48 hours before arrival)
    body = manifest_body(eta=(clock.now() + dt.timedelta(hours=47)).isoformat())
    # when
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    # then
    assert response.status_code == 201
    assert response.json()["late_lodging"] is True
    assert Manifest.objects.get().late_lodging is True


@override_settings(MANIFEST_SEA_PRE_ARRIVAL_HOURS=24)
def test_pre_arrival_hours_come_from_settings(carrier_client: APIClient) -> None:
    body = manifest_body(eta=(clock.now() + dt.timedelta(hours=47)).isoformat())
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    assert response.json()["late_lodging"] is False


def test_air_manifest_four_hour_rule(carrier_client: APIClient) -> None:
    body = manifest_body(mode="air", vessel_name="", vessel_imo="", voyage_number="", flight_number="KQ101",
                         eta=(clock.now() + dt.timedelta(hours=3)).isoformat(), port_of_discharge="KEMBA")
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["late_lodging"] is True
    assert response.json()["voyage_number"].startswith("KQ101/")


def test_every_problem_is_listed_with_a_pointer_and_nothing_saved(carrier_client: APIClient) -> None:
    # given a manifest with many problems at once
    body = manifest_body(port_of_loading="XXZZZ", eta=(clock.now() - dt.timedelta(hours=1)).isoformat(),
                         vessel_imo="9321484")
    bills = body["bills_of_lading"]
    bills[0]["containers"][0]["number"] = "CSQU3054384"
    bills[0]["packages"] = 0
    del bills[0]["gross_weight_kg"]
    bills[1]["number"] = "MEDUKE123456"
    bills[1]["packages"] = -5
    bills[1]["consignee_pin"] = "P05123"
    # when
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problems = sorted((e["pointer"], e["code"]) for e in response.json()["errors"])
    assert problems == sorted([
        ("/port_of_loading", "unknown_location"),
        ("/eta", "eta_in_past"),
        ("/vessel_imo", "invalid_imo"),
        ("/bills_of_lading/0/containers/0/number", "invalid_container_number"),
        ("/bills_of_lading/0/packages", "packages_not_positive"),
        ("/bills_of_lading/0/gross_weight_kg", "required"),
        ("/bills_of_lading/1/number", "duplicate_bill_of_lading"),
        ("/bills_of_lading/1/packages", "packages_not_positive"),
        ("/bills_of_lading/1/consignee_pin", "invalid_kra_pin"),
    ])
    _nothing_saved()


def test_mode_specific_fields_are_required(carrier_client: APIClient) -> None:
    for mode, pointer in (("sea", "/vessel_name"), ("air", "/flight_number"), ("road", "/vehicle_registration")):
        body = manifest_body(mode=mode, vessel_name="", vessel_imo="", voyage_number="")
        response = carrier_client.post("/api/v1/manifests", body, format="json")
        assert response.status_code == 400
        pointers = {e["pointer"] for e in response.json()["errors"] if e["code"] == "required"}
        assert pointer in pointers
        if mode == "sea":
            assert pointers == {"/vessel_name", "/vessel_imo", "/voyage_number"}
    _nothing_saved()


def test_unknown_port_of_discharge_and_office(carrier_client: APIClient) -> None:
    response = carrier_client.post(
        "/api/v1/manifests", manifest_body(port_of_discharge="KEZZZ", office_of_discharge="ZZZ"), format="json")
    assert response.status_code == 400
    assert {(e["pointer"], e["code"]) for e in response.json()["errors"]} == {
        ("/port_of_discharge", "unknown_location"), ("/office_of_discharge", "unknown_office")}
    _nothing_saved()


def test_foreign_port_of_discharge_is_refused(carrier_client: APIClient) -> None:
    response = carrier_client.post("/api/v1/manifests", manifest_body(port_of_discharge="CNSHA"), format="json")
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [
        ("/port_of_discharge", "not_kenyan_port")]


def test_bill_number_already_used_by_this_carrier_on_the_voyage(carrier_client: APIClient) -> None:
    # given a first manifest for voyage FA612R
    assert carrier_client.post("/api/v1/manifests", manifest_body(), format="json").status_code == 201
    # when a second manifest of the same voyage repeats a B/L number
    body = manifest_body(reference="MSC-KE-2026-0043")
    body["bills_of_lading"] = body["bills_of_lading"][1:]
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    # then
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [
        ("/bills_of_lading/0/number", "duplicate_bill_of_lading")]
    assert Manifest.objects.count() == 1
    # and another voyage may reuse it
    body["voyage_number"] = "FA613R"
    assert carrier_client.post("/api/v1/manifests", body, format="json").status_code == 201


def test_unknown_fields_are_rejected(carrier_client: APIClient) -> None:
    body = manifest_body(captain="Haddock")
    body["bills_of_lading"][0]["colour"] = "red"
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    assert response.status_code == 400
    assert {(e["pointer"], e["code"]) for e in response.json()["errors"]} == {
        ("/captain", "unknown_field"), ("/bills_of_lading/0/colour", "unknown_field")}
    _nothing_saved()


def test_house_bill_needs_master_and_consolidator(carrier_client: APIClient) -> None:
    body = manifest_body()
    body["bills_of_lading"][1]["kind"] = "house"
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    assert {(e["pointer"], e["code"]) for e in response.json()["errors"]} == {
        ("/bills_of_lading/1/master_number", "required"), ("/bills_of_lading/1/consolidator_pin", "required")}
    body["bills_of_lading"][1].update(master_number="MEDUKE123456", consolidator_pin="P012345678Q")
    response = carrier_client.post("/api/v1/manifests", body, format="json")
    assert response.status_code == 201
    assert BillOfLading.objects.get(number="MEDUKE654321").consolidator_pin == "P012345678Q"


def test_draft_then_lodge(carrier_client: APIClient) -> None:
    response = carrier_client.post("/api/v1/manifests", manifest_body(draft=True), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "draft"
    manifest_id = response.json()["id"]
    response = carrier_client.post(f"/api/v1/manifests/{manifest_id}/lodge")
    assert response.status_code == 200
    assert response.json()["status"] == "lodged"
    assert carrier_client.post(f"/api/v1/manifests/{manifest_id}/lodge").status_code == 409


def test_only_carriers_lodge_and_only_their_manifests_are_visible(refdata: None) -> None:
    # given a manifest of another carrier
    other = ManifestFactory()
    _, token = carrier_with_token()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    # then it is not found, in every endpoint
    assert client.get(f"/api/v1/manifests/{other.pk}").status_code == 404
    assert client.post(f"/api/v1/manifests/{other.pk}/arrival", {}, format="json").status_code == 404
    assert client.patch(f"/api/v1/manifests/{other.pk}", {"reason": "x"}, format="json",
                        HTTP_IF_MATCH="*").status_code == 404
    assert client.get("/api/v1/manifests").json()["results"] == []
    # and anonymous callers get 401
    assert APIClient().get(f"/api/v1/manifests/{other.pk}").status_code == 401


def test_weights_are_quantised_decimals(carrier_client: APIClient) -> None:
    body = manifest_body()
    body["bills_of_lading"][0]["gross_weight_kg"] = "12000.5"
    carrier_client.post("/api/v1/manifests", body, format="json")
    assert BillOfLading.objects.get(number="MEDUKE123456").gross_weight_kg == Decimal("12000.500")
