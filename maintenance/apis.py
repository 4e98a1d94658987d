"""REST: system status, receipt key, maintenance windows (JSON and iCalendar)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from icalendar import Calendar, Event
from rest_framework import exceptions, generics, serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock
from core.exceptions import NotFound, ValidationFailed, error
from core.openapi import problem
from core.pagination import StandardPagination
from core.serializers import RenderedSerializer
from intake import selectors as intake_selectors
from intake.breaker import EPISODE_REASON, breaker, episode_open
from intake.identity import Identity, identity_for_token

from . import selectors
from .enums import OutageSource, WindowStatus
from .models import MaintenanceWindow
from .receipts import key_list_document, public_key_document
from .snapshot import WindowView, store

logger = logging.getLogger("forodha.maintenance")


class MaintenanceWindowSummarySerializer(RenderedSerializer):
    """A maintenance window as the status endpoint shows it."""

    id = serializers.UUIDField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    scope = serializers.CharField()
    mode = serializers.CharField()
    reason = serializers.CharField()


class WindowOutputSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "status", "starts_at", "ends_at", "scope", "mode", "reason", "emergency",
                  "notice_given"]

    def get_status(self, obj: MaintenanceWindow) -> str:
        # The clock's view: a window is "active" from its first second even if the beat lags.
        return obj.effective_status(clock.now())


@dataclass(frozen=True, slots=True)
class MaintenanceState:
    active: bool
    window: WindowView | None  # the active window, None when none is


@dataclass(frozen=True, slots=True)
class ContingencyState:
    active: bool
    since: dt.datetime | None
    source: str | None
    reason: str | None
    buffered: int | None  # None when the intake store cannot be read either


@dataclass(frozen=True, slots=True)
class SystemStatus:
    maintenance: MaintenanceState
    upcoming: list[WindowView]
    contingency: ContingencyState


class SystemStatusMaintenanceSerializer(RenderedSerializer):
    """Whether a maintenance window is active now, and which."""

    active = serializers.BooleanField()
    window = MaintenanceWindowSummarySerializer(allow_null=True, help_text="null when no window is active")


class SystemStatusContingencySerializer(RenderedSerializer):
    """Contingency (a window in buffer mode, a declared outage, or the primary unreachable)."""

    active = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField(allow_null=True)  # type: ignore[assignment]  # a field, not Field.source
    reason = serializers.CharField(allow_null=True)
    buffered = serializers.IntegerField(allow_null=True)


class SystemStatusSerializer(RenderedSerializer):
    """Maintenance and contingency status."""

    maintenance = SystemStatusMaintenanceSerializer()
    upcoming = MaintenanceWindowSummarySerializer(many=True)
    contingency = SystemStatusContingencySerializer()


class SystemStatusApi(APIView):
    """Public: agents poll it before and during windows and outages (served in every scope, and
    from the process's memory and the intake store alone while the primary is away)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(responses={200: SystemStatusSerializer}, tags=["system"],
                   summary="Maintenance and contingency status")
    def get(self, request: Request) -> Response:
        now = clock.now()
        snap = store.get()
        window = snap.active_window(now)
        contingency = snap.contingency(now)
        try:
            buffered: int | None = intake_selectors.pending_submissions().count()
        except Exception:  # the intake store is away too
            buffered = None
        since, source, reason = contingency.since, contingency.source, contingency.reason
        active = contingency.active
        episode = _open_episode()
        if episode is not None or breaker.state().state != "closed":
            # Detected: the primary cannot be reached. A declared period keeps its own source.
            active = True
            if not contingency.active:
                source, reason = OutageSource.DATABASE_UNAVAILABLE, EPISODE_REASON
                since = episode.first_failure_at if episode is not None else None
        return Response(SystemStatusSerializer.render(SystemStatus(
            maintenance=MaintenanceState(active=window is not None, window=window),
            upcoming=list(snap.upcoming(now)),
            contingency=ContingencyState(active=active, since=since, source=source, reason=reason,
                                         buffered=buffered),
        )))


def _open_episode() -> Any:
    try:
        return episode_open()
    except Exception:
        return None


class ReceiptKeySerializer(RenderedSerializer):
    """The public key that signs contingency receipts now (a `PublicKeyDocument`)."""

    key_id = serializers.CharField()
    algorithm = serializers.CharField()
    public_key_pem = serializers.CharField()
    public_key_base64 = serializers.CharField()
    canonicalization = serializers.CharField()


class ReceiptKeyEntrySerializer(RenderedSerializer):
    """One receipt signing key (a `PublishedKey`)."""

    key_id = serializers.CharField()
    public_key_base64 = serializers.CharField()
    current = serializers.BooleanField()
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True)


class ReceiptKeyListSerializer(RenderedSerializer):
    """Every receipt signing key ever used, current first (a `KeyListDocument`)."""

    algorithm = serializers.CharField()
    canonicalization = serializers.CharField()
    keys = ReceiptKeyEntrySerializer(many=True)


class ReceiptKeyApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(tags=["system"], summary="Public key that signs contingency receipts now",
                   responses={200: ReceiptKeySerializer})
    def get(self, request: Request) -> Response:
        return Response(ReceiptKeySerializer.render(public_key_document()))


