"""`core.actors.actor_user`: the one rule for which actor an event row points at."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from core.actors import actor_user
from intake.identity import Identity

pytestmark = pytest.mark.django_db


def test_a_saved_user_is_the_actor() -> None:
    user = get_user_model().objects.create_user(username="officer1", password="x" * 12)
    assert actor_user(user) is user


@pytest.mark.parametrize("actor", [None, AnonymousUser(), "system", object()])
def test_the_system_is_stored_as_null(actor: object) -> None:
    assert actor_user(actor) is None


def test_an_unsaved_user_and_an_intake_identity_are_not_users() -> None:
    # given: a user never saved (no row to point at) and the intake's copy of a token's owner
    unsaved = get_user_model()(username="ghost")
    identity = Identity(user_id=7, username="agent1")

    # when / then
    assert actor_user(unsaved) is None
    assert actor_user(identity) is None
