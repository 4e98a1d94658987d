"""Make a sandbox unmistakable, and the sandbox-only API behaviour.

- every response carries `Forodha-Sandbox: true` and the (possibly moved) clock;
- (deterministic outcome X is reported by declarations validation itself: sandbox.outcomes);
- 4xx answers to authenticated API clients are recorded (`ApiErrorRecord`) for the trainee report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core import clock


class SandboxHeaderMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.FORODHA_SANDBOX:
            return self.get_response(request)
        response = self.get_response(request)
        response["Forodha-Sandbox"] = "true"
        response["Forodha-Sandbox-Clock"] = timezone.localtime(clock.now()).isoformat(timespec="seconds")
        if 400 <= response.status_code < 500 and request.path_info.startswith("/api/"):
            _record_error(request, response)
        return response


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except Exception:  # not JSON, or the stream was already consumed (RawPostDataException)
        return None


def _request_user(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    auth = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(auth) == 2 and auth[0].lower() == "token":
        from rest_framework.authtoken.models import Token

        token = Token.objects.select_related("user").filter(key=auth[1]).first()
        if token is not None:
            return token.user
    return None


def _record_error(request: HttpRequest, response: HttpResponse) -> None:
    from .models import ApiErrorRecord

    user = _request_user(request)
    if user is None:
        return  # anonymous noise (401s) is not a trainee's error
    code, errors = "", []
    if response.get("Content-Type", "").startswith("application/problem+json"):
        try:
            body = json.loads(response.content)
            code = str(body.get("code", ""))[:64]
            errors = list(body.get("errors") or [])[:50]
        except (ValueError, AttributeError):
            pass
    reference = getattr(request, "_sandbox_local_reference", None)
    if reference is None and request.method == "POST":
        data = _json_body(request) if request.content_type == "application/json" else None
        reference = str(data.get("local_reference", ""))[:64] if isinstance(data, dict) else ""
    ApiErrorRecord.objects.create(
        user=user, username=user.get_username(), method=request.method or "", path=request.path_info[:500],
        status=response.status_code, code=code, errors=errors, local_reference=reference or "",
        created_at=clock.now())
