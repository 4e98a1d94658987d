"""Who did it: the user an event row points at.

Services take `actor=` as whatever the caller has: a user (officer, agent staff), None or
AnonymousUser (the system: a worker, a command), or a non-model identity (the intake's token
copy while the primary is away). Event and decision rows keep a user foreign key; everything
that is not a saved, authenticated user model instance is stored as null (the system).
"""

from __future__ import annotations

from typing import Any


def actor_user(actor: Any) -> Any:
    """`actor` when it is a saved, authenticated user model instance, else None."""
    if actor is None or not hasattr(actor, "_meta") or getattr(actor, "pk", None) is None:
        return None
    return actor if getattr(actor, "is_authenticated", False) else None
