"""GET /api/v1/traders/{pin}: a trader and its AEO status, for the agents it authorised."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock
from core.exceptions import NotFound, ValidationFailed, error
from core.openapi import answer_example, parameter_examples, problem, problem_example
from traders.models import AEOProfile, Trader
from traders.selectors import aeo_in_force, agent_for_user, trader_get, trader_get_for_agent
from traders.validators import KraPinValidator, is_valid_kra_pin


class AEOOutputSerializer(serializers.Serializer):
    tier = serializers.CharField()
    status = serializers.CharField()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    effective = serializers.BooleanField(help_text="Active and within its validity today")
    automatic_release = serializers.BooleanField()
    reduced_inspection = serializers.BooleanField()
    pre_arrival_clearance = serializers.BooleanField()
    priority = serializers.BooleanField()


class TraderOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    pin = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    status = serializers.CharField()
    aeo = AEOOutputSerializer(allow_null=True)


def trader_output(trader: Trader) -> dict[str, Any]:
    try:
        profile: AEOProfile | None = trader.aeo
    except AEOProfile.DoesNotExist:
        profile = None
    aeo = None
    if profile is not None:
        aeo = {
            "tier": profile.tier,
            "status": profile.status,
            "valid_from": profile.valid_from,
            "valid_to": profile.valid_to,
            "effective": aeo_in_force(profile, clock.today()),
            "automatic_release": profile.automatic_release,
            "reduced_inspection": profile.reduced_inspection,
            "pre_arrival_clearance": profile.pre_arrival_clearance,
            "priority": profile.priority,
        }
    return TraderOutputSerializer(
        {
            "id": trader.id,
            "pin": trader.pin,
            "name": trader.name,
            "address": trader.address,
            "email": trader.email,
            "phone": trader.phone,
            "status": trader.status,
            "aeo": aeo,
        }
    ).data


class TraderDetailApi(APIView):
    @extend_schema(
        tags=["traders"],
        summary="A trader (by KRA PIN) and its AEO status",
        description=(
            "Agents see only traders that authorised them (authorisation valid today); any other PIN "
            "is 404. Customs officers (staff users) see every trader. A malformed PIN is 400 "
            "`invalid_kra_pin` (pointer `/pin`: the path parameter)."
        ),
        # Examples: traders of the demo world (`sandbox seed --scenario demo --seed 42`) as its first agent.
        parameters=[OpenApiParameter("pin", str, OpenApiParameter.PATH, examples=parameter_examples({
            "the importer": "P093015838Y", "someone else's": "P093031676W", "malformed": "P0123"}))],
        responses={
            200: OpenApiResponse(TraderOutputSerializer, examples=[answer_example(
                "the importer", 200, {"pin": "P093015838Y", "status": "active", "aeo": None})]),
            400: problem(problem_example("malformed", 400, "invalid_kra_pin", "The KRA PIN is malformed.",
                                         errors=[("invalid_kra_pin", "/pin")])),
            404: problem(problem_example("someone else's", 404, "trader_not_found",
                                         "No trader with PIN 'P093031676W' that this agent is authorised to act "
                                         "for.", description="A trader of the other demo firm: 404, never 403.")),
        },
    )
    def get(self, request: Request, pin: str) -> Response:
        if not is_valid_kra_pin(pin):
            raise ValidationFailed(
                detail="The KRA PIN is malformed.",
                code="invalid_kra_pin",
                errors=[error("invalid_kra_pin", KraPinValidator.message, "/pin")],
            )
        agent = agent_for_user(request.user)
        if agent is not None:
            trader = trader_get_for_agent(agent=agent, pin=pin)
        elif request.user.is_staff:
            found = trader_get(pin)
            if found is None:
                raise NotFound(detail=f"No trader with PIN {pin}.", code="trader_not_found")
            trader = found
        else:
            raise NotFound(detail=f"No trader with PIN {pin} for this client.", code="trader_not_found")
        return Response(trader_output(trader))
