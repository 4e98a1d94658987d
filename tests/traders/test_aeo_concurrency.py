"""Concurrent AEO status changes on PostgreSQL: the row lock serialises them, so the history is
one consistent chain (each change starts where the previous one ended)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from core.exceptions import Conflict
from traders.models import AEOProfile, AEOProfileChange, Trader
from traders.services import aeo_profile_change


@pytest.mark.django_db(transaction=True)
def test_concurrent_suspend_and_revoke_leave_a_consistent_history(postgres: None) -> None:
    # given (transactional test: the reference data is not there, create what we need)
    trader = Trader.objects.create(pin="P077777777Q", name="Racing Traders Ltd")
    profile = AEOProfile.objects.create(trader=trader, valid_from=dt.date(2025, 1, 1))
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def change(status: str) -> None:
        try:
            barrier.wait(timeout=10)
            aeo_profile_change(profile_id=profile.pk, status=status, reason=f"to {status}")
            outcomes[status] = "ok"
        except Conflict:
            outcomes[status] = "conflict"
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=change, args=(s,)) for s in ("suspended", "revoked")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # then
    chain = list(
        AEOProfileChange.objects.filter(profile=profile).order_by("id").values_list("from_status", "to_status")
    )
    assert outcomes["revoked"] == "ok"
    if outcomes["suspended"] == "ok":
        assert chain == [("active", "suspended"), ("suspended", "revoked")]
    else:
        assert chain == [("active", "revoked")]
    profile.refresh_from_db()
    assert profile.status == "revoked"
