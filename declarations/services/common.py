"""Helpers shared by the declaration services: events, hand-offs to other apps, money."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import OuterRef, Subquery

from core import clock
from core.actors import actor_user
from core.audit import GENESIS_HASH, chain_hash, fields_of
from core.outbox import outbox_enqueue as core_outbox_enqueue
from notifications.services import notification_create

from ..models import Declaration, DeclarationEvent

logger = logging.getLogger("forodha.declarations")

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    return str(getattr(actor, "get_username", lambda: "")() or getattr(actor, "pk", "") or "system")


def event_record(
    *,
    declaration: Declaration,
    kind: str,
    from_status: str,
    to_status: str,
    actor: Any,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> DeclarationEvent:
    return DeclarationEvent.objects.create(
        declaration=declaration,
        kind=kind,
        actor=actor_user(actor),
        actor_label=actor_label(actor)[:150],
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        payload=payload or {},
        created_at=clock.now(),
    )


def events_chain(events: list[DeclarationEvent], *, new_subjects: bool = False) -> list[DeclarationEvent]:
    """Give new events (for `bulk_create`, which skips `save()`) their place in the hash chain of
    their declaration, in list order. The caller holds the declarations' rows locked. One query,
    none with `new_subjects` (declarations inserted in this transaction: no chain yet)."""
    spec = DeclarationEvent.chain_spec()
    last: dict[Any, str] = {}
    if not new_subjects:
        latest = Subquery(
            DeclarationEvent.objects.filter(declaration_id=OuterRef("pk")).order_by("-pk").values("hash")[:1]
        )
        ids = {event.declaration_id for event in events}
        last = {
            pk: digest or GENESIS_HASH
            for pk, digest in Declaration.objects.filter(pk__in=ids).annotate(last_hash=latest)
            .values_list("pk", "last_hash")
        }
    for event in events:
        event.prev_hash = last.get(event.declaration_id, GENESIS_HASH)
        event.hash = chain_hash(event.prev_hash, fields_of(event, spec.hashed_fields))
        last[event.declaration_id] = event.hash
    return events


def outbox_enqueue(*, task_name: str, kwargs: dict[str, Any]) -> None:
    """Hand work to Celery after commit, through the core outbox (survives a broker outage)."""
    core_outbox_enqueue(task_name=task_name, kwargs=kwargs)


# The notification kind for each status an agent hears about (HMRC-style feed, DOMAIN.md).
STATUS_NOTIFICATION_KIND: dict[str, str] = {
    "registered": "accepted",
    "assessed": "tax_due",
    "paid": "paid",
    "under_control": "physical_control",
    "queried": "queried",
    "released": "released",
    "exited": "cleared",
    "cancelled": "cancelled",
    "rejected": "rejected",
}


def notify_agent(
    *, declaration: Declaration, kind: str, subject: str, payload: dict[str, Any], actor: Any
) -> None:
    notification_create(
        agent=declaration.agent, kind=kind, subject=subject, payload=payload,
        declaration_id=declaration.pk, actor=actor,
    )


def status_payload(declaration: Declaration) -> dict[str, Any]:
    return {
        "declaration_id": str(declaration.pk),
        "entry_number": declaration.entry_number,
        "status": declaration.status,
        "channel": declaration.channel,
        "local_reference": declaration.local_reference,
    }
