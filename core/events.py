"""In-process domain events: the owner of a lifecycle publishes, other apps subscribe.

Apps stand in layers (README "Architecture"): an app never imports one above it. When a change
owned by a low app (a declaration's status) must move something owned by a higher one (a transit
movement, an officer task), the owner publishes a named event here and the higher app subscribes
in its `AppConfig.ready`; the owner never names the subscriber. Explicit, typed dispatch in the
manner of saleor's `PluginsManager`, not Django signals: the catalogue below is the whole list, a
subscription to a name not in it is refused, and `subscriptions()` shows who listens to what.

Delivery is synchronous, in registration order (the order of INSTALLED_APPS), inside the
publisher's transaction: `publish` refuses to run outside one. A subscriber's writes therefore
commit or roll back with the change that caused them, and an exception in a subscriber rolls the
whole change back (e.g. a transit bond that cannot cover a lodging refuses the lodging). Work that
must happen only after commit (Celery, webhooks, partner messages) is written by the subscriber as
an outbox row (`core.outbox.outbox_enqueue`) in the same transaction.

A subscriber may return a value; `publish` returns the non-None values in delivery order (a
lodging asks "who secures this declaration?", a validation "which problems do you see?").
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.db import transaction


class Event(StrEnum):
    """Every domain event. Publisher, keyword payload, subscribers (README "Architecture")."""

    # declarations.services.validation, before anything is written: payload=<body>, on=<date>.
    # Subscribers return a list of ErrorItem (transit: the IM8 transit section).
    DECLARATION_VALIDATING = "declaration.validating"
    # declarations.services.lodging, inside the lodging transaction, before the e-slip:
    # declaration, payload, actor. A subscriber securing the taxes returns a `declarations.events.Security`
    # (transit: regional bond reserved; raising rolls the lodging back).
    DECLARATION_LODGED = "declaration.lodged"
    # declarations.services.lodging, once the entry number is taken: declaration, actor.
    DECLARATION_REGISTERED = "declaration.registered"
    # declarations.services.lifecycle.declaration_transition_locked, after the status row and its
    # event are written: declaration, from_status, to_status, actor.
    # Subscribers: manifests (write-off settle/release), clearance (a `clearance.advance` outbox row
    # once paid; officer tasks closed), transit (movement departs / is cancelled).
    DECLARATION_STATUS_CHANGED = "declaration.status_changed"
    # risk.services.assessment, inside the scoring transaction, after the assessments and channels
    # are written: outcomes (a list of `risk.services.ScoringOutcome`, one per declaration of the
    # call that has a selectivity, new or found already stored), actor. Subscribers: clearance (one
    # `clearance.advance` outbox message per declaration ready for clearance).
    DECLARATIONS_SCORED = "declarations.scored"
    # declarations.services.bulk_lodging (the contingency replay's chunks, CONTINGENCY_REPLAY_SCORE_INLINE),
    # inside the chunk's transaction once its declaration rows are written: declaration_ids, actor.
    # A subscriber scoring them now returns the ids it scored (risk: `risk_assessments_create`, whose
    # own `declarations.scored` follows); the rest go to the scoring queue through the outbox.
    DECLARATIONS_SCORE_NOW = "declarations.score_now"
    # declarations.apis status look-up, read only: declaration_id, regime. Subscribers return
    # {section name: value} merged into the status row (transit: the movement end to end).
    DECLARATION_STATUS_SECTIONS = "declaration.status_sections"


Handler = Callable[..., Any]

_subscribers: dict[Event, list[Handler]] = {}

# Events that are queries (no state changes): they may be published outside a transaction.
_READ_ONLY = frozenset({Event.DECLARATION_VALIDATING, Event.DECLARATION_STATUS_SECTIONS})


def subscribe(event: Event | str, handler: Handler) -> None:
    """Register `handler(**payload)` for `event` (from an `AppConfig.ready`). Idempotent: the same
    handler registered twice (ready() run again by a test) is delivered once."""
    name = Event(event)  # ValueError for a name not in the catalogue
    handlers = _subscribers.setdefault(name, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event: Event | str, handler: Handler) -> None:
    handlers = _subscribers.get(Event(event), [])
    if handler in handlers:
        handlers.remove(handler)


def subscriptions() -> dict[str, list[str]]:
    """Who listens to what (`module.function`), for readers and the architecture tests."""
    return {
        str(name): [f"{h.__module__}.{getattr(h, '__qualname__', repr(h))}" for h in handlers]
        for name, handlers in sorted(_subscribers.items())
    }


def publish(event: Event, **payload: Any) -> list[Any]:
    """Deliver `event` to its subscribers now, in this transaction; their non-None results."""
    if event not in _READ_ONLY and not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{event} must be published inside the transaction of the change it announces")
    results = []
    for handler in list(_subscribers.get(event, ())):
        result = handler(**payload)
        if result is not None:
            results.append(result)
    return results
