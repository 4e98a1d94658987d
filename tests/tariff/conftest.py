from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from reference.selectors import clear_cache
from tariff.selectors import clear_local_cache


@pytest.fixture(autouse=True)
def _fresh_tariff_caches() -> Iterator[None]:
    # Books are cached per process; tests that add rates must not see (or leave) stale books.
    clear_local_cache()
    clear_cache()
    yield
    clear_local_cache()
    clear_cache()


@pytest.fixture
def agent_client(db: None) -> APIClient:
    from tests.factories.traders import agent_with_token

    _, key = agent_with_token()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert Token.objects.filter(key=key).exists()
    return client
