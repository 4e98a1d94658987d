"""Clearance writes. Split by sub-domain: clearance (workflow and officer decisions), release
(release orders, gate-out), reconciliation (provisional releases after a contingency)."""

from .clearance import (
    ClearanceOutcome,
    assessment_amend,
    clearance_advance,
    declaration_control_resume,
    declaration_query_agent,
    declaration_reject,
    inspection_findings_override,
    inspection_findings_record,
    inspection_request,
    officer_task_assign,
    officer_task_take_next,
    officer_tasks_close,
    officer_tasks_escalate,
    query_answer,
)
from .release import declaration_gate_out, declaration_release, gate_event_record

__all__ = [
    "ClearanceOutcome",
    "assessment_amend",
    "clearance_advance",
    "declaration_control_resume",
    "declaration_gate_out",
    "declaration_query_agent",
    "declaration_reject",
    "declaration_release",
    "gate_event_record",
    "inspection_findings_override",
    "inspection_findings_record",
    "inspection_request",
    "officer_task_assign",
    "officer_task_take_next",
    "officer_tasks_close",
    "officer_tasks_escalate",
    "query_answer",
]
