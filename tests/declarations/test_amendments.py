"""ETag flow, draft edits, non-tax alterations (new version + fee) and tax-affecting requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.exceptions import Conflict
from declarations.enums import AmendmentStatus
from declarations.models import AmendmentRequest, Assessment, Declaration, DeclarationItem, DeclarationVersion
from declarations.services import amendment_request_accept, amendment_request_reject
from tests.factories.declarations import World, body_im4, expected_taxes, money

pytestmark = pytest.mark.django_db


@pytest.fixture
def lodged(client: APIClient, world: World) -> Any:
    response = client.post("/api/v1/declarations", body_im4(world, items=2, currency="KES"), format="json")
    assert response.status_code == 201, response.json()
    return response


def _url(response: Any) -> str:
    return f"/api/v1/declarations/{response.json()['id']}"


def test_patch_without_if_match_is_428(client: APIClient, lodged: Any) -> None:
    response = client.patch(_url(lodged), {"local_reference": "NEW"}, format="json")
    assert response.status_code == 428
    assert response.json()["code"] == "precondition_required"


def test_patch_with_stale_etag_is_412(client: APIClient, lodged: Any) -> None:
    # given: a first alteration moves the ETag on
    first = client.patch(_url(lodged), {"local_reference": "NEW-1"}, format="json", HTTP_IF_MATCH=lodged["ETag"])
    assert first.status_code == 200, first.json()
    assert first["ETag"] != lodged["ETag"]

    # when: a second client still holds the old ETag
    stale = client.patch(_url(lodged), {"local_reference": "NEW-2"}, format="json", HTTP_IF_MATCH=lodged["ETag"])

    # then
    assert stale.status_code == 412
    assert Declaration.objects.get(pk=lodged.json()["id"]).local_reference == "NEW-1"
    read = client.get(_url(lodged))
    assert read["ETag"] == first["ETag"]


def test_non_tax_alteration_creates_a_version_with_a_usd_5_per_field_fee(client: APIClient, world: World,
                                                                          lodged: Any) -> None:
    # given
    items = lodged.json()["declaration"]["items"]
    items[1]["description"] = "Corrected description"

    # when: two fields (local reference, one item description)
    response = client.patch(_url(lodged), {"local_reference": "AGT-2", "items": items}, format="json",
                            HTTP_IF_MATCH=lodged["ETag"])

    # then
    assert response.status_code == 200, response.json()
    data = response.json()
    fee = money(Decimal(10) * world.usd_rate)
    assert data["version"] == 2
    assert data["assessment"]["totals"]["fees"] == f"{fee:.2f}"
    assert Decimal(data["eslip"]["amount"]) == Decimal(lodged.json()["eslip"]["amount"]) + fee
    version = DeclarationVersion.objects.get(declaration_id=data["id"], number=2)
    assert version.changed_fields == ["/items/1/description", "/local_reference"]
    assert version.fee_kes == fee
    assert DeclarationItem.objects.get(declaration_id=data["id"], line_no=2).description == "Corrected description"
    history = client.get(_url(lodged) + "/history").json()
    assert [v["number"] for v in history["versions"]] == [1, 2]
    assert history["versions"][1]["diff"] == [
        {"pointer": "/items/1/description", "old": "Item 1 of heading 8708", "new": "Corrected description"},
        {"pointer": "/local_reference", "old": "AGT-2026-000123", "new": "AGT-2"},
    ]


def test_tax_affecting_change_becomes_a_request_accepted_by_an_officer(client: APIClient, world: World,
                                                                       lodged: Any) -> None:
    # given
    items = lodged.json()["declaration"]["items"]
    items[0]["customs_value"] = "2000.00"

    # when: the agent asks
    response = client.patch(_url(lodged), {"items": items}, format="json", HTTP_IF_MATCH=lodged["ETag"])

    # then: 202, nothing changed yet
    assert response.status_code == 202, response.json()
    pending = response.json()["pending_amendment"]
    assert pending["changed_fields"] == ["/items/0/customs_value"]
    assert response.json()["assessment"] == lodged.json()["assessment"]
    again = client.patch(_url(lodged), {"items": items}, format="json", HTTP_IF_MATCH=response["ETag"])
    assert again.status_code == 409
    assert again.json()["code"] == "amendment_pending"

    # when: an officer accepts
    amendment_request_accept(request_id=pending["id"], actor=None)

    # then: re-assessed, version 2, new e-slip
    read = client.get(_url(lodged)).json()
    assert read["version"] == 2
    expected = expected_taxes(items, Decimal(1))
    assert Decimal(read["assessment"]["totals"]["total"]) == expected["total"]
    assert read["assessment"]["version"] == 2
    assert read["eslip"]["amount"] == read["assessment"]["totals"]["total"]
    assert read["pending_amendment"] is None
    assert DeclarationItem.objects.get(declaration_id=read["id"], line_no=1).customs_value == Decimal("2000.00")
    assert Assessment.objects.filter(declaration_id=read["id"]).count() == 2


def test_rejected_request_leaves_the_declaration_unchanged(client: APIClient, lodged: Any) -> None:
    # given
    items = lodged.json()["declaration"]["items"]
    items[0]["hs_code"] = "8708.99.00"
    del items[0]["vehicle"]  # parts, not a vehicle: no particulars
    response = client.patch(_url(lodged), {"items": items}, format="json", HTTP_IF_MATCH=lodged["ETag"])
    request_id = response.json()["pending_amendment"]["id"]

    # when
    amendment_request_reject(request_id=request_id, actor=None, reason="Classification confirmed by lab")

    # then
    read = client.get(_url(lodged)).json()
    assert read["version"] == 1
    assert read["assessment"] == lodged.json()["assessment"]
    assert AmendmentRequest.objects.get(pk=request_id).status == "rejected"
    history = client.get(_url(lodged) + "/history").json()
    assert [r["status"] for r in history["amendment_requests"]] == ["rejected"]


def test_tax_amendment_after_payment_is_refused(client: APIClient, lodged: Any) -> None:
    # given
    paid = client.post(_url(lodged) + "/payments", {"amount": lodged.json()["eslip"]["amount"], "currency": "KES"},
                       format="json")
    items = lodged.json()["declaration"]["items"]
    items[0]["customs_value"] = "1.00"

    # when
    response = client.patch(_url(lodged), {"items": items}, format="json", HTTP_IF_MATCH=paid["ETag"])

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "amendment_after_payment"


def test_patch_validates_types_and_unknown_fields(client: APIClient, lodged: Any) -> None:
    response = client.patch(_url(lodged), {"local_reference": 5, "colour": "red"}, format="json",
                            HTTP_IF_MATCH=lodged["ETag"])
    assert response.status_code == 400
    assert sorted((e["code"], e["pointer"]) for e in response.json()["errors"]) == [
        ("invalid_type", "/local_reference"), ("unknown_field", "/colour")]


def test_draft_is_freely_editable(client: APIClient, world: World) -> None:
    # given
    created = client.post("/api/v1/declarations", {"draft": True, "regime": "IM4"}, format="json")
    assert created.status_code == 201, created.json()

    # when
    edited = client.patch(_url(created), {"local_reference": "D-1", "cpc": "4000000"}, format="json",
                          HTTP_IF_MATCH=created["ETag"])

    # then
    assert edited.status_code == 200
    assert edited.json()["declaration"] == {"regime": "IM4", "local_reference": "D-1", "cpc": "4000000"}
    assert edited.json()["version"] == 1
    assert edited["ETag"] != created["ETag"]


def test_officer_amendment_after_payment_records_the_difference(client: APIClient, lodged: Any) -> None:
    # given: paid, then examined
    from declarations.models import DeclarationEvent
    from declarations.services import declaration_officer_amend

    client.post(_url(lodged) + "/payments", {"amount": lodged.json()["eslip"]["amount"], "currency": "KES"},
                format="json")
    items = lodged.json()["declaration"]["items"]
    items[0]["customs_value"] = str(Decimal(items[0]["customs_value"]) * 2)

    # when
    declaration = declaration_officer_amend(declaration_id=lodged.json()["id"], body={"items": items},
                                            reason="value uplift after examination", actor=None)

    # then
    assert declaration.version == 2
    assert declaration.status == "paid"
    read = client.get(_url(lodged)).json()
    new_total = Decimal(read["assessment"]["totals"]["total"])
    assert new_total == expected_taxes(items, Decimal(1))["total"]
    assert read["eslip"]["amount"] == lodged.json()["eslip"]["amount"]  # no new slip after payment
    event = DeclarationEvent.objects.filter(declaration_id=read["id"], kind="amendment_accepted").get()
    assert event.payload["difference_kes"] == str(new_total - Decimal(lodged.json()["eslip"]["amount"]))
    assert event.payload["officer_initiated"] is True


def test_amendment_request_that_would_not_assess_is_refused_at_once(client: APIClient, lodged: Any) -> None:
    # given
    items = lodged.json()["declaration"]["items"]
    items[0]["hs_code"] = "0000.00.00"
    del items[0]["vehicle"]

    # when
    response = client.patch(_url(lodged), {"items": items}, format="json", HTTP_IF_MATCH=lodged["ETag"])

    # then
    assert response.status_code == 400
    assert [(e["code"], e["pointer"]) for e in response.json()["errors"]] == [("hs_code_unknown", "/items/0/hs_code")]
    assert AmendmentRequest.objects.count() == 0


def test_the_alteration_fee_line_states_its_basis_in_the_assessment_and_the_eslip(
    client: APIClient, world: World, lodged: Any
) -> None:
    # given: an assessed (unpaid) declaration
    # when: one non-tax field is altered
    response = client.patch(_url(lodged), {"local_reference": "AGT-3"}, format="json",
                            HTTP_IF_MATCH=lodged["ETag"])

    # then: the fee line says what it rests on, the same in the assessment and on the e-slip
    assert response.status_code == 200, response.json()
    basis = ("KRA iCMS alteration charge: USD 5 per field changed on a registered entry "
             "(administrative charge; no statutory section confirmed)")
    fee = f"{money(Decimal(5) * world.usd_rate):.2f}"
    read = client.get(_url(lodged)).json()
    assessed = [line for line in read["assessment"]["lines"] if line["tax"] == "alteration_fee"]
    slip = [line for line in read["eslip"]["lines"] if line["tax"] == "alteration_fee"]
    assert assessed == [{"line_no": 0, "tax": "alteration_fee", "base": "0.00", "rule": "USD 5 x 1 field(s)",
                         "amount": fee, "legal_basis": basis, "exchange_rates": []}]
    assert slip == [{"line_no": 0, "tax": "alteration_fee", "amount": fee, "rule": "USD 5 x 1 field(s)",
                     "legal_basis": basis}]


def test_a_decided_request_cannot_be_decided_again(client: APIClient, lodged: Any) -> None:
    # given: a request rejected once
    items = lodged.json()["declaration"]["items"]
    items[0]["hs_code"] = "8708.99.00"
    del items[0]["vehicle"]
    response = client.patch(_url(lodged), {"items": items}, format="json", HTTP_IF_MATCH=lodged["ETag"])
    request_id = response.json()["pending_amendment"]["id"]
    amendment_request_reject(request_id=request_id, actor=None, reason="Classification confirmed by lab")

    # when: accepted after all (the amendment lifecycle's guard)
    with pytest.raises(Conflict) as refused:
        amendment_request_accept(request_id=request_id, actor=None)

    # then: 409, the request stays rejected and the declaration unchanged
    assert refused.value.code == "amendment_already_decided"
    assert refused.value.extra == {"from": "rejected", "to": "accepted", "allowed": []}
    assert AmendmentRequest.objects.get(pk=request_id).status == AmendmentStatus.REJECTED
    assert client.get(_url(lodged)).json()["version"] == 1
