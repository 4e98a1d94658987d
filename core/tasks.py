import os

from celery import shared_task

from .idempotency import purge_expired
from .outbox import purge_dispatched, relay_pending


@shared_task(name="core.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return purge_expired()


@shared_task(name="core.outbox_relay")
def outbox_relay() -> int:
    return relay_pending()


@shared_task(name="core.outbox_purge")
def outbox_purge() -> int:
    return purge_dispatched()


@shared_task(name="core.ping")
def ping(value: str = "pong") -> dict[str, object]:
    """Round-trip check used by operators and the worker integration test."""
    return {"value": value, "pid": os.getpid()}
