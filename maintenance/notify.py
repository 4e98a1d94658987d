"""The boundary to the notifications app (written by the lead).

Kept to two one-line wrappers so wiring the real app, and patching in tests, happens in one place.
Until `notifications.services` exists the calls are logged and count as zero notices sent.
Both run inside the caller's transaction, so a window is never scheduled (or a submission
replayed) without its notices, and vice versa.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

logger = logging.getLogger("forodha.maintenance")


def _service(name: str) -> Any:
    try:
        module = importlib.import_module("notifications.services")
    except ImportError:
        return None
    return getattr(module, name, None)


def broadcast_to_agents(*, kind: str, subject: str, payload: dict[str, Any], actor: Any) -> int:
    """Notify every agent; returns how many notifications were created."""
    service = _service("notification_broadcast_to_agents")
    if service is None:
        logger.info("notifications app not installed; broadcast %s not sent: %s", kind, subject)
        return 0
    return int(service(kind=kind, subject=subject, payload=payload, actor=actor))


def notify_agent(*, user: Any, kind: str, subject: str, payload: dict[str, Any], actor: Any) -> bool:
    """Notify the agent firm of the staff user who submitted a buffered request."""
    service = _service("notification_create")
    if service is None:
        logger.info("notifications app not installed; %s for user %s not sent", kind, getattr(user, "pk", None))
        return False
    from traders.selectors import agent_for_user

    agent = agent_for_user(user)
    if agent is None:
        logger.info("user %s is not agent staff; %s not sent", getattr(user, "pk", None), kind)
        return False
    service(agent=agent, kind=kind, subject=subject, payload=payload, actor=actor)
    return True
