"""Writes: maintenance window lifecycle, outages, buffered intake and the replay.

Lifecycles (one transition table each, one guard, one event row per move):

    window:  scheduled -> active -> completed        (by the clock; the beat task records it)
             scheduled|active -> cancelled           (an operator; cancelling an active window ends it now)
             scheduled|active -> (same), "extended"  (an operator moves ends_at later, with a reason)
    outage:  active -> ended

Every change bumps the cache version stamp on commit so every process reloads its snapshot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import logging
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import DurationField, ExpressionWrapper, F, Max, Min
from django.utils import timezone

from core import celery_app, clock
from core.actors import actor_user
from core.exceptions import (
    ApplicationError,
    Conflict,
    ErrorItem,
    NotFound,
    ValidationFailed,
    error,
)
from core.lifecycle import Lifecycle
from intake.breaker import EPISODE_REASON, episode_close, episode_open
from intake.enums import EpisodeStatus
from intake.identity import Identity
from intake.lifecycle import SUBMISSION
from intake.models import Episode
from intake.routers import INTAKE_ALIAS
from intake.selectors import submission_for_agent

from . import notify, replay_handlers
from .enums import (
    OutageSource,
    OutageStatus,
    SubmissionPriority,
    SubmissionStatus,
    WindowEventKind,
    WindowMode,
    WindowScope,
    WindowStatus,
)
from .intake import REDISPATCHED, LodgingEndpoint, priority_for
from .models import (
    BufferedSubmission,
    MaintenanceWindow,
    MaintenanceWindowEvent,
    Outage,
    OutageEvent,
    OutageReport,
    ReplayLedger,
)
from .periods import ContingencyPeriod, period_ended
from .receipts import sign_receipt
from .redispatch import lodge_redispatched
from .replay_handlers import ChunkLodgeCallable, LodgeCallable, ReplayOutcome
from .selectors import aeo_active_pins, overlapping_windows
from .snapshot import Contingency, bump_version

logger = logging.getLogger("forodha.maintenance")

Actor = AbstractBaseUser | AnonymousUser | None

# Notification kinds (notifications.enums.NotificationKind); `payload["event"]`/`["outcome"]` say which.
NOTICE_KIND = "maintenance"
OUTCOME_KIND = "contingency"
# The Celery task that replays the buffer (maintenance.tasks.replay_buffered_task).
REPLAY_TASK = "maintenance.replay_buffered"

# A window may start at "now" (emergency) but not earlier than this (clock skew between client and us).
PAST_TOLERANCE = dt.timedelta(seconds=60)

WINDOW_TRANSITIONS: dict[str, frozenset[str]] = {
    WindowStatus.SCHEDULED: frozenset({WindowStatus.ACTIVE, WindowStatus.CANCELLED, WindowStatus.COMPLETED}),
    WindowStatus.ACTIVE: frozenset({WindowStatus.COMPLETED, WindowStatus.CANCELLED}),
    WindowStatus.COMPLETED: frozenset(),
    WindowStatus.CANCELLED: frozenset(),
}
EXTENDABLE = frozenset({WindowStatus.SCHEDULED, WindowStatus.ACTIVE})

OUTAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    OutageStatus.ACTIVE: frozenset({OutageStatus.ENDED}),
    OutageStatus.ENDED: frozenset(),
}
WINDOW = Lifecycle("a maintenance window", WINDOW_TRANSITIONS)
OUTAGE = Lifecycle("an outage", OUTAGE_TRANSITIONS)


def _iso(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat()


def _minute_up(value: dt.datetime) -> dt.datetime:
    """The next whole minute (an earliest start people can type; no seconds or microseconds)."""
    whole = value.replace(second=0, microsecond=0)
    return whole if whole == value else whole + dt.timedelta(minutes=1)


def _window_event(window: MaintenanceWindow, *, kind: str, from_status: str, to_status: str, actor: Actor,
                  reason: str = "", payload: dict[str, Any] | None = None, now: dt.datetime) -> None:
    MaintenanceWindowEvent.objects.create(
        window=window, kind=kind, from_status=from_status, to_status=to_status, actor=actor_user(actor),
        reason=reason[:500], payload=payload or {}, created_at=now)


def _serialize_window(window: MaintenanceWindow) -> dict[str, Any]:
    return {"id": str(window.id), "starts_at": _iso(window.starts_at), "ends_at": _iso(window.ends_at),
            "scope": window.scope, "mode": window.mode, "reason": window.reason,
            "emergency": window.emergency, "status": window.status}


def _lock_windows() -> None:
    """Serialise schedule/extend so the overlap check cannot race.

    PostgreSQL: a transaction-scoped advisory lock (released at commit), backed by the exclusion
    constraint added in migration 0002. SQLite: the project opens transactions IMMEDIATE, which
    already takes the database write lock at BEGIN.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x464F524F44484100 & 0x7FFFFFFFFFFFFFFF])


# --- validation --------------------------------------------------------------------------------

def _aware(value: Any, pointer: str, errors: list[ErrorItem]) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        errors.append(error("invalid", "A date-time is required.", pointer))
        return None
    if timezone.is_naive(value):
        errors.append(error("naive_datetime", "Give the time with its UTC offset.", pointer))
        return None
    return value


def window_validate(*, starts_at: Any, ends_at: Any, scope: str, mode: str, reason: str, emergency: bool,
                    now: dt.datetime, exclude_id: Any = None) -> list[ErrorItem]:
    """Every problem with a proposed window, with pointers (`/starts_at`, ...). Empty when fine."""
    errors: list[ErrorItem] = []
    start = _aware(starts_at, "/starts_at", errors)
    end = _aware(ends_at, "/ends_at", errors)
    if scope not in WindowScope.values:
        errors.append(error("invalid_choice", f"Choose one of {', '.join(WindowScope.values)}.", "/scope"))
    if mode not in WindowMode.values:
        errors.append(error("invalid_choice", f"Choose one of {', '.join(WindowMode.values)}.", "/mode"))
    if not (reason or "").strip():
        errors.append(error("required", "A reason is required (it is shown to agents).", "/reason"))
    elif len(reason) > 500:
        errors.append(error("max_length", "At most 500 characters.", "/reason"))
    if start is None or end is None:
        return errors
    if end <= start:
        errors.append(error("ends_before_start", "The window must end after it starts.", "/ends_at"))
    if start < now - PAST_TOLERANCE:
        errors.append(error("in_the_past", "The window cannot start in the past.", "/starts_at"))
    elif not emergency:
        notice = dt.timedelta(hours=settings.MAINTENANCE_MIN_NOTICE_HOURS)
        if start - now < notice:
            errors.append(error(
                "insufficient_notice",
                f"Windows need {settings.MAINTENANCE_MIN_NOTICE_HOURS} h notice; mark it emergency "
                f"to schedule it sooner (earliest start {_iso(_minute_up(now + notice))}).", "/starts_at"))
    if end > start:
        for other in overlapping_windows(start, end, exclude_id=exclude_id):
            errors.append(error("overlaps_window",
                                f"Overlaps window {other.id} ({_iso(other.starts_at)} to {_iso(other.ends_at)}).",
                                "/starts_at"))
    return errors


