"""The boundary to the notifications app: two thin wrappers, so tests patch in one place.

Both run inside the caller's transaction, so a window is never scheduled (or a submission
replayed) without its notices, and vice versa.
"""

from __future__ import annotations

import logging
from typing import Any

from core import clock
from notifications.models import Notification
from notifications.services import (
    notification_broadcast_to_agents,
    notification_create,
    notification_create_many,
)
from traders.selectors import agent_for_user

logger = logging.getLogger("forodha.maintenance")


def broadcast_to_agents(*, kind: str, subject: str, payload: dict[str, Any], actor: Any) -> int:
    """Notify every agent; returns how many notifications were created."""
    return notification_broadcast_to_agents(kind=kind, subject=subject, payload=payload, actor=actor)


def notify_agent(*, user: Any, kind: str, subject: str, payload: dict[str, Any], actor: Any) -> bool:
    """Notify the agent firm of the staff user who submitted a buffered request."""
    agent = agent_for_user(user)
    if agent is None:
        logger.info("user %s is not agent staff; %s not sent", getattr(user, "pk", None), kind)
        return False
    notification_create(agent=agent, kind=kind, subject=subject, payload=payload, actor=actor)
    return True


def notify_agents(*, kind: str, notices: list[tuple[Any, str, dict[str, Any]]], actor: Any) -> int:
    """`notify_agent` for many (user, subject, payload) notices at once: one INSERT; returns how
    many were created (users who are not agent staff get none, as there)."""
    agents: dict[Any, Any] = {}
    rows = []
    created_by = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    for user, subject, payload in notices:
        key = getattr(user, "pk", None)
        if key not in agents:
            agents[key] = agent_for_user(user)
        if agents[key] is None:
            logger.info("user %s is not agent staff; %s not sent", key, kind)
            continue
        rows.append(Notification(agent=agents[key], kind=kind, subject=subject[:300], payload=payload,
                                 created_at=clock.now(), created_by=created_by))
    return len(notification_create_many(rows))
