"""REST endpoints for manifests and bills of lading (API.md). Parse, call one service, render."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import PermissionDeniedError, ValidationFailed
from core.openapi import answer_example, answers, condition_answers, parameter_examples, problem, problem_example
from core.pagination import StandardPagination
from manifests import selectors, services
from manifests.edifact.cuscar import CuscarError, map_cuscar
from manifests.enums import ManifestStatus
from manifests.models import Carrier, Manifest
from manifests.parsers import EdifactParser
from manifests.serializers import (
    ArrivalSerializer,
    BillLookupSerializer,
    DischargeSerializer,
    ManifestHistorySerializer,
    ManifestInSerializer,
    ManifestOutSerializer,
    ManifestPatchSerializer,
    ManifestSummarySerializer,
    ManifestVersionSerializer,
    manifest_input,
    manifest_patch,
)

PROBLEM = problem()
ETAG_HEADER = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                               description="The ETag of the manifest as read (412 if stale, 428 if missing)")


def _carrier_or_403(request: Request) -> Carrier:
    carrier = selectors.carrier_for_user(request.user)
    if carrier is None:
        raise PermissionDeniedError(detail="Only carrier staff may lodge manifests.", code="not_a_carrier")
    return carrier


def _render(manifest: Manifest, *, status_code: int = 200) -> Response:
    manifest = selectors.manifests_visible_to_all().get(pk=manifest.pk)
    data = ManifestOutSerializer(manifest, context={"bills": selectors.manifest_bills(manifest)}).data
    response = Response(data, status=status_code)
    response["ETag"] = services.manifest_etag(manifest)
    if status_code == status.HTTP_201_CREATED:
        response["Location"] = f"/api/v1/manifests/{manifest.pk}"
    return response


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data if data is not None else {})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ManifestListCreateApi(APIView):
    @extend_schema(
        operation_id="manifests_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ManifestStatus.values),
            OpenApiParameter("voyage", OpenApiTypes.STR),
            OpenApiParameter("vessel", OpenApiTypes.STR),
            OpenApiParameter("reference", OpenApiTypes.STR),
        ],
        responses={200: inline_serializer("ManifestPage", fields={
            "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True), "results": ManifestSummarySerializer(many=True)})},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.manifests_visible_to(request.user)
        params = request.query_params
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        if params.get("voyage"):
            qs = qs.filter(voyage_number=params["voyage"])
        if params.get("vessel"):
            qs = qs.filter(vessel_name__icontains=params["vessel"])
        if params.get("reference"):
            qs = qs.filter(reference=params["reference"])
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs.order_by("-created_at", "pk"), request, view=self)
        return paginator.get_paginated_response(ManifestSummarySerializer(page, many=True).data)

    @extend_schema(
        operation_id="manifests_lodge",
        request=ManifestInSerializer,
        responses=answers({201: ManifestOutSerializer, 400: PROBLEM, 403: PROBLEM},
                          condition_answers(lodging=True, examples=False)),
        description="Lodge a manifest (or save a draft with `draft: true`). Late lodging is accepted "
        "and flagged (`late_lodging`).",
    )
    def post(self, request: Request) -> Response:
        carrier = _carrier_or_403(request)
        data = _validated(ManifestInSerializer, request.data)
        manifest = services.manifest_lodge(
            carrier=carrier, data=manifest_input(data), draft=data.get("draft", False), actor=request.user,
        )
        return _render(manifest, status_code=status.HTTP_201_CREATED)


class ManifestEdifactApi(APIView):
    parser_classes = [EdifactParser]

    @extend_schema(
        operation_id="manifests_lodge_edifact",
        request={"application/edifact": OpenApiTypes.STR},
        responses=answers({201: ManifestOutSerializer, 400: PROBLEM, 403: PROBLEM},
                          condition_answers(lodging=True, examples=False)),
        description="Lodge a UN/EDIFACT CUSCAR D95B interchange. Error pointers are `/segment/<n>`, n the "
        "1-based position of the segment in the interchange (UNA not counted).",
    )
    def post(self, request: Request) -> Response:
        carrier = _carrier_or_403(request)
        text = request.data if isinstance(request.data, str) else ""
        try:
            mapped = map_cuscar(text)
        except CuscarError as exc:
            raise ValidationFailed(detail="The CUSCAR interchange is invalid.", code="edifact_invalid",
                                   errors=exc.errors) from exc
        manifest = services.manifest_lodge(
            carrier=carrier, data=mapped.data, actor=request.user, source="edifact",
            pointer=mapped.pointer, extra_errors=mapped.errors,
        )
        return _render(manifest, status_code=status.HTTP_201_CREATED)


class ManifestDetailApi(APIView):
    @extend_schema(operation_id="manifests_read", responses={200: ManifestOutSerializer, 404: PROBLEM})
    def get(self, request: Request, manifest_id: UUID) -> Response:
        return _render(selectors.manifest_get_for_user(user=request.user, manifest_id=manifest_id))

    @extend_schema(
        operation_id="manifests_amend",
        request=ManifestPatchSerializer,
        parameters=[ETAG_HEADER],
        responses={200: ManifestOutSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM, 412: PROBLEM,
                   428: PROBLEM},
        description="Amend (new version, with `reason`). B/Ls are matched by `number` (a new number adds "
        "a B/L; `containers`, when given, replaces the list); `remove_bills_of_lading` removes.",
    )
    def patch(self, request: Request, manifest_id: UUID) -> Response:
        manifest = selectors.manifest_get_for_user(user=request.user, manifest_id=manifest_id)
        data = _validated(ManifestPatchSerializer, request.data)
        manifest = services.manifest_amend(
            manifest_id=manifest.pk, patch=manifest_patch(data), if_match=request.headers.get("If-Match"),
            actor=request.user,
        )
        return _render(manifest)


class ManifestSubmitApi(APIView):
    @extend_schema(operation_id="manifests_submit_draft", request=None,
                   responses={200: ManifestOutSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request: Request, manifest_id: UUID) -> Response:
        manifest = selectors.manifest_get_for_user(user=request.user, manifest_id=manifest_id)
        return _render(services.manifest_submit(manifest_id=manifest.pk, actor=request.user))


class ManifestArrivalApi(APIView):
    @extend_schema(operation_id="manifests_record_arrival", request=ArrivalSerializer,
                   responses={200: ManifestOutSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request: Request, manifest_id: UUID) -> Response:
        manifest = selectors.manifest_get_for_user(user=request.user, manifest_id=manifest_id)
        data = _validated(ArrivalSerializer, request.data)
        return _render(services.manifest_record_arrival(manifest_id=manifest.pk, ata=data.get("ata"),
                                                        actor=request.user))


class ManifestDischargeApi(APIView):
    @extend_schema(operation_id="manifests_record_discharge", request=DischargeSerializer,
                   responses={200: ManifestOutSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request: Request, manifest_id: UUID) -> Response:
        manifest = selectors.manifest_get_for_user(user=request.user, manifest_id=manifest_id)
        data = _validated(DischargeSerializer, request.data)
        return _render(services.manifest_record_discharge(
            manifest_id=manifest.pk, discharged_at=data.get("discharged_at"), actor=request.user))


class ManifestHistoryApi(APIView):
    @extend_schema(operation_id="manifests_history", responses={200: ManifestHistorySerializer, 404: PROBLEM})
    def get(self, request: Request, manifest_id: UUID) -> Response:
        manifest = selectors.manifest_get_for_user(user=request.user, manifest_id=manifest_id)
        data = {"events": selectors.manifest_events(manifest), "versions": selectors.manifest_versions(manifest)}
        return Response(ManifestHistorySerializer(data).data)


class ManifestVersionApi(APIView):
    @extend_schema(operation_id="manifests_version_read", responses={200: ManifestVersionSerializer, 404: PROBLEM})
    def get(self, request: Request, manifest_id: UUID, version: int) -> Response:
        manifest = selectors.manifest_get_for_user(user=request.user, manifest_id=manifest_id)
        row = selectors.manifest_version_get(manifest=manifest, version=version)
        return Response(ManifestVersionSerializer(row).data)


class BillOfLadingApi(APIView):
    @extend_schema(
        operation_id="bills_of_lading_read",
        # Examples: the demo world's (`sandbox seed --scenario demo --seed 42`) B/L not yet declared, as
        # its carrier msc-kenya (the first demo agent, for whose trader it is, sees it too).
        parameters=[OpenApiParameter("number", str, OpenApiParameter.PATH, examples=parameter_examples({
            "the free demo B/L": "SBX00420000001", "unknown": "SBX00429999999"}))],
        responses={
            200: OpenApiResponse(BillLookupSerializer, examples=[answer_example(
                "the free demo B/L", 200, {"number": "SBX00420000001", "consignee_pin": "P093015838Y",
                                           "packages": 389, "package_kind": "CT"})]),
            404: problem(problem_example("unknown", 404, "bl_not_found",
                                         "No bill of lading 'SBX00429999999' visible to you.")),
        },
        description="A B/L with its remaining (undeclared) packages and weight. Carriers see their own; "
        "clearing agents see open B/Ls of traders they act for; customs staff see all.",
    )
    def get(self, request: Request, number: str) -> Response:
        bill = selectors.bl_get_for_user(user=request.user, number=number)
        return Response(BillLookupSerializer(bill).data)
