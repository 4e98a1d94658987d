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

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import JsonResponse
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from core import clock
from core.exceptions import Conflict, NotFound
from declarations.enums import Status
from declarations.models import Declaration
from intake.breaker import primary_cutoff_lift, primary_cutoff_set
from intake.identity import token_copies_reconcile
from maintenance import services as maintenance_services
from maintenance.enums import WindowStatus
from maintenance.middleware import MaintenanceMiddleware
from maintenance.models import MaintenanceWindow
from maintenance.services import outage_end, outage_start, window_schedule, windows_advance
from risk.services import risk_assessments_create

from .clock import sandbox_clock_set
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
# What each step does, as the trainer reads it before running it (admin drill page).
STEP_PLANS = {
    1: "Schedule a buffer-mode window Tue 19 Nov 2024 20:00-23:00 EAT and notify every agent.",
    2: "Move the clock to 20:05 EAT: the window is active; lodging is buffered.",
    3: "Declare an unplanned outage at 22:45 EAT and cut the API off from its primary database.",
    4: "Submit the 8 waiting tea exports through the real intake, every 9 hours: 202 with receipts.",
    5: "Move the clock to Sun 24 Nov 20:45 EAT, lift the cut-off and end the outage.",
    6: "Replay the buffered submissions in priority order and score them.",
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


@dataclass(frozen=True)
class StepView:
    """One step of a drill as the trainer's page shows it."""

    step: int
    title: str
    plan: str
    state: str  # "done" | "next" | "pending"
    ran_at: dt.datetime | None
    ran_by: str
    happened: tuple[str, ...]


def drill_progress(drill: Drill) -> list[StepView]:
    """Every step of the drill: done ones with when (sandbox time), by whom and what happened."""
    log = {entry.get("step"): entry for entry in drill.state.get("log", []) if isinstance(entry, dict)}
    views = []
    for step, title in STEP_TITLES.items():
        entry = log.get(step) if step <= drill.step else None
        state = "done" if step <= drill.step else ("next" if step == drill.step + 1 else "pending")
        ran_at = dt.datetime.fromisoformat(entry["clock"]) if entry and entry.get("clock") else None
        views.append(StepView(step=step, title=title, plan=STEP_PLANS[step], state=state, ran_at=ran_at,
                              ran_by=str(entry.get("by", "")) if entry else "",
                              happened=step_sentences(step, entry) if entry else ()))
    return views


def _eat(value: str | None) -> str:
    if not value:
        return "—"
    return dt.datetime.fromisoformat(value).astimezone(EAT).strftime("%d %b %Y %H:%M") + " EAT"


def step_sentences(step: int, entry: dict[str, Any]) -> tuple[str, ...]:
    """What a step did, from its log entry, in sentences with East Africa Time."""
    if step == 1 and isinstance(entry.get("window"), dict):
        window = entry["window"]
        return (f"{str(window.get('mode', '')).capitalize()}-mode window {_eat(window.get('starts_at'))} to "
                f"{_eat(window.get('ends_at'))} scheduled; every agent notified.",)
    if step == 2:
        moves = entry.get("windows") or []
        return (f"Window status moved: {'; '.join(moves)}." if moves else "No window changed status.",)
    if step == 3:
        return ("Unplanned outage declared.",
                "The API is cut off from its primary database: lodgings get receipts from the intake store, "
                "other requests 503 database_unavailable." if entry.get("primary_cut_off") else
                "The API keeps its primary database.")
    if step == 4:
        statuses = entry.get("statuses") or []
        counted = ", ".join(f"HTTP {code}: {statuses.count(code)}" for code in sorted(set(statuses)))
        return (f"{entry.get('submitted', 0)} tea exports submitted ({counted or 'none'}); "
                f"{entry.get('buffered', 0)} buffered with signed receipts.",)
    if step == 5:
        return (f"Service restored: the outage lasted {entry.get('length_hours')} hours; the cut-off is lifted.",)
    if step == 6:
        return (f"Replay: {entry.get('processed', 0)} processed, {entry.get('lodged', 0)} lodged, "
                f"{entry.get('rejected', 0)} rejected, {entry.get('errored', 0)} errored, "
                f"{entry.get('remaining', 0)} remaining.",)
    return ()


def drill_run(*, step: int | None = None, name: str = OUTAGE, actor_label: str, actor: Any = None) -> StepResult:
    """Run the next step (or `step`, which must be the next one). `actor` (a user: the trainer in
    the admin) is recorded on what the step does (window, outage, replay); from the command line
    there is no user and the seeded maintenance admin stands in."""
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
    summary = _STEPS[wanted](drill, actor_label, actor)
    now = clock.now()
    with transaction.atomic():
        drill = Drill.objects.select_for_update().get(pk=drill.pk)
        drill.step = wanted
        drill.started_at = drill.started_at or now
        drill.updated_at = now
        drill.updated_by = actor_label[:150]
        drill.state = {**drill.state, **summary.pop("_state", {}),
                       "log": [*drill.state.get("log", []), {"step": wanted, "title": STEP_TITLES[wanted],
                                                             "clock": now.isoformat(), "by": actor_label[:150],
                                                             **_jsonable(summary)}]}
        drill.save()
    return StepResult(step=wanted, title=STEP_TITLES[wanted], clock=now, summary=summary)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value, default=str))


