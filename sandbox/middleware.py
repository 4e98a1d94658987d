"""Make a sandbox unmistakable: every response says so, with the (possibly moved) clock."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core import clock


class SandboxHeaderMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.FORODHA_SANDBOX:
            response["Forodha-Sandbox"] = "true"
            response["Forodha-Sandbox-Clock"] = timezone.localtime(clock.now()).isoformat(timespec="seconds")
        return response
