"""Payment of the assessed amount (simulated bank) and the bank's signed confirmation callback."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import clock
from core.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed, error

from ..enums import Status
from ..lifecycle import is_secured_transit, no_payment_step, transition_check
from ..models import BankCallbackNonce, Declaration, ESlip, Payment
from .common import logger
from .deadlines import interest_for, interest_record_locked
from .lifecycle import declaration_transition_locked

SIGNATURE_HEADER = "X-Forodha-Signature"
TIMESTAMP_HEADER = "X-Forodha-Timestamp"
NONCE_HEADER = "X-Forodha-Nonce"
TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _already_paid(declaration: Declaration) -> Conflict:
    return Conflict(detail="This declaration is already paid.", code="already_paid",
                    errors=[error("already_paid", "A payment was already recorded.", "")])


def _record_payment(
    *, declaration: Declaration, amount: Decimal, currency: str, method: str, bank_reference: str,
    paid_at: dt.datetime, actor: Any,
) -> Payment:
    """Caller holds the declaration lock. Exact amount of the current e-slip, in KES."""
    if Payment.objects.filter(declaration=declaration).exists():
        raise _already_paid(declaration)
    if no_payment_step(declaration):
        # Nothing to pay, no payment step (declarations.lifecycle): an IM8's taxes at risk are secured
        # by the regional bond (docs/transit.md); a declaration assessed at KES 0.00 owes nothing.
        if is_secured_transit(declaration.regime):
            raise Conflict(detail="Transit duties are secured by the regional bond; nothing is payable.",
                           code="secured_not_payable",
                           errors=[error("secured_not_payable", "An IM8 declaration has no payment step.",
                                         "/amount")])
        raise Conflict(detail="This declaration was assessed at KES 0.00; there is nothing to pay.",
                       code="nothing_to_pay",
                       errors=[error("nothing_to_pay", "A declaration with nothing to pay has no payment step.",
                                     "/amount")])
    if declaration.status != Status.ASSESSED:
        transition_check(declaration.status, Status.PAID)
    eslip = ESlip.objects.filter(declaration=declaration, is_current=True).select_related("assessment").first()
    if eslip is None:  # pragma: no cover - every assessed declaration has one
        raise Conflict(detail="No e-slip to pay.", code="no_eslip")
    # Late-payment interest (TPA 2015 s.38) up to the day of payment is part of the amount due.
    paid_on = timezone.localtime(paid_at).date()
    interest = interest_for(declaration=declaration, assessment=eslip.assessment, paid=False, on=paid_on)
    amount_due = eslip.amount + interest.amount
    problems = []
    if currency != eslip.currency:
        problems.append(error("currency_not_accepted", f"Pay in {eslip.currency}.", "/currency"))
    if amount != amount_due:
        problems.append(error("amount_mismatch", f"The amount due is {eslip.currency} {amount_due}"
                              + (f" (e-slip {eslip.amount} + late-payment interest {interest.amount})"
                                 if interest.amount else "") + ".", "/amount"))
    if problems:
        code = "amount_mismatch" if any(p.code == "amount_mismatch" for p in problems) else problems[0].code
        raise ValidationFailed(detail="The payment does not match the e-slip.", code=code, errors=problems,
                               extra={"amount_due": str(amount_due), "currency": eslip.currency,
                                      "late_payment_interest": str(interest.amount)})
    if interest.months:
        # The months not yet recorded by the beat task are recorded now, before the payment.
        interest_record_locked(declarations=[declaration], on=paid_on, actor=actor)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                declaration=declaration, eslip=eslip, reference=f"PAY{uuid.uuid4().hex[:16].upper()}",
                amount=amount, currency=currency, method=method, bank_reference=bank_reference, paid_at=paid_at,
            )
    except IntegrityError:
        raise _already_paid(declaration) from None
    declaration_transition_locked(
        declaration=declaration, to_status=Status.PAID, actor=actor, reason=f"paid via {method}",
        payload={"payment_reference": payment.reference, "amount": str(amount), "bank_reference": bank_reference,
                 **({"late_payment_interest": str(interest.amount), "interest_months": interest.months}
                    if interest.amount else {})},
    )
    # Clearance takes it from here: it subscribes to the PAID transition (declaration.status_changed).
    return payment


@transaction.atomic
def declaration_pay(
    *, declaration_id: uuid.UUID | str, agent: Any, amount: Decimal, currency: str, method: str, actor: Any,
) -> Payment:
    try:
        declaration = Declaration.objects.select_for_update(of=("self",)).get(pk=declaration_id, agent=agent)
    except (Declaration.DoesNotExist, ValueError):
        raise NotFound(detail="No such declaration.", code="declaration_not_found") from None
    return _record_payment(declaration=declaration, amount=amount, currency=currency, method=method,
                           bank_reference=f"SIM-{uuid.uuid4().hex[:12].upper()}", paid_at=clock.now(), actor=actor)



def _unauthenticated(code: str, detail: str, item: str) -> ApplicationError:
    return ApplicationError(status=401, title="Not authenticated", code=code, detail=detail,
                            errors=[error(code, item, "")])


def signature_compute(body: bytes, *, timestamp: int | str, nonce: str) -> str:
    """`sha256=<hex HMAC-SHA256(BANK_CALLBACK_SECRET, "<timestamp>.<nonce>." + raw body)>`."""
    message = f"{timestamp}.{nonce}.".encode() + body
    digest = hmac.new(settings.BANK_CALLBACK_SECRET.encode(), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def bank_callback_headers(body: bytes, *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The three headers a bank (or the sandbox/test simulator) sends with a callback body."""
    timestamp = int(clock.now().timestamp()) if timestamp is None else timestamp
    nonce = nonce or secrets.token_urlsafe(24)
    return {SIGNATURE_HEADER: signature_compute(body, timestamp=timestamp, nonce=nonce),
            TIMESTAMP_HEADER: str(timestamp), NONCE_HEADER: nonce}


