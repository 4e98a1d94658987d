"""REST API of declarations (paths fixed by API.md). Views parse, call one service, render."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import events, policy
from core.events import Event
from core.exception_handler import flatten_errors
from core.exceptions import PermissionDeniedError, ValidationFailed, error
from core.openapi import answers, condition_answers, problem
from core.pagination import StandardPagination
from core.serializers import MoneyField, StrictSerializer
from traders.selectors import agent_for_user

from . import openapi as ex
from . import selectors, services
from .enums import Status
from .models import Declaration, Payment
from .serializers import (
    BankCallbackOutSerializer,
    DeclarationHistorySerializer,
    DeclarationInSerializer,
    DeclarationOutSerializer,
    StatusLookupRowSerializer,
    StatusLookupSerializer,
    reject_control_characters,
)

TAGS = ["declarations"]
_problem = problem()


def _agent(request: Request) -> Any:
    agent = agent_for_user(request.user)
    if agent is None:
        raise PermissionDeniedError(detail="Only clearing-agent staff can use declarations.", code="not_an_agent")
    return agent


def _with_etag(response: Response, declaration: Declaration) -> Response:
    response["ETag"] = declaration.etag
    return response


def _full(request: Request, agent: Any, declaration_id: Any, status: int = 200) -> Response:
    declaration = selectors.declaration_get(agent=agent, declaration_id=declaration_id)
    return _with_etag(Response(DeclarationOutSerializer.render(declaration), status=status), declaration)


class DeclarationListItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    entry_number = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    channel = serializers.CharField(allow_null=True)
    regime = serializers.CharField()
    office = serializers.CharField(source="office_id", allow_null=True)
    local_reference = serializers.CharField()
    ucr = serializers.CharField()
    bill_of_lading = serializers.CharField(source="bill_of_lading_number")
    lodged_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeclarationListFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    entry_number = serializers.CharField(required=False, max_length=16)
    ucr = serializers.CharField(required=False, max_length=35)
    local_reference = serializers.CharField(required=False, max_length=35)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class DeclarationListCreateApi(APIView):
    @extend_schema(
        tags=TAGS, operation_id="v1_declarations_list", summary="The agent's own declarations (paginated, filterable)",
        parameters=[*ex.LIST_PARAMETERS,
                    OpenApiParameter("entry_number", str), OpenApiParameter("ucr", str),
                    OpenApiParameter("local_reference", str, description="Exact match, own declarations only"),
                    OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: OpenApiResponse(inline_serializer("DeclarationPage", fields={
            "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": DeclarationListItemSerializer(many=True)}), examples=ex.LIST_EXAMPLES),
            400: ex.LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        agent = _agent(request)
        filters = DeclarationListFilterSerializer(data=request.query_params.dict())
        if not filters.is_valid():
            raise ValidationFailed(errors=[error(e["code"], e["detail"], e["pointer"].replace("/", "?", 1))
                                           for e in flatten_errors(filters.errors)])
        qs = selectors.declaration_list(
            agent=agent, status=filters.validated_data.get("status"),
            entry_number=filters.validated_data.get("entry_number"), ucr=filters.validated_data.get("ucr"),
            local_reference=filters.validated_data.get("local_reference"))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(DeclarationListItemSerializer(page, many=True).data)

    @extend_schema(
        tags=TAGS, summary="Lodge a declaration (or save a draft with \"draft\": true)",
        description="The examples lodge from the demo training world (`sandbox seed --scenario demo --seed 42`, "
                    "what `make run` seeds) as its first agent `pwani-clearing`: authorise with its token and "
                    "send them as they are. The first letter of `local_reference` chooses the sandbox outcome "
                    "(G, B, Y, R, Q, X; docs/sandbox.md). Each example's answer is documented under its name.",
        request=DeclarationInSerializer, examples=ex.LODGE_REQUEST_EXAMPLES,
        responses=answers(condition_answers(lodging=True), ex.LODGE_RESPONSES),
    )
    def post(self, request: Request) -> Response:
        agent = _agent(request)
        payload = request.data
        if isinstance(payload, dict) and payload.get("draft") is True:
            declaration = services.declaration_draft_create(agent=agent, user=request.user, payload=payload,
                                                            actor=request.user)
        else:
            declaration = services.declaration_lodge(agent=agent, user=request.user, payload=payload,
                                                     actor=request.user)
        # The service primed the relations it created: render without reading them back.
        response = _with_etag(Response(DeclarationOutSerializer.render(declaration), status=201), declaration)
        response["Location"] = f"/api/v1/declarations/{declaration.pk}"
        return response


class DeclarationDetailApi(APIView):
    @extend_schema(tags=TAGS, summary="Read a declaration (ETag header)", parameters=ex.READ_PARAMETERS,
                   responses=ex.READ_RESPONSES)
    def get(self, request: Request, declaration_id: Any) -> Response:
        return _full(request, _agent(request), declaration_id)

    @extend_schema(
        tags=TAGS,
        summary="Edit a draft, alter non-tax fields (new version + fee) or request a tax-affecting amendment",
        description="Needs If-Match with the current ETag (428 if missing, 412 if stale). Top-level keys of the "
                    "canonical body replace the stored ones; `items` and `documents` are replaced whole. "
                    "Tax-affecting changes return 202 with the pending amendment request.",
        parameters=ex.UPDATE_PARAMETERS,
        request=DeclarationInSerializer, examples=ex.UPDATE_REQUEST_EXAMPLES,
        responses=answers(ex.UPDATE_RESPONSES, {400: _problem, 404: _problem, 409: _problem}),
    )
    def patch(self, request: Request, declaration_id: Any) -> Response:
        agent = _agent(request)
        result = services.declaration_update(declaration_id=declaration_id, agent=agent, patch=request.data,
                                             if_match=request.headers.get("If-Match"), actor=request.user)
        return _full(request, agent, declaration_id, status=202 if result.kind == "amendment_requested" else 200)


class DeclarationLodgeApi(APIView):
    @extend_schema(tags=TAGS, summary="Lodge a draft", request=None, parameters=ex.LODGE_DRAFT_PARAMETERS,
                   responses=answers(condition_answers(lodging=True), ex.LODGE_DRAFT_RESPONSES,
                                     {400: _problem, 404: _problem}))
    def post(self, request: Request, declaration_id: Any) -> Response:
        agent = _agent(request)
        declaration = services.declaration_draft_lodge(declaration_id=declaration_id, agent=agent,
                                                       actor=request.user)
        return _with_etag(Response(DeclarationOutSerializer.render(declaration), status=201), declaration)


class CancelInSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class DeclarationCancelApi(APIView):
    @extend_schema(tags=TAGS, summary="Cancel (allowed from registered up to under control)",
                   request=CancelInSerializer, parameters=ex.CANCEL_PARAMETERS, examples=ex.CANCEL_REQUEST_EXAMPLES,
                   responses=answers(condition_answers(lodging=False), ex.CANCEL_RESPONSES, {404: _problem}))
    def post(self, request: Request, declaration_id: Any) -> Response:
        agent = _agent(request)
        # An empty body is no reason; a JSON body must be an object (null, [], 0 are 400, not a cancel).
        data = CancelInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.declaration_cancel(declaration_id=declaration_id, agent=agent,
                                    reason=data.validated_data.get("reason", ""), actor=request.user)
        return _full(request, agent, declaration_id)


class PaymentInSerializer(StrictSerializer):
    amount = MoneyField(min_value=Decimal(0))
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    method = serializers.ChoiceField(choices=[c for c in Payment.Method.choices if c[0] != "bank_callback"],
                                     required=False, default=Payment.Method.BANK_TRANSFER)


class DeclarationPaymentApi(APIView):
    @extend_schema(tags=TAGS, summary="Pay the assessed amount (simulated bank; exact amount only)",
                   request=PaymentInSerializer, parameters=ex.PAY_PARAMETERS, examples=ex.PAY_REQUEST_EXAMPLES,
                   responses=answers(condition_answers(lodging=False), ex.PAY_RESPONSES, {404: _problem}))
    def post(self, request: Request, declaration_id: Any) -> Response:
        agent = _agent(request)
        data = PaymentInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.declaration_pay(declaration_id=declaration_id, agent=agent, amount=data.validated_data["amount"],
                                 currency=data.validated_data["currency"], method=data.validated_data["method"],
                                 actor=request.user)
        return _full(request, agent, declaration_id, status=201)


class DeclarationHistoryApi(APIView):
    @extend_schema(tags=TAGS, summary="Status history, versions (snapshot + field diff) and amendment requests",
                   parameters=ex.HISTORY_PARAMETERS,
                   responses={200: OpenApiResponse(DeclarationHistorySerializer, examples=ex.HISTORY_EXAMPLES),
                              404: ex.READ_RESPONSES[404]})
    def get(self, request: Request, declaration_id: Any) -> Response:
        history = selectors.declaration_history(agent=_agent(request), declaration_id=declaration_id)
        return Response(DeclarationHistorySerializer.render(history))


class StatusLookupApi(APIView):
    """Hot path: agents' systems poll this. With `Authorization: Token <key>` the token check and
    the look-up are ONE indexed SQL query (selectors.status_lookup_by_token); only when it finds
    nothing is the token verified separately (401 if invalid). Session users take the ORM path."""

    throttle_classes: list[Any] = []
    permission_classes: list[Any] = []

    def perform_authentication(self, request: Request) -> None:
        # Lazy: authenticated inside get() only when the fast path cannot answer.
        return None

    @extend_schema(
        tags=TAGS, summary="Cheap status look-up by entry number, UCR or B/L (own declarations only)",
        parameters=[OpenApiParameter("entry_number", str), OpenApiParameter("ucr", str), *ex.STATUS_PARAMETERS],
        responses={200: OpenApiResponse(StatusLookupSerializer, examples=ex.STATUS_EXAMPLES),
            400: _problem, 401: _problem},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - {"entry_number", "ucr", "bl"})
        if unknown:
            raise ValidationFailed(errors=[error("unknown_field", "Unknown query parameter.", f"?{name}")
                                           for name in unknown])
        keys = {"entry_number": params.get("entry_number"), "ucr": params.get("ucr"), "bl": params.get("bl")}
        auth = request.META.get("HTTP_AUTHORIZATION", "").split()
        rows: list[dict[str, Any]] = []
        if len(auth) == 2 and auth[0] == "Token":
            rows = selectors.status_lookup_by_token(token_key=auth[1], **keys)
        if not rows:
            if not request.user or not request.user.is_authenticated:  # invalid token: 401 from DRF
                raise NotAuthenticated()
            if not (len(auth) == 2 and auth[0] == "Token"):
                rows = selectors.status_lookup(user=request.user, **keys)
        results = []
        for r in rows:
            row = StatusLookupRowSerializer.render(r)  # compiled once: no per-field DRF work
            # Sections other apps add (transit: the IM8 movement end to end, one more query),
            # declared in StatusLookupRowSerializer for the schema.
            for section in events.publish(Event.DECLARATION_STATUS_SECTIONS, declaration_id=r["id"],
                                          regime=r["regime"]):
                row.update(section)
            results.append(row)
        # StatusLookupSerializer's envelope, without rendering the rendered rows again.
        return Response({"results": results})


class BankCallbackInSerializer(StrictSerializer):
    eslip_reference = serializers.RegexField(r"^[A-Z0-9]{4,24}$")
    amount = MoneyField(min_value=Decimal(0))
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    bank_reference = serializers.RegexField(r"^[A-Za-z0-9-]{1,64}$")
    paid_at = serializers.DateTimeField()


class BankCallbackApi(APIView):
    """System-to-system, no token: the bank sends `X-Forodha-Timestamp` (unix seconds, within
    BANK_CALLBACK_TOLERANCE_SECONDS of now), `X-Forodha-Nonce` (16-64 of [A-Za-z0-9_-], never reused)
    and `X-Forodha-Signature: sha256=<hex HMAC-SHA256(BANK_CALLBACK_SECRET, "<timestamp>.<nonce>." +
    raw body)>`. Bad signature or stale timestamp: 401; a reused nonce (a replayed capture): 409."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["payments"], summary="Bank payment confirmation (HMAC-signed)", auth=[],
        parameters=[
            OpenApiParameter("X-Forodha-Signature", str, OpenApiParameter.HEADER, required=True,
                             description='`sha256=<hex HMAC-SHA256(secret, "<timestamp>.<nonce>." + raw body)>`'),
            OpenApiParameter("X-Forodha-Timestamp", str, OpenApiParameter.HEADER, required=True,
                             description="Unix seconds; refused (401 stale_timestamp) when more than "
                                         "BANK_CALLBACK_TOLERANCE_SECONDS (300) from now."),
            OpenApiParameter("X-Forodha-Nonce", str, OpenApiParameter.HEADER, required=True,
                             description="16-64 characters [A-Za-z0-9_-], unique per callback; a reused "
                                         "nonce is a replay (409 replayed_request)."),
        ],
        request=BankCallbackInSerializer,
        responses={201: BankCallbackOutSerializer,
            200: OpenApiResponse(BankCallbackOutSerializer,
                                 description="Already recorded (same bank reference): `replayed` is true"),
            400: _problem, 401: _problem, 404: _problem, 409: _problem},
    )
    def post(self, request: Request) -> Response:
        # Verify before parsing: an unsigned body is never interpreted.
        services.signature_verify(body=request.body, signature=request.headers.get("X-Forodha-Signature"),
                                  timestamp=request.headers.get("X-Forodha-Timestamp"),
                                  nonce=request.headers.get("X-Forodha-Nonce"))
        data = BankCallbackInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        payment, created = services.payment_confirm_from_bank(
            eslip_reference=v["eslip_reference"], amount=v["amount"], currency=v["currency"],
            bank_reference=v["bank_reference"], paid_at=v["paid_at"], actor=None)
        return Response(BankCallbackOutSerializer.render({"payment": payment, "replayed": not created}),
                        status=201 if created else 200)



