"""The webhook subscription lifecycle: one transition table, one guard.

    active <-> suspended   (the circuit breaker suspends; the agent re-enables)

Enabling a subscription that is not suspended is refused with the code the API published,
`webhook_not_suspended` (the breaker never suspends a suspended one: it checks first).
"""

from __future__ import annotations

from core.lifecycle import Lifecycle

from .models import WebhookSubscriptionStatus as S

SUBSCRIPTION = Lifecycle("a webhook subscription", {
    S.ACTIVE: {S.SUSPENDED},
    S.SUSPENDED: {S.ACTIVE},
}, code="webhook_not_suspended")