# --- window lifecycle --------------------------------------------------------------------------

def window_schedule(*, starts_at: dt.datetime, ends_at: dt.datetime, reason: str,
                    scope: str = WindowScope.LODGING, mode: str = WindowMode.REJECT,
                    emergency: bool = False, actor: Actor) -> MaintenanceWindow:
    now = clock.now()
    try:
        with transaction.atomic():
            _lock_windows()
            errors = window_validate(starts_at=starts_at, ends_at=ends_at, scope=scope, mode=mode,
                                     reason=reason, emergency=emergency, now=now)
            if errors:
                raise ValidationFailed(detail="The maintenance window is not valid.", errors=errors)
            window = MaintenanceWindow.objects.create(
                starts_at=starts_at, ends_at=ends_at, scope=scope, mode=mode, reason=reason.strip(),
                emergency=emergency, notice_given=now, created_by=actor_user(actor), created_at=now, updated_at=now)
            _window_event(window, kind=WindowEventKind.SCHEDULED, from_status="", to_status=window.status,
                          actor=actor, reason=reason, payload=_serialize_window(window), now=now)
            notify.broadcast_to_agents(
                kind=NOTICE_KIND,
                subject=f"Maintenance {_iso(starts_at)} to {_iso(ends_at)} ({scope}, {mode})",
                payload={"event": "maintenance_scheduled", **_serialize_window(window)}, actor=actor_user(actor))
            transaction.on_commit(bump_version)
    except IntegrityError as exc:
        if "maint_window_no_overlap" not in str(exc):
            raise
        # The PostgreSQL exclusion constraint: another process scheduled an overlapping window.
        raise ValidationFailed(detail="The maintenance window is not valid.", errors=[
            error("overlaps_window", "Overlaps another window.", "/starts_at")]) from exc
    return window


def _lock_window(window_id: Any) -> MaintenanceWindow:
    try:
        pk = window_id if isinstance(window_id, uuid.UUID) else uuid.UUID(str(window_id))
        return MaintenanceWindow.objects.select_for_update(of=("self",)).get(pk=pk)
    except (MaintenanceWindow.DoesNotExist, ValueError, TypeError):
        raise NotFound(detail=f"No maintenance window {window_id}.") from None


def _sync_with_clock(window: MaintenanceWindow, *, now: dt.datetime, actor: Actor) -> list[str]:
    """Record the moves the clock has already made (scheduled -> active -> completed)."""
    moves: list[str] = []
    target = window.effective_status(now)
    paths: dict[tuple[str, str], list[str]] = {
        (WindowStatus.SCHEDULED, WindowStatus.ACTIVE): [WindowStatus.ACTIVE],
        (WindowStatus.SCHEDULED, WindowStatus.COMPLETED): [WindowStatus.ACTIVE, WindowStatus.COMPLETED],
        (WindowStatus.ACTIVE, WindowStatus.COMPLETED): [WindowStatus.COMPLETED],
    }
    path = paths.get((str(window.status), str(target)), [])
    for to_status in path:
        WINDOW.transition_check(window.status, to_status)
        from_status = window.status
        window.status = to_status
        kind = WindowEventKind.ACTIVATED if to_status == WindowStatus.ACTIVE else WindowEventKind.COMPLETED
        _window_event(window, kind=kind, from_status=from_status, to_status=to_status, actor=actor,
                      reason="by the clock", payload={"at": _iso(now)}, now=now)
        moves.append(to_status)
    if moves:
        window.updated_at = now
        window.save(update_fields=["status", "updated_at"])
        if WindowStatus.COMPLETED in moves and window.mode == WindowMode.BUFFER:
            period_ended(ContingencyPeriod(kind="window", id=window.pk, source="buffer_window",
                                           started_at=window.starts_at, ended_at=window.ends_at))
    return moves


def window_extend(*, window_id: Any, until: dt.datetime, reason: str, actor: Actor) -> MaintenanceWindow:
    now = clock.now()
    errors: list[ErrorItem] = []
    if not (reason or "").strip():
        errors.append(error("required", "A reason is required.", "/reason"))
    _aware(until, "/ends_at", errors)
    if errors:
        raise ValidationFailed(detail="The extension is not valid.", errors=errors)
    with transaction.atomic():
        _lock_windows()
        window = _lock_window(window_id)
        _sync_with_clock(window, now=now, actor=None)
        if window.status not in EXTENDABLE:
            raise Conflict(detail=f"A {window.status} window cannot be extended.", code="illegal_transition",
                           errors=[error("illegal_transition", f"{window.status} window", "/status")])
        if until <= window.ends_at:
            errors.append(error("not_later", f"The new end must be after {_iso(window.ends_at)}.", "/ends_at"))
        elif until <= now:
            errors.append(error("in_the_past", "The new end is in the past.", "/ends_at"))
        else:
            for other in overlapping_windows(window.starts_at, until, exclude_id=window.pk):
                errors.append(error("overlaps_window", f"Overlaps window {other.id} from {_iso(other.starts_at)}.",
                                    "/ends_at"))
        if errors:
            raise ValidationFailed(detail="The extension is not valid.", errors=errors)
        previous_end = window.ends_at
        window.ends_at = until
        window.updated_at = now
        window.save(update_fields=["ends_at", "updated_at"])
        _window_event(window, kind=WindowEventKind.EXTENDED, from_status=window.status, to_status=window.status,
                      actor=actor, reason=reason,
                      payload={"ends_at_before": _iso(previous_end), "ends_at": _iso(until)}, now=now)
        notify.broadcast_to_agents(
            kind=NOTICE_KIND,
            subject=f"Maintenance extended until {_iso(until)}: {reason.strip()}",
            payload={"event": "maintenance_extended", **_serialize_window(window), "ends_at_before": _iso(previous_end),
                     "extension_reason": reason.strip()},
            actor=actor_user(actor))
        transaction.on_commit(bump_version)
    return window