# ------------------------------------------------------------------------------------------------
# Supporting documents as files


class DocumentUploadInSerializer(StrictSerializer):
    file = serializers.FileField(allow_empty_file=True, help_text="PDF, JPEG or PNG (decided by the content)")
    kind = serializers.RegexField(r"^[A-Z0-9]{2,16}$", help_text="Document code, e.g. INV, PKL, COO, IDF")
    reference = serializers.CharField(max_length=70)
    item = serializers.IntegerField(required=False, min_value=1, max_value=999,
                                    help_text="Item line number the document supports")

    def validate_reference(self, value: str) -> str:
        reject_control_characters(value)
        return value


class DocumentOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    reference = serializers.CharField()
    item = serializers.IntegerField(source="item_line_no", allow_null=True)
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    content_url = serializers.SerializerMethodField()

    def get_content_url(self, document: Any) -> str:
        return f"/api/v1/declarations/{document.declaration_id}/documents/{document.pk}/content"


class DeclarationDocumentsApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(tags=TAGS, operation_id="v1_declaration_documents_list",
                   summary="The declaration's uploaded documents",
                   responses={200: DocumentOutSerializer(many=True), 404: _problem})
    def get(self, request: Request, declaration_id: Any) -> Response:
        documents = selectors.document_list(declaration_id=declaration_id, agent=_agent(request))
        return Response(DocumentOutSerializer(documents, many=True).data)

    @extend_schema(
        tags=TAGS, summary="Upload a supporting document (multipart: file, kind, reference, optional item)",
        description="PDF, JPEG or PNG only, decided by content sniffing; a file whose name or part "
                    "Content-Type claims another type is 400 `content_type_mismatch`. Size cap "
                    "`DECLARATION_DOCUMENT_MAX_BYTES` (1.5 MiB). The response carries the SHA-256 of the bytes.",
        request={"multipart/form-data": DocumentUploadInSerializer},
        responses={201: DocumentOutSerializer, 400: _problem, 404: _problem, 409: _problem, 413: _problem},
    )
    def post(self, request: Request, declaration_id: Any) -> Response:
        agent = _agent(request)
        # Another agent's declaration is 404 whatever it sent (not 415 for a JSON body, say).
        selectors.declaration_require_own(declaration_id=declaration_id, agent=agent)
        data = DocumentUploadInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        document = services.document_upload(
            declaration_id=declaration_id, agent=agent, kind=data.validated_data["kind"],
            reference=data.validated_data["reference"], item_line_no=data.validated_data.get("item"),
            filename=upload.name or "", claimed_content_type=upload.content_type or "",
            data=upload.read(settings.DECLARATION_DOCUMENT_MAX_BYTES + 1), actor=request.user)
        response = Response(DocumentOutSerializer(document).data, status=201)
        response["Location"] = DocumentOutSerializer(document).data["content_url"]
        return response


