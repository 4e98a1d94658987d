from __future__ import annotations

import pytest
from django.test import Client

from officers.groups import groups_sync


@pytest.fixture(autouse=True)
def _officer_groups(db: None) -> None:
    # Transactional tests elsewhere flush the groups the migration created; re-sync (idempotent).
    groups_sync(create_missing_permissions=True)


@pytest.fixture
def officer_client():
    def make(user) -> Client:  # type: ignore[no-untyped-def]
        client = Client()
        client.force_login(user)
        return client

    return make
