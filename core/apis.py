"""Health endpoints and problem+json fallbacks for non-DRF errors under /api/."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import celery_app
from .problems import problem_body, problem_response

_health_schema = inline_serializer(
    "Health", fields={"status": serializers.CharField(), "checks": serializers.DictField()}
)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return exc.__class__.__name__
    return None


def check_broker() -> str | None:
    try:
        with celery_app.app().connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
    except Exception as exc:
        return exc.__class__.__name__
    return None


class HealthLiveApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    schema_never_unavailable = True  # no database, exempt from windows: always 200 (core.openapi)

    @extend_schema(responses={200: _health_schema}, tags=["health"], summary="Liveness")
    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "checks": {}})


class HealthReadyApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(responses={200: _health_schema, 503: _health_schema}, tags=["health"],
                   summary="Readiness: database and broker reachable")
    def get(self, request: Request) -> Response:
        failures = {name: err for name, err in (("database", check_database()), ("broker", check_broker()))
                    if err}
        checks = {name: ("fail: " + failures[name]) if name in failures else "ok"
                  for name in ("database", "broker")}
        if failures:
            body = problem_body(
                status=503, title="Service unavailable", code="not_ready",
                detail="Dependencies unavailable: " + ", ".join(sorted(failures)),
                errors=[{"code": f"{name}_unavailable", "detail": err, "pointer": ""}
                        for name, err in sorted(failures.items())],
                extra={"checks": checks},
            )
            return Response(body, status=503, content_type="application/problem+json",
                            headers={"Retry-After": "5"})
        return Response({"status": "ok", "checks": checks})


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(status=404, title="Not found", code="not_found",
                            detail=f"No resource at {request.path}.")


def api_server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(status=500, title="Internal server error", code="server_error",
                            detail="An unexpected error occurred. It has been logged.")
