"""Writes to tariff data. Admin edits and the loader end here so the in-process tariff books
(tariff.selectors.tariff_book) are invalidated everywhere: a version number in Django's cache
(Redis in production, shared by web and workers) is bumped; every process compares it with the
version its books were built from (checked at most every `VERSION_CHECK_SECONDS`)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import models, transaction
from django.db.models import F

from core import clock
from core.exceptions import ErrorItem
from tariff.models import ExemptionCertificate, ExemptionCertificateChange, ExemptionDrawdown
from tariff.selectors import TARIFF_VERSION_KEY, clear_local_cache

logger = logging.getLogger(__name__)


def tariff_cache_invalidate() -> None:
    """Bump the shared tariff version and drop this process's books at once."""
    clear_local_cache()
    try:
        try:
            cache.incr(TARIFF_VERSION_KEY)
        except ValueError:
            cache.set(TARIFF_VERSION_KEY, 1, timeout=None)
    except Exception:  # cache down: other processes pick the change up when they rebuild
        logger.warning("tariff cache version not bumped (cache unavailable)", exc_info=True)


def tariff_row_save(*, instance: models.Model, actor: Any = None) -> models.Model:
    """Save a tariff row (duty rate, national measure, exchange rate, tariff line) from the admin;
    validation runs first, the books are invalidated after commit."""
    instance.full_clean()
    with transaction.atomic():
        instance.save()
        transaction.on_commit(tariff_cache_invalidate)
    return instance


def tariff_row_delete(*, instance: models.Model, actor: Any = None) -> None:
    with transaction.atomic():
        instance.delete()
        transaction.on_commit(tariff_cache_invalidate)


# ------------------------------------------------------------------------------------------------
# Exemption certificates: quota draw-down and give-back


@dataclass(frozen=True)
class QuotaDraw:
    certificate_id: int
    line_no: int
    index: int  # item position in the body, for the error pointer
    amount: Decimal


def _actor_label(actor: Any) -> str:
    return (getattr(actor, "username", None) or str(actor or "system"))[:150]


def _quota_take(certificate_id: int, amount: Decimal) -> bool:
    """The compare-and-set draw: only an active certificate with `amount` left is charged."""
    return bool(ExemptionCertificate.objects.filter(
        pk=certificate_id, status=ExemptionCertificate.Status.ACTIVE,
        quota_used__lte=F("quota_total") - amount,
    ).update(quota_used=F("quota_used") + amount))


def _quota_exhausted(draw: QuotaDraw) -> ErrorItem:
    return ErrorItem(
        code="exemption_quota_exhausted",
        detail="The exemption certificate's quota does not cover this claim any more.",
        pointer=f"/items/{draw.index}/exemption_certificate",
    )


def exemption_quota_draw(*, declaration_id: uuid.UUID, draws: list[QuotaDraw], actor: Any) -> list[ErrorItem]:
    """Draw every claim from its certificate's quota, inside the caller's (lodging) transaction.

    One compare-and-set UPDATE per certificate (`quota_used + n <= quota_total`, and still active):
    PostgreSQL re-evaluates the condition on the latest row version after waiting for a concurrent
    writer, so two lodgings can never both take the last of a quota. Certificates are updated in
    ascending id order so two declarations drawing on the same two certificates cannot deadlock.
    Returns the problems (the caller raises, rolling back any draw already made).
    """
    if not draws:
        return []
    per_certificate: dict[int, Decimal] = {}
    for draw in draws:
        per_certificate[draw.certificate_id] = per_certificate.get(draw.certificate_id, Decimal(0)) + draw.amount
    problems: list[ErrorItem] = []
    for certificate_id in sorted(per_certificate):
        if not _quota_take(certificate_id, per_certificate[certificate_id]):
            first = next(d for d in draws if d.certificate_id == certificate_id)
            problems.append(_quota_exhausted(first))
    if problems:
        return problems
    now = clock.now()
    label = _actor_label(actor)
    ExemptionDrawdown.objects.bulk_create([
        ExemptionDrawdown(certificate_id=d.certificate_id, declaration_id=declaration_id, line_no=d.line_no,
                          amount=d.amount, drawn_at=now, drawn_by=label)
        for d in draws
    ])
    return []


def exemption_quota_release(*, declaration_id: uuid.UUID, actor: Any) -> Decimal:
    """Give back what a (cancelled) declaration drew, once: the draw rows are locked and marked
    released in the caller's transaction, then each certificate is decremented (ascending id)."""
    rows = list(ExemptionDrawdown.objects.select_for_update().filter(
        declaration_id=declaration_id, released_at__isnull=True).order_by("certificate_id", "line_no"))
    if not rows:
        return Decimal(0)
    per_certificate: dict[int, Decimal] = {}
    for row in rows:
        per_certificate[row.certificate_id] = per_certificate.get(row.certificate_id, Decimal(0)) + row.amount
    for certificate_id in sorted(per_certificate):
        ExemptionCertificate.objects.filter(pk=certificate_id).update(
            quota_used=F("quota_used") - per_certificate[certificate_id])
    ExemptionDrawdown.objects.filter(pk__in=[r.pk for r in rows]).update(
        released_at=clock.now(), released_by=_actor_label(actor))
    return sum(per_certificate.values(), Decimal(0))


