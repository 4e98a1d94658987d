"""Trainee reports from the event log: what an agent firm lodged or an officer decided, the errors
made (refused lodgings and other 4xx answers, rejected declarations), and the time taken."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from clearance.enums import OfficerTaskStatus
from clearance.models import OfficerTask
from core.exceptions import NotFound
from declarations.enums import Status
from declarations.models import Declaration, DeclarationEvent
from traders.models import AgentStaff, ClearingAgent

from .models import ApiErrorRecord
from .seeding import require_sandbox


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _minutes(delta: dt.timedelta | None) -> float | None:
    return round(delta.total_seconds() / 60, 1) if delta is not None else None


def _errors(usernames: list[str]) -> dict[str, Any]:
    rows = list(ApiErrorRecord.objects.filter(username__in=usernames).order_by("created_at"))
    codes: Counter[str] = Counter()
    for row in rows:
        inner = [e.get("code", "") for e in row.errors if isinstance(e, dict)] or [row.code]
        codes.update(c for c in inner if c)
    return {
        "api_errors": len(rows),
        "refused_lodgings": sum(1 for r in rows if r.method == "POST" and r.path.rstrip("/").endswith(
            ("/declarations", "/lodge")) and r.status in (400, 409, 422)),
        "by_code": dict(sorted(codes.items())),
        "recent": [{"at": _iso(r.created_at), "method": r.method, "path": r.path, "status": r.status,
                    "code": r.code, "local_reference": r.local_reference} for r in rows[-10:]],
    }


def agent_report(*, agent: str) -> dict[str, Any]:
    """`agent` is the firm's name, licence number or a staff username."""
    require_sandbox()
    firm = (ClearingAgent.objects.filter(Q(name__iexact=agent) | Q(licence_number__iexact=agent)).first()
            or ClearingAgent.objects.filter(staff__user__username=agent).first())
    if firm is None:
        raise NotFound(detail=f"No agent firm {agent!r}.", code="agent_not_found")
    usernames = list(AgentStaff.objects.filter(agent=firm).values_list("user__username", flat=True))
    declarations = list(Declaration.objects.filter(agent=firm).order_by("created_at"))
    events = DeclarationEvent.objects.filter(declaration__agent=firm)
    agent_events = events.filter(actor__username__in=usernames).order_by("created_at")
    first, last = agent_events.first(), agent_events.last()
    released = {e.declaration_id: e.created_at for e in events.filter(to_status=Status.RELEASED)}
    cycle = [released[d.pk] - d.lodged_at for d in declarations if d.pk in released and d.lodged_at]
    return {
        "kind": "agent",
        "agent": firm.name,
        "licence": firm.licence_number,
        "staff": usernames,
        "lodged": sum(1 for d in declarations if d.status != Status.DRAFT),
        "drafts": sum(1 for d in declarations if d.status == Status.DRAFT),
        "by_status": dict(sorted(Counter(d.status for d in declarations).items())),
        "by_channel": dict(sorted(Counter(d.channel or "none" for d in declarations).items())),
        "rejected_declarations": [d.local_reference for d in declarations if d.status == Status.REJECTED],
        "cancelled_declarations": [d.local_reference for d in declarations if d.status == Status.CANCELLED],
        "errors": _errors(usernames),
        "first_action_at": _iso(first.created_at if first else None),
        "last_action_at": _iso(last.created_at if last else None),
        "time_taken_minutes": _minutes(last.created_at - first.created_at if first and last else None),
        "mean_lodged_to_release_minutes": _minutes(sum(cycle, dt.timedelta()) / len(cycle) if cycle else None),
        "declarations": [{"local_reference": d.local_reference, "entry_number": d.entry_number,
                          "status": d.status, "channel": d.channel, "lodged_at": _iso(d.lodged_at)}
                         for d in declarations],
    }


def officer_report(*, username: str) -> dict[str, Any]:
    require_sandbox()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(detail=f"No officer {username!r}.", code="officer_not_found")
    decisions = list(DeclarationEvent.objects.filter(actor=user).exclude(to_status="")
                     .select_related("declaration").order_by("created_at"))
    tasks = list(OfficerTask.objects.filter(assigned_to=user))
    handling = [t.completed_at - t.assigned_at for t in tasks if t.completed_at and t.assigned_at]
    return {
        "kind": "officer",
        "officer": username,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "decisions": len(decisions),
        "by_decision": dict(sorted(Counter(f"{e.from_status}->{e.to_status}" for e in decisions).items())),
        "tasks_assigned": len(tasks),
        "tasks_done": sum(1 for t in tasks if t.status == OfficerTaskStatus.DONE),
        "outcomes": dict(sorted(Counter(t.outcome or "open" for t in tasks).items())),
        "errors": _errors([username]),
        "first_action_at": _iso(decisions[0].created_at if decisions else None),
        "last_action_at": _iso(decisions[-1].created_at if decisions else None),
        "time_taken_minutes": _minutes(decisions[-1].created_at - decisions[0].created_at if decisions else None),
        "mean_task_minutes": _minutes(sum(handling, dt.timedelta()) / len(handling) if handling else None),
        "recent": [{"at": _iso(e.created_at), "entry_number": e.declaration.entry_number,
                    "from": e.from_status, "to": e.to_status, "reason": e.reason} for e in decisions[-10:]],
    }


def class_report() -> list[dict[str, Any]]:
    """One summary line per agent firm (no arguments: the whole class)."""
    require_sandbox()
    out = []
    for firm in ClearingAgent.objects.order_by("name"):
        full = agent_report(agent=firm.licence_number)
        out.append({k: full[k] for k in ("agent", "lodged", "by_status", "errors", "time_taken_minutes")})
        out[-1]["errors"] = {"api_errors": full["errors"]["api_errors"],
                             "refused_lodgings": full["errors"]["refused_lodgings"]}
    return out


def render_text(report: Any) -> str:
    if isinstance(report, list):
        return "\n".join(f"{r['agent']}: lodged {r['lodged']}, errors {r['errors']['api_errors']} "
                         f"(refused lodgings {r['errors']['refused_lodgings']}), statuses {r['by_status']}, "
                         f"time {r['time_taken_minutes']} min" for r in report) or "no agent firms"
    lines = []
    for key, value in report.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            lines.extend("  " + ", ".join(f"{k}={v}" for k, v in row.items()) for row in value)
        elif isinstance(value, dict) and key == "errors":
            lines.append(f"errors: {value['api_errors']} API errors, {value['refused_lodgings']} refused lodgings, "
                         f"by code {value['by_code']}")
            lines.extend("  " + ", ".join(f"{k}={v}" for k, v in row.items()) for row in value["recent"])
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
