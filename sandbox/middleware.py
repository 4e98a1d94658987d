"""Make a sandbox unmistakable, and the sandbox-only API behaviour.

- every response carries `Forodha-Sandbox: true` and the (possibly moved) clock;
- deterministic outcome X: lodging a declaration whose local reference starts with X is refused
  with 400 `sandbox_outcome_rejected` (see sandbox.outcomes) before the view runs;
- 4xx answers to authenticated API clients are recorded (`ApiErrorRecord`) for the trainee report.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core import clock
from core.problems import problem_response

_LODGE_PATH = re.compile(r"^/api/v1/declarations(?:/(?P<id>[0-9a-fA-F-]{36})/lodge)?$")


class SandboxHeaderMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.FORODHA_SANDBOX:
            return self.get_response(request)
        response = self._deterministic_rejection(request) or self.get_response(request)
        response["Forodha-Sandbox"] = "true"
        response["Forodha-Sandbox-Clock"] = timezone.localtime(clock.now()).isoformat(timespec="seconds")
        if 400 <= response.status_code < 500 and request.path_info.startswith("/api/"):
            _record_error(request, response)
        return response

    def _deterministic_rejection(self, request: HttpRequest) -> HttpResponse | None:
        if request.method != "POST" or validation_reports_outcomes():
            return None
        match = _LODGE_PATH.match(request.path_info)
        if match is None:
            return None
        from .outcomes import lodging_errors

        data = _draft_body(match.group("id"), request) if match.group("id") else _json_body(request)
        if not isinstance(data, dict) or (not match.group("id") and data.get("draft") is True):
            return None
        errors = lodging_errors(data)
        if not errors:
            return None
        request._sandbox_local_reference = str(data.get("local_reference", ""))[:64]  # type: ignore[attr-defined]
        return problem_response(status=400, title="Validation failed", code="validation_error",
                                detail="The request has validation errors.",
                                errors=[e.as_dict() for e in errors])


@functools.cache
def validation_reports_outcomes() -> bool:
    """True once the declarations validation calls `sandbox.outcomes.lodging_errors` itself (then X
    is reported there, together with every other problem, and this pre-check stands aside)."""
    try:
        from declarations.services import validation
    except ImportError:  # pragma: no cover
        return False
    return "lodging_errors" in inspect.getsource(validation)


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except Exception:  # not JSON, or the stream was already consumed (RawPostDataException)
        return None


def _draft_body(declaration_id: str, request: HttpRequest) -> Any:
    """The body of the caller's own draft (someone else's: None, and the view answers 404)."""
    from declarations.models import Declaration

    user = _request_user(request)
    if user is None:
        return None
    try:
        return (Declaration.objects.filter(pk=declaration_id, agent__staff__user=user)
                .values_list("body", flat=True).first())
    except Exception:  # a malformed id: the view answers 404 itself
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
