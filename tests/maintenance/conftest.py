from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from maintenance import snapshot

MIDDLEWARE_PATH = "maintenance.middleware.MaintenanceMiddleware"
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class MovableClock:
    """Stands in for `core.clock.now` (the only clock domain code reads)."""

    def __init__(self, start: dt.datetime) -> None:
        self.value = start

    def __call__(self) -> dt.datetime:
        return self.value

    def set(self, value: dt.datetime) -> None:
        self.value = value

    def advance(self, **kwargs: Any) -> dt.datetime:
        self.value = self.value + dt.timedelta(**kwargs)
        return self.value


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    moved = MovableClock(T0)
    monkeypatch.setattr("core.clock.now", moved)
    return moved


@pytest.fixture(autouse=True)
def maintenance_settings(settings: Any, tmp_path: Any) -> Any:
    # Every request re-reads the windows (the snapshot cadence has its own tests).
    settings.MAINTENANCE_CACHE_SECONDS = 0
    settings.MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 0
    settings.RECEIPT_SIGNING_KEY = ""
    settings.RECEIPT_SIGNING_KEY_AUTOGENERATE = True
    settings.RECEIPT_SIGNING_KEY_FILE = str(tmp_path / "receipt_signing_key")
    middleware = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]
    middleware.insert(middleware.index("core.idempotency.IdempotencyMiddleware"), MIDDLEWARE_PATH)
    settings.MIDDLEWARE = middleware
    snapshot.store.invalidate()
    yield settings
    # Windows of this test were rolled back: leave other tests an empty view that needs no query.
    snapshot.store.prime()


@pytest.fixture
def notices(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    """Patch the notifications boundary; records every call."""
    calls: dict[str, list[dict[str, Any]]] = {"broadcast": [], "agent": []}

    def broadcast(**kwargs: Any) -> int:
        calls["broadcast"].append(kwargs)
        return 3

    def agent(**kwargs: Any) -> bool:
        calls["agent"].append(kwargs)
        return True

    def agents(*, kind: str, notices: list[tuple[Any, str, dict[str, Any]]], actor: Any) -> int:
        # the set-based replay's notices of a chunk, recorded one by one as notify_agent's
        for user, subject, payload in notices:
            calls["agent"].append({"user": user, "kind": kind, "subject": subject, "payload": payload,
                                   "actor": actor})
        return len(notices)

    monkeypatch.setattr("maintenance.notify.broadcast_to_agents", broadcast)
    monkeypatch.setattr("maintenance.notify.notify_agent", agent)
    monkeypatch.setattr("maintenance.notify.notify_agents", agents)
    return calls
