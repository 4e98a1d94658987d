from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories.declarations import World, world_create


@pytest.fixture
def world(db: Any) -> World:
    return world_create()


@pytest.fixture
def client(world: World) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    return api


@pytest.fixture
def other_world(world: World) -> World:
    """A second agent with its own importer and B/L."""
    return world_create()


@pytest.fixture
def other_client(other_world: World) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {other_world.token}")
    return api
