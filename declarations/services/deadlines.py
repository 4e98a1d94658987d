"""Deadlines made real (docs/declarations.md, "Nothing to pay", "Late-payment interest" and
"Deadlines and outages"):

- nothing to pay: the `nothing_to_pay` event written when a declaration is assessed with nothing
  payable (the rule itself: `declarations.lifecycle.nothing_to_pay`);
- late-payment interest (Tax Procedures Act 2015 s.38): COMPUTED AT READ from the due date and
  `core.clock` (`interest_for`), so the API, the e-slip and the amount a payment must match agree
  to the day without any job having run; a beat task (`interest_record`) and the payment itself
  RECORD it, one `interest_accrued` event each time a new month starts;
- outages: every contingency period (a declared outage, a detected database outage recorded after
  recovery, a `buffer` window) moves every unpaid due date on or after its start by its length,
  once per period, with a `deadline_moved` event per declaration (`deadlines_shift`). While a
  period is in force, or its shift has not finished, nothing falling due on or after its start is
  late: an outage never creates interest.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from core import clock
from maintenance.selectors import contingency_since

from ..enums import EventKind, Status
from ..interest import LateInterest, late_interest
from ..lifecycle import no_payment_step
from ..models import Assessment, DeadlineShift, Declaration, DeclarationEvent, ESlip, Payment
from .common import actor_label, actor_user, events_chain, money, outbox_enqueue

logger = logging.getLogger("forodha.declarations")

SHIFT_TASK = "declarations.shift_deadlines"
# Lodged, not paid, not finished: the statuses in which a payment is still owed.
UNPAID_STATUSES = (Status.REGISTERED, Status.ASSESSED, Status.QUERIED)
ZERO = Decimal("0.00")


# --- nothing to pay ------------------------------------------------------------------------------

def nothing_to_pay_event(*, declaration: Declaration, total: Decimal, secured_by: str, actor: Any,
                         actor_label: str, at: dt.datetime) -> DeclarationEvent:
    """The event recording that a declaration has no payment step (unsaved: the lodging writes its
    events in one bulk insert)."""
    why = secured_by or f"assessed at KES {total}"
    return DeclarationEvent(
        declaration=declaration, kind=EventKind.NOTHING_TO_PAY, actor=actor, actor_label=actor_label,
        from_status=Status.ASSESSED, to_status=Status.ASSESSED, reason=f"nothing to pay: {why}",
        payload={"amount_due": "0.00", "total": str(total), "secured_by": secured_by or None,
                 "next": "clearance (selectivity), no payment step"},
        created_at=at)


# --- late-payment interest -------------------------------------------------------------------------

def interest_settings() -> tuple[Decimal, str]:
    return Decimal(str(settings.LATE_PAYMENT_INTEREST_RATE)), str(settings.LATE_PAYMENT_INTEREST_RULE)


def unpaid_tax(assessment: Assessment | None) -> Decimal:
    """The base of s.38 interest: the assessed TAX (total less penalties and fees)."""
    if assessment is None:
        return ZERO
    return max(ZERO, money(assessment.total - assessment.penalties - assessment.fees))


def interest_paused_from(now: dt.datetime | None = None) -> dt.date | None:
    """Due dates on or after this day are not late now: a contingency is in force since then, or a
    period that began then has ended but its due dates have not all moved yet."""
    now = now or clock.now()
    days = [d for d in DeadlineShift.objects.filter(done_at__isnull=True).values_list("first_due_date", flat=True)]
    since = contingency_since(now)
    if since is not None:
        days.append(timezone.localtime(since).date())
    return min(days) if days else None


def interest_for(*, declaration: Declaration, assessment: Assessment | None, paid: bool,
                 on: dt.date | None = None, paused_from: Any = ...) -> LateInterest:
    """The interest owed on `on` (default: today, EAT) by a declaration, from plain loaded rows.

    Zero when nothing is payable, when it is paid (interest stops at payment and is part of it), when
    it is no longer lodged-and-unpaid (cancelled, rejected) or not yet late. `paused_from` is
    looked up only for a late declaration (the common, not-late case costs no query)."""
    rate, rule = interest_settings()
    on = on or clock.today()
    due = declaration.payment_due_date
    owed = (not paid and due is not None and not no_payment_step(declaration)
            and declaration.status in UNPAID_STATUSES)
    if owed and due is not None and on > due:
        pause = interest_paused_from() if paused_from is ... else paused_from
        if pause is not None and due >= pause:
            owed = False  # it will move when the contingency ends: not late meanwhile
    return late_interest(base=unpaid_tax(assessment) if owed else ZERO, due_date=due, on=on, rate=rate, rule=rule)


def _recorded_months(ids: list[Any]) -> dict[Any, int]:
    recorded: dict[Any, int] = defaultdict(int)
    for declaration_id, payload in DeclarationEvent.objects.filter(
            declaration_id__in=ids, kind=EventKind.INTEREST_ACCRUED).values_list("declaration_id", "payload"):
        recorded[declaration_id] = max(recorded[declaration_id], int((payload or {}).get("months", 0)))
    return recorded


def _interest_event(declaration: Declaration, interest: LateInterest, recorded: int, *, actor: Any,
                    now: dt.datetime) -> DeclarationEvent:
    months = list(range(recorded + 1, interest.months + 1))
    span = f"month {months[0]}" if len(months) == 1 else f"months {months[0]}-{months[-1]}"
    return DeclarationEvent(
        declaration=declaration, kind=EventKind.INTEREST_ACCRUED, actor=actor_user(actor),
        actor_label=actor_label(actor)[:150], from_status=declaration.status, to_status=declaration.status,
        reason=(f"late-payment interest, {span} after the due date {interest.due_date}: "
                f"{interest.rate * 100:.2f} % x KES {interest.base} = KES {interest.per_month} a month"),
        payload={"months": interest.months, "new_months": months, "per_month": str(interest.per_month),
                 "amount": str(interest.amount), "base": str(interest.base), "rate": str(interest.rate),
                 "rule": interest.rule, "due_date": interest.due_date.isoformat() if interest.due_date else None,
                 "as_of": interest.as_of.isoformat(), "legal_basis": interest.legal_basis},
        created_at=now)


def interest_record_locked(*, declarations: list[Declaration], on: dt.date, actor: Any = None,
                           paused_from: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Record the months of interest not yet recorded for declarations whose rows the caller holds
    locked (the beat task, a payment). One `interest_accrued` event per declaration that has new
    months; its ETag changes (the amount due did). Returns the number of events written."""
    if not declarations:
        return 0
    now = now or clock.now()
    ids = [d.pk for d in declarations]
    eslips = {e.declaration_id: e for e in ESlip.objects.filter(declaration_id__in=ids, is_current=True)
              .select_related("assessment")}
    recorded = _recorded_months(ids)
    events = []
    for declaration in declarations:
        eslip = eslips.get(declaration.pk)
        interest = interest_for(declaration=declaration, assessment=eslip.assessment if eslip else None,
                                paid=False, on=on, paused_from=paused_from)
        if interest.months > recorded[declaration.pk]:
            events.append(_interest_event(declaration, interest, recorded[declaration.pk], actor=actor, now=now))
    if events:
        DeclarationEvent.objects.bulk_create(events_chain(events))
        Declaration.objects.filter(pk__in=[e.declaration_id for e in events]).update(
            etag_version=F("etag_version") + 1, updated_at=now)
    return len(events)


