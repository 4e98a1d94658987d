"""`POST/GET /api/v1/webhooks`, `GET/DELETE /api/v1/webhooks/{id}`, `POST .../enable`,
`GET .../deliveries`: an agent firm's push subscriptions. Another firm's subscription is 404,
never 403."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound
from core.pagination import StandardPagination
from core.serializers import StrictSerializer
from traders.selectors import agent_for_user

from ..enums import NotificationKind
from .models import WebhookDelivery, WebhookSubscription, WebhookSubscriptionStatus
from .services import (
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_enable,
    webhook_subscription_of,
)

_problem = OpenApiResponse(description="application/problem+json")


def _agent(request: Request) -> Any:
    agent = agent_for_user(request.user)
    if agent is None:
        raise NotFound(detail="This user is not a member of a clearing agent firm.", code="not_an_agent")
    return agent


class WebhookCreateInputSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices), required=False, default=list
    )
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField()
    kinds = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    active = serializers.BooleanField(help_text="False while suspended by the circuit breaker.")
    status = serializers.ChoiceField(choices=WebhookSubscriptionStatus.choices)
    consecutive_failures = serializers.IntegerField()
    retry_not_before = serializers.DateTimeField(allow_null=True, help_text="The endpoint is backing off until then.")
    suspended_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookCreatedOutputSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="HMAC-SHA256 key; shown only in this response.")


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    notification_id = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def _page(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(
        name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
        },
    )


class WebhookListCreateApi(APIView):
    @extend_schema(
        tags=["notifications"],
        operation_id="webhooks_create",
        summary="Subscribe a URL to push notifications (signed with HMAC-SHA256)",
        request=WebhookCreateInputSerializer,
        responses={201: WebhookCreatedOutputSerializer, 400: _problem, 409: _problem},
    )
    def post(self, request: Request) -> Response:
        agent = _agent(request)
        serializer = WebhookCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(agent=agent, **serializer.validated_data, actor=request.user)
        return Response(WebhookCreatedOutputSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["notifications"],
        operation_id="webhooks_list",
        summary="The agent firm's webhook subscriptions",
        responses={200: _page("WebhookSubscriptionPage", WebhookOutputSerializer(many=True))},
    )
    def get(self, request: Request) -> Response:
        agent = _agent(request)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            WebhookSubscription.objects.filter(agent=agent).order_by("created_at", "id"), request, view=self
        )
        return paginator.get_paginated_response(WebhookOutputSerializer(page, many=True).data)


class WebhookDetailApi(APIView):
    @extend_schema(
        tags=["notifications"],
        operation_id="webhooks_retrieve",
        summary="One webhook subscription",
        responses={200: WebhookOutputSerializer, 404: _problem},
    )
    def get(self, request: Request, subscription_id: Any) -> Response:
        subscription = webhook_subscription_of(agent=_agent(request), subscription_id=subscription_id)
        return Response(WebhookOutputSerializer(subscription).data)

    @extend_schema(
        tags=["notifications"],
        operation_id="webhooks_destroy",
        summary="Delete a webhook subscription",
        responses={204: None, 404: _problem},
    )
    def delete(self, request: Request, subscription_id: Any) -> Response:
        webhook_subscription_delete(agent=_agent(request), subscription_id=subscription_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesApi(APIView):
    @extend_schema(
        tags=["notifications"],
        operation_id="webhooks_deliveries_list",
        summary="Delivery log of a webhook subscription (newest first)",
        responses={200: _page("WebhookDeliveryPage", WebhookDeliveryOutputSerializer(many=True)), 404: _problem},
    )
    def get(self, request: Request, subscription_id: Any) -> Response:
        subscription = webhook_subscription_of(agent=_agent(request), subscription_id=subscription_id)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            WebhookDelivery.objects.filter(subscription=subscription).order_by("-created_at", "-id"), request, view=self
        )
        return paginator.get_paginated_response(WebhookDeliveryOutputSerializer(page, many=True).data)


class WebhookEnableApi(APIView):
    @extend_schema(
        tags=["notifications"],
        operation_id="webhooks_enable",
        summary="Re-enable a subscription suspended by the circuit breaker (parked deliveries are resent)",
        request=None,
        responses={200: WebhookOutputSerializer, 404: _problem, 409: _problem},
    )
    def post(self, request: Request, subscription_id: Any) -> Response:
        subscription = webhook_subscription_enable(agent=_agent(request), subscription_id=subscription_id,
                                                   actor=request.user)
        return Response(WebhookOutputSerializer(subscription).data)
