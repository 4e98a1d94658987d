"""Shared fixtures.

PostgreSQL and Redis are used when reachable (config.settings.test picks them). With
FORODHA_REQUIRE_SERVICES=1 (CI) a test that needs a service fails instead of skipping.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from core import clock

REQUIRE_SERVICES = os.environ.get("FORODHA_REQUIRE_SERVICES") == "1"

# Every test starts at this instant (Wednesday 10:00 East Africa Time) whatever today's date is;
# dated test data is built from `clock.now()` / `clock.today()`. Time then runs at real speed.
# The pin is set at import too, so session-wide setup (reference data) sees the same time line.
PINNED_AT = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)
clock.pin(PINNED_AT)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("PostgreSQL is required (FORODHA_REQUIRE_SERVICES=1) but not configured")
        pytest.skip("needs PostgreSQL")


def require_redis() -> None:
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        if REQUIRE_SERVICES:
            pytest.fail("Redis is required (FORODHA_REQUIRE_SERVICES=1) but not configured")
        pytest.skip("needs Redis")


@pytest.fixture
def postgres() -> None:
    require_postgres()


@pytest.fixture
def redis_service() -> None:
    require_redis()


class PinnedClock:
    """The test's clock: `move_to` re-pins it (child processes started afterwards follow)."""

    def move_to(self, at: dt.datetime) -> None:
        clock.pin(at)

    def advance(self, by: dt.timedelta) -> None:
        clock.pin(clock.unmoved_now() + by)


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[PinnedClock]:
    """The one clock fixture: every test starts at PINNED_AT (see core.clock.pin)."""
    clock.pin(PINNED_AT)
    yield PinnedClock()
    clock.pin(PINNED_AT)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The normal test database, plus the real reference data (HS 2022, EAC CET, Kenyan measures,
    exchange rates, UN/LOCODE, offices, code lists) loaded once per session by the production
    loader, so every `db` test sees it (rolled back per test, never reloaded). Transactional tests
    run last (pytest-django) and flush the tables: they must create their own data."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("load_reference_data", quiet=True)


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Per-process caches (tariff books, known reference codes) must not leak between tests that
    change rows in rolled-back transactions."""
    from reference.selectors import clear_cache as clear_reference_cache
    from tariff.selectors import clear_local_cache as clear_tariff_cache

    clear_tariff_cache()
    clear_reference_cache()


@pytest.fixture(autouse=True)
def _primed_maintenance_snapshot() -> None:
    """Start every test from an empty, current maintenance snapshot (no windows), so the
    middleware makes no query inside a test's query-count assertion."""
    from maintenance.snapshot import store

    store.prime()
