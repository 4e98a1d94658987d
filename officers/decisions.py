"""Officer decisions: one table of what each decision needs (permission, form, when it applies)
and which service it calls. The admin (detail-page buttons and queue actions) parses the form,
calls ONE service, and renders the outcome; no state is changed here directly."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms

from clearance.enums import LIVE_TASK_STATUSES
from clearance.services import (
    assessment_amend,
    declaration_control_resume,
    declaration_query_agent,
    declaration_reject,
    declaration_release,
    inspection_findings_override,
    inspection_findings_record,
    inspection_request,
    officer_task_assign,
)
from core.exceptions import ApplicationError
from declarations.enums import Status
from declarations.services import amendment_request_accept, amendment_request_reject, declaration_cancel

LIVE = LIVE_TASK_STATUSES

# Document codes an officer can ask the agent for (KRA/KenTrade practice; free text adds others).
DOCUMENT_CHOICES = [
    ("INV", "Commercial invoice"),
    ("PKL", "Packing list"),
    ("BL", "Bill of lading / air waybill"),
    ("COO", "Certificate of origin"),
    ("IDF", "Import declaration form"),
    ("KEBS", "KEBS certificate of conformity"),
    ("PVOC", "Pre-export verification of conformity"),
    ("LOG", "Logbook / vehicle registration (vehicles)"),
    ("EXP", "Exemption letter"),
]


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text="Recorded in the declaration's history and sent to the agent.")


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False)


class ConfirmForm(forms.Form):
    """Decisions that take no reason (assigning a task to oneself): the confirmation is the form."""


class QueryForm(ReasonForm):
    documents = forms.MultipleChoiceField(choices=DOCUMENT_CHOICES, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    other_documents = forms.CharField(required=False, max_length=500,
                                      help_text="Other documents, comma-separated.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        others = [d.strip() for d in (data.get("other_documents") or "").split(",") if d.strip()]
        data["all_documents"] = [*data.get("documents", []), *others]
        if not data["all_documents"]:
            self.add_error("documents", "Name at least one document the agent must present.")
        return data


class FindingsForm(forms.Form):
    findings = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=4000,
                               help_text="What the examination found (goods, quantities, seals, marks).")
    compliant = forms.TypedChoiceField(
        choices=[("yes", "Compliant: goods match the declaration"), ("no", "Not compliant")],
        coerce=lambda v: v == "yes", widget=forms.RadioSelect)


class RejectForm(ReasonForm):
    seize = forms.BooleanField(required=False, help_text="Seize the goods (EACCMA s.210).")


class AmendForm(ReasonForm):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 18, "class": "vLargeTextField mono"}),
                           help_text="The declaration body as amended (JSON). The agent gets a new version "
                                     "to accept or to pay under protest.")

    def clean_body(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["body"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("The body must be a JSON object.")
        return value


@dataclass(frozen=True)
class Decision:
    key: str
    label: str
    permission: str  # codename in the officers app
    form: type[forms.Form]
    applies: Callable[[Any, Any, Any], bool]  # (declaration, live task or None, pending amendment or None)
    run: Callable[..., str]  # (declaration, task, amendment, data, actor) -> success message
    danger: bool = False
    bulk: bool = False  # offered as a queue action too


def _live(task: Any) -> bool:
    return task is not None and task.status in LIVE


def _non_compliant(task: Any) -> bool:
    return _live(task) and task.outcome == "non_compliant"


# --- service calls --------------------------------------------------------------------------------


def _assign(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    officer_task_assign(task_id=task.pk, officer=actor, actor=actor)
    return f"{declaration.entry_number} assigned to you."


def _release(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    order = declaration_release(declaration_id=declaration.pk, actor=actor, reason=data["reason"])
    return f"{declaration.entry_number} released (release order {order.number})."


def _query(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    declaration_query_agent(declaration_id=declaration.pk, documents=data["all_documents"],
                            reason=data["reason"], actor=actor)
    return f"{declaration.entry_number}: agent queried for {', '.join(data['all_documents'])}."


def _resume(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    declaration_control_resume(declaration_id=declaration.pk, actor=actor, reason=data.get("reason") or "")
    return f"{declaration.entry_number} is under control again."


def _inspect(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    inspection_request(declaration_id=declaration.pk, reason=data["reason"], actor=actor)
    return f"{declaration.entry_number} moved to the inspection queue."


def _findings(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    inspection_findings_record(declaration_id=declaration.pk, findings=data["findings"],
                               compliant=data["compliant"], actor=actor)
    return f"{declaration.entry_number}: findings recorded ({'compliant' if data['compliant'] else 'not compliant'})."


def _override(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    inspection_findings_override(declaration_id=declaration.pk, reason=data["reason"], actor=actor)
    return f"{declaration.entry_number}: findings overridden; release is possible again."


def _amend(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    assessment_amend(declaration_id=declaration.pk, body=data["body"], reason=data["reason"], actor=actor)
    return f"{declaration.entry_number}: assessment amended; the agent has been sent the new version."


def _reject(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    declaration_reject(declaration_id=declaration.pk, reason=data["reason"], actor=actor, seize=data["seize"])
    return f"{declaration.entry_number} rejected{' and goods seized' if data['seize'] else ''}."


def _accept_amendment(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    updated = amendment_request_accept(request_id=amendment.pk, actor=actor)
    return f"{declaration.entry_number}: amendment accepted (version {updated.version})."


def _reject_amendment(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    amendment_request_reject(request_id=amendment.pk, actor=actor, reason=data["reason"])
    return f"{declaration.entry_number}: amendment rejected."


def _cancel(declaration: Any, task: Any, amendment: Any, data: dict[str, Any], actor: Any) -> str:
    declaration_cancel(declaration_id=declaration.pk, agent=declaration.agent, reason=data["reason"], actor=actor)
    return f"{declaration.entry_number} cancelled at the agent's request."


_REJECTABLE = (Status.REGISTERED, Status.ASSESSED, Status.UNDER_CONTROL, Status.QUERIED)
_CANCELLABLE = (Status.REGISTERED, Status.ASSESSED, Status.PAID, Status.UNDER_CONTROL, Status.QUERIED)
_AMENDABLE = (Status.REGISTERED, Status.ASSESSED, Status.PAID, Status.UNDER_CONTROL, Status.QUERIED)

DECISIONS: dict[str, Decision] = {d.key: d for d in (
    Decision("assign", "Assign to me", "assign_task", ConfirmForm,
             lambda d, t, a: _live(t), _assign, bulk=True),
    # Not offered after non-compliant findings: a supervisor overrides first (recorded, with reason).
    Decision("release", "Release", "release_declaration", ReasonForm,
             lambda d, t, a: d.status == Status.UNDER_CONTROL and not _non_compliant(t), _release, bulk=True),
    Decision("query", "Query the agent", "query_agent", QueryForm,
             lambda d, t, a: d.status == Status.UNDER_CONTROL and _live(t), _query, bulk=True),
    Decision("resume", "Documents received", "query_agent", OptionalReasonForm,
             lambda d, t, a: d.status == Status.QUERIED and _live(t), _resume),
    Decision("inspect", "Request inspection", "request_inspection", ReasonForm,
             lambda d, t, a: d.status == Status.UNDER_CONTROL and _live(t) and t.queue == "documentary_check",
             _inspect, bulk=True),
    Decision("findings", "Record inspection findings", "record_findings", FindingsForm,
             lambda d, t, a: d.status == Status.UNDER_CONTROL and _live(t) and t.queue == "inspection", _findings),
    Decision("override", "Override findings (allow release)", "override_findings", ReasonForm,
             lambda d, t, a: d.status == Status.UNDER_CONTROL and _non_compliant(t), _override, danger=True),
    Decision("amend", "Amend the assessment", "amend_assessment", AmendForm,
             lambda d, t, a: d.status in _AMENDABLE, _amend),
    Decision("reject", "Reject", "reject_declaration", RejectForm,
             lambda d, t, a: d.status in _REJECTABLE, _reject, danger=True, bulk=True),
    Decision("accept_amendment", "Accept the amendment request", "decide_amendment", ConfirmForm,
             lambda d, t, a: a is not None, _accept_amendment),
    Decision("reject_amendment", "Reject the amendment request", "decide_amendment", ReasonForm,
             lambda d, t, a: a is not None, _reject_amendment, danger=True),
    Decision("cancel", "Cancel (agent's request)", "decide_cancellation", ReasonForm,
             lambda d, t, a: d.status in _CANCELLABLE, _cancel, danger=True),
)}


def allowed(decision: Decision, user: Any) -> bool:
    return bool(user.has_perm(f"officers.{decision.permission}"))


def available(*, user: Any, declaration: Any, task: Any, amendment: Any) -> list[Decision]:
    """The decisions this user may take on this declaration now (the buttons shown)."""
    return [d for d in DECISIONS.values() if allowed(d, user) and d.applies(declaration, task, amendment)]


def initial_for(decision: Decision, declaration: Any) -> dict[str, Any]:
    if decision.key == "amend":
        return {"body": json.dumps(declaration.body, indent=2, ensure_ascii=False, default=str)}
    return {}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    error: ApplicationError | None = None


def decide(*, decision: Decision, declaration: Any, task: Any, amendment: Any, data: dict[str, Any],
           actor: Any) -> Outcome:
    """Call the decision's service; domain errors become a message, never a 500."""
    try:
        return Outcome(True, decision.run(declaration, task, amendment, data, actor))
    except ApplicationError as exc:
        details = "; ".join(f"{e.pointer}: {e.detail}" if e.pointer else e.detail
                            for e in (exc.errors or []) if e.detail)
        text = str(exc.detail) + (f" ({details})" if details and details != exc.detail else "")
        return Outcome(False, text, exc)