def window_cancel(*, window_id: Any, reason: str, actor: Actor) -> MaintenanceWindow:
    now = clock.now()
    if not (reason or "").strip():
        raise ValidationFailed(detail="A reason is required.", errors=[error("required", "A reason is required.",
                                                                             "/reason")])
    with transaction.atomic():
        window = _lock_window(window_id)
        _sync_with_clock(window, now=now, actor=None)
        WINDOW.transition_check(window.status, WindowStatus.CANCELLED)
        from_status = window.status
        payload: dict[str, Any] = {}
        fields = ["status", "updated_at"]
        if from_status == WindowStatus.ACTIVE:
            # Cancelling a window in progress ends it now; its recorded length (deadline relief for
            # buffered submissions) is what really happened.
            payload["ends_at_before"] = _iso(window.ends_at)
            window.ends_at = max(now, window.starts_at + dt.timedelta(seconds=1))
            payload["ends_at"] = _iso(window.ends_at)
            fields.append("ends_at")
        window.status = WindowStatus.CANCELLED
        window.updated_at = now
        window.save(update_fields=fields)
        _window_event(window, kind=WindowEventKind.CANCELLED, from_status=from_status,
                      to_status=WindowStatus.CANCELLED, actor=actor, reason=reason, payload=payload, now=now)
        if from_status == WindowStatus.ACTIVE and window.mode == WindowMode.BUFFER:
            # It did happen, from its start to now: the same relief as a completed one.
            period_ended(ContingencyPeriod(kind="window", id=window.pk, source="buffer_window",
                                           started_at=window.starts_at, ended_at=window.ends_at))
        notify.broadcast_to_agents(
            kind=NOTICE_KIND,
            subject=f"Maintenance of {_iso(window.starts_at)} cancelled: {reason.strip()}",
            payload={"event": "maintenance_cancelled", **_serialize_window(window),
                     "cancellation_reason": reason.strip()},
            actor=actor_user(actor))
        transaction.on_commit(bump_version)
        if from_status == WindowStatus.ACTIVE and window.mode == WindowMode.BUFFER:
            transaction.on_commit(enqueue_replay)
    return window


def windows_advance(*, now: dt.datetime | None = None) -> list[tuple[MaintenanceWindow, list[str]]]:
    """Record scheduled -> active -> completed for every window the clock has moved (beat task).

    The middleware does not wait for this: it compares times itself. This keeps the stored
    status, the event history and the admin truthful, and starts the replay when a buffer window ends.
    """
    now = now or clock.now()
    moved: list[tuple[MaintenanceWindow, list[str]]] = []
    due = (MaintenanceWindow.objects
           .filter(status__in=[WindowStatus.SCHEDULED, WindowStatus.ACTIVE], starts_at__lte=now)
           .order_by("pk").values_list("pk", flat=True))
    for pk in list(due):
        with transaction.atomic():
            window = MaintenanceWindow.objects.select_for_update(of=("self",)).get(pk=pk)
            moves = _sync_with_clock(window, now=now, actor=None)
            if moves:
                transaction.on_commit(bump_version)
                if WindowStatus.COMPLETED in moves and window.mode == WindowMode.BUFFER:
                    transaction.on_commit(enqueue_replay)
                moved.append((window, moves))
    return moved


# --- outages -----------------------------------------------------------------------------------

def outage_start(*, reason: str, actor: Actor) -> Outage:
    if not (reason or "").strip():
        raise ValidationFailed(detail="A reason is required.",
                               errors=[error("required", "A reason is required.", "/reason")])
    now = clock.now()
    try:
        with transaction.atomic():
            outage = Outage.objects.create(reason=reason.strip()[:500], started_at=now, started_by=actor_user(actor))
            OutageEvent.objects.create(outage=outage, from_status="", to_status=OutageStatus.ACTIVE,
                                       actor=actor_user(actor), reason=reason[:500], created_at=now)
            notify.broadcast_to_agents(
                kind=NOTICE_KIND,
                subject="Lodging is in contingency: submissions are buffered with signed receipts",
                payload={"event": "outage_declared", "outage_id": str(outage.id), "since": _iso(now),
                         "reason": outage.reason},
                actor=actor_user(actor))
            transaction.on_commit(bump_version)
    except IntegrityError:
        raise Conflict(detail="An outage is already declared.", code="outage_already_active") from None
    return outage


def outage_end(*, actor: Actor, reason: str = "", outage_id: Any = None) -> Outage:
    now = clock.now()
    with transaction.atomic():
        qs = Outage.objects.select_for_update(of=("self",))
        try:
            outage = (qs.filter(pk=uuid.UUID(str(outage_id))).first() if outage_id is not None
                      else qs.filter(status=OutageStatus.ACTIVE).first())
        except ValueError:
            outage = None
        if outage is None:
            raise NotFound(detail="No active outage." if outage_id is None else f"No outage {outage_id}.",
                           code="no_active_outage" if outage_id is None else "not_found")
        OUTAGE.transition_check(outage.status, OutageStatus.ENDED)
        outage.status = OutageStatus.ENDED
        outage.ended_at = now
        outage.ended_by = actor_user(actor)
        outage.save(update_fields=["status", "ended_at", "ended_by"])
        OutageEvent.objects.create(outage=outage, from_status=OutageStatus.ACTIVE, to_status=OutageStatus.ENDED,
                                   actor=actor_user(actor), reason=reason[:500],
                                   payload={"length_seconds": (now - outage.started_at).total_seconds()},
                                   created_at=now)
        outage_report_refresh(outage=outage, now=now)
        period_ended(ContingencyPeriod(kind="outage", id=outage.pk, source=outage.source,
                                       started_at=outage.started_at, ended_at=now))
        notify.broadcast_to_agents(
            kind=NOTICE_KIND,
            subject="Lodging is back; buffered submissions are being replayed",
            payload={"event": "outage_ended", "outage_id": str(outage.id), "since": _iso(outage.started_at),
                     "until": _iso(now)},
            actor=actor_user(actor))
        transaction.on_commit(bump_version)
        transaction.on_commit(enqueue_replay)
    return outage


