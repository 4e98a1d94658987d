"""Transit movements: the lodging and release hooks, closure on the partner's confirmation,
cancellation, the overdue sweep and the status look-up.

Lock order: declaration -> movement -> bond (lodging creates the declaration then reserves the bond;
release holds the declaration, then locks the movement; closure locks both in that order).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core import clock
from core.exceptions import Conflict, NotFound, ValidationFailed, error
from core.outbox import outbox_enqueue
from declarations.enums import Status as DeclarationStatus
from declarations.models import Assessment, Declaration
from declarations.services.lifecycle import declaration_transition_locked
from reference.models import CustomsOffice
from traders.models import AEOProfile
from traders.selectors import aeo_in_force

from ..enums import (
    EXIT_BLOCKING_ALERTS,
    LIVE_ALERT_STATUSES,
    AlertKind,
    AlertStatus,
    Direction,
    LedgerKind,
    MovementStatus,
    PartnerMessageKind,
    PartnerMessageStatus,
)
from ..lifecycle import EN_ROUTE, LIVE, transition_check
from ..models import BondLedger, PartnerMessage, RegionalBond, TransitAlert, TransitMovement, TransitSeal
from .alerts import alert_open, alerts_resolve_for
from .bonds import bond_release, bond_reserve
from .common import actor_label, actor_user, iso, money, movement_event, notify_agent
from .validation import bond_usable_problem, bonds_usable_for, destination_of, transit_section_parse

M = MovementStatus
DELIVER_TASK = "transit.deliver_partner_message"


def eac_regional_aeo(trader: Any, on: dt.date) -> bool:
    """An active EAC-regional AEO on `on`: transit benefits (reduced bond, priority)."""
    profile = getattr(trader, "aeo", None) if trader is not None else None
    if profile is None:
        return False
    return profile.tier == AEOProfile.Tier.EAC_REGIONAL and aeo_in_force(profile, on)


def bond_amount_for(*, taxes_at_risk: Decimal, eac_aeo: bool) -> tuple[Decimal, Decimal]:
    """(factor, amount secured): the taxes at risk, reduced for EAC regional AEOs."""
    factor = Decimal(settings.TRANSIT_AEO_BOND_FACTOR) if eac_aeo else Decimal(1)
    return factor, money(taxes_at_risk * factor)


def _transition(movement: TransitMovement, to_status: str, *, actor: Any, reason: str,
                payload: dict[str, Any] | None = None, fields: tuple[str, ...] = ()) -> None:
    from_status = movement.status
    transition_check(from_status, to_status)
    movement.status = to_status
    movement.updated_at = clock.now()
    movement.save(update_fields=["status", "updated_at", *fields])
    movement_event(movement=movement, from_status=from_status, to_status=to_status, actor=actor, reason=reason,
                   payload=payload)


def _resolve_bond(*, declaration: Any, data: dict[str, Any], on: dt.date) -> Any:
    from ..models import RegionalBond

    pointer = "/transit/bond_number"
    if data.get("bond_number"):
        bond = RegionalBond.objects.filter(number=data["bond_number"]).first()
        if bond is None:
            raise ValidationFailed(errors=[error("bond_not_found", f"No regional bond {data['bond_number']}.",
                                                 pointer)])
        if bond.principal_agent_id not in (None, declaration.agent_id) or (
                bond.principal_trader_id is not None and bond.principal_trader_id != declaration.trader_id):
            raise ValidationFailed(errors=[error("bond_not_yours", f"Bond {bond.number} does not secure this "
                                                                   "agent's or importer's goods.", pointer)])
        problem = bond_usable_problem(bond, on)
        if problem:
            raise ValidationFailed(errors=[error("bond_not_usable", problem, pointer)])
        return bond
    bonds = list(bonds_usable_for(agent=declaration.agent, trader=declaration.trader, on=on)
                 .order_by("created_at", "number"))
    bond = next((b for b in bonds if b.principal_trader_id is not None), None) or next(iter(bonds), None)
    if bond is None:
        raise ValidationFailed(errors=[error("bond_required", "No active regional bond of the importer or the "
                                                              "agent: name one in bond_number.", pointer)])
    return bond


def transit_on_lodged(*, declaration: Any, payload: dict[str, Any], actor: Any) -> TransitMovement:
    """Lodging hook (inside the lodging transaction, after the assessment is stored): create the
    movement, arm its e-seals and reserve the bond for the taxes at risk. Raises (rolling the whole
    lodging back) when the bond cannot cover it. Idempotent per declaration."""
    existing = TransitMovement.objects.filter(declaration_id=declaration.pk).first()
    if existing is not None:
        return existing
    data, errors = transit_section_parse(payload.get("transit"))
    if data is None:
        raise ValidationFailed(errors=errors)
    # Query the table, not `declaration.assessments`: lodging may hand over a declaration with a
    # prefetched (list) cache of its relations.
    assessment = Assessment.objects.filter(declaration_id=declaration.pk).order_by("-version").first()
    if assessment is None:
        raise Conflict(detail="The declaration has no assessment: taxes at risk unknown.", code="assessment_missing")
    now = clock.now()
    on = timezone.localtime(declaration.lodged_at or now).date()
    taxes = money(assessment.total)
    aeo = eac_regional_aeo(declaration.trader, on)
    factor, secured = bond_amount_for(taxes_at_risk=taxes, eac_aeo=aeo)
    bond = _resolve_bond(declaration=declaration, data=data, on=on)
    movement = TransitMovement.objects.create(
        declaration=declaration, agent_id=declaration.agent_id, status=M.LODGED,
        destination_country=destination_of(payload, data), office_of_entry_id=declaration.office_id,
        office_of_exit=CustomsOffice.objects.get(pk=data["office_of_exit"]),
        vehicle_registration=data.get("vehicle_registration", ""), bond=bond, taxes_at_risk=taxes,
        bond_factor=factor, amount_secured=secured, eac_aeo=aeo, priority=aeo, lodged_at=now,
        created_at=now, updated_at=now,
    )
    seals = [TransitSeal(movement=movement, container_number=c["number"], seal_number=s)
             for c in data.get("containers") or [] for s in c.get("e_seals") or []]
    seals += [TransitSeal(movement=movement, container_number="", seal_number=s) for s in data.get("e_seals") or []]
    try:
        with transaction.atomic():
            TransitSeal.objects.bulk_create(seals)
    except IntegrityError:
        raise ValidationFailed(errors=[error("e_seal_in_use", "An e-seal is armed on another live movement.",
                                             "/transit/containers")]) from None
    bond_reserve(bond_id=bond.pk, movement=movement, amount=secured, actor=actor)
    movement_event(movement=movement, from_status="", to_status=M.LODGED, actor=actor, reason="lodged",
                   payload={"bond": bond.number, "amount_secured": str(secured), "taxes_at_risk": str(taxes),
                            "eac_aeo": aeo})
    return movement


def transit_on_registered(*, declaration: Any, actor: Any) -> TransitMovement | None:
    """Lodging hook, called once the entry number is taken (the last step of the lodging
    transaction): the agent's notice of the movement quotes it."""
    movement = TransitMovement.objects.select_related("bond").filter(declaration_id=declaration.pk).first()
    if movement is None:
        return None
    movement.declaration = declaration
    notify_agent(movement=movement,
                 subject=f"{declaration.entry_number}: transit to {movement.destination_country} via "
                         f"{movement.office_of_exit_id} secured by bond {movement.bond.number} "
                         f"(KES {movement.amount_secured} reserved); nothing to pay unless the movement fails",
                 payload={"bond_number": movement.bond.number, "amount_secured": str(movement.amount_secured),
                          "taxes_at_risk": str(movement.taxes_at_risk), "currency": "KES"},
                 actor=actor)
    return movement


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def transit_message_body(movement: TransitMovement, message_id: uuid.UUID) -> dict[str, Any]:
    """The JSON sent to the destination state when the goods are released for transit."""
    declaration = movement.declaration
    return {
        "message_id": str(message_id),
        "kind": PartnerMessageKind.TRANSIT_DECLARATION.value,
        "sender": "KE",
        "recipient": movement.destination_country,
        "sent_at": clock.now().isoformat(),
        "movement_id": str(movement.pk),
        "entry_number": declaration.entry_number,
        "regime": declaration.regime,
        "importer_pin": declaration.importer_pin,
        "bill_of_lading": declaration.bill_of_lading_number,
        "route": {"office_of_entry": movement.office_of_entry_id, "office_of_exit": movement.office_of_exit_id,
                  "destination_country": movement.destination_country},
        "departed_at": iso(movement.departed_at),
        "due_at": iso(movement.due_at),
        "goods": [{"line_no": i.line_no, "hs_code": i.hs_code, "description": i.description,
                   "packages": i.packages, "gross_weight_kg": str(i.gross_weight_kg),
                   "customs_value_kes": str(i.customs_value_kes)} for i in declaration.items.all()],
        "taxes_at_risk": {"amount": str(movement.taxes_at_risk), "currency": "KES"},
        "bond": {"number": movement.bond.number, "amount_secured": str(movement.amount_secured),
                 "currency": "KES"},
        "seals": [{"container": s.container_number, "e_seal": s.seal_number} for s in movement.seals.all()],
        "eac_aeo": movement.eac_aeo,
        "vehicle_registration": movement.vehicle_registration,
    }


