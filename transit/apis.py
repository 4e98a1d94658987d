"""REST API of transit: e-seal event intake (tracking system), partner-state messages (signed),
agents' movements and bonds, the officer queue. Views parse, call one service, render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import PermissionDeniedError, ValidationFailed, error
from core.pagination import StandardPagination
from core.serializers import StrictSerializer
from traders.selectors import agent_for_user

from . import selectors, services
from .enums import AlertStatus, MovementStatus
from .serializers import (
    BondDemandOutSerializer,
    PartnerMessageInSerializer,
    PartnerMessageOutSerializer,
    RegionalBondOutSerializer,
    TrackingEventInSerializer,
    TrackingEventOutSerializer,
    TransitAlertOutSerializer,
    TransitMovementOutSerializer,
    TransitQueueSerializer,
)
from .signing import PARTNER_HEADER, SIGNATURE_HEADER

TAGS = ["transit"]
_problem = OpenApiResponse(description="application/problem+json")


class IsTrackingSystem(BasePermission):
    """The cargo tracking system's client: a user in TRANSIT_TRACKING_GROUP (agents are refused)."""

    message = "Only the cargo tracking system may post e-seal events."
    code = "not_tracking_system"

    def has_permission(self, request: Request, view: Any) -> bool:
        from django.conf import settings

        user = request.user
        return bool(user and user.is_authenticated
                    and user.groups.filter(name=settings.TRANSIT_TRACKING_GROUP).exists())


class IsCustomsStaff(BasePermission):
    """Transit officers, supervisors and trainers (officers app groups): `transit.view_transitmovement`."""

    message = "Only customs officers of the transit workspace may read the transit queue."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff
                    and user.has_perm("transit.view_transitmovement"))


def _agent(request: Request) -> Any:
    agent = agent_for_user(request.user)
    if agent is None:
        raise PermissionDeniedError(detail="Only clearing-agent staff can read transit movements.",
                                    code="not_an_agent")
    return agent


class TrackingEventApi(APIView):
    permission_classes = [IsTrackingSystem]

    @extend_schema(
        tags=TAGS, summary="Post one RECTS e-seal event (tracking system only; idempotent by event_id)",
        request=TrackingEventInSerializer,
        responses={201: TrackingEventOutSerializer,
                   200: OpenApiResponse(TrackingEventOutSerializer, description="Duplicate: the stored result"),
                   400: _problem, 401: _problem, 403: _problem, 409: _problem},
    )
    def post(self, request: Request) -> Response:
        data = TrackingEventInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        location = v.get("location") or {}
        outcome = services.tracking_event_record(
            event_id=v["event_id"], seal_number=v["seal_number"], kind=v["kind"], occurred_at=v["occurred_at"],
            location_name=location.get("name", ""), latitude=location.get("latitude"),
            longitude=location.get("longitude"), battery_percent=v.get("battery_percent"),
            details=v.get("details") or {}, actor=request.user,
        )
        return Response(TrackingEventOutSerializer.render(outcome), status=201 if outcome.created else 200)