def enqueue_replay() -> None:
    """Start the replay task; a broker that is down must not fail the operator's command
    (the beat task re-kicks the replay while pending submissions remain)."""
    try:
        # By name, as the outbox sends its tasks (maintenance.tasks imports this module).
        for slot in range(max(1, getattr(settings, "CONTINGENCY_REPLAY_WORKERS", 2))):
            celery_app.app().send_task(REPLAY_TASK, kwargs={"slot": slot})
    except Exception:
        logger.warning("could not enqueue the replay; the beat task will retry", exc_info=True)


def outage_recover_detected(*, actor: Actor, now: dt.datetime | None = None) -> list[Outage]:
    """The primary answers again after the web processes found it away: close the intake store's
    episode and record it in the primary as an ended outage (source `database_unavailable`, from
    the first failure to now), with its events, report and notices; then start the replay.
    No operator step. Idempotent: an episode already recorded is left alone, so every process
    and the beat task may call this."""
    now = now or clock.now()
    open_episode = episode_open()
    if open_episode is not None:
        episode_close_intake(episode_id=open_episode.pk, now=now)
    recorded: list[Outage] = []
    for episode in Episode.objects.filter(status=EpisodeStatus.CLOSED).order_by("first_failure_at"):
        ended_at = max(episode.ended_at or now, episode.first_failure_at)
        with transaction.atomic():
            if not Outage.objects.filter(pk=episode.pk).exists():
                outage = Outage.objects.create(
                    id=episode.pk, status=OutageStatus.ENDED, source=OutageSource.DATABASE_UNAVAILABLE,
                    reason=EPISODE_REASON, started_at=episode.first_failure_at, ended_at=ended_at)
                detail = {"source": OutageSource.DATABASE_UNAVAILABLE, "detected": True,
                          "first_failure_at": _iso(episode.first_failure_at), "failures": episode.failures}
                OutageEvent.objects.create(outage=outage, from_status="", to_status=OutageStatus.ACTIVE,
                                           actor=None, reason=EPISODE_REASON, payload=detail,
                                           created_at=episode.first_failure_at)
                report = outage_report_refresh(outage=outage, now=now)
                OutageEvent.objects.create(
                    outage=outage, from_status=OutageStatus.ACTIVE, to_status=OutageStatus.ENDED, actor=None,
                    reason="The primary database answered again.",
                    payload={**detail, "length_seconds": (ended_at - episode.first_failure_at).total_seconds(),
                             "submissions": report.submissions},
                    created_at=ended_at)
                period_ended(ContingencyPeriod(kind="outage", id=outage.pk, source=outage.source,
                                               started_at=outage.started_at, ended_at=ended_at))
                notify.broadcast_to_agents(
                    kind=NOTICE_KIND,
                    subject="The database is back; submissions buffered during the outage are being replayed",
                    payload={"event": "outage_ended", "outage_id": str(outage.id),
                             "source": OutageSource.DATABASE_UNAVAILABLE,
                             "since": _iso(outage.started_at), "until": _iso(ended_at),
                             "submissions": report.submissions},
                    actor=actor_user(actor))
                recorded.append(outage)
                transaction.on_commit(bump_version)
                transaction.on_commit(enqueue_replay)
        with transaction.atomic(using=INTAKE_ALIAS):
            Episode.objects.filter(pk=episode.pk, status=EpisodeStatus.CLOSED).update(status=EpisodeStatus.RECORDED)
    return recorded


def episode_close_intake(*, episode_id: Any, now: dt.datetime) -> bool:
    return episode_close(episode_id=episode_id, now=now)


def correction_target(*, submission_id: str, agent: Identity, endpoint: LodgingEndpoint) -> BufferedSubmission:
    """The rejected submission a `Forodha-Corrects` resubmission names, if it may be corrected:
    the same agent and endpoint, rejected, within INTAKE_CORRECTION_DAYS of the rejection, and
    not already corrected by a lodged submission."""
    pointer = "/headers/Forodha-Corrects"
    original = submission_for_agent(submission_id=submission_id, user_id=agent.user_id)
    if original is None:
        raise NotFound(detail="No submission of yours has this id.", code="submission_not_found",
                       errors=[error("submission_not_found", "Unknown submission id.", pointer)])
    if original.status != SubmissionStatus.REJECTED:
        raise Conflict(detail=f"Only a rejected submission can be corrected; this one is {original.status}.",
                       code="not_rejected", errors=[error("not_rejected", "Not rejected.", pointer)])
    if original.endpoint != endpoint.name:
        raise Conflict(detail=f"A correction goes to the same endpoint ({original.receipt.get('endpoint')}).",
                       code="correction_endpoint_mismatch",
                       errors=[error("correction_endpoint_mismatch", "Another endpoint.", pointer)])
    limit = dt.timedelta(days=settings.INTAKE_CORRECTION_DAYS)
    if original.finished_at is not None and clock.now() - original.finished_at > limit:
        raise Conflict(detail=f"Corrections are accepted for {settings.INTAKE_CORRECTION_DAYS} days after "
                              "the rejection.", code="correction_period_over",
                       errors=[error("correction_period_over", "Too late to keep the receipt time.", pointer)])
    if BufferedSubmission.objects.filter(corrects_id=original.pk, status__in=[
            SubmissionStatus.LODGED, SubmissionStatus.PENDING, SubmissionStatus.REPLAYING]).exists():
        raise Conflict(detail="This submission was already corrected.", code="already_corrected",
                       errors=[error("already_corrected", "Already corrected.", pointer)])
    return original


# --- buffered intake -------------------------------------------------------------------------

