"""Celery entry points: partner deliveries (retried with back-off), overdue sweep, simulator."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="transit.deliver_partner_message", bind=True, acks_late=True, max_retries=None,
             time_limit=60, soft_time_limit=45)
def deliver_partner_message(self: Any, message_id: str) -> str:
    """Idempotent: a delivered/failed message is skipped; the attempt count lives in the database."""
    from .services import partner_message_deliver

    result = partner_message_deliver(message_id=message_id)
    if result is None:
        return "skipped"
    if result.retry_in_seconds is not None:
        raise self.retry(countdown=result.retry_in_seconds)
    return "delivered" if result.delivered else "failed"


@shared_task(name="transit.sweep_deliveries", acks_late=True, time_limit=120, soft_time_limit=100)
def sweep_deliveries() -> int:
    """Re-enqueue pending messages whose retry is due (a lost retry message cannot strand one)."""
    from .services import partner_messages_due

    ids = partner_messages_due()
    for message_id in ids:
        deliver_partner_message.delay(message_id=message_id)
    return len(ids)


@shared_task(name="transit.flag_overdue", acks_late=True, time_limit=240, soft_time_limit=200)
def flag_overdue() -> int:
    from .services import transit_flag_overdue

    return transit_flag_overdue(actor=None)


@shared_task(name="transit.simulator_tick", acks_late=True, time_limit=120, soft_time_limit=100)
def simulator_tick() -> int:
    from .simulator import simulator_tick as tick

    return tick()
