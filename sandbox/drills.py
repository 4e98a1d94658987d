"""The outage drill: a scripted sequence a trainer runs step by step with the clock.

Steps (the November 2024 Mombasa outage, compressed into one week of sandbox time):
1. scheduled window announced (agents are notified; `Forodha-Maintenance` header appears)
2. window active (the clock jumps into it; lodging is refused with 503 `maintenance_window`)
3. unplanned outage declared (the system does not come back after the window); the sandbox's API
   is cut off from its primary database (intake.breaker.primary_cutoff_set) until step 5
4. submissions buffered (waiting tea exports go through the real intake: 202 + signed receipts)
5. service restored (five days later; the cut-off is lifted)
6. replay (buffered submissions lodged in priority order, receipt time as lodgement time)

State lives in `sandbox.Drill` (name "outage"), so `drill status` shows where it is from any
process, and steps must be run in order.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core import clock
from core.exceptions import Conflict, NotFound
from declarations.enums import Status

from .models import Drill
from .seeding import EAT, require_sandbox

OUTAGE = "outage"
STEP_TITLES = {
    1: "scheduled window announced",
    2: "window active",
    3: "unplanned outage declared",
    4: "submissions buffered",
    5: "service restored",
    6: "replay",
}
# Sandbox times of the script (East Africa Time).
WINDOW_START = dt.datetime(2024, 11, 19, 20, 0, tzinfo=EAT)
WINDOW_END = dt.datetime(2024, 11, 19, 23, 0, tzinfo=EAT)
OUTAGE_DECLARED = dt.datetime(2024, 11, 19, 22, 45, tzinfo=EAT)
RESTORED = dt.datetime(2024, 11, 24, 20, 45, tzinfo=EAT)
BUFFERED_TEA_EXPORTS = 8


@dataclass(frozen=True)
class StepResult:
    step: int
    title: str
    clock: dt.datetime
    summary: dict[str, Any]


def drill_prepare(*, builder: Any, tea_firm: Any) -> Drill:
    """Seeding (outage-drill scenario): the drill row at step 0, with the tea exports that will be
    submitted during the outage prepared (deterministic bodies from the scenario's seed)."""
    bodies = []
    for i in range(BUFFERED_TEA_EXPORTS):
        exporter = tea_firm.traders[i % 4]
        bodies.append(builder.export_body(exporter, tea_firm.next_reference("G" if i % 3 else "")))
    drill, _ = Drill.objects.update_or_create(name=OUTAGE, defaults={
        "step": 0, "started_at": None, "updated_at": clock.now(), "updated_by": "sandbox-seed",
        "state": {"agent_username": tea_firm.staff_user.get_username(), "bodies": bodies, "log": []}})
    return drill


def drill_status(*, name: str = OUTAGE) -> Drill:
    require_sandbox()
    drill = Drill.objects.filter(name=name).first()
    if drill is None:
        raise NotFound(detail=f"No {name} drill: seed the outage-drill scenario first.", code="drill_not_found")
    return drill


def drill_run(*, step: int | None = None, name: str = OUTAGE, actor_label: str) -> StepResult:
    """Run the next step (or `step`, which must be the next one)."""
    require_sandbox()
    with transaction.atomic():
        drill = Drill.objects.select_for_update().filter(name=name).first()
        if drill is None:
            raise NotFound(detail=f"No {name} drill: seed the outage-drill scenario first.", code="drill_not_found")
        wanted = drill.step + 1 if step is None else step
        if wanted != drill.step + 1 or wanted not in STEP_TITLES:
            raise Conflict(detail=f"The drill is at step {drill.step}; the next step is {drill.step + 1}"
                                  + (" (the drill is complete)." if drill.step >= len(STEP_TITLES) else "."),
                           code="drill_out_of_order")
    summary = _STEPS[wanted](drill, actor_label)
    now = clock.now()
    with transaction.atomic():
        drill = Drill.objects.select_for_update().get(pk=drill.pk)
        drill.step = wanted
        drill.started_at = drill.started_at or now
        drill.updated_at = now
        drill.updated_by = actor_label[:150]
        drill.state = {**drill.state, **summary.pop("_state", {}),
                       "log": [*drill.state.get("log", []), {"step": wanted, "title": STEP_TITLES[wanted],
                                                             "clock": now.isoformat(), **_jsonable(summary)}]}
        drill.save()
    return StepResult(step=wanted, title=STEP_TITLES[wanted], clock=now, summary=summary)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value, default=str))


def _move(at: dt.datetime, actor_label: str) -> None:
    from .clock import sandbox_clock_set

    sandbox_clock_set(at=at, actor_label=actor_label)


def _advance_windows() -> list[str]:
    from maintenance.services import windows_advance

    return [f"{w.reason}: {' -> '.join(moves)}" for w, moves in windows_advance()]