def submission_buffer(*, endpoint: LodgingEndpoint, method: str, path: str, headers: dict[str, str],
                      body: bytes, data: Any, pins: tuple[str, ...], agent: Identity,
                      contingency: Contingency, aeo_lookup: bool = True,
                      corrects: BufferedSubmission | None = None, idempotency_key: str = "") -> BufferedSubmission:
    """Store one request durably in the intake store and sign its receipt. No primary database,
    broker or worker involved: the row is committed before the caller sends the 202.

    `aeo_lookup=False` when the primary is away (the AEO register lives there: the submission
    keeps its other priority). `corrects`: the rejected submission this one corrects; it keeps
    that submission's receipt time (`lodged_at`) and contingency period (deadline relief).
    """
    now = clock.now()
    extra = settings.CONTINGENCY_PERISHABLE_HS_PREFIXES
    priority = priority_for(endpoint, data, extra_prefixes=extra, aeo=False)
    if priority == SubmissionPriority.NORMAL and pins and aeo_lookup:
        # Only now pay for the AEO look-up (manifests and perishables outrank AEO anyway).
        priority = priority_for(endpoint, data, extra_prefixes=extra, aeo=bool(aeo_active_pins(pins, clock.today())))
    submission_id = uuid.uuid4()
    digest = hashlib.sha256(body).hexdigest()
    fields: dict[str, Any] = {
        "submission_id": str(submission_id),
        "received_at": now.astimezone(dt.UTC).isoformat(),
        "body_sha256": digest,
        "endpoint": f"{method} {path}",
        "agent": agent.username,
    }
    if corrects is not None:
        fields["corrects"] = str(corrects.id)
        fields["lodged_at"] = corrects.lodged_at.astimezone(dt.UTC).isoformat()
        outage_id, window_id = corrects.outage_id, corrects.window_id
    else:
        outage_id = contingency.outage_id
        window_id = contingency.window.id if contingency.window and outage_id is None else None
    receipt = sign_receipt(fields)
    with transaction.atomic(using=INTAKE_ALIAS):
        return BufferedSubmission.objects.create(
            id=submission_id, status=SubmissionStatus.PENDING, priority=priority, method=method, path=path,
            endpoint=endpoint.name, headers=headers, body=body, body_sha256=digest,
            agent_id=agent.user_id or None, agent_username=agent.username, received_at=now,
            lodged_at=corrects.lodged_at if corrects is not None else now,
            corrects_id=corrects.id if corrects is not None else None, idempotency_key=idempotency_key,
            outage_id=outage_id, window_id=window_id, receipt=receipt)


# --- replay ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReplayReport:
    started_at: dt.datetime
    finished_at: dt.datetime
    reclaimed: int
    processed: int
    lodged: int
    rejected: int
    errored: int
    skipped: int
    remaining: int


def default_lodge() -> LodgeCallable:
    """The registry's dispatch (`maintenance.replay_handlers`), once every lodging endpoint has its
    handler; otherwise `503 replay_unavailable` before anything is claimed."""
    replay_handlers.require()
    return replay_handlers.lodge


def default_chunk_lodge() -> ChunkLodgeCallable | None:
    """Set-based replay through the chunk callables registered with the handlers; None (one by
    one) when none is registered or `CONTINGENCY_REPLAY_SET_BASED` is off."""
    if not settings.CONTINGENCY_REPLAY_SET_BASED or not replay_handlers.has_chunk_lodging():
        return None
    return replay_handlers.lodge_chunk


def deadline_extension_for(submission: BufferedSubmission, now: dt.datetime) -> dt.timedelta:
    """The length of the contingency the submission was received in (outage or buffer window)."""
    if submission.outage_id is not None:
        outage = Outage.objects.filter(pk=submission.outage_id).first()
        return outage.length(now) if outage is not None else dt.timedelta(0)
    if submission.window_id is not None:
        window = MaintenanceWindow.objects.filter(pk=submission.window_id).first()
        if window is not None:
            return min(window.ends_at, max(now, window.starts_at)) - window.starts_at
    return dt.timedelta(0)


def _reclaim_interrupted() -> int:
    """Give rows claimed by an interrupted run back to the queue (intake store).

    Safe for exactly-once: a submission is lodged at most once because its `ReplayLedger` row (in
    the primary, committed with the lodgement) is inserted before the lodgement: a second replayer
    of the same submission fails on that primary key and copies the first one's outcome.
    """
    with transaction.atomic(using=INTAKE_ALIAS):
        ids = list(BufferedSubmission.objects.select_for_update(skip_locked=True)
                   .filter(status=SubmissionStatus.REPLAYING).values_list("pk", flat=True))
        if not ids:
            return 0
        return SUBMISSION.update(BufferedSubmission.objects.filter(pk__in=ids), SubmissionStatus.REPLAYING,
                                 SubmissionStatus.PENDING, claim_token=None, claimed_at=None)


def _claim(batch_size: int, token: uuid.UUID, skip: set[uuid.UUID], now: dt.datetime) -> list[uuid.UUID]:
    with transaction.atomic(using=INTAKE_ALIAS):
        ids = list(BufferedSubmission.objects.select_for_update(skip_locked=True)
                   .filter(status=SubmissionStatus.PENDING).exclude(pk__in=skip)
                   .order_by("priority", "received_at", "id").values_list("pk", flat=True)[:batch_size])
        if ids:
            SUBMISSION.update(BufferedSubmission.objects.filter(pk__in=ids), SubmissionStatus.PENDING,
                              SubmissionStatus.REPLAYING, claim_token=token, claimed_at=now)
    return ids


def _outcome_notice(submission: BufferedSubmission, outcome: ReplayOutcome) -> tuple[str, dict[str, Any]]:
    receipt = {"submission_id": str(submission.id), "received_at": _iso(submission.received_at),
               "endpoint": submission.receipt.get("endpoint", submission.endpoint)}
    if outcome.lodged:
        return (f"Buffered submission {submission.id} lodged"
                + (f" as {outcome.entry_number}" if outcome.entry_number else ""),
                {"outcome": "lodged", **receipt, "entry_number": outcome.entry_number,
                 "resource_id": outcome.resource_id})
    return (f"Buffered submission {submission.id} rejected",
            {"outcome": "rejected", **receipt, "code": outcome.code, "detail": outcome.detail,
             "errors": [e.as_dict() for e in outcome.errors]})


