from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound, ValidationFailed, error
from core.serializers import RenderedSerializer
from traders.selectors import agent_for_user

from .selectors import notifications_for_agent

FEED_LIMIT_MAX = 500


class NotificationOutputSerializer(RenderedSerializer):
    """A notification for the agent firm."""

    seq = serializers.IntegerField()
    id = serializers.UUIDField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    payload = serializers.JSONField()
    declaration_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the pull feed: the notifications after a cursor and where to go on from."""

    next: str | None
    previous: str | None
    last_seq: int
    results: list[Any]


class NotificationFeedSerializer(RenderedSerializer):
    """A page of the pull feed, oldest first, and the cursor to go on from."""

    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    last_seq = serializers.IntegerField()
    results = NotificationOutputSerializer(many=True)


class NotificationFeedApi(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="Pull feed of the agent's notifications, oldest first, after a cursor",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="Return notifications with seq > after"),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"At most this many (<= {FEED_LIMIT_MAX})"),
        ],
        responses={200: NotificationFeedSerializer},
    )
    def get(self, request: Request) -> Response:
        agent = agent_for_user(request.user)
        if agent is None:
            raise NotFound(detail="This user is not a member of a clearing agent firm.")
        problems = []
        values: dict[str, int] = {}
        for name, default in (("after", 0), ("limit", 100)):
            raw = request.query_params.get(name)
            try:
                values[name] = default if raw is None else int(raw)
                if values[name] < 0:
                    raise ValueError
            except ValueError:
                problems.append(error("invalid", f"{name} must be a non-negative integer.", f"?{name}"))
        if problems:
            raise ValidationFailed(errors=problems)
        limit = min(values["limit"] or 100, FEED_LIMIT_MAX)
        rows = list(notifications_for_agent(agent=agent, after=values["after"])[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
        last_seq = rows[-1].seq if rows else values["after"]
        base = request.build_absolute_uri(request.path)
        return Response(NotificationFeedSerializer.render(FeedPage(
            next=f"{base}?after={last_seq}&limit={limit}" if has_more else None,
            previous=None,
            last_seq=last_seq,
            results=rows,
        )))
