"""Partner-state exchange: delivery of outbound messages (workers, retries, delivery log) and
intake of signed inbound confirmations (exit / arrival closes the movement and releases the bond)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from core import clock, policy
from core.exception_handler import flatten_errors
from core.exceptions import Conflict, PermissionDeniedError, ValidationFailed, error
from declarations.models import Declaration

from ..enums import (
    AlertKind,
    DeliveryOutcome,
    Direction,
    MovementStatus,
    PartnerMessageKind,
    PartnerMessageStatus,
)
from ..lifecycle import EN_ROUTE, PARTNER_MESSAGE
from ..models import PartnerDelivery, PartnerMessage, TransitMovement
from ..serializers import PartnerMessageInSerializer
from ..signing import PARTNER_HEADER, SIGNATURE_HEADER, partner_config, sign_outbound, verify_inbound
from .alerts import alert_open
from .common import iso
from .movements import movement_exit_confirm_locked


class PartnerUnreachable(Exception):
    """A transient delivery failure (network, timeout, 5xx): retried with back-off."""


@dataclass(frozen=True)
class DeliveryResult:
    message: PartnerMessage
    delivered: bool
    retry_in_seconds: int | None


def simulator_active() -> bool:
    """Whether the simulator answers for partners without an endpoint: forced on by
    TRANSIT_PARTNER_SIMULATOR (tests, demos), or by the installed policy (the training sandbox)."""
    return bool(settings.TRANSIT_PARTNER_SIMULATOR or policy.current().partner_states_simulated())


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.TRANSIT_PARTNER_TIMEOUT_SECONDS) as response:
            return int(response.status), response.read(500).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise PartnerUnreachable(f"HTTP {exc.code}") from exc
        return int(exc.code), exc.read(500).decode("utf-8", "replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PartnerUnreachable(repr(exc)) from exc


def partner_message_deliver(*, message_id: Any) -> DeliveryResult | None:
    """One delivery attempt (called by the worker). The HTTP call runs outside any transaction;
    its outcome is recorded under the message row lock, so a concurrent duplicate attempt is harmless
    (the partner de-duplicates by message_id; the log shows both)."""
    from ..simulator import simulator_after_ack, simulator_receive

    message = PartnerMessage.objects.filter(pk=message_id, direction=Direction.OUTBOUND).first()
    if message is None or message.status != PartnerMessageStatus.PENDING:
        return None
    partner = partner_config(message.partner)
    body = message.body_text.encode()
    started = clock.now()
    http_status: int | None = None
    excerpt = err = ""
    target = (partner.endpoint if partner else "") or "simulator"
    try:
        if partner is None:
            raise PartnerUnreachable(f"partner {message.partner} not configured")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign_outbound(partner=partner, body=body),
                   PARTNER_HEADER: "KE"}
        if partner.endpoint:
            http_status, excerpt = _post(partner.endpoint, body, headers)
        elif simulator_active():
            http_status, excerpt = simulator_receive(message=message, headers=headers)
        else:
            raise PartnerUnreachable("no endpoint configured and the sandbox simulator is off")
        ok = 200 <= http_status < 300
        if not ok:
            err = f"refused with HTTP {http_status}"
    except PartnerUnreachable as exc:
        ok, err = False, str(exc)[:500]
    retry_in: int | None = None
    with transaction.atomic():
        message = PartnerMessage.objects.select_for_update(of=("self",)).get(pk=message.pk)
        if message.status != PartnerMessageStatus.PENDING:
            return None
        message.attempts += 1
        now = clock.now()
        PartnerDelivery.objects.create(
            message=message, attempt=message.attempts, target=target[:300], started_at=started, finished_at=now,
            outcome=DeliveryOutcome.DELIVERED if ok else DeliveryOutcome.FAILED, http_status=http_status,
            error=err[:500], response_excerpt=excerpt[:500],
        )
        permanent = http_status is not None and 400 <= http_status < 500
        if ok:
            PARTNER_MESSAGE.transition_check(message.status, PartnerMessageStatus.DELIVERED)
            message.status = PartnerMessageStatus.DELIVERED
            message.delivered_at = now
            message.next_attempt_at = None
        elif permanent or message.attempts >= settings.TRANSIT_PARTNER_MAX_ATTEMPTS:
            PARTNER_MESSAGE.transition_check(message.status, PartnerMessageStatus.FAILED)
            message.status = PartnerMessageStatus.FAILED
            message.next_attempt_at = None
            if message.movement_id:
                movement = (TransitMovement.objects.select_for_update(of=("self",)).select_related("declaration")
                            .get(pk=message.movement_id))
                alert_open(movement=movement, kind=AlertKind.DELIVERY_FAILED, actor=None,
                           detail=f"message {message.message_id} to {message.partner}: {err}")
        else:
            retry_in = settings.TRANSIT_PARTNER_BACKOFF_SECONDS * 2 ** (message.attempts - 1)
            message.next_attempt_at = now + dt.timedelta(seconds=retry_in)
        message.save(update_fields=["attempts", "status", "delivered_at", "next_attempt_at"])
    if ok and simulator_active() and not (partner and partner.endpoint):
        simulator_after_ack(message=message)
    return DeliveryResult(message=message, delivered=ok, retry_in_seconds=retry_in)


def partner_messages_due(*, grace_seconds: int = 300, limit: int = 200) -> list[str]:
    """Pending outbound messages whose next attempt is overdue by more than `grace_seconds`: their
    Celery retry was lost (worker crash, broker flush); the sweeper re-enqueues them. The grace keeps
    the sweeper from doubling retries that are merely about to run."""
    cutoff = clock.now() - dt.timedelta(seconds=grace_seconds)
    return [str(pk) for pk in PartnerMessage.objects.filter(
        direction=Direction.OUTBOUND, status=PartnerMessageStatus.PENDING, next_attempt_at__lte=cutoff,
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]]


def _parse(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed(errors=[error("parse_error", "The body is not JSON.", "")]) from None
    serializer = PartnerMessageInSerializer(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(errors=[error(e["code"], e["detail"], e["pointer"])
                                       for e in flatten_errors(serializer.errors)])
    return dict(serializer.validated_data)


@dataclass(frozen=True)
class InboundOutcome:
    message: PartnerMessage
    created: bool


def partner_message_receive(*, partner_code: str | None, signature: str | None, body: bytes,
                            actor: Any = None) -> InboundOutcome:
    """Verify, then apply an inbound partner message. The signature is checked before the body is
    even parsed: a forged message changes nothing. Idempotent by (partner, message_id)."""
    partner = verify_inbound(partner_code=partner_code, signature=signature, body=body)
    data = _parse(body)
    canonical = json.loads(body.decode("utf-8"))
    existing = PartnerMessage.objects.filter(direction=Direction.INBOUND, partner=partner.code,
                                             message_id=data["message_id"]).first()
    if existing is not None:
        if existing.body != canonical:
            raise Conflict(detail="This message id was already received with different content.",
                           code="message_id_reused",
                           errors=[error("message_id_reused", "Same message id, different content.",
                                         "/message_id")])
        return InboundOutcome(message=existing, created=False)
    movement_ref = TransitMovement.objects.filter(pk=data["movement_id"]).values("declaration_id").first()
    if movement_ref is None:
        raise ValidationFailed(errors=[error("unknown_movement", "No such transit movement.", "/movement_id")])
    actor = actor or f"partner:{partner.code}"
    with transaction.atomic():
        # Lock order: declaration -> movement (as in the release hook).
        Declaration.objects.select_for_update(of=("self",)).filter(pk=movement_ref["declaration_id"]).first()
        movement = (TransitMovement.objects.select_for_update(of=("self",)).select_related("declaration", "bond")
                    .get(pk=data["movement_id"]))
        if partner.code not in {movement.destination_country, movement.office_of_exit.partner_country_id}:
            raise PermissionDeniedError(detail=f"{partner.code} is not a party to this movement.",
                                        code="partner_not_party",
                                        errors=[error("partner_not_party", "Wrong partner state.", "/movement_id")])
        if data.get("entry_number") and data["entry_number"] != movement.declaration.entry_number:
            raise ValidationFailed(errors=[error("entry_number_mismatch", "The entry number does not match the "
                                                                          "movement.", "/entry_number")])
        effects = _apply_inbound(movement=movement, data=data, partner_code=partner.code, actor=actor)
        now = clock.now()
        result = {"message_id": data["message_id"], "movement_id": str(movement.pk), "kind": data["kind"],
                  "movement_status": movement.status, "effects": effects, "received_at": iso(now)}
        try:
            with transaction.atomic():
                message = PartnerMessage.objects.create(
                    direction=Direction.INBOUND, partner=partner.code, kind=data["kind"],
                    message_id=data["message_id"], movement=movement, body=canonical,
                    body_text=body.decode("utf-8"), status=PartnerMessageStatus.ACCEPTED, result=result,
                    created_at=now, delivered_at=now,
                )
        except IntegrityError:
            raise Conflict(detail="This message is being processed; retry.", code="message_in_flight") from None
    return InboundOutcome(message=message, created=True)


def _apply_inbound(*, movement: TransitMovement, data: dict[str, Any], partner_code: str, actor: Any) -> list[str]:
    kind = data["kind"]
    if kind == PartnerMessageKind.REJECTION:
        if movement.status not in (MovementStatus.LODGED, *EN_ROUTE):
            return ["stored_movement_finished"]
        _alert, created = alert_open(movement=movement, kind=AlertKind.PARTNER_REFUSED, actor=actor,
                                     detail=f"{partner_code}: {data.get('remarks') or 'no reason given'}")
        return ["alert_opened" if created else "alert_updated"]
    if movement.status in (MovementStatus.CLOSED, MovementStatus.CANCELLED):
        return ["already_closed"]
    if movement.status == MovementStatus.FAILED:
        # The security was already demanded: a late confirmation is kept on record, changes nothing.
        return ["movement_failed"]
    if movement.status not in EN_ROUTE:
        raise Conflict(detail="The goods have not been released for transit yet.", code="movement_not_departed",
                       errors=[error("movement_not_departed", f"Movement is {movement.status}.", "/movement_id")])
    if data["occurred_at"] > clock.now() + dt.timedelta(seconds=settings.TRANSIT_EVENT_FUTURE_TOLERANCE_SECONDS):
        raise ValidationFailed(errors=[error("occurred_at_in_future", "The confirmation time is in the future.",
                                             "/occurred_at")])
    return movement_exit_confirm_locked(
        movement=movement, actor=actor, confirmed_at=data["occurred_at"],
        confirmation={"message_id": data["message_id"], "kind": kind, "partner": partner_code,
                      "office": data.get("office", "")})
