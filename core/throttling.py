"""Request throttling per credential, stored in the shared cache (Redis when configured).

Agents are throttled per API token (two staff of one firm have separate budgets; a leaked token
cannot starve the firm's other tokens); officers per user; anonymous clients per address.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request


class CredentialRateThrottle(SimpleRateThrottle):
    scope = "user"

    def get_rate(self) -> str | None:
        # Read the rates at call time so configuration changes (and tests) take effect.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate is not None else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.auth is not None and hasattr(request.auth, "key"):
            ident = "token:" + hashlib.sha256(request.auth.key.encode()).hexdigest()[:32]
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None  # anonymous requests are handled by AnonymousRateThrottle
        return f"throttle_{self.scope}_{ident}"


class AnonymousRateThrottle(SimpleRateThrottle):
    scope = "anon"

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate is not None else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return f"throttle_{self.scope}_{self.get_ident(request)}"
