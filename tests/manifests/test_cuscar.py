"""CUSCAR D95B intake: mapping, envelope checks, syntax errors, and the REST endpoint."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from core import clock
from manifests.edifact.cuscar import CuscarError, map_cuscar
from manifests.inputs import ContainerInput
from manifests.models import BillOfLading, Container, Manifest

NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")


def eta_text() -> tuple[str, dt.datetime]:
    eta = (clock.now() + dt.timedelta(days=10)).astimezone(NAIROBI).replace(second=0, microsecond=0)
    return eta.strftime("%Y%m%d%H%M"), eta


def cuscar(eta: str, *, unt_count: str = "35", message_type: str = "CUSCAR:D:95B:UN",
           container: str = "CSQU3054383", drop_tail: int = 0) -> str:
    # Segment numbers (UNA not counted): UNB 1, UNH 2, BGM 3, LOC+9 7, DTM+132 9, CNI 10, EQD 21,
    # CNI 26, FTX 31, EQD 34, UNT 36, UNZ 37.
    lines = [
        "UNA:+.? '",
        "UNB+UNOC:3+MSCU:ZZ+KRA:ZZ+261126:1200+MSC000123'",
        f"UNH+1+{message_type}'",
        "BGM+785+MSC-KE-2026-0042+9'",
        "DTM+137:202611261200:203'",
        "NAD+CA+MSCU::172'",
        "TDT+20+FA612R+1++MSCU:172:20+++9321483:146:11:MSC ANNA:PA'",
        "LOC+9+CNSHA:139:6'",
        "LOC+11+KEMBA:139:6'",
        f"DTM+132:{eta}:203'",
        "CNI+1+MEDUKE123456'",
        "RFF+BM:MEDUKE123456'",
        "NAD+CZ+++SHANGHAI EXPORTS CO LTD+88 PUDONG AVENUE+SHANGHAI++200120+CN'",
        "NAD+CN+P051234567X::KRA++NAIROBI MOTORS LTD+MOMBASA ROAD+NAIROBI++00100+KE'",
        "NAD+N1+++NAIROBI MOTORS LTD'",
        "LOC+7+KEMBA:139:6'",
        "GID+1+10:CT'",
        "FTX+AAA+++SPARE PARTS FOR MOTOR VEHICLES:BRAKE PADS'",
        "MEA+AAE+G+KGM:12000.5'",
        f"SGP+{container}+6'",
        "SGP+MSCU0000060+4'",
        f"EQD+CN+{container}+22G1:102:5'",
        "SEL+SEAL001+CA'",
        "EQD+CN+MSCU0000060+45G1:102:5'",
        "SEL+SEAL002+CA'",
        "SEL+SEAL003+CU'",
        "CNI+2+MEDUKE654321'",
        "RFF+BM:MEDUKE654321'",
        "NAD+CZ+++GUANGZHOU TEXTILES'",
        "NAD+CN+P000111222Z::KRA++MOMBASA TRADERS LTD'",
        "GID+1+200:BG'",
        "FTX+AAA+++COTTON FABRIC IN ROLLS'",
        "MEA+AAE+G+TNE:8.25'",
        "SGP+TGHU1000002+200'",
        "EQD+CN+TGHU1000002+42G1:102:5'",
        "SEL+SEAL004+CA'",
        f"UNT+{unt_count}+1'",
        "UNZ+1+MSC000123'",
    ]
    if drop_tail:
        lines = lines[:-drop_tail]
    return "\n".join(lines) + "\n"


def test_two_bills_three_containers_map_exactly() -> None:
    # given
    eta, expected_eta = eta_text()
    # when
    mapped = map_cuscar(cuscar(eta))
    # then
    data = mapped.data
    assert mapped.errors == []
    assert mapped.sender == "MSCU"
    assert mapped.interchange_reference == "MSC000123"
    assert (data.reference, data.mode, data.vessel_name, data.vessel_imo, data.voyage_number) == (
        "MSC-KE-2026-0042", "sea", "MSC ANNA", "9321483", "FA612R")
    assert (data.port_of_loading, data.port_of_discharge, data.office_of_discharge) == ("CNSHA", "KEMBA", "")
    assert data.eta == expected_eta
    assert [b.number for b in data.bills] == ["MEDUKE123456", "MEDUKE654321"]
    first, second = data.bills
    assert first.kind == "master"
    assert first.shipper_name == "SHANGHAI EXPORTS CO LTD"
    assert first.shipper_address == "88 PUDONG AVENUE, SHANGHAI, 200120, CN"
    assert (first.consignee_name, first.consignee_pin) == ("NAIROBI MOTORS LTD", "P051234567X")
    assert first.consignee_address == "MOMBASA ROAD, NAIROBI, 00100, KE"
    assert first.notify_party_name == "NAIROBI MOTORS LTD"
    assert first.description == "SPARE PARTS FOR MOTOR VEHICLES BRAKE PADS"
    assert (first.packages, first.package_kind, first.gross_weight_kg) == (10, "CT", Decimal("12000.5"))
    assert first.place_of_delivery == "KEMBA"
    assert first.containers == (
        ContainerInput(number="CSQU3054383", size_type="22G1", seals=("SEAL001",), packages=6),
        ContainerInput(number="MSCU0000060", size_type="45G1", seals=("SEAL002", "SEAL003"), packages=4),
    )
    assert (second.shipper_name, second.consignee_name, second.consignee_pin) == (
        "GUANGZHOU TEXTILES", "MOMBASA TRADERS LTD", "P000111222Z")
    assert (second.packages, second.package_kind, second.gross_weight_kg) == (200, "BG", Decimal("8250.00"))
    assert second.containers == (
        ContainerInput(number="TGHU1000002", size_type="42G1", seals=("SEAL004",), packages=200),
    )
    # and pointers name the segments the values came from
    assert mapped.pointer("eta") == "/segment/9"
    assert mapped.pointer("bills", 0, "consignee_pin") == "/segment/13"
    assert mapped.pointer("bills", 1, "containers", 0, "number") == "/segment/34"
    assert mapped.pointer("bills", 0, "containers", 1, "seals", 1) == "/segment/25"


def _errors(text: str) -> list[dict[str, str]]:
    with pytest.raises(CuscarError) as info:
        map_cuscar(text)
    return [e.as_dict() for e in info.value.errors]


def test_wrong_unt_segment_count_is_rejected_naming_the_unt_segment() -> None:
    eta, _ = eta_text()
    errors = _errors(cuscar(eta, unt_count="34"))
    assert errors == [{
        "code": "edifact_segment_count",
        "detail": "UNT says 34 segments; the message has 35 (UNH to UNT).",
        "pointer": "/segment/36",
    }]


def test_truncated_message_without_unt_and_unz_is_rejected() -> None:
    eta, _ = eta_text()
    errors = _errors(cuscar(eta, drop_tail=2))
    assert errors == [{
        "code": "edifact_truncated",
        "detail": "The message is truncated: UNT (message trailer) missing.",
        "pointer": "/segment/36",
    }]


def test_interchange_without_unz_is_rejected() -> None:
    eta, _ = eta_text()
    errors = _errors(cuscar(eta, drop_tail=1))
    assert [(e["code"], e["pointer"]) for e in errors] == [("edifact_truncated", "/segment/37")]


def test_message_cut_mid_segment_is_truncated_at_that_segment() -> None:
    eta, _ = eta_text()
    text = cuscar(eta)
    cut = text[: text.index("FTX+AAA+++COTTON") + 10]  # no segment terminator at the end
    errors = _errors(cut)
    # the unterminated FTX is not a segment: the message is truncated where it should be
    assert [(e["code"], e["pointer"]) for e in errors] == [("edifact_truncated", "/segment/31")]


def test_wrong_directory_is_rejected() -> None:
    eta, _ = eta_text()
    errors = _errors(cuscar(eta, message_type="CUSCAR:D:96A:UN"))
    assert errors == [{
        "code": "edifact_wrong_directory",
        "detail": "Expected message CUSCAR:D:95B, got CUSCAR:D:96A.",
        "pointer": "/segment/2",
    }]


def test_broken_segment_tag_is_a_syntax_error() -> None:
    eta, _ = eta_text()
    text = cuscar(eta).replace("BGM+785", "bg+785")
    errors = _errors(text)
    assert [(e["code"], e["pointer"]) for e in errors] == [("edifact_syntax", "/segment/3")]


def test_not_edifact_at_all() -> None:
    errors = _errors('{"reference": "json by mistake"}')
    assert errors[0]["code"] == "edifact_syntax"
    assert errors[0]["pointer"] == "/segment/1"


# --- endpoint ------------------------------------------------------------------------------------

def _post(client: Any, text: str) -> Any:
    return client.post("/api/v1/manifests/edifact", data=text.encode("iso-8859-1"),
                       content_type="application/edifact")


def test_lodging_cuscar_creates_the_manifest(carrier_client: Any, carrier: Any) -> None:
    # given
    eta, expected_eta = eta_text()
    # when
    response = _post(carrier_client, cuscar(eta))
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    manifest = Manifest.objects.get(pk=body["id"])
    assert (manifest.carrier, manifest.status, manifest.source, manifest.office_of_discharge_id) == (
        carrier, "lodged", "edifact", "MBA")
    assert manifest.eta == expected_eta
    assert manifest.late_lodging is False
    assert [b["number"] for b in body["bills_of_lading"]] == ["MEDUKE123456", "MEDUKE654321"]
    assert body["bills_of_lading"][1]["gross_weight_kg"] == "8250.000"
    assert sorted(Container.objects.filter(bill_of_lading__manifest=manifest).values_list("number", flat=True)) == [
        "CSQU3054383", "MSCU0000060", "TGHU1000002"]
    assert response["ETag"]


def test_cuscar_with_broken_unt_is_400_and_saves_nothing(carrier_client: Any) -> None:
    eta, _ = eta_text()
    response = _post(carrier_client, cuscar(eta, unt_count="99"))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "edifact_invalid"
    assert body["errors"] == [{
        "code": "edifact_segment_count",
        "detail": "UNT says 99 segments; the message has 35 (UNH to UNT).",
        "pointer": "/segment/36",
    }]
    assert Manifest.objects.count() == 0
    assert BillOfLading.objects.count() == 0


def test_cuscar_business_errors_point_at_segments(carrier_client: Any) -> None:
    # given an invalid container check digit (EQD segment 21) and an unknown port of loading (7)
    eta, _ = eta_text()
    text = cuscar(eta, container="CSQU3054384").replace("LOC+9+CNSHA", "LOC+9+CNXXX")
    # when
    response = _post(carrier_client, text)
    # then
    assert response.status_code == 400
    errors = {(e["code"], e["pointer"]) for e in response.json()["errors"]}
    assert errors == {("unknown_location", "/segment/7"), ("invalid_container_number", "/segment/21")}
    assert Manifest.objects.count() == 0


def test_cuscar_needs_a_carrier(api_client: Any, refdata: None) -> None:
    from tests.factories.traders import agent_with_token

    _, token = agent_with_token()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    eta, _ = eta_text()
    response = _post(api_client, cuscar(eta))
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_carrier"


def test_house_bill_under_a_master_maps_with_consolidator() -> None:
    eta, _ = eta_text()
    text = cuscar(eta).replace(
        "RFF+BM:MEDUKE654321'",
        "RFF+BM:MEDUKE654321'\nRFF+BH:HBL0001'\nNAD+CS+P012345678Q::KRA++CONSOLIDATORS LTD'",
    ).replace("UNT+35+1", "UNT+37+1")
    mapped = map_cuscar(text)
    house = mapped.data.bills[1]
    assert (house.number, house.kind, house.master_number, house.consolidator_pin) == (
        "HBL0001", "house", "MEDUKE654321", "P012345678Q")
    assert mapped.pointer("bills", 1, "number") == "/segment/28"
    assert mapped.pointer("bills", 1, "consolidator_pin") == "/segment/29"


def test_air_waybills_by_cuscar(carrier_client: Any) -> None:
    eta, _ = eta_text()
    text = (cuscar(eta)
            .replace("TDT+20+FA612R+1++MSCU:172:20+++9321483:146:11:MSC ANNA:PA'", "TDT+20+KQ101+4'")
            .replace("LOC+11+KEMBA", "LOC+11+KENBO"))
    mapped = map_cuscar(text)
    assert (mapped.data.mode, mapped.data.flight_number, mapped.data.voyage_number) == ("air", "KQ101", "")
    response = _post(carrier_client, text)
    assert response.status_code == 201, response.json()
    assert response.json()["voyage_number"].startswith("KQ101/")
    assert response.json()["office_of_discharge"] == "JKA"


@pytest.mark.parametrize(
    ("old", "new", "code", "pointer"),
    [
        ("MEA+AAE+G+KGM:12000.5'", "MEA+AAE+G+KGM:NaN'", "invalid_weight", "/segment/18"),
        ("GID+1+10:CT'", "GID+1+99999999999999999999:CT'", "invalid_packages", "/segment/16"),
        ("GID+1+10:CT'", "GID+1+100000000:CT'", "packages_too_large", "/segment/16"),
        ("NAD+CZ+++GUANGZHOU TEXTILES'", "NAD+CZ+++" + "G" * 250 + "'", "too_long", "/segment/28"),
        ("BGM+785+MSC-KE-2026-0042+9'", "BGM+785+" + "R" * 40 + "+9'", "too_long", "/segment/3"),
        ("MEA+AAE+G+TNE:8.25'", "MEA+AAE+G+LBR:8.25'", "invalid_weight", "/segment/32"),
        ("DTM+132:", "DTM+132:2026133", "invalid_datetime", "/segment/9"),
    ],
)
def test_bad_values_in_cuscar_are_400_with_segment_pointers(
    carrier_client: Any, old: str, new: str, code: str, pointer: str
) -> None:
    eta, _ = eta_text()
    text = cuscar(eta).replace(old, new)
    response = _post(carrier_client, text)
    assert response.status_code == 400, response.json()
    assert (code, pointer) in {(e["code"], e["pointer"]) for e in response.json()["errors"]}
    assert Manifest.objects.count() == 0


def test_nul_character_is_a_syntax_error(carrier_client: Any) -> None:
    eta, _ = eta_text()
    text = cuscar(eta).replace("COTTON FABRIC", "COTTON\x00FABRIC")
    response = _post(carrier_client, text)
    assert response.status_code == 400
    assert [(e["code"], e["pointer"]) for e in response.json()["errors"]] == [("edifact_syntax", "/segment/31")]


def test_mutated_interchanges_never_cause_a_server_error(carrier_client: Any) -> None:
    # given 40 deterministic random mutations (deleted / duplicated / replaced characters)
    import random

    rng = random.Random(6346)
    eta, _ = eta_text()
    original = cuscar(eta)
    statuses = []
    for _ in range(40):
        chars = list(original)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(chars))
            action = rng.choice(("delete", "duplicate", "replace"))
            if action == "delete":
                del chars[i]
            elif action == "duplicate":
                chars.insert(i, chars[i])
            else:
                chars[i] = rng.choice("+:'?A9 \n")
        # when (in a savepoint rolled back afterwards: the next mutation reuses the manifest
        # reference, and manifest events are append-only, so the manifest cannot be deleted)
        with transaction.atomic():
            response = _post(carrier_client, "".join(chars))
            transaction.set_rollback(True)
        # then: a clean 201 or a 400 problem with pointers, never a 500
        statuses.append(response.status_code)
        assert response.status_code in (201, 400), response.content
        if response.status_code == 400:
            assert all(e["pointer"] for e in response.json()["errors"])
    assert 400 in statuses
