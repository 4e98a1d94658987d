from celery import shared_task

from .idempotency import purge_expired


@shared_task(name="core.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return purge_expired()


@shared_task(name="core.ping")
def ping(value: str = "pong") -> dict[str, object]:
    """Round-trip check used by health tooling and the worker integration test."""
    import os

    return {"value": value, "pid": os.getpid()}
