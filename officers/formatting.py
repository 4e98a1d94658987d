"""How the officer workspace writes values for people: tax names, money with thousands
separators, times in East Africa Time, and the declaration history as sentences (who did what,
and why). Plain functions over plain values, so they are tested without a database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from declarations.enums import Status

EAT = ZoneInfo("Africa/Nairobi")

TAX_NAMES = {
    "import_duty": "Import duty",
    "excise_duty": "Excise duty",
    "vat": "VAT",
    "idf": "Import Declaration Fee",
    "rdl": "Railway Development Levy",
    "penalties": "Penalties",
    "fees": "Fees",
}

# The statuses' own labels, in lower case ("under control").
STATUS_NAMES = {str(status): str(status.label).lower() for status in Status}


def tax_name(code: str) -> str:
    return TAX_NAMES.get(code, code.replace("_", " ").capitalize())


def money(value: Any) -> str:
    """1234567.5 -> "1,234,567.50" (half-up to the cent); None/blank -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f}"


def eat(value: dt.datetime | None) -> str:
    """An aware instant as "25 Nov 2026 10:00 EAT" (East Africa Time); None -> "—"."""
    if value is None:
        return "—"
    return value.astimezone(EAT).strftime("%d %b %Y %H:%M") + " EAT"


def yes_no(value: Any) -> str:
    return "Yes" if value else "No"


@dataclass(frozen=True)
class HistoryEntry:
    number: int
    when: str
    who: str
    what: str
    why: str
    kind: str


def _who(event: Any) -> str:
    label = event.actor_label or "system"
    return "System" if label == "system" else label


def _status(code: str) -> str:
    return STATUS_NAMES.get(code, code.replace("_", " "))


def _transition_sentence(event: Any, who: str) -> str:
    payload = event.payload or {}
    source, target = event.from_status, event.to_status
    if target == Status.DRAFT:
        return f"{who} started a draft"
    if target == Status.REGISTERED:
        return f"{who} lodged the declaration; it was registered"
    if target == Status.ASSESSED:
        total = payload.get("total")
        return f"{who} assessed the taxes" + (f": KES {money(total)} to pay" if total else "")
    if target == Status.PAID:
        return f"{who} recorded the payment"
    if target == Status.UNDER_CONTROL:
        if source == Status.QUERIED:
            return f"{who} recorded the documents as received; the control continues"
        control = payload.get("control")
        if control == "inspection":
            return f"{who} put the declaration under control for a physical examination"
        if control == "documentary_check":
            return f"{who} put the declaration under control for a documentary check"
        return f"{who} put the declaration under control"
    if target == Status.QUERIED:
        documents = payload.get("documents_required") or []
        return f"{who} queried the agent" + (f" for: {', '.join(map(str, documents))}" if documents else "")
    if target == Status.RELEASED:
        order = payload.get("release_order")
        return f"{who} released the goods" + (f" (release order {order})" if order else "")
    if target == Status.EXITED:
        return f"{who} recorded the gate out"
    if target == Status.REJECTED:
        return f"{who} rejected the declaration" + (" and seized the goods" if payload.get("seized") else "")
    if target == Status.CANCELLED:
        return f"{who} cancelled the declaration"
    return f"{who} moved the declaration from {_status(source) or 'nothing'} to {_status(target)}"


def _channel_sentence(event: Any, who: str, risk_score: int | None) -> str:
    channel = (event.payload or {}).get("channel")
    if isinstance(channel, dict):
        source, target = channel.get("from") or "no", channel.get("to")
        return f"{who} moved the declaration from the {source} lane to the {target} lane"
    if event.actor_label == "system" or event.reason == "selectivity":
        score = f" (score {risk_score})" if risk_score is not None else ""
        return f"Risk engine assigned the {channel} lane{score}"
    return f"{who} set the lane to {channel}"


def event_sentence(event: Any, *, risk_score: int | None = None) -> str:
    """One history event as a sentence saying who did what (the reason is shown beside it)."""
    who = _who(event)
    payload = event.payload or {}
    kind = event.kind
    if kind == "transition":
        return _transition_sentence(event, who)
    if kind == "channel":
        return _channel_sentence(event, who, risk_score)
    if kind == "payment":
        amount = payload.get("amount")
        reference = payload.get("payment_reference")
        return (f"{who} recorded a payment" + (f" of KES {money(amount)}" if amount else "")
                + (f" (reference {reference})" if reference else ""))
    if kind == "alteration":
        fields = ", ".join(payload.get("fields") or [])
        fee = payload.get("fee_kes")
        return (f"{who} altered the declaration" + (f" ({fields})" if fields else "")
                + (f"; alteration fee KES {money(fee)}" if fee else ""))
    if kind == "amendment_requested":
        fields = ", ".join(payload.get("fields") or [])
        return f"{who} requested an amendment" + (f" of {fields}" if fields else "")
    if kind == "amendment_accepted":
        if payload.get("officer_initiated"):
            return f"{who} amended the assessment"
        return f"{who} accepted the amendment request"
    if kind == "amendment_rejected":
        return f"{who} rejected the amendment request"
    if kind == "draft_edited":
        return f"{who} edited the draft"
    if kind == "findings":
        verdict = "compliant" if payload.get("compliant") else "not compliant"
        return f"{who} recorded the inspection findings: {verdict}"
    if kind == "override":
        return f"{who} overrode the non-compliant findings to allow release"
    return f"{who}: {kind.replace('_', ' ')}"


def _why(event: Any, what: str) -> str:
    """The reason, unless it only repeats what the sentence says ("lodged", "Documentary check")."""
    reason = (event.reason or "").strip()
    if not reason or reason == "selectivity" or reason.lower() in what.lower():
        return ""
    label = "Findings" if event.kind == "findings" else "Reason"
    return f"{label}: “{event.reason}”"


def history(events: list[Any], *, risk_score: int | None = None) -> list[HistoryEntry]:
    entries = []
    for number, event in enumerate(events, start=1):
        what = event_sentence(event, risk_score=risk_score)
        entries.append(HistoryEntry(number=number, when=eat(event.created_at), who=_who(event), what=what,
                                    why=_why(event, what), kind=event.kind))
    return entries