def _trainer(actor_label: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username="maintenance-admin1").first()


def _step_announce(drill: Drill, actor_label: str) -> dict[str, Any]:
    from maintenance.enums import WindowStatus
    from maintenance.models import MaintenanceWindow
    from maintenance.services import window_schedule

    if clock.now() > WINDOW_START - dt.timedelta(hours=24):
        _move(WINDOW_START - dt.timedelta(days=1, hours=12), actor_label)
    window = MaintenanceWindow.objects.filter(starts_at=WINDOW_START, status=WindowStatus.SCHEDULED).first()
    if window is None:
        window = window_schedule(starts_at=WINDOW_START, ends_at=WINDOW_END, mode="buffer",
                                 reason="iCMS database maintenance (press notice, drill)", actor=_trainer(actor_label))
    return {"window": {"id": str(window.pk), "starts_at": window.starts_at.isoformat(),
                       "ends_at": window.ends_at.isoformat(), "mode": window.mode},
            "_state": {"window_id": str(window.pk)}}


def _step_window_active(drill: Drill, actor_label: str) -> dict[str, Any]:
    _move(WINDOW_START + dt.timedelta(minutes=5), actor_label)
    return {"windows": _advance_windows()}


def _step_outage(drill: Drill, actor_label: str) -> dict[str, Any]:
    from intake.breaker import primary_cutoff_set
    from intake.identity import token_copies_reconcile
    from maintenance.services import outage_start

    _move(OUTAGE_DECLARED, actor_label)
    reason = ("iCMS did not come back after maintenance: database corruption at Mombasa "
              "(drill, after the November 2024 outage)")
    outage = outage_start(reason=reason, actor=_trainer(actor_label))
    # The sandbox API is really cut off from its primary database until step 5: every web process
    # answers from the intake store alone (202 receipts, 503 database_unavailable for the rest).
    token_copies_reconcile()  # what the beat task keeps true: intake knows every active token
    primary_cutoff_set(reason=reason)
    return {"outage_id": str(outage.pk), "primary_cut_off": True, "_state": {"outage_id": str(outage.pk)}}


def _step_buffer(drill: Drill, actor_label: str) -> dict[str, Any]:
    """Tea exporters keep submitting: each body goes through the real intake middleware."""
    from django.test import RequestFactory
    from rest_framework.authtoken.models import Token

    from maintenance.middleware import MaintenanceMiddleware

    token = Token.objects.get(user__username=drill.state["agent_username"]).key
    intake = MaintenanceMiddleware(lambda request: _not_buffered(request))
    receipts, statuses = [], []
    start = WINDOW_END + dt.timedelta(hours=10)
    bodies = drill.state.get("bodies", [])
    for i, body in enumerate(bodies):
        _move(start + dt.timedelta(hours=9 * i), actor_label)
        request = RequestFactory().post("/api/v1/declarations", data=json.dumps(body),
                                        content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}",
                                        HTTP_IDEMPOTENCY_KEY=f"drill-tea-{i}")
        response = intake(request)
        statuses.append(response.status_code)
        if response.status_code == 202:
            receipts.append(json.loads(response.content)["receipt"]["submission_id"])
    _advance_windows()
    return {"submitted": len(bodies), "statuses": statuses, "buffered": len(receipts),
            "_state": {"submission_ids": receipts}}


def _not_buffered(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"detail": "not in contingency: nothing buffered"}, status=409)


def _step_restore(drill: Drill, actor_label: str) -> dict[str, Any]:
    from intake.breaker import primary_cutoff_lift
    from maintenance.services import outage_end

    _move(RESTORED, actor_label)
    primary_cutoff_lift()
    outage = outage_end(actor=_trainer(actor_label), reason="Service restored (drill)")
    ended = outage.ended_at or clock.now()
    return {"outage_id": str(outage.pk), "length_hours": round((ended - outage.started_at).total_seconds() / 3600, 1)}


def _step_replay(drill: Drill, actor_label: str) -> dict[str, Any]:
    from maintenance.services import replay_buffered
    from risk.services import risk_assessments_create

    report = replay_buffered(actor=_trainer(actor_label))
    from declarations.models import Declaration

    # Scoring runs on workers in production; the drill scores synchronously so lanes show at once.
    unscored = list(Declaration.objects.filter(status=Status.ASSESSED, risk_assessment__isnull=True)
                    .values_list("pk", flat=True))
    if unscored:
        risk_assessments_create(declaration_ids=unscored)
    return {"processed": report.processed, "lodged": report.lodged, "rejected": report.rejected,
            "errored": report.errored, "remaining": report.remaining}


_STEPS: dict[int, Callable[[Drill, str], dict[str, Any]]] = {
    1: _step_announce, 2: _step_window_active, 3: _step_outage, 4: _step_buffer, 5: _step_restore,
    6: _step_replay,
}