def signature_verify(*, body: bytes, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
    """Authenticate a bank callback before its body is interpreted:
    1. constant-time check of the signature over timestamp, nonce and raw body (401 invalid_signature);
    2. the signed timestamp within BANK_CALLBACK_TOLERANCE_SECONDS of clock.now() (401 stale_timestamp);
    3. the nonce never seen before (409 replayed_request); it is stored in its own committed
       transaction, so even a callback that then fails cannot be sent again as it was."""
    if (not settings.BANK_CALLBACK_SECRET or not signature or not timestamp or not nonce
            or not TIMESTAMP_RE.fullmatch(timestamp) or not NONCE_RE.fullmatch(nonce)
            or not hmac.compare_digest(signature_compute(body, timestamp=timestamp, nonce=nonce),
                                       signature.strip())):
        raise _unauthenticated("invalid_signature", "Missing or invalid bank signature.",
                               f"Bad or missing {SIGNATURE_HEADER}, {TIMESTAMP_HEADER} or {NONCE_HEADER} header.")
    now = clock.now()
    tolerance = int(settings.BANK_CALLBACK_TOLERANCE_SECONDS)
    signed_at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    if abs((now - signed_at).total_seconds()) > tolerance:
        raise _unauthenticated("stale_timestamp", f"The signed timestamp is more than {tolerance} s from now.",
                               f"{TIMESTAMP_HEADER} is outside the accepted window.")
    try:
        with transaction.atomic():
            # Nonces older than the window can no longer be replayed (their timestamp is stale).
            BankCallbackNonce.objects.filter(signed_at__lt=now - dt.timedelta(seconds=2 * tolerance)).delete()
            BankCallbackNonce.objects.create(nonce=nonce, signed_at=signed_at, received_at=now)
    except IntegrityError:
        raise Conflict(detail="This callback was already received (nonce reused).", code="replayed_request",
                       errors=[error("replayed_request", f"{NONCE_HEADER} was already used.", "")]) from None


@transaction.atomic
def payment_confirm_from_bank(
    *, eslip_reference: str, amount: Decimal, currency: str, bank_reference: str, paid_at: dt.datetime,
    actor: Any = None,
) -> tuple[Payment, bool]:
    """Record a bank-confirmed payment. Idempotent on `bank_reference`: the bank retries callbacks,
    so the same confirmation twice returns the first payment (created=False)."""
    if paid_at > clock.now() + dt.timedelta(minutes=5):
        raise ValidationFailed(errors=[error("future_date", "paid_at is in the future.", "/paid_at")])
    eslip = ESlip.objects.filter(reference=eslip_reference).only("id", "declaration_id").first()
    if eslip is None:
        raise NotFound(detail="No e-slip with this reference.", code="eslip_not_found",
                       errors=[error("eslip_not_found", "Unknown e-slip reference.", "/eslip_reference")])
    declaration = Declaration.objects.select_for_update(of=("self",)).get(pk=eslip.declaration_id)
    existing = Payment.objects.filter(declaration=declaration).first()
    if existing is not None:
        if existing.bank_reference == bank_reference:
            return existing, False
        raise _already_paid(declaration)
    if not ESlip.objects.filter(pk=eslip.pk, is_current=True).exists():
        raise Conflict(detail="This e-slip was superseded by a re-assessment.", code="eslip_superseded")
    payment = _record_payment(declaration=declaration, amount=amount, currency=currency,
                              method=Payment.Method.BANK_CALLBACK, bank_reference=bank_reference,
                              paid_at=paid_at, actor=actor)
    logger.info("bank confirmed %s for %s", bank_reference, declaration.entry_number)
    return payment, True
