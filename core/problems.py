"""RFC 9457 problem documents and JSON pointers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_type(code: str) -> str:
    # A URN is a valid type URI that does not pretend to be a dereferenceable page.
    return f"urn:forodha:problem:{code}"


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(*tokens: str | int) -> str:
    return "".join("/" + escape_pointer_token(t) for t in tokens)


def problem_body(
    *,
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: Iterable[Mapping[str, str]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [dict(e) for e in errors],
    }
    if extra:
        body.update(extra)
    return body


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: Iterable[Mapping[str, str]] = (),
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """A plain Django response (for middleware and non-DRF views)."""
    body = problem_body(status=status, title=title, detail=detail, code=code, errors=errors, extra=extra)
    response = HttpResponse(json.dumps(body, default=str), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