def interest_record(*, now: dt.datetime | None = None, chunk: int = 200, limit: int = 20000) -> int:
    """Beat: record interest for every late, unpaid declaration (deterministic under core.clock:
    the months depend only on the due date and today's date). Idempotent: months already recorded
    are not recorded again. Chunks of `chunk` declarations, each locked (pk order) in its own
    transaction, so a payment waits for at most one chunk."""
    now = now or clock.now()
    on = timezone.localtime(now).date()
    paused_from = interest_paused_from(now)
    late = (Declaration.objects.filter(status__in=UNPAID_STATUSES, payment_due_date__lt=on)
            .filter(~Exists(Payment.objects.filter(declaration_id=OuterRef("pk")))))
    if paused_from is not None:
        late = late.filter(payment_due_date__lt=paused_from)
    ids = list(late.order_by("pk").values_list("pk", flat=True)[:limit])
    written = 0
    for start in range(0, len(ids), chunk):
        with transaction.atomic():
            rows = list(Declaration.objects.select_for_update(of=("self",))
                        .filter(pk__in=ids[start:start + chunk], status__in=UNPAID_STATUSES).order_by("pk"))
            paid = set(Payment.objects.filter(declaration_id__in=[d.pk for d in rows])
                       .values_list("declaration_id", flat=True))
            written += interest_record_locked(declarations=[d for d in rows if d.pk not in paid], on=on,
                                              paused_from=paused_from, now=now)
    return written


# --- deadlines and outages -----------------------------------------------------------------------

def relief_days(length: dt.timedelta) -> int:
    """An outage's length in whole days, rounded up (a due date is a day)."""
    return max(0, math.ceil(length / dt.timedelta(days=1)))


