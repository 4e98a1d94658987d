"""The boundary to the notifications app: two thin wrappers, so tests patch in one place.

Both run inside the caller's transaction, so a window is never scheduled (or a submission
replayed) without its notices, and vice versa.
"""

from __future__ import annotations

import logging
from typing import Any

from notifications.services import notification_broadcast_to_agents, notification_create

logger = logging.getLogger("forodha.maintenance")


def broadcast_to_agents(*, kind: str, subject: str, payload: dict[str, Any], actor: Any) -> int:
    """Notify every agent; returns how many notifications were created."""
    return notification_broadcast_to_agents(kind=kind, subject=subject, payload=payload, actor=actor)


def notify_agent(*, user: Any, kind: str, subject: str, payload: dict[str, Any], actor: Any) -> bool:
    """Notify the agent firm of the staff user who submitted a buffered request."""
    from traders.selectors import agent_for_user

    agent = agent_for_user(user)
    if agent is None:
        logger.info("user %s is not agent staff; %s not sent", getattr(user, "pk", None), kind)
        return False
    notification_create(agent=agent, kind=kind, subject=subject, payload=payload, actor=actor)
    return True