class ReceiptKeyListApi(APIView):
    """Every key that ever signed a receipt (current first): a receipt signed before a rotation
    still verifies. Served from the intake store alone."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(tags=["system"], summary="Every receipt signing key ever used, current first",
                   responses={200: ReceiptKeyListSerializer})
    def get(self, request: Request) -> Response:
        return Response(ReceiptKeyListSerializer.render(key_list_document()))


_problem_schema = problem()


class IntakeTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` checked against the intake store's hashed copy, so the receipt
    look-up answers while the primary is away (the same header as everywhere: same OpenAPI scheme)."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Identity]:  # type: ignore[override]
        identity = identity_for_token(key)
        if identity is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return IntakeUser(identity), identity


class IntakeUser:
    """A request user known only from the intake store's copy."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.pk = identity.user_id


class ReceiptLodgedSerializer(RenderedSerializer):
    """What a replayed submission became."""

    resource_id = serializers.CharField(allow_null=True)
    entry_number = serializers.CharField(allow_null=True)
    result = serializers.JSONField(required=False, help_text="The outcome's summary, when there is one.")


class ReceiptRejectedSerializer(RenderedSerializer):
    """Why a replayed submission was refused (every problem with its pointer)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]  # a field


class ReceiptStateSerializer(RenderedSerializer):
    """The state of a buffered submission (rendered from `intake.selectors.receipt_state`)."""

    submission_id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["buffered", "replaying", "lodged", "rejected"])
    endpoint = serializers.CharField()
    received_at = serializers.DateTimeField()
    lodged_at = serializers.DateTimeField()
    corrects = serializers.UUIDField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    receipt = serializers.DictField()
    lodged = ReceiptLodgedSerializer(allow_null=True)
    rejected = ReceiptRejectedSerializer(allow_null=True)


class ReceiptLookupApi(APIView):
    """The state of a buffered submission, for the agent who sent it (404 for everyone else)."""

    authentication_classes = [IntakeTokenAuthentication]
    throttle_classes: list[Any] = []

    # The same `Authorization: Token` scheme as every agent endpoint (checked against the copy).
    @extend_schema(tags=["system"], summary="Look a contingency receipt up: buffered, replaying, lodged, rejected",
                   auth=[{"tokenAuth": []}],  # type: ignore[list-item]
                   responses={200: ReceiptStateSerializer,
                       401: _problem_schema, 404: _problem_schema})
    def get(self, request: Request, submission_id: str) -> Response:
        identity = request.auth
        assert isinstance(identity, Identity)  # IntakeTokenAuthentication is the only authenticator
        submission = intake_selectors.submission_for_agent(submission_id=submission_id, user_id=identity.user_id)
        if submission is None:
            raise NotFound(detail="No submission of yours has this id.", code="submission_not_found",
                           errors=[error("submission_not_found", "Unknown submission id.", "/submission_id")])
        return Response(ReceiptStateSerializer.render(
            intake_selectors.receipt_state(submission_id=submission.pk, submission=submission)))


class WindowListApi(generics.ListAPIView):
    """Scheduled, active, completed and cancelled windows (public to authenticated clients)."""

    serializer_class = WindowOutputSerializer
    pagination_class = StandardPagination

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        status = self.request.query_params.get("status") or None
        if status is not None and status not in WindowStatus.values:
            raise ValidationFailed(errors=[error(
                "invalid_choice", f"Choose one of {', '.join(WindowStatus.values)}.", "/status")])
        return selectors.window_list(status=status)

    @extend_schema(tags=["maintenance"], summary="Maintenance windows",
                   parameters=[OpenApiParameter("status", str, enum=WindowStatus.values, required=False)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def windows_ics(windows: list[MaintenanceWindow], now: dt.datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Forodha//Maintenance windows//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Forodha maintenance")
    for window in windows:
        event = Event()
        event.add("uid", f"{window.id}@forodha")
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", window.starts_at.astimezone(dt.UTC))
        event.add("dtend", window.ends_at.astimezone(dt.UTC))
        event.add("last-modified", window.updated_at.astimezone(dt.UTC))
        event.add("summary", f"Forodha maintenance ({window.get_scope_display()}): {window.reason}")
        eat_start = timezone.localtime(window.starts_at).strftime("%a %d %b %Y %H:%M")
        eat_end = timezone.localtime(window.ends_at).strftime("%a %d %b %Y %H:%M")
        event.add("description", (
            f"{window.reason}\n"
            f"Scope: {window.scope} ({window.get_scope_display()})\n"
            f"Mode: {window.mode} ({window.get_mode_display()})\n"
            f"East Africa Time: {eat_start} to {eat_end}"
            + ("\nEmergency window" if window.emergency else "")))
        event.add("status", "CANCELLED" if window.status == WindowStatus.CANCELLED else "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()


class WindowCalendarApi(APIView):
    @extend_schema(tags=["maintenance"], summary="Maintenance windows as an iCalendar feed",
                   operation_id="maintenance_windows_ics",
                   responses={(200, "text/calendar"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        now = clock.now()
        windows = list(selectors.window_list().filter(ends_at__gte=now - dt.timedelta(days=90))[:1000])
        response = HttpResponse(windows_ics(windows, now), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="forodha-maintenance.ics"'
        return response