def _lock_movement_of(declaration_id: Any) -> TransitMovement | None:
    return (TransitMovement.objects.select_for_update(of=("self",)).select_related("declaration", "bond")
            .filter(declaration_id=declaration_id).first())


def transit_on_released(*, declaration: Any, actor: Any) -> TransitMovement | None:
    """Release hook (inside the release transaction, declaration row held): the goods depart under
    the bond; the transit message to the destination state is queued through the outbox. Returns
    None for a declaration without a movement; idempotent for one already departed."""
    movement = _lock_movement_of(declaration.pk)
    if movement is None or movement.status != M.LODGED:
        return movement
    now = clock.now()
    movement.departed_at = now
    movement.due_at = now + dt.timedelta(days=settings.TRANSIT_PERIOD_DAYS)
    _transition(movement, M.IN_TRANSIT, actor=actor, reason="released for transit",
                payload={"due_at": iso(movement.due_at)}, fields=("departed_at", "due_at"))
    message_id = uuid.uuid4()
    body = transit_message_body(movement, message_id)
    message = PartnerMessage.objects.create(
        id=message_id, direction=Direction.OUTBOUND, partner=movement.destination_country,
        kind=PartnerMessageKind.TRANSIT_DECLARATION, message_id=str(message_id), movement=movement, body=body,
        body_text=_canonical(body), status=PartnerMessageStatus.PENDING, created_at=now, next_attempt_at=now,
    )
    outbox_enqueue(task_name=DELIVER_TASK, kwargs={"message_id": str(message.pk)})
    local_due = timezone.localtime(movement.due_at)
    notify_agent(movement=movement,
                 subject=f"{declaration.entry_number}: released for transit, exit at {movement.office_of_exit_id} "
                         f"due by {local_due:%Y-%m-%d %H:%M} EAT",
                 payload={"departed_at": iso(now), "due_at": iso(movement.due_at)}, actor=actor)
    # E-seal events that reached us before the release order: applied now, in event order.
    from .tracking import tracking_events_apply_deferred

    tracking_events_apply_deferred(movement=movement, actor=actor)
    return movement


