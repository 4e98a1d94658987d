from __future__ import annotations

from typing import Any

import pytest

from core import clock


@pytest.fixture
def sandbox(settings: Any) -> Any:
    """Sandbox mode on; the clock is back to real time afterwards (it is shared through the cache)."""
    settings.FORODHA_SANDBOX = True
    yield settings
    clock.set_offset(0.0)
