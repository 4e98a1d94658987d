"""REST: provisional releases during contingency (public, answered from the intake store alone).

- `GET /api/v1/provisional-releases/verify?token=...`: a terminal's online check;
- `GET /api/v1/provisional-releases/print?token=...`: the printable page with the QR code;
- `GET /api/v1/provisional-releases/rules`: the published qualifying rules (the intake copy).

No authentication, no throttling (the cache may be down with the primary) and no primary
database: the token is the capability and carries nothing the agent did not send.
"""

from __future__ import annotations

import re
from typing import Any

import segno
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock
from core.exceptions import UnprocessableEntity, ValidationFailed, error
from core.openapi import problem
from core.serializers import OmittedWhenAbsentMixin, RenderedSerializer
from intake.models import ReleaseRuleSnapshot
from intake.provisional import MAX_TOKEN_LENGTH

from .provisional import release_verify

_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_.-]+$")

_bad_token = problem(description="No `token`, more than one, an empty, over-long (4,096) or non-base64url one, "
                                 "or another query parameter (`validation_error`, pointer `/query/token`).")
_invalid = problem(description="The token is not a valid provisional release (`invalid_provisional_release`; "
                               "the error's code is the reason: expired, bad_signature, unknown_key...).")

_token_parameter = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True,
    description="The provisional release token (compact JWS, EdDSA), as in the 202 or read from the QR code.")

class OptionalNullableCharField(OmittedWhenAbsentMixin, serializers.CharField):
    pass


class ProvisionalReleaseClaimsSerializer(RenderedSerializer):
    """The release as its signed claims state it (maintenance.provisional.release_verify). Forodha
    writes every claim (intake.provisional.release_claims), so the shape is fixed; a claim the
    signed token lacks is null (a list, empty)."""

    release_id = serializers.UUIDField(allow_null=True, help_text="The token's `jti`")
    submission_id = serializers.UUIDField(allow_null=True, help_text="The buffered submission (`sub`)")
    trader_pin = serializers.CharField(allow_null=True)
    regime = serializers.CharField(allow_null=True)
    office = serializers.CharField(allow_null=True)
    bills_of_lading = serializers.ListField(child=serializers.CharField())
    containers = serializers.ListField(child=serializers.CharField())
    # A summary of the goods (today `hs`, `packages`, `items`, `description`) passed through as
    # signed: a token lives for days across deploys, so its keys are those of the code that issued
    # it (and {} when it has none), not a shape this answer can promise.
    goods = serializers.JSONField(help_text="Summary of the goods as signed (hs, packages, items, description)")
    rule = serializers.CharField(allow_null=True, help_text="The qualifying rule's code")
    issued_at = serializers.DateTimeField(allow_null=True)  # EAT (+03:00), as DRF writes it
    expires_at = serializers.DateTimeField(allow_null=True)  # EAT (+03:00), as DRF writes it


class ProvisionalReleaseCheckSerializer(RenderedSerializer):
    """The online check of a provisional release (rendered from `release_verify`'s answer)."""

    valid = serializers.BooleanField()
    key_id = serializers.CharField(required=False, help_text="The token's `kid`, when it names one.")
    # A plain string in the schema: ReceiptState's `state` already names this choice set (StateEnum).
    submission_state = OptionalNullableCharField(
        required=False, allow_null=True,
        help_text="Valid tokens: the buffered submission's state now (buffered, replaying, lodged or rejected), "
                  "as GET /api/v1/receipts/{submission_id} says (null when intake has no such submission).")
    reason = serializers.ChoiceField(
        required=False, help_text="Only when not valid.",
        choices=["malformed", "unknown_key", "bad_signature", "expired", "not_yet_valid", "unknown_release"])
    detail = serializers.CharField(required=False, help_text="Only when not valid.")
    release = ProvisionalReleaseClaimsSerializer(
        required=False, help_text="Whenever the signature holds (valid or not, e.g. expired).")


class ProvisionalReleaseRuleSerializer(RenderedSerializer):
    """One qualifying rule as copied to intake (maintenance.ProvisionalReleaseRule.as_snapshot)."""

    code = serializers.CharField()
    name = serializers.CharField()
    flow = serializers.ChoiceField(choices=["export", "import", "any"])
    hs_prefixes = serializers.ListField(child=serializers.CharField())
    requires_aeo = serializers.BooleanField()
    validity_hours = serializers.IntegerField()