def minimum_journey(movement: TransitMovement) -> dt.timedelta:
    """The shortest plausible journey from the office of entry to the exit post of this corridor
    (TRANSIT_MIN_JOURNEY_MINUTES, "ENTRY:EXIT" keys, "*" the default)."""
    table = settings.TRANSIT_MIN_JOURNEY_MINUTES
    minutes = table.get(f"{movement.office_of_entry_id}:{movement.office_of_exit_id}", table.get("*", 0))
    return dt.timedelta(minutes=int(minutes))


def journey_check(*, movement: TransitMovement, reached_at: dt.datetime, evidence: str, actor: Any) -> bool:
    """Open a `too_fast` alert when the exit is reported sooner after departure than the corridor
    allows (a cloned seal, a ghost movement). Returns True when the journey is plausible."""
    if movement.departed_at is None:
        return True
    took = reached_at - movement.departed_at
    needed = minimum_journey(movement)
    if took >= needed:
        return True
    alert_open(movement=movement, kind=AlertKind.TOO_FAST, actor=actor,
               detail=f"{evidence}: {movement.office_of_entry_id} -> {movement.office_of_exit_id} in {took} "
                      f"(departed {iso(movement.departed_at)}, at exit {iso(reached_at)}); the corridor "
                      f"takes at least {needed}")
    return False


def exit_blockers(movement: TransitMovement) -> list[str]:
    """Why a movement whose exit was confirmed may not close yet (empty: it may)."""
    blockers: list[str] = []
    if not movement.seals_override_reason:
        missing = TransitSeal.objects.filter(movement=movement, arrived_at_exit_at__isnull=True).count()
        if missing:
            blockers.append(f"seals_missing:{missing}")
    live = sorted(set(TransitAlert.objects.filter(movement=movement, kind__in=EXIT_BLOCKING_ALERTS,
                                                  status__in=LIVE_ALERT_STATUSES).values_list("kind", flat=True)))
    blockers.extend(f"alert_open:{kind}" for kind in live)
    return blockers


