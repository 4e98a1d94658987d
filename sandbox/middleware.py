"""Make a sandbox unmistakable, and the sandbox-only API behaviour.

- every response carries `Forodha-Sandbox: true` and the (possibly moved) clock;
- (deterministic outcome X is reported by declarations validation itself: sandbox.outcomes);
- 4xx answers to authenticated API clients are recorded (`ApiErrorRecord`) for the trainee report.

The recorder is an observer: it stores what it is given escaped (PostgreSQL refuses NUL in text and
jsonb; lone surrogates cannot be encoded), keeps at most SANDBOX_API_ERROR_RECORDS_PER_USER rows per
user (oldest dropped), and can never change a response: any failure inside it is logged and the
response goes out as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import clock

from .models import ApiErrorRecord

logger = logging.getLogger(__name__)


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
            try:
                with transaction.atomic():  # a savepoint: a failed insert leaves no broken transaction
                    _record_error(request, response)
            except Exception:  # the recorder must never turn an answer into a 500
                logger.exception("sandbox: could not record the API error of %s %s",
                                 request.method, safe_text(request.path_info)[:200])
        return response


def safe_text(text: str) -> str:
    """`text` storable in PostgreSQL text/jsonb: NUL and lone surrogates as visible escapes."""
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def safe_json(value: Any) -> Any:
    """Every key and string of a JSON value through `safe_text` (iterative: no recursion limit)."""
    if isinstance(value, str):
        return safe_text(value)
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, child in pairs:
            if isinstance(child, (dict, list)):
                copy: Any = {} if isinstance(child, dict) else []
                stack.append((child, copy))
            else:
                copy = safe_text(child) if isinstance(child, str) else child
            if isinstance(target, dict):
                target[safe_text(str(key))] = copy
            else:
                target.append(copy)
    return root


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
        token = Token.objects.select_related("user").filter(key=auth[1]).first()
        if token is not None:
            return token.user
    return None


def _record_error(request: HttpRequest, response: HttpResponse) -> None:
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
    record = ApiErrorRecord.objects.create(
        user=user, username=safe_text(user.get_username()), method=safe_text(request.method or "")[:10],
        path=safe_text(request.path_info)[:500], status=response.status_code, code=safe_text(code)[:64],
        errors=safe_json(errors), local_reference=safe_text(reference or "")[:64], created_at=clock.now())
    # Bounded per user: keep the newest N rows (ids grow with time), drop the rest.
    keep = int(getattr(settings, "SANDBOX_API_ERROR_RECORDS_PER_USER", 500))
    cutoff = (ApiErrorRecord.objects.filter(user=user, pk__lte=record.pk).order_by("-pk")
              .values_list("pk", flat=True)[keep:keep + 1])
    oldest_kept = list(cutoff)
    if oldest_kept:
        ApiErrorRecord.objects.filter(user=user, pk__lte=oldest_kept[0]).delete()