def _notify_outcome(submission: BufferedSubmission, outcome: ReplayOutcome, actor: Actor) -> None:
    subject, payload = _outcome_notice(submission, outcome)
    notify.notify_agent(user=submission.agent, kind=OUTCOME_KIND, subject=subject, payload=payload,
                        actor=actor_user(actor))


def _notify_outcomes(decided: list[tuple[BufferedSubmission, ReplayOutcome]], actor: Actor) -> None:
    """`_notify_outcome` for a chunk: the same notices, written in one INSERT."""
    notices = []
    for submission, outcome in decided:
        subject, payload = _outcome_notice(submission, outcome)
        notices.append((submission.agent, subject, payload))
    notify.notify_agents(kind=OUTCOME_KIND, notices=notices, actor=actor_user(actor))


@contextmanager
def _long_lived_objects_frozen() -> Iterator[None]:
    """Keep the objects alive before the replay (the loaded apps, modules, caches) out of the
    garbage collector's full passes while it runs (`gc.freeze`, undone after): each chunk leaves
    tens of thousands of objects, and every full pass walked the whole process again (~15 % of a
    replay's CPU, bench/profile_replay.py). Nothing is kept longer: unfreezing hands them back."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def replay_buffered(*, actor: Actor, batch_size: int | None = None,
                    lodge: LodgeCallable | Callable[..., ReplayOutcome] | None = None,
                    reclaim: bool = True, commit_every: int | None = None,
                    only: list[uuid.UUID] | None = None,
                    chunk_lodge: ChunkLodgeCallable | bool | None = None) -> ReplayReport:
    """Feed every pending buffered submission through `lodge`, exactly once, in priority order
    (manifests, perishables, AEO traders, then receipt time).

    Two databases: rows are claimed in the intake store (`pending -> replaying` compare-and-set
    with this run's token); each is lodged in the primary in ONE transaction (per `commit_every`
    rows, each in its own savepoint) together with its `ReplayLedger` row; only then is the outcome
    copied to the intake row. An interruption before the primary commits leaves nothing lodged
    and the row is reclaimed; an interruption after it leaves the ledger, which the next run finds
    and copies instead of lodging again. A row whose lodging raises an unexpected error goes back
    to `pending` (attempts + 1) and is not retried in the same run. `only`: replay just these
    submissions (a correction lodged at once).

    `lodge` defaults to the handlers the owning apps registered (`maintenance.replay_handlers`);
    a lodging endpoint without one stops the replay before anything is claimed (503).
    Set-based (`chunk_lodge`, default the registered chunk callables when `lodge` is not given;
    False: off): a chunk of `CONTINGENCY_REPLAY_CHUNK_SIZE` rows is validated together and lodged
    in ONE primary transaction with its ledger rows (each table written once); what the chunk
    does not decide goes through `lodge` one by one after it. If the chunk's transaction fails, its
    rows are replayed one by one (each in its savepoint), so one bad submission fails alone.
    """
    lodge_fn = lodge or default_lodge()
    if chunk_lodge is None:
        chunk_lodge = default_chunk_lodge() if lodge is None else None
    chunk_fn = chunk_lodge or None
    batch_size = batch_size or settings.CONTINGENCY_REPLAY_BATCH_SIZE
    commit_every = max(1, commit_every or (settings.CONTINGENCY_REPLAY_CHUNK_SIZE if chunk_fn
                                           else settings.CONTINGENCY_REPLAY_COMMIT_EVERY))
    started = clock.now()
    token = uuid.uuid4()
    reclaimed = _reclaim_interrupted() if reclaim else 0
    run = _ReplayRun(token=token, lodge_fn=lodge_fn, actor=actor, chunk_fn=chunk_fn)
    # gc.freeze is process-wide: only the batch run (a worker's task), not the one-submission
    # replay a web request runs (`only`), freezes the objects alive before it.
    with _long_lived_objects_frozen() if only is None else contextlib.nullcontext():
        while True:
            ids = _claim(batch_size, token, run.errored, clock.now()) if only is None else _claim_only(only, token)
            if not ids:
                break
            for offset in range(0, len(ids), commit_every):
                run.replay_chunk(ids[offset:offset + commit_every])
            if only is not None:
                break
    now = clock.now()
    for kind, period_id in run.periods:
        if kind == "outage":
            outage = Outage.objects.filter(pk=period_id).first()
            if outage is not None:
                outage_report_refresh(outage=outage, now=now, replay_started_at=started)
        else:
            window = MaintenanceWindow.objects.filter(pk=period_id).first()
            if window is not None:
                outage_report_refresh(window=window, now=now, replay_started_at=started)
    remaining = BufferedSubmission.objects.filter(
        status__in=[SubmissionStatus.PENDING, SubmissionStatus.REPLAYING]).count()
    return ReplayReport(started_at=started, finished_at=now, reclaimed=reclaimed, remaining=remaining,
                        **run.counts)


def _claim_only(ids: list[uuid.UUID], token: uuid.UUID) -> list[uuid.UUID]:
    with transaction.atomic(using=INTAKE_ALIAS):
        SUBMISSION.update(BufferedSubmission.objects.filter(pk__in=ids), SubmissionStatus.PENDING,
                          SubmissionStatus.REPLAYING, claim_token=token, claimed_at=clock.now())
        return list(BufferedSubmission.objects.filter(pk__in=ids, claim_token=token)
                    .order_by("priority", "received_at", "id").values_list("pk", flat=True))


class _Rejected(Exception):
    def __init__(self, outcome: ReplayOutcome) -> None:
        super().__init__(outcome.code)
        self.outcome = outcome


class _AlreadyReplayed(Exception):
    """The submission's ledger row exists: another run lodged or rejected it."""