def _move(at: dt.datetime, actor_label: str) -> None:
    sandbox_clock_set(at=at, actor_label=actor_label)


def _advance_windows() -> list[str]:
    return [f"{w.reason}: {' -> '.join(moves)}" for w, moves in windows_advance()]


def _trainer(actor: Any) -> Any:
    if actor is not None:
        return actor
    return get_user_model().objects.filter(username="maintenance-admin1").first()


def _step_announce(drill: Drill, actor_label: str, actor: Any) -> dict[str, Any]:
    if clock.now() > WINDOW_START - dt.timedelta(hours=24):
        _move(WINDOW_START - dt.timedelta(days=1, hours=12), actor_label)
    window = MaintenanceWindow.objects.filter(starts_at=WINDOW_START, status=WindowStatus.SCHEDULED).first()
    if window is None:
        window = window_schedule(starts_at=WINDOW_START, ends_at=WINDOW_END, mode="buffer",
                                 reason="iCMS database maintenance (press notice, drill)", actor=_trainer(actor))
    return {"window": {"id": str(window.pk), "starts_at": window.starts_at.isoformat(),
                       "ends_at": window.ends_at.isoformat(), "mode": window.mode},
            "_state": {"window_id": str(window.pk)}}


def _step_window_active(drill: Drill, actor_label: str, actor: Any) -> dict[str, Any]:
    _move(WINDOW_START + dt.timedelta(minutes=5), actor_label)
    return {"windows": _advance_windows()}


def _step_outage(drill: Drill, actor_label: str, actor: Any) -> dict[str, Any]:
    _move(OUTAGE_DECLARED, actor_label)
    reason = ("iCMS did not come back after maintenance: database corruption at Mombasa "
              "(drill, after the November 2024 outage)")
    outage = outage_start(reason=reason, actor=_trainer(actor))
    # The sandbox API is really cut off from its primary database until step 5: every web process
    # answers from the intake store alone (202 receipts, 503 database_unavailable for the rest).
    token_copies_reconcile()  # what the beat task keeps true: intake knows every active token
    primary_cutoff_set(reason=reason)
    return {"outage_id": str(outage.pk), "primary_cut_off": True, "_state": {"outage_id": str(outage.pk)}}


def _step_buffer(drill: Drill, actor_label: str, actor: Any) -> dict[str, Any]:
    """Tea exporters keep submitting: each body goes through the real intake middleware."""
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
    return JsonResponse({"detail": "not in contingency: nothing buffered"}, status=409)


def _step_restore(drill: Drill, actor_label: str, actor: Any) -> dict[str, Any]:
    _move(RESTORED, actor_label)
    primary_cutoff_lift()
    outage = outage_end(actor=_trainer(actor), reason="Service restored (drill)")
    ended = outage.ended_at or clock.now()
    return {"outage_id": str(outage.pk), "length_hours": round((ended - outage.started_at).total_seconds() / 3600, 1)}


def _step_replay(drill: Drill, actor_label: str, actor: Any) -> dict[str, Any]:
    # Through the module: tests replace maintenance.services.replay_buffered.
    report = maintenance_services.replay_buffered(actor=_trainer(actor))
    # Scoring runs on workers in production; the drill scores synchronously so lanes show at once.
    unscored = list(Declaration.objects.filter(status=Status.ASSESSED, risk_assessment__isnull=True)
                    .values_list("pk", flat=True))
    if unscored:
        risk_assessments_create(declaration_ids=unscored)
    return {"processed": report.processed, "lodged": report.lodged, "rejected": report.rejected,
            "errored": report.errored, "remaining": report.remaining}


_STEPS: dict[int, Callable[[Drill, str, Any], dict[str, Any]]] = {
    1: _step_announce, 2: _step_window_active, 3: _step_outage, 4: _step_buffer, 5: _step_restore,
    6: _step_replay,
}
