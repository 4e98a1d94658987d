"""Writing notifications. Pull feed reads them; push (webhooks) fans them out on workers."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from core import clock
from core.actors import actor_user
from core.outbox import outbox_enqueue, outbox_enqueue_many
from traders.models import ClearingAgent

from .models import Notification

Actor = AbstractBaseUser | AnonymousUser | None


def _after_create(notifications: list[Notification]) -> None:
    """Hand new notifications to push delivery (webhooks) after commit."""
    if not notifications:
        return
    outbox_enqueue(task_name="notifications.fan_out", kwargs={"seqs": [n.seq for n in notifications]})


# No savepoint of its own (savepoint=False): inside a caller's transaction (a lodging, a
# clearance decision) the notification and its outbox row simply join it, saving two statements;
# called alone it is still one transaction.
@transaction.atomic(savepoint=False)
def notification_create(
    *,
    agent: Any,
    kind: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    declaration_id: uuid.UUID | str | None = None,
    actor: Actor = None,
) -> Notification:
    notification = Notification.objects.create(
        agent=agent, kind=kind, subject=subject[:300], payload=payload or {},
        declaration_id=declaration_id, created_at=clock.now(), created_by=actor_user(actor),
    )
    _after_create([notification])
    return notification


def notification_create_many(notifications: list[Notification]) -> list[Notification]:
    """`notification_create` for many unsaved notifications of one transaction (the contingency
    replay writes a chunk at once): one INSERT, and one push hand-off per notification as
    `notification_create` writes it."""
    if not notifications:
        return []
    created = Notification.objects.bulk_create(notifications)
    outbox_enqueue_many([("notifications.fan_out", {"seqs": [n.seq]}) for n in created])
    return created


@transaction.atomic
def notification_broadcast_to_agents(
    *, kind: str, subject: str, payload: dict[str, Any] | None = None, actor: Actor = None
) -> int:
    """One notification per agent firm (e.g. maintenance windows scheduled/extended/cancelled)."""
    now = clock.now()
    created = Notification.objects.bulk_create(
        [
            Notification(agent_id=agent_id, kind=kind, subject=subject[:300], payload=payload or {},
                         created_at=now, created_by=actor_user(actor))
            for agent_id in ClearingAgent.objects.values_list("pk", flat=True)
        ]
    )
    if created and created[0].seq is not None:
        _after_create(created)
    return len(created)
