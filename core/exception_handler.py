"""DRF exception handler rendering every error as RFC 9457 problem+json.

Stable codes: DRF's own error codes are kept (`required`, `invalid`, `not_authenticated`, ...);
serializer errors are flattened into `errors` with JSON pointers into the request body.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .exceptions import ApplicationError
from .problems import PROBLEM_CONTENT_TYPE, join_pointer, problem_body

logger = logging.getLogger("forodha.api")

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Content too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def flatten_errors(detail: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    """Turn DRF's nested error structure into a flat list with JSON pointers."""
    out: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                out.extend(flatten_errors(value, path))
            else:
                out.extend(flatten_errors(value, (*path, key)))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                # A list of dicts is a list of nested objects (many=True): index into it.
                # Empty dicts mean "no error for this element".
                if value:
                    out.extend(flatten_errors(value, (*path, index)))
            else:
                out.extend(flatten_errors(value, path))
    else:
        code = getattr(detail, "code", None) or "invalid"
        out.append({"code": str(code), "detail": str(detail), "pointer": join_pointer(*path)})
    return out


def _problem(status: int, code: str, detail: str, errors: list[dict[str, str]] | None = None,
             extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    body = problem_body(
        status=status, title=_TITLES.get(status, "Error"), detail=detail, code=code,
        errors=errors or [], extra=extra,
    )
    response = Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    set_rollback()
    if isinstance(exc, ApplicationError):
        body = problem_body(
            status=exc.status, title=exc.title, detail=exc.detail, code=exc.code,
            errors=[e.as_dict() for e in exc.errors], extra=exc.extra,
        )
        return Response(body, status=exc.status, headers=exc.headers or None,
                        content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        return _problem(404, "not_found", "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return _problem(403, "permission_denied", "You do not have permission to perform this action.")
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        return _problem(400, "validation_error", "The request has validation errors.", errors)
    if isinstance(exc, drf_exceptions.APIException):
        headers: dict[str, str] = {}
        if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
            authenticator = context["request"].authenticators[0] if context.get("request") else None
            if authenticator is not None and hasattr(authenticator, "authenticate_header"):
                header = authenticator.authenticate_header(context["request"])
                if header:
                    headers["WWW-Authenticate"] = header
                    exc.status_code = 401
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
        detail = exc.detail
        code = exc.default_code if not hasattr(detail, "code") else str(getattr(detail, "code", ""))
        if isinstance(detail, (dict, list)):
            return _problem(exc.status_code, exc.default_code, str(exc.default_detail),
                            flatten_errors(detail), headers=headers)
        return _problem(exc.status_code, code or exc.default_code, str(detail), headers=headers)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away (restart, failover): tell the client to retry, do not leak details.
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return _problem(503, "database_unavailable",
                        "The database is temporarily unavailable; retry shortly.",
                        headers={"Retry-After": "5"})
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return _problem(500, "server_error", "An unexpected error occurred. It has been logged.")
    logger.exception("unhandled exception in API view", exc_info=exc)
    return _problem(500, "server_error", "An unexpected error occurred. It has been logged.")
