"""Release orders (one per declaration), the cargo handler's release message, and gate-out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydifact.segmentcollection import Interchange, Message
from pydifact.segments import Segment

from core import clock
from core.exceptions import Conflict, NotFound, error
from declarations.lifecycle import clearable

from ..models import OfficerTask, PostClearanceAudit, ReleaseOrder, RiskAssessment

# Sender/recipient ids in the interchange header: KRA customs to the cargo handler (KPA's KWATOS
# at Mombasa; the same id is used for every office in the simulation).
EDIFACT_SENDER = "KRAICMS"
EDIFACT_RECIPIENT = "CARGOHANDLER"


def _user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _transition(
    declaration: Any,
    *,
    to_status: str,
    actor: Any,
    reason: str,
    payload: dict[str, Any] | None = None,
    notification_kind: str | None = None,
    channel: str | None = None,
    subject: str | None = None,
) -> Any:
    """Move a declaration whose row the caller holds locked (event row + agent notification).

    `notification_kind` overrides the declarations app's default kind for the new status (e.g.
    `documents_required` for a query, which would otherwise be the generic `queried`).
    """
    from declarations.services.common import notify_agent, status_payload
    from declarations.services.lifecycle import declaration_transition_locked

    from_status = declaration.status
    declaration_transition_locked(
        declaration=declaration,
        to_status=to_status,
        actor=actor,
        reason=reason,
        payload=payload,
        extra_fields={"channel": channel} if channel else None,
        notify=notification_kind is None,
    )
    if notification_kind is not None:
        notify_agent(
            declaration=declaration,
            kind=notification_kind,
            subject=subject or f"{declaration.entry_number}: {reason or to_status.replace('_', ' ')}",
            payload={**status_payload(declaration), "from": from_status, "reason": reason, **(payload or {})},
            actor=actor,
        )
    return declaration


def release_message_json(*, declaration: Any, order_number: str, lane: str, issued_at: dt.datetime) -> dict[str, Any]:
    bl = declaration.bill_of_lading
    return {
        "message": "release_order",
        "release_order": order_number,
        "entry_number": declaration.entry_number,
        "ucr": declaration.ucr,
        "office": declaration.office_id,
        "regime": declaration.regime,
        "trader_pin": declaration.importer_pin or declaration.exporter_pin,
        "bill_of_lading": declaration.bill_of_lading_number or (bl.number if bl is not None else ""),
        "containers": sorted(c.number for c in bl.containers.all()) if bl is not None else [],
        "channel": lane,
        "issued_at": issued_at.isoformat(),
    }


def release_message_edifact(*, message: dict[str, Any], control_reference: str) -> str:
    """CUSRES (customs response) D95B telling the cargo handler the goods may leave.

    BGM 962 (release note) with the release order number; RFF+ABT the customs declaration
    (entry) number, RFF+BM the bill of lading, RFF+UCN the UCR; NAD+CN the consignee's PIN;
    GIS+60 "released" (Forodha's processing indicator; the code is not standardised for iCMS).
    """
    issued = timezone.localtime(dt.datetime.fromisoformat(message["issued_at"]))
    edi = Message(reference_number="1", identifier=("CUSRES", "D", "95B", "UN"))
    edi.add_segment(Segment("BGM", "962", message["release_order"], "9"))
    edi.add_segment(Segment("DTM", ["137", issued.strftime("%Y%m%d%H%M"), "203"]))
    edi.add_segment(Segment("LOC", "22", message["office"] or ""))
    edi.add_segment(Segment("RFF", ["ABT", message["entry_number"] or ""]))
    if message["bill_of_lading"]:
        edi.add_segment(Segment("RFF", ["BM", message["bill_of_lading"]]))
    if message["ucr"]:
        edi.add_segment(Segment("RFF", ["UCN", message["ucr"]]))
    edi.add_segment(Segment("NAD", "CN", message["trader_pin"]))
    edi.add_segment(Segment("GIS", "60"))
    for number in message["containers"]:
        edi.add_segment(Segment("EQD", "CN", number))
    interchange = Interchange(
        sender=EDIFACT_SENDER,
        recipient=EDIFACT_RECIPIENT,
        control_reference=control_reference,
        syntax_identifier=("UNOC", 3),
        timestamp=issued.replace(tzinfo=None),
    )
    interchange.add_message(edi)
    return str(interchange.serialize())


def _release_locked(*, declaration: Any, actor: Any, automatic: bool, reason: str) -> ReleaseOrder:
    """Issue the release order for a declaration whose row the caller has locked.

    The status check under the lock and the one-to-one constraint on ReleaseOrder.declaration
    together make a second release impossible, even if two workers get the same message.
    """
    if ReleaseOrder.objects.filter(declaration_id=declaration.pk).exists():
        raise Conflict(detail="This declaration already has a release order.", code="already_released")
    if not arrival_allows_release(declaration):
        raise Conflict(
            detail="The goods have not arrived; release waits for arrival (pre-arrival clearance: AEO only).",
            code="awaiting_arrival",
        )
    if declaration.status != "under_control" and not clearable(declaration.status, declaration.regime):
        raise Conflict(
            detail=f"A declaration in status {declaration.status!r} cannot be released.",
            code="illegal_transition",
            errors=[error("illegal_transition", f"{declaration.status} -> released is not allowed.", "/status")],
        )
    if not automatic and OfficerTask.objects.filter(
        declaration_id=declaration.pk, status__in=[OfficerTask.Status.OPEN, OfficerTask.Status.ASSIGNED],
        outcome="non_compliant",
    ).exists():
        # The examination found the goods do not match: amend the assessment, reject/seize, or a
        # supervisor overrides the findings with a recorded reason (`inspection_findings_override`).
        raise Conflict(
            detail="The inspection findings are not compliant: release needs a supervisor's override.",
            code="findings_not_compliant",
            errors=[error("findings_not_compliant", "Findings recorded as not compliant.", "/findings")],
        )
    lane = declaration.channel or "green"
    issued_at = clock.now()
    number = f"RO{declaration.entry_number}"
    message = release_message_json(declaration=declaration, order_number=number, lane=lane, issued_at=issued_at)
    try:
        with transaction.atomic():
            order = ReleaseOrder.objects.create(
                declaration=declaration,
                number=number,
                lane=lane,
                issued_at=issued_at,
                issued_by=_user(actor),
                automatic=automatic,
                message_json=message,
                message_edifact=release_message_edifact(message=message, control_reference=number[-14:]),
            )
    except IntegrityError as exc:
        raise Conflict(detail="This declaration already has a release order.", code="already_released") from exc
    _transition(
        declaration,
        to_status="released",
        actor=actor,
        reason=reason or ("Automatic release (green/blue lane)" if automatic else "Released by officer"),
        payload={"release_order": number, "channel": lane},
    )
    if declaration.bill_of_lading_id:
        from manifests.services import writeoff_settle

        writeoff_settle(declaration_id=declaration.pk, actor=actor)
    if declaration.regime == "IM8":
        # SCT transit: the movement departs under its regional bond and the destination partner
        # state is told (docs/transit.md); exit is confirmed by the partner, not at our gate.
        from transit.services import transit_on_released

        transit_on_released(declaration=declaration, actor=actor)
    if lane == "blue":
        PostClearanceAudit.objects.get_or_create(
            declaration=declaration,
            defaults={"created_at": issued_at, "reason": _audit_reason(declaration.pk)},
        )
    OfficerTask.objects.filter(
        declaration_id=declaration.pk, status__in=[OfficerTask.Status.OPEN, OfficerTask.Status.ASSIGNED]
    ).update(status=OfficerTask.Status.DONE, outcome="released", completed_at=issued_at)
    return order


def arrival_allows_release(declaration: Any) -> bool:
    """Pre-arrival processing (DOMAIN.md): a declaration may be lodged, assessed and paid before
    the vessel or aircraft arrives, but release waits for the actual arrival (manifest ATA)
    unless the trader is an active AEO with the pre-arrival clearance benefit."""
    bl = declaration.bill_of_lading
    if bl is None or bl.manifest.ata is not None:
        return True
    trader = declaration.trader
    aeo = getattr(trader, "aeo", None) if trader is not None else None
    today = clock.today()
    return bool(
        aeo is not None
        and aeo.status == "active"
        and aeo.pre_arrival_clearance
        and aeo.valid_from <= today
        and (aeo.valid_to is None or aeo.valid_to >= today)
    )


def _audit_reason(declaration_id: Any) -> str:
    assessment = RiskAssessment.objects.filter(declaration_id=declaration_id).first()
    if assessment is None:
        return "Blue lane"
    reasons = "; ".join(hit["reason"] for hit in assessment.hits)
    return f"Blue lane (score {assessment.score}): {reasons}" if reasons else f"Blue lane (score {assessment.score})"


def _lock_declaration(declaration_id: Any) -> Any:
    from declarations.models import Declaration

    declaration = (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("bill_of_lading__manifest", "trader__aeo", "agent")
        .filter(pk=declaration_id)
        .first()
    )
    if declaration is None:
        raise NotFound(detail="Declaration not found.", code="declaration_not_found")
    return declaration


@transaction.atomic
def declaration_release(*, declaration_id: Any, actor: Any, reason: str = "") -> ReleaseOrder:
    """Officer decision: release a declaration under control (or a paid one) to the cargo handler."""
    declaration = _lock_declaration(declaration_id)
    return _release_locked(declaration=declaration, actor=actor, automatic=False, reason=reason)


@transaction.atomic
def declaration_gate_out(*, declaration_id: Any, actor: Any) -> ReleaseOrder:
    """The goods left the port/office: released -> exited (recorded on the release order)."""
    declaration = _lock_declaration(declaration_id)
    order = ReleaseOrder.objects.select_for_update().filter(declaration_id=declaration.pk).first()
    if declaration.regime == "IM8":
        raise Conflict(
            detail="Transit goods exit when the partner state confirms arrival at the exit border post.",
            code="transit_exit_by_partner",
            errors=[error("transit_exit_by_partner", "Use the partner-state confirmation.", "/status")],
        )
    if order is None or declaration.status != "released":
        raise Conflict(
            detail=f"Only released goods can gate out (status {declaration.status!r}).",
            code="illegal_transition",
            errors=[error("illegal_transition", f"{declaration.status} -> exited is not allowed.", "/status")],
        )
    order.gate_out_at = clock.now()
    order.save(update_fields=["gate_out_at"])
    _transition(
        declaration, to_status="exited", actor=actor, reason="Gate out", payload={"release_order": order.number}
    )
    return order