@dataclass(frozen=True)
class QuotaRedraw:
    """What an accepted amendment did to the quota: drawn and given back (gross, KES or units)."""

    problems: tuple[ErrorItem, ...] = ()
    drawn: Decimal = Decimal(0)
    released: Decimal = Decimal(0)


def exemption_quota_redraw(*, declaration_id: uuid.UUID, draws: list[QuotaDraw], actor: Any) -> QuotaRedraw:
    """Bring an amended declaration's draws to its new claims, inside the caller's (amendment
    acceptance) transaction, which holds the declaration's row lock.

    An item whose claim is unchanged (same certificate, same amount) keeps its draw row. Every
    other live draw is released (marked, with its actor) and every new or changed claim is drawn as
    a new row, so the register keeps the history. Per certificate only the difference moves the
    counter: more -> the same compare-and-set as lodging (`exemption_quota_draw`), so a concurrent
    lodging or amendment can never over-draw; less -> given back. Certificates are updated in
    ascending id order, as at lodging and cancellation (no deadlock between them). On a refusal
    nothing is written here and the caller raises, rolling back the whole amendment.
    """
    held = list(ExemptionDrawdown.objects.select_for_update().filter(
        declaration_id=declaration_id, released_at__isnull=True).order_by("certificate_id", "line_no"))
    kept_rows: set[int] = set()
    fresh: list[QuotaDraw] = []
    for draw in draws:
        same = next((r for r in held if r.pk not in kept_rows and r.line_no == draw.line_no
                     and r.certificate_id == draw.certificate_id and r.amount == draw.amount), None)
        if same is None:
            fresh.append(draw)
        else:
            kept_rows.add(same.pk)
    stale = [r for r in held if r.pk not in kept_rows]
    delta: dict[int, Decimal] = {}
    for draw in fresh:
        delta[draw.certificate_id] = delta.get(draw.certificate_id, Decimal(0)) + draw.amount
    for row in stale:
        delta[row.certificate_id] = delta.get(row.certificate_id, Decimal(0)) - row.amount
    problems: list[ErrorItem] = []
    for certificate_id in sorted(delta):
        change = delta[certificate_id]
        if change > 0:
            if not _quota_take(certificate_id, change):
                problems.append(_quota_exhausted(next(d for d in fresh if d.certificate_id == certificate_id)))
        elif change < 0:
            ExemptionCertificate.objects.filter(pk=certificate_id).update(quota_used=F("quota_used") + change)
    if problems:
        return QuotaRedraw(problems=tuple(problems))
    now = clock.now()
    label = _actor_label(actor)
    if stale:
        # Released before the new rows go in: one live draw per item (partial unique constraint).
        ExemptionDrawdown.objects.filter(pk__in=[r.pk for r in stale]).update(released_at=now, released_by=label)
    ExemptionDrawdown.objects.bulk_create([
        ExemptionDrawdown(certificate_id=d.certificate_id, declaration_id=declaration_id, line_no=d.line_no,
                          amount=d.amount, drawn_at=now, drawn_by=label)
        for d in fresh
    ])
    places = Decimal("0.001")  # as stored (ExemptionDrawdown.amount)
    return QuotaRedraw(drawn=sum((d.amount for d in fresh), Decimal(0)).quantize(places),
                       released=sum((r.amount for r in stale), Decimal(0)).quantize(places))


def exemption_certificate_save(*, instance: ExemptionCertificate, actor: Any = None) -> ExemptionCertificate:
    """Admin create/edit. `quota_used` is never edited by hand (drawn and given back by lodging and
    cancellation); the model's constraints refuse a total below what is already used."""
    now = clock.now()
    tracked = [f.name for f in instance._meta.concrete_fields
               if f.name not in ("id", "quota_used", "created_at", "updated_at")]
    before = None if instance._state.adding else ExemptionCertificate.objects.filter(pk=instance.pk).first()
    if instance._state.adding:
        instance.created_at = now
        instance.quota_used = Decimal(0)
    instance.updated_at = now
    instance.full_clean()
    changed = {name: [str(getattr(before, name)) if before is not None else "", str(getattr(instance, name))]
               for name in tracked if before is None or getattr(before, name) != getattr(instance, name)}
    with transaction.atomic():
        if before is None:
            instance.save()
        else:
            # Never write quota_used from a form: it may be stale against a concurrent lodging.
            instance.save(update_fields=[*tracked, "updated_at"])
        ExemptionCertificateChange.objects.create(
            certificate=instance, actor=actor if getattr(actor, "pk", None) else None, actor_label=_actor_label(actor),
            from_status=before.status if before is not None else "", to_status=instance.status, changed=changed,
            created_at=now)
    return instance
