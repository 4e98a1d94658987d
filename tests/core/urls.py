"""A test-only URLconf exercising the API plumbing with tiny views."""

import threading
from typing import Any

from django.urls import include, path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import Conflict, PermissionDeniedError
from core.serializers import StrictSerializer, StrictSerializerMixin

# Tests set these to hold a request "in flight".
gate: dict[str, Any] = {"entered": threading.Event(), "release": threading.Event(), "calls": 0}


class _Item(StrictSerializerMixin, serializers.Serializer):
    hs_code = serializers.RegexField(r"^\d{4}\.\d{2}\.\d{2}$")
    packages = serializers.IntegerField(min_value=1)


class _Body(StrictSerializer):
    name = serializers.CharField(max_length=10)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    items = _Item(many=True)


class EchoApi(APIView):
    def post(self, request: Request) -> Response:
        body = _Body(data=request.data)
        body.is_valid(raise_exception=True)
        gate["calls"] += 1
        return Response({"call": gate["calls"], "name": body.validated_data["name"]}, status=201)


class SlowApi(APIView):
    def post(self, request: Request) -> Response:
        gate["calls"] += 1
        gate["entered"].set()
        gate["release"].wait(timeout=10)
        return Response({"call": gate["calls"]}, status=201)


class ForbiddenApi(APIView):
    def get(self, request: Request) -> Response:
        raise PermissionDeniedError()


class ConflictApi(APIView):
    def get(self, request: Request) -> Response:
        raise Conflict(code="illegal_transition", detail="Cannot go from released to draft.")


class BoomApi(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("secret internals: password=hunter2")


class FailingPostApi(APIView):
    def post(self, request: Request) -> Response:
        gate["calls"] += 1
        raise RuntimeError("transient")


test_api = [
    path("echo", EchoApi.as_view()),
    path("slow", SlowApi.as_view()),
    path("forbidden", ForbiddenApi.as_view()),
    path("conflict", ConflictApi.as_view()),
    path("boom", BoomApi.as_view()),
    path("failing", FailingPostApi.as_view()),
]

urlpatterns = [
    path("api/v1/", include("core.urls")),
    path("api/v1/test/", include(test_api)),
]

handler404 = "config.urls.handler404"
handler500 = "config.urls.handler500"