@dataclass
class _ReplayRun:
    token: uuid.UUID
    lodge_fn: Callable[..., ReplayOutcome]
    actor: Actor
    chunk_fn: Any = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("processed", "lodged", "rejected", "errored", "skipped"), 0))
    errored: set[uuid.UUID] = field(default_factory=set)
    periods: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    extensions: dict[tuple[str, uuid.UUID], dt.timedelta] = field(default_factory=dict)
    known: dict[tuple[str, uuid.UUID], bool] = field(default_factory=dict)

    def replay_chunk(self, ids: list[uuid.UUID]) -> None:
        rows = {row.pk: row for row in BufferedSubmission.objects.filter(
            pk__in=ids, status=SubmissionStatus.REPLAYING, claim_token=self.token)}
        self.counts["skipped"] += len(ids) - len(rows)  # reclaimed by another run meanwhile
        done = set(ReplayLedger.objects.filter(submission_id__in=list(rows)).values_list("submission_id", flat=True))
        failed: dict[uuid.UUID, str] = {}
        todo = [rows[pk] for pk in ids if pk in rows and pk not in done]  # claim order = priority order
        if self.chunk_fn is not None and todo:
            todo = self._replay_set(todo)
        if todo:
            with transaction.atomic():
                for submission in todo:
                    self._count(self._replay_one(submission, failed))
        # The primary has committed: copy every outcome (new, or found from an earlier run) to the
        # intake rows this run still holds.
        ledger = {row.submission_id: row for row in ReplayLedger.objects.filter(submission_id__in=list(rows))}
        with transaction.atomic(using=INTAKE_ALIAS):
            finished = []
            for pk, entry in ledger.items():
                status = SubmissionStatus.LODGED if entry.lodged else SubmissionStatus.REJECTED
                finished.append((pk, status, entry.result, entry.finished_at))
                if pk in done:
                    self.counts["skipped"] += 1
            _outcomes_copy(self.token, finished)
            for pk in rows:
                if pk in failed and pk not in ledger:
                    held = BufferedSubmission.objects.filter(pk=pk, claim_token=self.token)
                    SUBMISSION.update(held, SubmissionStatus.REPLAYING, SubmissionStatus.PENDING, claim_token=None,
                                      claimed_at=None, attempts=F("attempts") + 1, last_error=failed[pk][:2000])
                    self.errored.add(pk)

    def _count(self, kind: str) -> None:
        self.counts[kind] += 1
        if kind in (SubmissionStatus.LODGED, SubmissionStatus.REJECTED):
            self.counts["processed"] += 1

    def _replay_set(self, todo: list[BufferedSubmission]) -> list[BufferedSubmission]:
        """Validate the chunk together, then lodge what it decides in ONE primary transaction with
        its ledger rows and the agents' notices; returns the submissions left to the one-by-one
        path (those the chunk does not decide, or all of them if its transaction failed)."""
        now = clock.now()
        try:
            chunk = self.chunk_fn([(s, s.lodged_at, self._extension(s, now)) for s in todo
                                   if s.endpoint not in REDISPATCHED])
            handled = set(chunk.handled)
        except Exception:
            logger.exception("set-based validation of a replay chunk failed; replaying it one by one")
            return todo
        if not handled:
            return todo
        decided = [s for s in todo if s.pk in handled]
        try:
            with transaction.atomic():
                claimed = _ledger_claim(decided, now, self._ledger_period)
                outcomes = chunk.lodge(claimed) if claimed else {}
                if set(outcomes) != claimed:
                    raise RuntimeError("the chunk lodging callable did not decide every claimed submission")
                _ledger_record(outcomes)
                _notify_outcomes([(s, outcomes[s.pk]) for s in decided if s.pk in claimed], self.actor)
        except replay_handlers.ChunkRetry:
            logger.info("a bill of lading changed under a replay chunk of %d; replaying it one by one", len(decided))
            return todo
        except Exception:
            logger.exception("set-based replay of a chunk of %d failed; replaying it one by one", len(decided))
            return todo
        for submission in decided:
            self._count((SubmissionStatus.LODGED if outcomes[submission.pk].lodged else SubmissionStatus.REJECTED)
                         if submission.pk in claimed else "skipped")
        return [s for s in todo if s.pk not in handled]

    def _extension(self, submission: BufferedSubmission, now: dt.datetime) -> dt.timedelta:
        period = self._period(submission)
        if period is None:
            return dt.timedelta(0)
        if period not in self.extensions:
            self.extensions[period] = deadline_extension_for(submission, now)
        return self.extensions[period]

    def _period(self, submission: BufferedSubmission) -> tuple[str, uuid.UUID] | None:
        period: tuple[str, uuid.UUID] | None = (
            ("outage", submission.outage_id) if submission.outage_id is not None
            else ("window", submission.window_id) if submission.window_id is not None else None)
        if period is not None:
            self.periods.add(period)
        return period

    def _ledger_period(self, submission: BufferedSubmission) -> dict[str, Any]:
        """The period as foreign keys of the ledger row (None when the primary has no such row)."""
        period = self._period(submission)
        if period is None:
            return {}
        if period not in self.known:
            model = Outage if period[0] == "outage" else MaintenanceWindow
            self.known[period] = model.objects.filter(pk=period[1]).exists()  # type: ignore[attr-defined]
        return {f"{period[0]}_id": period[1]} if self.known[period] else {}

    def _replay_one(self, submission: BufferedSubmission, failed: dict[uuid.UUID, str]) -> str:
        now = clock.now()
        extension = self._extension(submission, now)
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        entry = ReplayLedger.objects.create(
                            submission_id=submission.pk, lodged=False, finished_at=now,
                            **self._ledger_period(submission))
                except IntegrityError:
                    raise _AlreadyReplayed() from None
                try:
                    with transaction.atomic():
                        lodge_fn = lodge_redispatched if submission.endpoint in REDISPATCHED else self.lodge_fn
                        outcome = lodge_fn(submission, lodged_at=submission.lodged_at,
                                           deadline_extension=extension)
                        if not outcome.lodged:
                            raise _Rejected(outcome)  # a rejection keeps nothing the lodge callable wrote
                except _Rejected as rejected:
                    outcome = rejected.outcome
                except ApplicationError as exc:
                    outcome = ReplayOutcome(lodged=False, errors=tuple(exc.errors), detail=exc.detail,
                                            code=exc.code)
                entry.lodged = outcome.lodged
                entry.result = outcome.as_json()
                entry.save(update_fields=["lodged", "result"])
                _notify_outcome(submission, outcome, self.actor)
        except _AlreadyReplayed:
            return "skipped"
        except Exception as exc:
            logger.exception("replay of buffered submission %s failed", submission.pk)
            failed[submission.pk] = f"{exc.__class__.__name__}: {exc}"
            return "errored"
        return "lodged" if outcome.lodged else "rejected"