def contingency_period_ended(period: Any) -> DeadlineShift | None:
    """maintenance.periods subscriber, inside the transaction that ends the period: register the
    period's deadline shift (once: `period` is unique) and hand it to a worker through the outbox.
    Until the shift has finished, due dates on or after the period's start are not late."""
    days = relief_days(period.length)
    if days == 0:
        return None
    shift, created = DeadlineShift.objects.get_or_create(period=period.key, defaults={
        "source": period.source, "started_at": period.started_at, "ended_at": period.ended_at, "days": days,
        "first_due_date": timezone.localtime(period.started_at).date(), "created_at": clock.now()})
    if created:
        outbox_enqueue(task_name=SHIFT_TASK, kwargs={"shift_id": shift.pk})
    return shift


def deadlines_shift(*, shift_id: int, chunk: int = 1000, actor: Any = None) -> DeadlineShift:
    """Move every unpaid payment due date on or after the period's start by its length.

    Concerned: declarations lodged BEFORE the period began (those received during it were lodged
    by the replay at their receipt time with the period's length already added: not again), not
    paid, not cancelled or rejected, with something to pay. Per chunk, in ONE transaction: the
    shift row and the next declarations after the cursor are locked (pk order, the lock order of
    every multi-declaration write), their due dates and current e-slips move with one UPDATE per
    distinct due date, one `deadline_moved` event each goes in with one bulk insert (hash-chained:
    `events_chain`), and the cursor advances. Resumable and exactly once per declaration."""
    while True:
        with transaction.atomic():
            shift = DeadlineShift.objects.select_for_update().get(pk=shift_id)
            if shift.done_at is not None:
                return shift
            now = clock.now()
            concerned = (Declaration.objects.select_for_update(of=("self",))
                         .filter(status__in=UNPAID_STATUSES, payment_due_date__gte=shift.first_due_date,
                                 lodged_at__lt=shift.started_at)
                         .filter(~Exists(Payment.objects.filter(declaration_id=OuterRef("pk")))))
            if shift.cursor is not None:
                concerned = concerned.filter(pk__gt=shift.cursor)
            rows = list(concerned.order_by("pk").values_list("pk", "payment_due_date", "status")[:chunk])
            if not rows:
                shift.done_at = now
                shift.save(update_fields=["done_at"])
                logger.info("deadlines: %s moved %d due date(s) by %d day(s)", shift.period, shift.moved,
                            shift.days)
                return shift
            # (every due date is set: filtered on payment_due_date >= the period's first day)
            _move(shift, [(pk, due, status) for pk, due, status in rows if due is not None], now=now, actor=actor)
            shift.cursor = rows[-1][0]
            shift.moved += len(rows)
            shift.save(update_fields=["cursor", "moved"])


def _move(shift: DeadlineShift, rows: list[tuple[uuid.UUID, dt.date, str]], *, now: dt.datetime,
          actor: Any) -> None:
    by_due: dict[dt.date, list[uuid.UUID]] = defaultdict(list)
    for pk, due, _status in rows:
        by_due[due].append(pk)
    delta = dt.timedelta(days=shift.days)
    for due, pks in by_due.items():
        Declaration.objects.filter(pk__in=pks).update(payment_due_date=due + delta,
                                                      etag_version=F("etag_version") + 1, updated_at=now)
        ESlip.objects.filter(declaration_id__in=pks, is_current=True).update(due_date=due + delta)
    started, ended = timezone.localtime(shift.started_at), timezone.localtime(shift.ended_at)
    user, label = actor_user(actor), actor_label(actor)[:150]
    events = [
        DeclarationEvent(
            declaration_id=pk, kind=EventKind.DEADLINE_MOVED, actor=user, actor_label=label,
            from_status=status, to_status=status,
            reason=(f"payment due date moved from {due} to {due + delta}: contingency "
                    f"{started:%Y-%m-%d %H:%M} to {ended:%Y-%m-%d %H:%M} EAT ({shift.source}), {shift.days} day(s)"),
            payload={"period": shift.period, "source": shift.source, "from": due.isoformat(),
                     "to": (due + delta).isoformat(), "days": shift.days,
                     "period_started_at": shift.started_at.isoformat(), "period_ended_at": shift.ended_at.isoformat()},
            created_at=now)
        for pk, due, status in rows
    ]
    DeclarationEvent.objects.bulk_create(events_chain(events))


def deadlines_shift_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=2)) -> int:
    """Beat: finish shifts whose task was lost (the outbox re-sends it, this is the backstop)."""
    pending = list(DeadlineShift.objects.filter(done_at__isnull=True, created_at__lte=clock.now() - older_than)
                   .order_by("started_at").values_list("pk", flat=True))
    for pk in pending:
        deadlines_shift(shift_id=pk)
    return len(pending)
