"""Environment for the real servers a test starts itself (a throwaway PostgreSQL cluster or
redis-server): the machine's real time. `make test-dates` runs the suite under libfaketime
(LD_PRELOAD); Forodha's own processes keep the shifted date, but a database or broker server is not
ours to test against a fake clock (redis-server's event loop stalls under it)."""

from __future__ import annotations

import os

_FAKE_TIME_VARIABLES = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_RESET", "FAKETIME_NO_CACHE")


def server_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _FAKE_TIME_VARIABLES}


def broker_purge(url: str) -> None:
    """Empty every Forodha queue (with kombu's priority variants) and the unacked bookkeeping of the
    test broker. A real-worker test leaves messages behind (the webhook dispatcher schedules its
    next wake-up with a countdown): a later test's worker would take them and hold them unacked."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(url)
    stale = [key for queue in settings.FORODHA_QUEUES for key in client.scan_iter(match=f"{queue}*")]
    client.delete("unacked", "unacked_index", "unacked_mutex", *stale)