class PartnerMessageApi(APIView):
    """System-to-system: a partner state's customs posts a signed confirmation (no token; the
    signature is the authentication, see docs/transit.md)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS, summary="Inbound partner-state message (exit/arrival confirmation, rejection), signed",
        auth=[],
        parameters=[OpenApiParameter(PARTNER_HEADER, str, OpenApiParameter.HEADER, required=True),
                    OpenApiParameter(SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True)],
        request=PartnerMessageInSerializer,
        responses={201: PartnerMessageOutSerializer,
                   200: OpenApiResponse(PartnerMessageOutSerializer, description="Duplicate: the stored result"),
                   400: _problem, 401: _problem, 403: _problem, 409: _problem},
    )
    def post(self, request: Request) -> Response:
        outcome = services.partner_message_receive(
            partner_code=request.headers.get(PARTNER_HEADER), signature=request.headers.get(SIGNATURE_HEADER),
            body=request.body)
        return Response(PartnerMessageOutSerializer.render(outcome), status=201 if outcome.created else 200)


class MovementListApi(APIView):
    @extend_schema(tags=TAGS, operation_id="v1_transit_movements_list", summary="The agent's transit movements",
                   parameters=[OpenApiParameter("status", str, enum=MovementStatus.values)],
                   responses={200: inline_serializer("TransitMovementPage", fields={
                       "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
                       "previous": serializers.URLField(allow_null=True),
                       "results": TransitMovementOutSerializer(many=True)}), 400: _problem,
                              403: _problem})
    def get(self, request: Request) -> Response:
        agent = _agent(request)
        status = request.query_params.get("status")
        if status and status not in MovementStatus.values:
            raise ValidationFailed(errors=[error("invalid_choice", f"Unknown status {status!r}.", "?status")])
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.movements_for_agent(agent=agent, status=status), request,
                                           view=self)
        return paginator.get_paginated_response([TransitMovementOutSerializer.render(m) for m in page or []])


class MovementDetailApi(APIView):
    @extend_schema(tags=TAGS, summary="One transit movement of the agent (status, position, bond)",
                   responses={200: TransitMovementOutSerializer, 403: _problem, 404: _problem})
    def get(self, request: Request, movement_id: Any) -> Response:
        movement = selectors.movement_get_for_agent(agent=_agent(request), movement_id=movement_id)
        return Response(TransitMovementOutSerializer.render(movement))


class BondListApi(APIView):
    @extend_schema(tags=TAGS, summary="Regional bonds of the agent and its traders, with free balance",
                   responses={200: inline_serializer("RegionalBondPage", fields={
                       "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
                       "previous": serializers.URLField(allow_null=True),
                       "results": RegionalBondOutSerializer(many=True)}),
                       403: _problem})
    def get(self, request: Request) -> Response:
        agent = _agent(request)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.bonds_for_agent(agent=agent), request, view=self)
        return paginator.get_paginated_response([RegionalBondOutSerializer.render(b) for b in page or []])


class OfficerQueueApi(APIView):
    permission_classes = [IsCustomsStaff]

    @extend_schema(tags=TAGS, summary="Officer queue: live transit movements with last position and age",
                   parameters=[OpenApiParameter("status", str), OpenApiParameter("office_of_exit", str),
                               OpenApiParameter("alerts_only", bool)],
                   responses={200: TransitQueueSerializer, 403: _problem})
    def get(self, request: Request) -> Response:
        params = request.query_params
        rows = selectors.transit_officer_queue(status=params.get("status") or None,
                                               office_of_exit=params.get("office_of_exit") or None,
                                               alerts_only=params.get("alerts_only") in ("1", "true"))
        return Response(TransitQueueSerializer.render({"results": rows}))


# --- officer actions (the same services as the admin workspace; rights from the officers groups) ---


def _officer_permission(codename: str, label: str) -> type[BasePermission]:
    class HasTransitPermission(BasePermission):
        message = f"Only officers who may {label} can do this."

        def has_permission(self, request: Request, view: Any) -> bool:
            return _officer_may(request, codename)

    HasTransitPermission.__name__ = f"Can{codename.title().replace('_', '')}"
    return HasTransitPermission


def _officer_may(request: Request, codename: str) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_staff and user.has_perm(f"transit.{codename}"))


def _require(request: Request, codename: str, label: str) -> None:
    """Checked in the handler (not as a permission class) so an unsupported method is still a 405."""
    if not _officer_may(request, codename):
        raise PermissionDeniedError(detail=f"Only officers who may {label} can do this.",
                                    code="not_permitted")


CanViewAlerts = _officer_permission("view_transitalert", "read transit alerts")


_OFFICER_PROBLEMS = {401: _problem, 403: _problem, 404: _problem, 409: _problem}


class ReasonInSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Recorded in the movement's history")


class NoteInSerializer(StrictSerializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AlertListApi(APIView):
    permission_classes = [CanViewAlerts]

    @extend_schema(tags=TAGS, summary="Officer: transit alerts (live ones by default)",
                   parameters=[OpenApiParameter("status", str, enum=["live", "open", "acknowledged",
                                                                     "investigating", "resolved"])],
                   responses={200: inline_serializer("TransitAlertPage", fields={
                       "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
                       "previous": serializers.URLField(allow_null=True),
                       "results": TransitAlertOutSerializer(many=True)}), 400: _problem, 401: _problem, 403: _problem})
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status") or "live"
        if status != "live" and status not in AlertStatus.values:
            raise ValidationFailed(errors=[error("invalid_choice", f"Unknown status {status!r}.", "?status")])
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.alerts_for_officers(status=status), request, view=self)
        return paginator.get_paginated_response([TransitAlertOutSerializer.render(a) for a in page or []])


class _AlertActionApi(APIView):
    def _check(self, request: Request) -> None:
        _require(request, "work_alert", "work transit alerts")

    def _done(self, alert: Any) -> Response:
        return Response(TransitAlertOutSerializer.render(selectors.alert_get(alert_id=alert.pk)))


class AlertAcknowledgeApi(_AlertActionApi):
    @extend_schema(tags=TAGS, summary="Officer: acknowledge a transit alert (it is assigned to you)", request=None,
                   responses={200: TransitAlertOutSerializer, **_OFFICER_PROBLEMS})
    def post(self, request: Request, alert_id: Any) -> Response:
        self._check(request)
        return self._done(services.alert_acknowledge(alert_id=alert_id, actor=request.user))


class AlertInvestigateApi(_AlertActionApi):
    @extend_schema(tags=TAGS, summary="Officer: a transit alert is under investigation", request=NoteInSerializer,
                   responses={200: TransitAlertOutSerializer, 400: _problem, **_OFFICER_PROBLEMS})
    def post(self, request: Request, alert_id: Any) -> Response:
        self._check(request)
        data = NoteInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._done(services.alert_investigate(alert_id=alert_id, actor=request.user,
                                                     note=data.validated_data["note"]))


class AlertResolveApi(_AlertActionApi):
    @extend_schema(tags=TAGS, summary="Officer: resolve a transit alert with the reason (may close the movement)",
                   request=ReasonInSerializer,
                   responses={200: TransitAlertOutSerializer, 400: _problem, **_OFFICER_PROBLEMS})
    def post(self, request: Request, alert_id: Any) -> Response:
        self._check(request)
        data = ReasonInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._done(services.alert_resolve(alert_id=alert_id, resolution=data.validated_data["reason"],
                                                 actor=request.user))


class MovementExitOverrideApi(APIView):
    @extend_schema(tags=TAGS, summary="Officer: accept the exit with e-seals not reported at the exit post (reason)",
                   request=ReasonInSerializer,
                   responses={200: TransitMovementOutSerializer, 400: _problem, 401: _problem, 403: _problem,
                              404: _problem, 409: _problem})
    def post(self, request: Request, movement_id: Any) -> Response:
        _require(request, "override_exit", "accept a transit exit")
        data = ReasonInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = services.transit_seals_override(movement_id=movement_id, reason=data.validated_data["reason"],
                                                   actor=request.user)
        return Response(TransitMovementOutSerializer.render(movement))


class MovementDemandApi(APIView):
    @extend_schema(tags=TAGS, summary="Supervisor: the movement failed; demand the secured amount on the bond",
                   request=ReasonInSerializer,
                   responses={200: BondDemandOutSerializer, 400: _problem, 401: _problem, 403: _problem,
                              404: _problem, 409: _problem})
    def post(self, request: Request, movement_id: Any) -> Response:
        _require(request, "demand_bond", "demand on a regional bond")
        data = ReasonInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.bond_demand(movement_id=movement_id, reason=data.validated_data["reason"],
                                     actor=request.user)
        return Response(BondDemandOutSerializer.render(entry))