def movement_try_close_locked(*, movement: TransitMovement, actor: Any) -> BondLedger | None:
    """Close the movement if the evidence is complete: the partner confirmed exit, every seal reached
    the exit post (or an officer overrode it), no blocking alert is live. Returns the bond release,
    or None when it stays open. The caller holds the declaration and movement locks."""
    if movement.status not in EN_ROUTE or movement.exit_confirmed_at is None or exit_blockers(movement):
        return None
    confirmation = movement.exit_confirmation or {}
    reason = f"{confirmation.get('kind', 'exit_confirmation')} from {confirmation.get('partner', '?')}"
    movement.closed_at = clock.now()
    movement.simulator_confirm_due_at = None
    _transition(movement, M.CLOSED, actor=actor, reason=reason,
                payload={**confirmation, "confirmed_at": iso(movement.exit_confirmed_at),
                         "seals_override": bool(movement.seals_override_reason)},
                fields=("closed_at", "simulator_confirm_due_at"))
    TransitSeal.objects.filter(movement=movement, is_active=True).update(is_active=False)
    released = bond_release(movement=movement, actor=actor, reason=f"exit confirmed: {reason}")
    alerts_resolve_for(movement=movement, kinds=(AlertKind.OVERDUE, AlertKind.DELIVERY_FAILED),
                       resolution=f"closed: {reason}")
    declaration = movement.declaration
    if declaration.status == DeclarationStatus.RELEASED:
        declaration_transition_locked(declaration=declaration, to_status=DeclarationStatus.EXITED, actor=actor,
                                      reason=f"transit exit confirmed ({reason})",
                                      payload={"movement_id": str(movement.pk)})
    notify_agent(movement=movement,
                 subject=f"{declaration.entry_number}: transit closed, exit confirmed; KES "
                         f"{movement.amount_secured} released on bond {movement.bond.number}",
                 payload={"closed_at": iso(movement.closed_at),
                          "bond_number": movement.bond.number, "amount_released": str(movement.amount_secured)},
                 actor=actor)
    return released


def movement_exit_confirm_locked(*, movement: TransitMovement, actor: Any, confirmed_at: dt.datetime,
                                 confirmation: dict[str, Any]) -> list[str]:
    """Record the partner's exit confirmation on a locked, en-route movement and close it if the
    rest of the evidence is there. Refused (400) when dated before the departure."""
    if movement.departed_at is not None and confirmed_at < movement.departed_at:
        raise ValidationFailed(
            detail="The exit confirmation is dated before the goods departed.", code="confirmed_before_departure",
            errors=[error("confirmed_before_departure",
                          f"occurred_at {iso(confirmed_at)} is before the departure {iso(movement.departed_at)}.",
                          "/occurred_at")],
            extra={"departed_at": iso(movement.departed_at)})
    effects: list[str] = []
    if movement.exit_confirmed_at is None:
        movement.exit_confirmed_at = confirmed_at
        movement.exit_confirmation = confirmation
        movement.updated_at = clock.now()
        movement.save(update_fields=["exit_confirmed_at", "exit_confirmation", "updated_at"])
        movement_event(movement=movement, from_status=movement.status, to_status=movement.status, actor=actor,
                       reason="exit confirmed by the partner state",
                       payload={**confirmation, "confirmed_at": iso(confirmed_at)})
        effects.append("exit_confirmed")
        if not journey_check(movement=movement, reached_at=confirmed_at, evidence="partner exit confirmation",
                             actor=actor):
            effects.append("alert_opened:too_fast")
    else:
        effects.append("exit_already_confirmed")
    released = movement_try_close_locked(movement=movement, actor=actor)
    if movement.status == M.CLOSED:
        return [*effects, "movement_closed", "bond_released" if released else "bond_already_released"]
    return [*effects, "exit_held", *exit_blockers(movement)]


