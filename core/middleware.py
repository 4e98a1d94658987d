"""Cross-cutting HTTP middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .problems import problem_response


class RequestBodyLimitMiddleware:
    """Refuse oversized bodies with 413 problem+json before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.FORODHA_MAX_BODY_BYTES
        if length > limit:
            return problem_response(
                status=413, title="Content too large", code="request_too_large",
                detail=f"The request body is {length} bytes; the limit is {limit} bytes.",
                errors=[{"code": "request_too_large", "detail": "Body too large.", "pointer": ""}],
            )
        return self.get_response(request)
