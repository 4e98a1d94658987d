from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from declarations.models import Declaration, DeclarationEvent
from declarations.services import declaration_transition
from manifests.models import BillOfLading
from tests.factories.declarations import World, body_im4

pytestmark = pytest.mark.django_db


@pytest.fixture
def lodged(client: APIClient, world: World) -> Any:
    response = client.post("/api/v1/declarations", body_im4(world, items=3, currency="KES"), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_cancellation_releases_the_bl_reservation(client: APIClient, world: World, lodged: Any) -> None:
    # given
    world.bl.refresh_from_db()
    assert world.bl.packages_reserved > 0

    # when
    response = client.post(f"/api/v1/declarations/{lodged['id']}/cancel", {"reason": "duplicate entry"},
                           format="json")

    # then
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    bl = BillOfLading.objects.get(pk=world.bl.pk)
    assert (bl.packages_reserved, bl.weight_reserved_kg) == (0, 0)
    event = DeclarationEvent.objects.filter(declaration_id=lodged["id"]).order_by("-id").first()
    assert (event.from_status, event.to_status, event.reason) == ("assessed", "cancelled", "duplicate entry")
    # the released quantities can be declared again
    again = client.post("/api/v1/declarations", body_im4(world, items=3, currency="KES"), format="json")
    assert again.status_code == 201


def test_cancellation_after_payment_records_a_refund_claim(client: APIClient, lodged: Any) -> None:
    client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                {"amount": lodged["eslip"]["amount"], "currency": "KES"}, format="json")
    response = client.post(f"/api/v1/declarations/{lodged['id']}/cancel")
    assert response.status_code == 200
    event = DeclarationEvent.objects.filter(declaration_id=lodged["id"]).order_by("-id").first()
    assert event.payload["refund_due"]["amount"] == lodged["eslip"]["amount"]


def test_cancellation_after_release_is_409(client: APIClient, lodged: Any) -> None:
    # given: paid and released by an officer
    client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                {"amount": lodged["eslip"]["amount"], "currency": "KES"}, format="json")
    declaration_transition(declaration_id=lodged["id"], to_status="released", actor=None, reason="green lane")

    # when
    response = client.post(f"/api/v1/declarations/{lodged['id']}/cancel")

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert Declaration.objects.get(pk=lodged["id"]).status == "released"


def test_cancelling_twice_is_409(client: APIClient, lodged: Any) -> None:
    assert client.post(f"/api/v1/declarations/{lodged['id']}/cancel").status_code == 200
    response = client.post(f"/api/v1/declarations/{lodged['id']}/cancel")
    assert response.status_code == 409


def test_rejection_by_customs_also_releases_the_bl(client: APIClient, world: World, lodged: Any) -> None:
    # when
    declaration_transition(declaration_id=lodged["id"], to_status="rejected", actor=None, reason="false invoice")

    # then
    bl = BillOfLading.objects.get(pk=world.bl.pk)
    assert (bl.packages_reserved, bl.weight_reserved_kg) == (0, 0)
    assert Declaration.objects.get(pk=lodged["id"]).status == "rejected"


def test_a_draft_is_cancelled_without_an_entry_number_and_with_an_event(client: APIClient, world: World) -> None:
    # given a saved draft (no entry number, nothing reserved)
    saved = client.post("/api/v1/declarations", {**body_im4(world, items=2, currency="KES"), "draft": True},
                        format="json")
    assert saved.status_code == 201, saved.json()
    draft_id = saved.json()["id"]
    assert saved.json()["status"] == "draft"
    reserved_before = BillOfLading.objects.values_list("packages_reserved", flat=True).get(pk=world.bl.pk)

    # when
    response = client.post(f"/api/v1/declarations/{draft_id}/cancel", {"reason": "not needed"}, format="json")

    # then
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    declaration = Declaration.objects.get(pk=draft_id)
    assert (declaration.status, declaration.entry_number, declaration.lodged_at) == ("cancelled", None, None)
    events = list(DeclarationEvent.objects.filter(declaration_id=draft_id, to_status="cancelled"))
    assert [(e.from_status, e.reason, e.actor_id, e.payload) for e in events] == [
        ("draft", "not needed", world.staff.user_id, {})]
    assert BillOfLading.objects.values_list("packages_reserved", flat=True).get(pk=world.bl.pk) == reserved_before


def test_a_cancelled_draft_cannot_be_lodged_or_cancelled_again(client: APIClient, world: World) -> None:
    # given
    saved = client.post("/api/v1/declarations", {**body_im4(world, items=1, currency="KES"), "draft": True},
                        format="json")
    draft_id = saved.json()["id"]
    assert client.post(f"/api/v1/declarations/{draft_id}/cancel").status_code == 200
    # when
    lodge = client.post(f"/api/v1/declarations/{draft_id}/lodge", {}, format="json")
    again = client.post(f"/api/v1/declarations/{draft_id}/cancel")
    # then
    assert (lodge.status_code, again.status_code) == (409, 409)
    assert Declaration.objects.get(pk=draft_id).entry_number is None
    assert DeclarationEvent.objects.filter(declaration_id=draft_id, to_status="cancelled").count() == 1


def test_a_lodged_declaration_can_never_lose_its_entry_number(lodged: Any) -> None:
    # the relaxed constraint still refuses a lodged (lodged_at set) row without an entry number
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Declaration.objects.filter(pk=lodged["id"]).update(status="cancelled", entry_number=None)