def _outcomes_copy(token: uuid.UUID, finished: list[tuple[uuid.UUID, SubmissionStatus, Any, dt.datetime]]) -> None:
    """Copy ledger outcomes (id, status, result, finished_at) to the intake rows this run still
    holds (compare-and-set: still `replaying` with this run's token), inside the caller's intake
    transaction: one UPDATE for the chunk on PostgreSQL, one per row elsewhere."""
    for _pk, status, _result, _at in finished:
        SUBMISSION.transition_check(SubmissionStatus.REPLAYING, status)
    if not finished:
        return
    intake = connections[INTAKE_ALIAS]
    if intake.vendor != "postgresql":
        for pk, status, result, finished_at in finished:
            SUBMISSION.update(BufferedSubmission.objects.filter(pk=pk, claim_token=token), SubmissionStatus.REPLAYING,
                              status, result=result, finished_at=finished_at, claim_token=None,
                              attempts=F("attempts") + 1)
        return
    table = intake.ops.quote_name(BufferedSubmission._meta.db_table)
    values = ", ".join(["(%s::uuid, %s, %s::jsonb, %s::timestamptz)"] * len(finished))
    params: list[Any] = []
    for pk, status, result, finished_at in finished:
        params.extend((pk, str(status), json.dumps(result, cls=DjangoJSONEncoder), finished_at))
    params += [token, SubmissionStatus.REPLAYING.value]
    with intake.cursor() as cursor:
        cursor.execute(f"UPDATE {table} AS t SET status = v.status, result = v.result, finished_at = v.finished_at, "
                       f"claim_token = NULL, attempts = t.attempts + 1 FROM (VALUES {values}) "
                       "AS v(id, status, result, finished_at) WHERE t.id = v.id AND t.claim_token = %s::uuid "
                       "AND t.status = %s", params)


def _ledger_claim(submissions: list[BufferedSubmission], now: dt.datetime,
                  period_of: Callable[[BufferedSubmission], dict[str, Any]]) -> set[uuid.UUID]:
    """Insert the chunk's ledger rows (outcome still open) in one statement, skipping keys that
    exist: the ids inserted are this run's to lodge. A concurrent replayer inserting the same key
    waits for this transaction and then skips it (exactly-once, as `_replay_one`'s insert)."""
    meta = ReplayLedger._meta
    quote = connection.ops.quote_name
    columns = ("submission_id", "lodged", "result", "outage_id", "window_id", "finished_at")
    fields: list[Any] = [meta.get_field(name) for name in ("submission_id", "lodged", "result", "outage", "window",
                                                           "finished_at")]
    params: list[Any] = []
    for submission in submissions:
        period = period_of(submission)
        values: tuple[Any, ...] = (submission.pk, False, {}, period.get("outage_id"), period.get("window_id"), now)
        params.extend(f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True))
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "
            + ", ".join([row] * len(submissions))
            + f" ON CONFLICT ({quote('submission_id')}) DO NOTHING RETURNING {quote('submission_id')}", params)
        return {value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)) for (value,) in cursor.fetchall()}


def _ledger_record(outcomes: dict[uuid.UUID, ReplayOutcome]) -> None:
    """Write the chunk's outcomes into its ledger rows (one UPDATE on PostgreSQL)."""
    if not outcomes:
        return
    if connection.vendor != "postgresql":
        for pk, outcome in outcomes.items():
            ReplayLedger.objects.filter(pk=pk).update(lodged=outcome.lodged, result=outcome.as_json())
        return
    table = connection.ops.quote_name(ReplayLedger._meta.db_table)
    values = ", ".join(["(%s::uuid, %s::boolean, %s::jsonb)"] * len(outcomes))
    params: list[Any] = []
    for pk, outcome in outcomes.items():
        params.extend((pk, outcome.lodged, json.dumps(outcome.as_json(), cls=DjangoJSONEncoder)))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} AS t SET lodged = v.lodged, result = v.result FROM (VALUES {values}) "
                       "AS v(id, lodged, result) WHERE t.submission_id = v.id", params)


def outage_report_refresh(*, outage: Outage | None = None, window: MaintenanceWindow | None = None,
                          now: dt.datetime, replay_started_at: dt.datetime | None = None) -> OutageReport:
    """Recompute the report of one contingency period from its submissions."""
    if outage is not None:
        rows = BufferedSubmission.objects.filter(outage_id=outage.pk)
        lookup: dict[str, Any] = {"outage": outage}
        period_start, period_end = outage.started_at, outage.ended_at
    elif window is not None:
        rows = BufferedSubmission.objects.filter(window_id=window.pk)
        lookup = {"window": window}
        period_start, period_end = window.starts_at, window.ends_at
    else:
        raise ValueError("outage or window is required")
    by_status = {s: rows.filter(status=s).count() for s in SubmissionStatus.values}
    aggregates = rows.exclude(finished_at=None).aggregate(
        last=Max("finished_at"), first=Min("finished_at"),
        oldest=Max(ExpressionWrapper(F("finished_at") - F("received_at"), output_field=DurationField())))
    with transaction.atomic():
        report, _ = OutageReport.objects.select_for_update().get_or_create(
            **lookup, defaults={"period_started_at": period_start, "updated_at": now})
        report.period_started_at = period_start
        report.period_ended_at = period_end
        report.submissions = sum(by_status.values())
        report.lodged = by_status[SubmissionStatus.LODGED]
        report.rejected = by_status[SubmissionStatus.REJECTED]
        report.pending = by_status[SubmissionStatus.PENDING] + by_status[SubmissionStatus.REPLAYING]
        if replay_started_at is not None and report.replay_started_at is None:
            report.replay_started_at = replay_started_at
        drained = report.pending == 0 and aggregates["last"] is not None
        report.drained_at = aggregates["last"] if drained else None
        report.time_to_drain = (aggregates["last"] - period_end
                                if drained and period_end is not None and aggregates["last"] >= period_end
                                else (dt.timedelta(0) if drained else None))
        report.oldest_wait = aggregates["oldest"]
        report.updated_at = now
        report.save()
    return report


def retry_after_seconds(ends_at: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((ends_at - now).total_seconds()))