def _lock_for_officer(movement_id: Any) -> TransitMovement:
    ref = TransitMovement.objects.filter(pk=movement_id).values("declaration_id").first()
    if ref is None:
        raise NotFound(detail="No such transit movement.", code="movement_not_found")
    Declaration.objects.select_for_update(of=("self",)).filter(pk=ref["declaration_id"]).first()
    return (TransitMovement.objects.select_for_update(of=("self",)).select_related("declaration", "bond")
            .get(pk=movement_id))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors=[error("reason_required", "Give the reason (it is recorded).", "/reason")])
    return reason


def _en_route(movement: TransitMovement) -> None:
    if movement.status not in EN_ROUTE:
        raise Conflict(detail=f"The movement is {movement.status}: only a departed, open movement qualifies.",
                       code="movement_not_en_route",
                       errors=[error("movement_not_en_route", f"Movement is {movement.status}.", "/status")])


@transaction.atomic
def transit_seals_override(*, movement_id: Any, reason: str, actor: Any) -> TransitMovement:
    """Officer: accept that the goods reached the exit post although not every e-seal reported it
    (failed battery, seal replaced after an inspection), with a reason. The other evidence (partner
    confirmation, no live tamper/deviation alert) is still required before the movement closes."""
    reason = _reason(reason)
    movement = _lock_for_officer(movement_id)
    _en_route(movement)
    now = clock.now()
    missing = list(TransitSeal.objects.filter(movement=movement, arrived_at_exit_at__isnull=True)
                   .values_list("seal_number", flat=True))
    movement.seals_override_reason = reason
    movement.seals_override_by = actor_user(actor)
    movement.updated_at = now
    movement.save(update_fields=["seals_override_reason", "seals_override_by", "updated_at"])
    payload = {"seals_not_reported": missing}
    if movement.status == M.IN_TRANSIT:
        movement.arrived_at_exit_at = now
        _transition(movement, M.ARRIVED_AT_EXIT, actor=actor, reason=f"exit accepted by officer: {reason}",
                    payload=payload, fields=("arrived_at_exit_at",))
    else:
        movement_event(movement=movement, from_status=movement.status, to_status=movement.status, actor=actor,
                       reason=f"exit accepted by officer: {reason}", payload=payload)
    movement_try_close_locked(movement=movement, actor=actor)
    return movement


@transaction.atomic
def bond_demand(*, movement_id: Any, reason: str, actor: Any) -> BondLedger:
    """Officer (supervisor): the movement failed (goods diverted, seal broken and goods missing,
    never exited): the secured amount becomes payable by the bond principal. Recorded in the bond
    ledger (`demand`: the face value is drawn down by the reserved amount), the movement `failed`,
    its alerts closed and the agent notified. Nothing is ever released for it afterwards."""
    reason = _reason(reason)
    movement = _lock_for_officer(movement_id)
    _en_route(movement)
    reserved = BondLedger.objects.filter(movement=movement, kind=LedgerKind.RESERVE).first()
    if reserved is None or BondLedger.objects.filter(movement=movement, kind__in=(LedgerKind.RELEASE,
                                                                                   LedgerKind.DEMAND)).exists():
        raise Conflict(detail="Nothing is reserved on the bond for this movement.", code="nothing_secured")
    now = clock.now()
    bond = RegionalBond.objects.select_for_update(of=("self",)).get(pk=reserved.bond_id)
    # The reservation is called: the surety pays it, so the guarantee's face value shrinks by it and
    # the free balance (which never included it) stays as it is.
    bond.amount = money(bond.amount - reserved.amount)
    bond.save(update_fields=["amount"])
    entry = BondLedger.objects.create(
        bond=bond, movement=movement, kind=LedgerKind.DEMAND, amount=reserved.amount, balance_after=bond.balance,
        reason=f"demand on {movement.declaration.entry_number}: {reason}"[:200], actor=actor_user(actor),
        actor_label=actor_label(actor), created_at=now)
    movement.failed_at = now
    movement.simulator_confirm_due_at = None
    _transition(movement, M.FAILED, actor=actor, reason=f"security demanded: {reason}",
                payload={"bond": bond.number, "amount_demanded": str(reserved.amount), "currency": "KES",
                         "ledger_id": entry.pk}, fields=("failed_at", "simulator_confirm_due_at"))
    TransitSeal.objects.filter(movement=movement, is_active=True).update(is_active=False)
    TransitAlert.objects.filter(movement=movement, status__in=LIVE_ALERT_STATUSES).update(
        status=AlertStatus.RESOLVED, resolved_at=now, resolution=f"security demanded: {reason}")
    principal = bond.principal_agent or bond.principal_trader
    notify_agent(movement=movement,
                 subject=f"{movement.declaration.entry_number}: transit failed; KES {reserved.amount} secured "
                         f"by bond {bond.number} is now payable ({reason})",
                 payload={"bond_number": bond.number, "amount_payable": str(reserved.amount), "currency": "KES",
                          "principal": str(principal), "surety": bond.surety, "reason": reason,
                          "failed_at": iso(now)},
                 actor=actor)
    return entry


