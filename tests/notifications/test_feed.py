"""The agents' pull feed: cursor, limit, isolation, bad parameters; broadcast to every firm."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.models import OutboxMessage
from notifications.models import Notification
from notifications.services import notification_broadcast_to_agents, notification_create
from tests.factories.traders import agent_with_token

pytestmark = pytest.mark.django_db


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_feed_pages_by_cursor_and_shows_only_the_agents_own(django_capture_on_commit_callbacks):
    # given five notifications for one firm and one for another
    staff, token = agent_with_token()
    other, _ = agent_with_token()
    mine = [notification_create(agent=staff.agent, kind="released", subject=f"n{i}") for i in range(5)]
    notification_create(agent=other.agent, kind="released", subject="not yours")
    client = _client(token)
    # when read two at a time
    first = client.get("/api/v1/notifications", {"limit": 2}).json()
    second = client.get("/api/v1/notifications", {"after": first["last_seq"], "limit": 2}).json()
    rest = client.get("/api/v1/notifications", {"after": second["last_seq"]}).json()
    # then every notification of the firm comes once, in order, and nothing of the other firm
    subjects = [n["subject"] for page in (first, second, rest) for n in page["results"]]
    assert subjects == ["n0", "n1", "n2", "n3", "n4"]
    assert first["next"].endswith(f"?after={mine[1].seq}&limit=2")
    assert rest["next"] is None
    assert rest["last_seq"] == mine[-1].seq
    # and an empty page keeps the cursor where it was
    assert client.get("/api/v1/notifications", {"after": rest["last_seq"]}).json() == {
        "next": None, "previous": None, "last_seq": mine[-1].seq, "results": []}


@pytest.mark.parametrize(("params", "pointer"), [({"after": "x"}, "?after"), ({"limit": "-1"}, "?limit")])
def test_bad_cursor_parameters_are_400_with_a_pointer(params, pointer):
    _staff, token = agent_with_token()
    response = _client(token).get("/api/v1/notifications", params)
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [(pointer, "invalid")]


def test_a_user_outside_any_agent_firm_gets_404():
    token = Token.objects.create(user=User.objects.create_user("officer9")).key
    response = _client(token).get("/api/v1/notifications")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_is_401():
    assert APIClient().get("/api/v1/notifications").status_code == 401


def test_broadcast_reaches_every_firm_once_and_hands_push_delivery_to_the_outbox(
        django_capture_on_commit_callbacks):
    firms = [agent_with_token()[0].agent for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False):
        created = notification_broadcast_to_agents(kind="maintenance", subject="Window on Saturday 22:00",
                                                   payload={"event": "maintenance_scheduled"})
    assert created == 3
    assert sorted(Notification.objects.values_list("agent_id", flat=True)) == sorted(f.pk for f in firms)
    [fan_out] = OutboxMessage.objects.filter(task_name="notifications.fan_out")
    assert sorted(fan_out.kwargs["seqs"]) == sorted(Notification.objects.values_list("seq", flat=True))
