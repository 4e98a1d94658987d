"""Release orders (one per declaration), the cargo handler's release message, and gate-out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydifact.segmentcollection import Interchange, Message
from pydifact.segments import Segment

from core import clock
from core.actors import actor_user
from core.exceptions import Conflict, NotFound, ValidationFailed, error
from declarations.enums import EXPORT_REGIMES, Status
from declarations.lifecycle import clearable, is_secured_transit, no_payment_step
from declarations.models import Declaration
from declarations.services import declaration_lock, declaration_transition_locked
from risk.models import RiskAssessment
from traders.selectors import aeo_in_force

from ..models import GateEvent, OfficerTask, PostClearanceAudit, ReleaseOrder

# Sender/recipient ids in the interchange header: KRA customs to the cargo handler (KPA's KWATOS
# at Mombasa; the same id is used for every office in the simulation).
EDIFACT_SENDER = "KRAICMS"
EDIFACT_RECIPIENT = "CARGOHANDLER"


# The rows every clearance decision reads with the locked declaration (arrival, AEO, notice).
CLEARANCE_RELATED = ("bill_of_lading__manifest", "trader__aeo", "agent")


def declaration_lock_for_clearance(declaration_id: Any) -> Declaration:
    """Lock the declaration (first, the lock order everywhere) with what clearance reads."""
    return declaration_lock(declaration_id, related=CLEARANCE_RELATED)


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


def release_locked(*, declaration: Any, actor: Any, automatic: bool, reason: str) -> ReleaseOrder:
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
    if declaration.status != Status.UNDER_CONTROL and not clearable(
            declaration.status, no_payment_step=no_payment_step(declaration)):
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
                issued_by=actor_user(actor),
                automatic=automatic,
                message_json=message,
                message_edifact=release_message_edifact(message=message, control_reference=number[-14:]),
            )
    except IntegrityError as exc:
        raise Conflict(detail="This declaration already has a release order.", code="already_released") from exc
    # The status change publishes DECLARATION_STATUS_CHANGED: manifests settle the B/L write-offs,
    # transit departs an IM8 movement under its bond (their apps subscribe in ready()).
    declaration_transition_locked(
        declaration=declaration,
        to_status=Status.RELEASED,
        actor=actor,
        reason=reason or ("Automatic release (green/blue lane)" if automatic else "Released by officer"),
        payload={"release_order": number, "channel": lane},
    )
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
    return bool(aeo is not None and aeo.pre_arrival_clearance and aeo_in_force(aeo, clock.today()))


def _audit_reason(declaration_id: Any) -> str:
    assessment = RiskAssessment.objects.filter(declaration_id=declaration_id).first()
    if assessment is None:
        return "Blue lane"
    reasons = "; ".join(hit["reason"] for hit in assessment.hits)
    return f"Blue lane (score {assessment.score}): {reasons}" if reasons else f"Blue lane (score {assessment.score})"


@transaction.atomic
def declaration_release(*, declaration_id: Any, actor: Any, reason: str = "") -> ReleaseOrder:
    """Officer decision: release a declaration under control (or a paid one) to the cargo handler."""
    declaration = declaration_lock_for_clearance(declaration_id)
    return release_locked(declaration=declaration, actor=actor, automatic=False, reason=reason)


@transaction.atomic
def declaration_gate_out(*, declaration_id: Any, actor: Any) -> ReleaseOrder:
    """The goods left the port/office: released -> exited (recorded on the release order).
    Terminals report it with `gate_event_record`; this is the officer/system path (sandbox seeding)."""
    declaration = declaration_lock_for_clearance(declaration_id)
    return _exit_locked(declaration=declaration, actor=actor, reason="Gate out", payload={})


def _exit_locked(*, declaration: Any, actor: Any, reason: str, payload: dict[str, Any],
                 at: dt.datetime | None = None) -> ReleaseOrder:
    order = ReleaseOrder.objects.select_for_update().filter(declaration_id=declaration.pk).first()
    if is_secured_transit(declaration.regime):
        raise Conflict(
            detail="Transit goods exit when the partner state confirms arrival at the exit border post.",
            code="transit_exit_by_partner",
            errors=[error("transit_exit_by_partner", "Use the partner-state confirmation.", "/status")],
        )
    if order is None or declaration.status != Status.RELEASED:
        raise Conflict(
            detail=f"Only released goods can leave customs control (status {declaration.status!r}).",
            code="not_released",
            errors=[error("not_released", f"{declaration.status} -> exited is not allowed.", "/status")],
        )
    order.gate_out_at = at or clock.now()  # when the goods actually left (the terminal's time)
    order.save(update_fields=["gate_out_at"])
    declaration_transition_locked(
        declaration=declaration, to_status=Status.EXITED, actor=actor, reason=reason,
        payload={"release_order": order.number, **payload},
    )
    return order


# A terminal's event for each direction: imports leave by the gate, exports by loading on board.
_GATE_KIND_FOR_IMPORT = "gate_out"
_GATE_KIND_FOR_EXPORT = "loaded_on_board"


def _declaration_for_gate(*, entry_number: str | None, container: str | None) -> Any:
    if entry_number:
        found = Declaration.objects.filter(entry_number=entry_number).only("id").first()
        if found is None:
            raise NotFound(detail="No declaration with this entry number.", code="declaration_not_found",
                           errors=[error("declaration_not_found", "Unknown entry number.", "/entry_number")])
        return found.pk
    # A container carries the goods of one declaration here (FCL); groupage needs the entry number.
    candidates = list(
        Declaration.objects.filter(bill_of_lading__containers__number=container)
        .exclude(status__in=[Status.DRAFT, Status.CANCELLED, Status.REJECTED])
        .values_list("pk", "entry_number").distinct()[:10])
    if not candidates:
        raise NotFound(detail="No live declaration covers this container.", code="declaration_not_found",
                       errors=[error("declaration_not_found", "No declaration for this container.", "/container")])
    if len(candidates) > 1:
        raise Conflict(detail="Several declarations cover this container; give the entry number.",
                       code="container_ambiguous",
                       errors=[error("container_ambiguous", "Give entry_number.", "/container")],
                       extra={"entry_numbers": sorted(str(number) for _, number in candidates)})
    return candidates[0][0]


@transaction.atomic
def gate_event_record(*, terminal: Any, kind: str, entry_number: str | None = None, container: str | None = None,
                      occurred_at: dt.datetime | None = None, actor: Any) -> tuple[GateEvent, bool]:
    """A terminal reports goods leaving: `gate_out` (imports: released -> exited) or
    `loaded_on_board` (exports: released -> exited, the exit confirmation). Returns the event and
    whether it was new: a repeated report (same declaration and kind) returns the first one, so
    terminals may retry freely. Before release: 409 `not_released`."""
    now = clock.now()
    if occurred_at is not None and occurred_at > now + dt.timedelta(minutes=5):
        raise ValidationFailed(errors=[error("future_time", "occurred_at is in the future.", "/occurred_at")])
    declaration = declaration_lock_for_clearance(_declaration_for_gate(entry_number=entry_number, container=container))
    existing = GateEvent.objects.filter(declaration_id=declaration.pk, kind=kind).first()
    if existing is not None:
        return existing, False
    if declaration.office_id != terminal.office_id:
        raise Conflict(detail=f"The goods are declared at {declaration.office_id}, not at this terminal's office "
                              f"{terminal.office_id}.", code="office_mismatch",
                       errors=[error("office_mismatch", "Declared at another office.", "/entry_number")])
    expected = _GATE_KIND_FOR_EXPORT if declaration.regime in EXPORT_REGIMES else _GATE_KIND_FOR_IMPORT
    if not is_secured_transit(declaration.regime) and kind != expected:
        raise Conflict(detail=f"A {declaration.regime} declaration leaves by {expected}, not {kind}.",
                       code="gate_event_not_for_regime",
                       errors=[error("gate_event_not_for_regime", f"Use {expected}.", "/kind")])
    event = GateEvent.objects.create(
        declaration=declaration, kind=kind, terminal=terminal, container=container or "",
        occurred_at=occurred_at or now, recorded_by=actor_user(actor), created_at=now)
    _exit_locked(declaration=declaration, actor=actor,
                 reason="Gate out" if kind == _GATE_KIND_FOR_IMPORT else "Loaded on board",
                 payload={"gate_event": str(event.pk), "kind": kind, "terminal": terminal.code,
                          "container": container or "", "occurred_at": event.occurred_at.isoformat()},
                 at=event.occurred_at)
    return event, True
