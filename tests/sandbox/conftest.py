from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from sandbox import clock as sandbox_clock


@pytest.fixture
def sandbox(settings: Any) -> Any:
    """Sandbox mode on; the clock is back to real time afterwards (it is shared through the cache)."""
    settings.FORODHA_SANDBOX = True
    yield settings
    sandbox_clock.set_offset(0.0)


@pytest.fixture
def drill_world(sandbox, tmp_path):  # type: ignore[no-untyped-def]
    """The outage-drill scenario seeded (drill at step 0), receipts signed with a throwaway key."""
    from maintenance import snapshot

    sandbox.RECEIPT_SIGNING_KEY = ""
    sandbox.RECEIPT_SIGNING_KEY_AUTOGENERATE = True
    sandbox.RECEIPT_SIGNING_KEY_FILE = str(tmp_path / "receipt_key")
    sandbox.MAINTENANCE_CACHE_SECONDS = 0
    sandbox.MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 0
    snapshot.store.invalidate()
    call_command("sandbox", "seed", "--scenario", "outage-drill", "--seed", "4", "--no-progress")
    yield sandbox
    snapshot.store.invalidate()