def document_file_response(document: Any) -> FileResponse:
    """The stored bytes as a download, never rendered inline by the API origin: attachment
    disposition, the sniffed type with nosniff, and a CSP that forbids everything (a browser that
    does open it gets no script, no plugin, no same-origin access)."""
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename,
                            content_type=document.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # RFC 9530 representation digest, so the client can check what it stored against `sha256`.
    response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(document.sha256)).decode()}:"
    return response


class DeclarationDocumentContentApi(APIView):
    @extend_schema(tags=TAGS, summary="Download a document's bytes (always as an attachment)",
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: _problem})
    def get(self, request: Request, declaration_id: Any, document_id: Any) -> FileResponse:
        document = selectors.document_get(declaration_id=declaration_id, document_id=document_id,
                                          agent=_agent(request))
        return document_file_response(document)


# ------------------------------------------------------------------------------------------------
# IDF: the simulated single window (only where the installed policy simulates it: the sandbox)


class IdfInSerializer(StrictSerializer):
    importer_pin = serializers.RegexField(r"^[AP][0-9]{9}[A-Z]$")
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    value = MoneyField(min_value=Decimal(0), help_text="Proforma invoice value in `currency`")
    hs_codes = serializers.ListField(child=serializers.RegexField(r"^[0-9]{4}\.?[0-9]{2}\.?[0-9]{2}$"),
                                     min_length=1, max_length=999)


class IdfOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    importer_pin = serializers.CharField()
    currency = serializers.CharField()
    value = MoneyField()
    hs_codes = serializers.ListField(child=serializers.CharField())
    issued_on = serializers.DateField()


class IdfCreateApi(APIView):
    @extend_schema(
        tags=TAGS, summary="Raise an IDF on the simulated single window (training sandbox only)",
        description="In production the IDF comes from the real single window; here (FORODHA_SANDBOX) an agent "
                    "raises one for a trader it acts for, then quotes `number` as `idf_number` when lodging.",
        request=IdfInSerializer, responses={201: IdfOutSerializer, 400: _problem, 403: _problem},
    )
    def post(self, request: Request) -> Response:
        agent = _agent(request)
        if not policy.current().single_window_simulated():
            raise PermissionDeniedError(detail="IDFs are raised on the single window; this simulation of it "
                                               "exists only in the training sandbox.", code="sandbox_only")
        data = IdfInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        idf = services.idf_raise(agent=agent, importer_pin=data.validated_data["importer_pin"],
                                 currency=data.validated_data["currency"], value=data.validated_data["value"],
                                 hs_codes=data.validated_data["hs_codes"], actor=request.user)
        return Response(IdfOutSerializer(idf).data, status=201)
