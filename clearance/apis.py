"""REST API of clearance: terminals' gate events; and the agent's answer to an officer's query. Views
parse, call one service, render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import PermissionDeniedError, ValidationFailed, error
from core.serializers import StrictSerializer
from declarations.serializers import reject_control_characters
from manifests.selectors import terminal_for_user
from traders.selectors import agent_for_user

from . import services
from .models import GateEvent
from .selectors import agent_queries

_problem = OpenApiResponse(description="application/problem+json")


class GateEventInSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=GateEvent.Kind.choices)
    entry_number = serializers.RegexField(r"^[0-9]{2}[A-Z]{3}[A-Z]{2}[0-9][0-9]{8}$", required=False)
    container = serializers.RegexField(r"^[A-Z]{4}[0-9]{7}$", required=False, help_text="ISO 6346")
    occurred_at = serializers.DateTimeField(required=False, help_text="Default: now")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("entry_number") and not attrs.get("container"):
            raise ValidationFailed(errors=[error("required", "Give entry_number or container.", "/entry_number")])
        return attrs


class GateEventOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    declaration_id = serializers.UUIDField()
    entry_number = serializers.CharField(source="declaration.entry_number")
    status = serializers.CharField(source="declaration.status")
    terminal = serializers.CharField(source="terminal.code")
    container = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField(source="created_at")


class GateEventCreateApi(APIView):
    @extend_schema(
        tags=["terminals"], summary="A terminal reports released goods leaving: gate_out (imports) or "
                                    "loaded_on_board (exports)",
        description="Terminal operator staff only (403 `not_a_terminal`). 409 `not_released` before release; "
                    "idempotent afterwards: a repeated report answers 200 with the first event. Message shape "
                    "and mapping: docs/clearance.md, \"Gate events\".",
        request=GateEventInSerializer,
        responses={201: GateEventOutSerializer, 200: GateEventOutSerializer, 400: _problem, 403: _problem,
                   404: _problem, 409: _problem},
    )
    def post(self, request: Request) -> Response:
        terminal = terminal_for_user(request.user)
        if terminal is None:
            raise PermissionDeniedError(detail="Only terminal operator staff report gate events.",
                                        code="not_a_terminal")
        data = GateEventInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event, created = services.gate_event_record(
            terminal=terminal, kind=v["kind"], entry_number=v.get("entry_number"), container=v.get("container"),
            occurred_at=v.get("occurred_at"), actor=request.user)
        event.declaration.refresh_from_db(fields=["status", "entry_number"])
        return Response(GateEventOutSerializer(event).data, status=201 if created else 200)


# ------------------------------------------------------------------------------------------------
# Queries: the conversation between the officer and the agent


class QueryResponseInSerializer(StrictSerializer):
    message = serializers.CharField(max_length=4000)
    documents = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=50,
                                      help_text="Ids of documents uploaded to this declaration "
                                                "(POST /api/v1/declarations/{id}/documents)")

    def validate_message(self, value: str) -> str:
        # Line breaks are fine in a letter; other control characters are not.
        reject_control_characters(value.replace("\n", " ").replace("\r", " ").replace("\t", " "))
        return value


class QueryOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    documents_required = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
    asked_at = serializers.DateTimeField()
    answer_message = serializers.CharField()
    answer_documents = serializers.SerializerMethodField()
    answered_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_answer_documents(self, query: Any) -> list[str]:
        return sorted(str(d.pk) for d in query.answer_documents.all())


def _agent(request: Request) -> Any:
    agent = agent_for_user(request.user)
    if agent is None:
        raise PermissionDeniedError(detail="Only clearing-agent staff can use declarations.", code="not_an_agent")
    return agent


class DeclarationQueriesApi(APIView):
    @extend_schema(tags=["declarations"], summary="The queries on a declaration and their answers",
                   responses={200: QueryOutSerializer(many=True), 404: _problem})
    def get(self, request: Request, declaration_id: Any) -> Response:
        queries = agent_queries(declaration_id=declaration_id, agent=_agent(request))
        return Response(QueryOutSerializer(queries, many=True).data)


class QueryResponseCreateApi(APIView):
    @extend_schema(
        tags=["declarations"], summary="Answer the officer's query (message + uploaded documents, no fee)",
        description="Only while the declaration is `queried` (else 409 `not_queried`). The declaration goes "
                    "back under control to the officer; the SLA clock, stopped while the query waited, restarts.",
        request=QueryResponseInSerializer,
        responses={201: QueryOutSerializer, 400: _problem, 404: _problem, 409: _problem},
    )
    def post(self, request: Request, declaration_id: Any) -> Response:
        agent = _agent(request)
        data = QueryResponseInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        query = services.query_answer(declaration_id=declaration_id, agent=agent,
                                      message=data.validated_data["message"],
                                      document_ids=data.validated_data["documents"], actor=request.user)
        return Response(QueryOutSerializer(query).data, status=201)