class ProvisionalReleaseRulesSerializer(RenderedSerializer):
    """The published rules: intake's copy (a ReleaseRuleSnapshot, or None before the first copy)."""

    refreshed_at = serializers.DateTimeField(allow_null=True)  # EAT (+03:00), as DRF writes it
    digest = serializers.CharField(allow_null=True)
    watch_listed_never_qualify = serializers.BooleanField()
    rules = ProvisionalReleaseRuleSerializer(many=True)

    def prepare(self, instance: Any) -> Any:
        return {"refreshed_at": instance.refreshed_at if instance else None,
                "digest": instance.digest if instance else None,
                "watch_listed_never_qualify": True,
                "rules": instance.rules if instance else []}


def token_param(request: Request) -> str:
    """The `token` query parameter, checked for shape only (400 problem otherwise)."""
    unknown = sorted(set(request.query_params) - {"token"})
    if unknown:
        raise ValidationFailed(errors=[error("unknown_field", f"Unknown query parameter {n!r}.", f"/query/{n}")
                                       for n in unknown])
    values = request.query_params.getlist("token")
    if len(values) != 1 or not values[0].strip():
        raise ValidationFailed(errors=[error("required", "Give exactly one token.", "/query/token")])
    token = values[0].strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValidationFailed(errors=[error("too_long", f"At most {MAX_TOKEN_LENGTH} characters.",
                                             "/query/token")])
    if not _TOKEN_CHARS.match(token):
        raise ValidationFailed(errors=[error("invalid", "A token has only base64url characters and dots.",
                                             "/query/token")])
    return token


class ProvisionalReleaseVerifyApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        tags=["system"], summary="Check a provisional release (terminals; works with the primary database down)",
        description="Signature (Ed25519 receipt keys, the token's `kid`), validity period, and that Forodha "
                    "issued it. A tampered, unknown-key, expired or unknown token answers 200 with "
                    "`valid: false` and a `reason`; a missing or garbled parameter is a 400 problem. "
                    "Offline: verify the JWS with `GET /api/v1/system/receipt-keys` (docs/maintenance.md).",
        parameters=[_token_parameter],
        responses={200: ProvisionalReleaseCheckSerializer, 400: _bad_token},
        examples=[OpenApiExample("expired", response_only=True, value={
            "valid": False, "reason": "expired", "detail": "The release expired at 2026-12-04T09:00:00+00:00.",
            "key_id": "ed25519:0123456789abcdef"})])
    def get(self, request: Request) -> Response:
        return Response(ProvisionalReleaseCheckSerializer.render(release_verify(token_param(request))))


class ProvisionalReleasePrintApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        tags=["system"], summary="Printable provisional release with its QR code (for the terminal)",
        parameters=[_token_parameter],
        responses={(200, "text/html"): OpenApiTypes.STR, 400: _bad_token, 422: _invalid})
    def get(self, request: Request) -> HttpResponse:
        token = token_param(request)
        answer = release_verify(token)
        if not answer["valid"]:
            raise UnprocessableEntity(
                title="Not a valid provisional release", code="invalid_provisional_release",
                detail=answer.get("detail", ""),
                errors=[error(answer.get("reason", "invalid"), answer.get("detail", ""), "/query/token")])
        qr = segno.make(token, error="m")
        html = render_to_string("maintenance/provisional_release.html", {
            "release": answer["release"], "state": answer.get("submission_state"), "key_id": answer.get("key_id"),
            "token": token, "qr_svg": qr.svg_inline(scale=3, border=4), "qr_version": qr.version,
            "printed_at": timezone.localtime(clock.now()).isoformat(timespec="seconds"),
        })
        return HttpResponse(html, content_type="text/html; charset=utf-8")


class ProvisionalReleaseRulesApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        tags=["system"], summary="The published rules deciding which buffered goods get a provisional release",
        responses={200: ProvisionalReleaseRulesSerializer})
    def get(self, request: Request) -> Response:
        snapshot = ReleaseRuleSnapshot.objects.filter(pk=1).first()
        return Response(ProvisionalReleaseRulesSerializer.render(snapshot))
