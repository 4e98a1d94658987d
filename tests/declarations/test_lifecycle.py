from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core.exceptions import Conflict
from declarations.enums import Status
from declarations.lifecycle import TRANSITIONS, transition_allowed
from declarations.models import Declaration, DeclarationEvent
from declarations.services import declaration_transition
from notifications.models import Notification
from tests.factories.declarations import World, body_im4


def test_table_covers_every_status_and_terminal_states_are_final() -> None:
    assert set(TRANSITIONS) == set(Status.values)
    for terminal in ("exited", "cancelled", "rejected"):
        assert TRANSITIONS[terminal] == frozenset()
    assert transition_allowed("paid", "under_control")
    assert not transition_allowed("draft", "paid")
    assert not transition_allowed("released", "cancelled")


@pytest.fixture
def lodged(client: APIClient, world: World) -> Any:
    response = client.post("/api/v1/declarations", body_im4(world, items=1, currency="KES"), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.django_db
def test_transition_writes_one_event_and_notifies(lodged: Any, world: World) -> None:
    # given
    events = DeclarationEvent.objects.count()

    # when
    declaration = declaration_transition(declaration_id=lodged["id"], to_status="queried", actor=world.user,
                                         reason="invoice unclear", payload={"query": "send invoice"})

    # then
    assert declaration.status == "queried"
    assert DeclarationEvent.objects.count() == events + 1
    event = DeclarationEvent.objects.order_by("-id").first()
    assert (event.from_status, event.to_status, event.reason, event.actor_id, event.payload) == (
        "assessed", "queried", "invoice unclear", world.user.pk, {"query": "send invoice"})
    assert Notification.objects.filter(declaration_id=lodged["id"], kind="queried").count() == 1


@pytest.mark.django_db
def test_illegal_transition_is_a_409_conflict_and_writes_nothing(lodged: Any) -> None:
    # given
    events = DeclarationEvent.objects.count()

    # when
    with pytest.raises(Conflict) as info:
        declaration_transition(declaration_id=lodged["id"], to_status="exited", actor=None)

    # then
    assert info.value.code == "illegal_transition"
    assert DeclarationEvent.objects.count() == events
    assert Declaration.objects.get(pk=lodged["id"]).status == "assessed"


@pytest.mark.django_db
def test_expected_from_is_a_compare_and_set(lodged: Any) -> None:
    with pytest.raises(Conflict) as info:
        declaration_transition(declaration_id=lodged["id"], to_status="under_control", actor=None,
                               expected_from="paid")
    assert info.value.code == "status_changed"


@pytest.mark.django_db
def test_channel_set_with_the_transition(client: APIClient, lodged: Any) -> None:
    client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                {"amount": lodged["eslip"]["amount"], "currency": "KES"}, format="json")
    declaration = declaration_transition(declaration_id=lodged["id"], to_status="under_control", actor=None,
                                         channel="red", reason="physical examination")
    assert (declaration.status, declaration.channel) == ("under_control", "red")
    assert client.get(f"/api/v1/declarations/{lodged['id']}").json()["channel"] == "red"


@pytest.mark.django_db
def test_database_refuses_an_unknown_status(lodged: Any) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Declaration.objects.filter(pk=lodged["id"]).update(status="teleported")
