"""One response shape per resource (issue #19): the pull feed is rendered by
NotificationFeedSerializer, the class its OpenAPI response names. Real responses are checked
against the serializer's fields (recursively) and the generated OpenAPI component."""

from __future__ import annotations

import json
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from notifications.apis import FeedPage, NotificationFeedSerializer
from notifications.models import Notification
from notifications.services import notification_create
from tests.declarations.test_response_shapes import assert_keys_match, assert_valid
from tests.factories.traders import agent_with_token

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_feed_pages_render_exactly_the_serializer_shape(openapi: dict[str, Any]) -> None:
    # given three notifications, one with a nested payload
    staff, token = agent_with_token()
    for i in range(3):
        notification_create(agent=staff.agent, kind="released", subject=f"n{i}", payload={"i": i, "tags": ["x"]})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    # when read as a full page, a page with more to come, and an empty page
    first = client.get("/api/v1/notifications", {"limit": 2}).json()
    rest = client.get("/api/v1/notifications", {"after": first["last_seq"]}).json()
    empty = client.get("/api/v1/notifications", {"after": rest["last_seq"]}).json()
    # then every body has the serializer's keys and validates against its component
    assert first["next"] is not None
    assert empty["results"] == []
    for body in (first, rest, empty):
        assert_keys_match(body, NotificationFeedSerializer())
        assert_valid(body, openapi, "NotificationFeed")


def test_the_compiled_rendering_is_the_serializer_data() -> None:
    staff, _ = agent_with_token()
    notification_create(agent=staff.agent, kind="released", subject="n", payload={"a": [1, "2"]})
    page = FeedPage(next="http://x/?after=1&limit=1", previous=None, last_seq=1,
                    results=list(Notification.objects.all()))
    expected = NotificationFeedSerializer(page).data
    assert expected["results"][0]["payload"] == {"a": [1, "2"]}
    assert json.dumps(NotificationFeedSerializer.render(page)) == json.dumps(expected)
