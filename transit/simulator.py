"""Sandbox partner-state simulator: answers Forodha's transit messages as the destination state's
customs would, so trainees see a movement through to its closure without a real counterpart.

It is a real counterpart in miniature: it verifies Forodha's signature on what it receives, and it
signs its own confirmations with the partner's (sandbox) key; they enter through the same
`partner_message_receive` as a real partner's. Drills are set per partner in the admin
(`PartnerSimulatorControl`) or with TRANSIT_SIMULATOR_DEFAULT_MODE:
- auto: acknowledge; confirm the exit as soon as the goods arrive at the exit border post;
- delay: the same, `delay_minutes` after the arrival (sandbox clock, so `sandbox clock --advance`
  fast-forwards it);
- refuse: acknowledge, then send a rejection (opens a `partner_refused` alert);
- silent: acknowledge, never confirm (the movement goes overdue);
- unreachable: no answer at all (delivery retries, then fails and opens a `delivery_failed` alert).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from core import clock
from core.outbox import outbox_enqueue

from .enums import Direction, MovementStatus, PartnerMessageKind, PartnerMessageStatus, SimulatorMode
from .models import PartnerMessage, PartnerSimulatorControl, TransitMovement

logger = logging.getLogger("forodha.transit.simulator")


def simulator_mode(partner: str) -> tuple[str, int]:
    control = PartnerSimulatorControl.objects.filter(pk=partner).first()
    if control is None:
        return settings.TRANSIT_SIMULATOR_DEFAULT_MODE, 0
    return control.mode, control.delay_minutes


def _verify_forodha_signature(*, partner: str, body: bytes, header: str) -> bool:
    """What a partner does on receipt: check Forodha's signature (shared HMAC secret or Forodha's
    public Ed25519 key)."""
    import base64

    from cryptography.exceptions import InvalidSignature

    from .signing import forodha_private_key, partner_config

    config = partner_config(partner)
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    data = f"{parts.get('t', '')}.".encode() + body
    if config is None:
        return False
    if config.scheme == "ed25519":
        try:
            forodha_private_key().public_key().verify(base64.b64decode(parts.get("ed25519", "")), data)
        except (InvalidSignature, ValueError):
            return False
        return True
    expected = hmac.new(config.secret, data, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def simulator_receive(*, message: PartnerMessage, headers: dict[str, str]) -> tuple[int, str]:
    """The simulated partner's HTTP endpoint: (status, body) or PartnerUnreachable."""
    from .services.partner import PartnerUnreachable
    from .signing import SIGNATURE_HEADER

    mode, _delay = simulator_mode(message.partner)
    if mode == SimulatorMode.UNREACHABLE:
        raise PartnerUnreachable(f"simulated {message.partner} customs unreachable (drill)")
    if not _verify_forodha_signature(partner=message.partner, body=message.body_text.encode(),
                                     header=headers.get(SIGNATURE_HEADER, "")):
        return 401, json.dumps({"code": "signature_invalid"})
    return 202, json.dumps({"acknowledged": message.message_id})


def simulator_after_ack(*, message: PartnerMessage) -> None:
    """After an acknowledged delivery: refuse (drill), or schedule the confirmation if the goods
    are already at the exit."""
    if message.kind != PartnerMessageKind.TRANSIT_DECLARATION or message.movement_id is None:
        return
    mode, _delay = simulator_mode(message.partner)
    if mode == SimulatorMode.REFUSE:
        simulator_send(movement_id=message.movement_id, kind=PartnerMessageKind.REJECTION,
                       remarks="Refused by the simulated partner state (drill)")
        return
    with transaction.atomic():
        movement = TransitMovement.objects.select_for_update(of=("self",)).filter(pk=message.movement_id).first()
        if movement is not None and movement.status == MovementStatus.ARRIVED_AT_EXIT:
            _schedule(movement)


def _schedule(movement: TransitMovement) -> bool:
    """Set when the simulated partner confirms (caller holds the movement lock)."""
    mode, delay = simulator_mode(movement.destination_country)
    if mode not in (SimulatorMode.AUTO, SimulatorMode.DELAY) or movement.simulator_confirm_due_at is not None:
        return False
    movement.simulator_confirm_due_at = clock.now() + dt.timedelta(minutes=delay if mode == SimulatorMode.DELAY else 0)
    movement.save(update_fields=["simulator_confirm_due_at"])
    if mode == SimulatorMode.AUTO:
        outbox_enqueue(task_name="transit.simulator_tick", kwargs={})
    return True


def simulator_on_arrival(*, movement: TransitMovement) -> bool:
    """Called when the goods reach the exit (movement locked by the caller). The simulated partner
    answers only once it has our transit message."""
    from .services.partner import simulator_active

    if not simulator_active():
        return False
    delivered = PartnerMessage.objects.filter(movement=movement, direction=Direction.OUTBOUND,
                                              kind=PartnerMessageKind.TRANSIT_DECLARATION,
                                              status=PartnerMessageStatus.DELIVERED).exists()
    return delivered and _schedule(movement)


def simulator_send(*, movement_id: Any, kind: str, remarks: str = "") -> Any:
    """Build, sign (as the partner) and submit one inbound message through the public intake."""
    from .services.partner import partner_message_receive
    from .signing import partner_config, sign_as_partner

    movement = TransitMovement.objects.select_related("declaration", "office_of_exit").get(pk=movement_id)
    partner = partner_config(movement.destination_country)
    if partner is None:
        return None
    body = json.dumps({
        "message_id": f"SIM-{movement.destination_country}-{uuid.uuid4().hex[:20]}",
        "kind": str(kind),
        "movement_id": str(movement.pk),
        "entry_number": movement.declaration.entry_number,
        "occurred_at": clock.now().isoformat(),
        "office": f"{movement.office_of_exit.partner_country_id or movement.destination_country}"
                  f"{movement.office_of_exit_id}",
        "remarks": remarks,
    }).encode()
    return partner_message_receive(partner_code=partner.code, signature=sign_as_partner(partner=partner, body=body),
                                   body=body)


def simulator_tick() -> int:
    """Send every simulated confirmation that is due by the (sandbox) clock."""
    from .services.partner import simulator_active

    if not simulator_active():
        return 0
    due = list(TransitMovement.objects.filter(
        simulator_confirm_due_at__lte=clock.now(),
        status__in=(MovementStatus.IN_TRANSIT, MovementStatus.ARRIVED_AT_EXIT),
    ).values_list("pk", flat=True)[:200])
    sent = 0
    for movement_id in due:
        try:
            simulator_send(movement_id=movement_id, kind=PartnerMessageKind.EXIT_CONFIRMATION,
                           remarks="Exit confirmed by the simulated partner state")
            sent += 1
        except Exception:  # one bad movement must not stop the others; the next tick retries it
            logger.exception("simulator confirmation failed for %s", movement_id)
    return sent