@transaction.atomic
def transit_on_cancelled(*, declaration: Any, actor: Any) -> TransitMovement | None:
    """Cancellation hook: a movement not yet released is cancelled and its bond reservation freed."""
    movement = _lock_movement_of(declaration.pk)
    if movement is None or movement.status != M.LODGED:
        return movement
    _transition(movement, M.CANCELLED, actor=actor, reason="declaration cancelled")
    TransitSeal.objects.filter(movement=movement, is_active=True).update(is_active=False)
    bond_release(movement=movement, actor=actor, reason="declaration cancelled")
    return movement


def transit_flag_overdue(*, actor: Any = None) -> int:
    """Beat: open an `overdue` alert on every en-route movement past its due time (sandbox clock)."""
    now = clock.now()
    # One overdue task per movement: once an officer has resolved it (e.g. breakdown reported by the
    # carrier), the beat does not reopen it every run.
    already = TransitAlert.objects.filter(movement=OuterRef("pk"), kind=AlertKind.OVERDUE)
    ids = list(TransitMovement.objects.filter(status__in=EN_ROUTE, due_at__lt=now)
               .exclude(Exists(already)).order_by("due_at").values_list("pk", flat=True)[:500])
    opened = 0
    for movement_id in ids:
        with transaction.atomic():
            movement = (TransitMovement.objects.select_for_update(of=("self",)).select_related("declaration")
                        .get(pk=movement_id))
            if (movement.status not in EN_ROUTE or movement.due_at is None or movement.due_at >= now
                    or TransitAlert.objects.filter(movement=movement, kind=AlertKind.OVERDUE).exists()):
                continue
            overdue_by = now - movement.due_at
            _alert, created = alert_open(
                movement=movement, kind=AlertKind.OVERDUE, actor=actor,
                detail=f"due {iso(movement.due_at)}, overdue by {overdue_by}; last position "
                       f"{movement.last_position_name or 'unknown'}")
            opened += int(created)
    return opened


def transit_status_for(declaration_id: Any) -> dict[str, Any] | None:
    """The transit part of the status look-up (`GET /api/v1/status`), or None for no movement."""
    movement = (TransitMovement.objects.select_related("bond").filter(declaration_id=declaration_id).first())
    if movement is None:
        return None
    now = clock.now()
    kinds = set(BondLedger.objects.filter(movement=movement).values_list("kind", flat=True))
    released, demanded = LedgerKind.RELEASE in kinds, LedgerKind.DEMAND in kinds
    return {
        "movement_id": str(movement.pk),
        "status": movement.status,
        "destination_country": movement.destination_country,
        "office_of_entry": movement.office_of_entry_id,
        "office_of_exit": movement.office_of_exit_id,
        "departed_at": iso(movement.departed_at),
        "due_at": iso(movement.due_at),
        "overdue": bool(movement.status in EN_ROUTE and movement.due_at and movement.due_at < now),
        "exit_confirmed_at": iso(movement.exit_confirmed_at),
        "exit_held_by": exit_blockers(movement) if movement.status in EN_ROUTE and movement.exit_confirmed_at
        else [],
        "closed_at": iso(movement.closed_at),
        "tracking_state": movement.tracking_state or None,
        "last_event_at": iso(movement.last_event_at),
        "last_position": position_of(movement),
        "bond": {"number": movement.bond.number, "amount_secured": str(movement.amount_secured),
                 "currency": "KES", "released": released, "demanded": demanded},
        "open_alerts": TransitAlert.objects.filter(movement=movement, status__in=LIVE_ALERT_STATUSES).count(),
        "live": movement.status in LIVE,
    }


def position_of(movement: TransitMovement) -> dict[str, Any] | None:
    if movement.last_latitude is None and not movement.last_position_name:
        return None
    return {"name": movement.last_position_name or None,
            "latitude": None if movement.last_latitude is None else str(movement.last_latitude),
            "longitude": None if movement.last_longitude is None else str(movement.last_longitude)}
