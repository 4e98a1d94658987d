"""Write-off of B/L quantities by declarations (used by the declarations app).

    writeoff_reserve   lodging/registration of a declaration: packages and weight are taken
    writeoff_reserve_fresh  the same for a declaration holding nothing yet (the lodging path):
                       one conditional UPDATE + one INSERT; falls back to writeoff_reserve
    writeoff_release   cancellation (or rejection): the reserved quantities are given back
    writeoff_settle    release order: reserved -> settled; a fully settled B/L is settled and a
                       manifest whose B/Ls are all settled is closed

Concurrency: the B/L row is the unit of serialisation. `writeoff_reserve` locks it with
SELECT ... FOR UPDATE and checks the remaining quantities under the lock, so concurrent
declarations against one B/L queue up and can never over-declare; a CHECK constraint on the row
(`bl_packages_not_over_declared`) backs this up. Lock order across the app is
manifest -> B/L (by pk) -> write-off rows, and `writeoff_reserve` takes only the B/L lock, so
amendments, settlements and reservations cannot deadlock each other. A caller reserving against
several B/Ls in one transaction must do it in B/L pk order.

All three run inside the caller's transaction (a savepoint when one is open): a declaration that
fails later rolls its reservation back with it.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from core import clock
from core.actors import actor_user
from core.exceptions import Conflict, ErrorItem, ValidationFailed, error
from manifests.enums import BillStatus, EventKind, WriteOffStatus
from manifests.lifecycle import BILL, DECLARABLE, WRITE_OFF
from manifests.models import BillOfLading, Manifest, WriteOff
from manifests.services.common import WEIGHT_Q, record_event
from manifests.services.lifecycle import close_if_settled

POINTER = "/bill_of_lading"


def weight_tolerance_kg(bill: BillOfLading) -> Decimal:
    """Extra weight a declaration may write off beyond the manifested gross weight.

    `MANIFEST_WRITEOFF_WEIGHT_TOLERANCE_PERCENT` (default 0: declared weight may never exceed the
    manifest; a larger declared weight needs a manifest amendment first).
    """
    return (bill.gross_weight_kg * _tolerance_percent() / Decimal(100)).quantize(WEIGHT_Q)


def _tolerance_percent() -> Decimal:
    return Decimal(str(getattr(settings, "MANIFEST_WRITEOFF_WEIGHT_TOLERANCE_PERCENT", "0")))


def writeoff_reserve(
    *,
    bill_of_lading_id: uuid.UUID,
    declaration_id: uuid.UUID,
    packages: int,
    gross_weight_kg: Decimal,
    actor: Any,
) -> WriteOff:
    """Reserve `packages` and `gross_weight_kg` of a B/L for a declaration.

    One active write-off per (B/L, declaration): calling again for the same pair while it is
    still reserved replaces its quantities (a declaration amended before release); once settled
    it is a 409 `writeoff_settled`.
    """
    problems: list[ErrorItem] = []
    if not isinstance(packages, int) or isinstance(packages, bool) or packages <= 0:
        problems.append(error("packages_not_positive", "Packages written off must be at least 1.", "/packages"))
    weight = Decimal(gross_weight_kg).quantize(WEIGHT_Q)
    if weight < 0:
        problems.append(error("weight_not_positive", "Gross weight cannot be negative.", "/gross_weight_kg"))
    if problems:
        raise ValidationFailed(errors=problems)

    now = clock.now()
    with transaction.atomic():
        bill = (
            BillOfLading.objects.select_for_update(of=("self",)).select_related("manifest")
            .filter(pk=bill_of_lading_id).first()
        )
        if bill is None:
            raise ValidationFailed(errors=[error("bl_not_found", "No such bill of lading.", POINTER)])
        if bill.manifest.status not in DECLARABLE:
            raise ValidationFailed(errors=[error(
                "bl_not_declarable",
                f"B/L {bill.number} is on a {bill.manifest.status} manifest; it cannot be declared against.",
                POINTER)])
        if bill.status == BillStatus.SETTLED:
            raise ValidationFailed(errors=[error("bl_settled", f"B/L {bill.number} is fully settled.", POINTER)])
        existing = (
            WriteOff.objects.select_for_update()
            .filter(bill_of_lading=bill, declaration_id=declaration_id,
                    status__in=[WriteOffStatus.RESERVED, WriteOffStatus.SETTLED])
            .first()
        )
        if existing is not None and existing.status == WriteOffStatus.SETTLED:
            raise Conflict(detail="This declaration's write-off of the B/L is already settled.",
                           code="writeoff_settled")
        held_packages = existing.packages if existing else 0
        held_weight = existing.gross_weight_kg if existing else Decimal("0")
        remaining_packages = bill.packages_remaining + held_packages
        remaining_weight = bill.weight_remaining_kg + held_weight
        if packages > remaining_packages:
            problems.append(error(
                "bl_quantity_exceeded",
                f"B/L {bill.number}: {packages} packages declared, {remaining_packages} remaining.", POINTER))
        if weight > remaining_weight + weight_tolerance_kg(bill):
            problems.append(error(
                "bl_quantity_exceeded",
                f"B/L {bill.number}: {weight} kg declared, {remaining_weight} kg remaining.", POINTER))
        if problems:
            raise ValidationFailed(
                detail="The declaration takes more than remains on the bill of lading.",
                code="bl_quantity_exceeded", errors=problems,
                extra={"packages_remaining": remaining_packages, "weight_remaining_kg": str(remaining_weight)},
            )
        bill.packages_reserved += packages - held_packages
        bill.weight_reserved_kg += weight - held_weight
        bill.save(update_fields=["packages_reserved", "weight_reserved_kg"])
        if existing is not None:
            existing.packages = packages
            existing.gross_weight_kg = weight
            existing.save(update_fields=["packages", "gross_weight_kg"])
            return existing
        return WriteOff.objects.create(
            bill_of_lading=bill, declaration_id=declaration_id, packages=packages, gross_weight_kg=weight,
            created_by=actor_user(actor), created_at=now,
        )


def writeoff_reserve_fresh(
    *,
    bill: BillOfLading,
    declaration_id: uuid.UUID,
    packages: int,
    gross_weight_kg: Decimal,
    actor: Any,
) -> WriteOff:
    """`writeoff_reserve` for a declaration that holds nothing on the B/L yet (a lodging), in two
    statements instead of six: one conditional UPDATE takes the quantities only if they remain,
    one INSERT records the write-off.

    `bill` is the caller's earlier read (its manifest status is checked here; its quantities are
    not trusted). The UPDATE's WHERE is on the B/L row alone, so PostgreSQL re-checks it against
    the latest row version after waiting for a concurrent lodging's lock: two lodgings can never
    both take the last packages. When it matches nothing (quantity exceeded, B/L settled, weight
    tolerance configured) the full `writeoff_reserve` runs and reports exactly why.
    """
    weight = Decimal(gross_weight_kg).quantize(WEIGHT_Q)
    fast = (
        isinstance(packages, int) and not isinstance(packages, bool) and packages > 0 and weight >= 0
        and bill.manifest.status in DECLARABLE
        and _tolerance_percent() == 0
    )
    if fast:
        taken = (
            BillOfLading.objects.filter(pk=bill.pk)
            .exclude(status=BillStatus.SETTLED)
            .filter(packages__gte=F("packages_reserved") + F("packages_settled") + packages,
                    gross_weight_kg__gte=F("weight_reserved_kg") + F("weight_settled_kg") + weight)
            .update(packages_reserved=F("packages_reserved") + packages,
                    weight_reserved_kg=F("weight_reserved_kg") + weight)
        )
        if taken:
            return WriteOff.objects.create(
                bill_of_lading_id=bill.pk, declaration_id=declaration_id, packages=packages,
                gross_weight_kg=weight, created_by=actor_user(actor), created_at=clock.now(),
            )
    return writeoff_reserve(bill_of_lading_id=bill.pk, declaration_id=declaration_id, packages=packages,
                            gross_weight_kg=gross_weight_kg, actor=actor)


def _fresh_sums(reservations: list[tuple[BillOfLading, uuid.UUID, int, Decimal, Any]]) -> tuple[
        dict[uuid.UUID, list[tuple[uuid.UUID, int, Decimal, Any]]], dict[uuid.UUID, tuple[int, Decimal]]]:
    """The reservations the bulk path may take, by bill, and each bill's sums (packages, weight)."""
    by_bill: dict[uuid.UUID, list[tuple[uuid.UUID, int, Decimal, Any]]] = {}
    if _tolerance_percent() != 0:
        return by_bill, {}
    for bill, declaration_id, packages, weight, actor in reservations:
        if not (isinstance(packages, int) and not isinstance(packages, bool) and packages > 0):
            continue
        quantized = Decimal(weight).quantize(WEIGHT_Q)
        if quantized < 0 or bill.manifest.status not in DECLARABLE:
            continue
        by_bill.setdefault(bill.pk, []).append((declaration_id, packages, quantized, actor))
    sums = {pk: (sum(p for _d, p, _w, _a in group), sum((w for _d, _p, w, _a in group), Decimal("0")))
            for pk, group in by_bill.items()}
    return by_bill, sums


def writeoff_fresh_many_fit(reservations: list[tuple[BillOfLading, uuid.UUID, int, Decimal, Any]]) -> bool:
    """Would `writeoff_reserve_fresh_many` take every one of these reservations? Judged on the bills
    as the caller read them (no query, no lock), so a caller may build its rows first and take the
    bills' locks last, for the shortest time; the bills can change before it locks, so that call
    still decides."""
    by_bill, sums = _fresh_sums(reservations)
    if sum(len(group) for group in by_bill.values()) != len(reservations):
        return False
    bills = {bill.pk: bill for bill, *_rest in reservations}
    return all(
        bill.status != BillStatus.SETTLED
        and bill.packages >= bill.packages_reserved + bill.packages_settled + sums[pk][0]
        and bill.gross_weight_kg >= bill.weight_reserved_kg + bill.weight_settled_kg + sums[pk][1]
        for pk, bill in bills.items())


def writeoff_reserve_fresh_many(
    reservations: list[tuple[BillOfLading, uuid.UUID, int, Decimal, Any]],
) -> set[uuid.UUID]:
    """`writeoff_reserve_fresh` for many declarations at once (a chunk of replayed lodgings), each
    (bill, declaration id, packages, gross weight, actor): the bills are locked in id order (one
    SELECT ... FOR UPDATE), each bill takes the sum of its declarations only if it all remains (one
    UPDATE for every bill on PostgreSQL), and one INSERT records the write-offs. Returns the ids of
    the declarations reserved; the others (their bill could not take the sum, or the fast path does
    not apply) are the caller's to reserve one at a time, which says which one does not fit."""
    by_bill, sums = _fresh_sums(reservations)
    if not by_bill:
        return set()
    list(BillOfLading.objects.select_for_update().filter(pk__in=list(sums)).order_by("pk").values_list("pk"))
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(BillOfLading._meta.db_table)
        values = ", ".join(["(%s::uuid, %s::integer, %s::numeric)"] * len(sums))
        params: list[Any] = [x for pk, (p, w) in sums.items() for x in (pk, p, w)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS b SET packages_reserved = b.packages_reserved + v.p, "
                f"weight_reserved_kg = b.weight_reserved_kg + v.w FROM (VALUES {values}) AS v(id, p, w) "
                "WHERE b.id = v.id AND b.status <> %s AND b.packages >= b.packages_reserved + b.packages_settled + v.p "
                "AND b.gross_weight_kg >= b.weight_reserved_kg + b.weight_settled_kg + v.w RETURNING b.id",
                [*params, BillStatus.SETTLED])
            taken = {row[0] if isinstance(row[0], uuid.UUID) else uuid.UUID(str(row[0]))
                     for row in cursor.fetchall()}
    else:
        taken = {pk for pk, (packages, weight) in sums.items() if (
            BillOfLading.objects.filter(pk=pk).exclude(status=BillStatus.SETTLED)
            .filter(packages__gte=F("packages_reserved") + F("packages_settled") + packages,
                    gross_weight_kg__gte=F("weight_reserved_kg") + F("weight_settled_kg") + weight)
            .update(packages_reserved=F("packages_reserved") + packages,
                    weight_reserved_kg=F("weight_reserved_kg") + weight))}
    now = clock.now()
    WriteOff.objects.bulk_create([
        WriteOff(bill_of_lading_id=pk, declaration_id=declaration_id, packages=p, gross_weight_kg=w,
                 created_by=actor_user(actor), created_at=now)
        for pk in sorted(taken) for declaration_id, p, w, actor in by_bill[pk]
    ])
    return {declaration_id for pk in taken for declaration_id, _p, _w, _a in by_bill[pk]}


def writeoff_release(*, declaration_id: uuid.UUID, actor: Any) -> int:
    """Give back everything the declaration still holds reserved; returns how many write-offs.

    Idempotent: a second call (or a call for a declaration without write-offs) returns 0.
    Settled write-offs are not touched (goods released are gone).
    """
    now = clock.now()
    with transaction.atomic():
        bill_ids = _reserved_bill_ids(declaration_id)
        if not bill_ids:
            return 0
        bills, write_offs = _lock_reserved(declaration_id, bill_ids)
        for write_off in write_offs:
            bill = bills[write_off.bill_of_lading_id]
            bill.packages_reserved -= write_off.packages
            bill.weight_reserved_kg -= write_off.gross_weight_kg
            bill.save(update_fields=["packages_reserved", "weight_reserved_kg"])
            WRITE_OFF.transition_check(write_off.status, WriteOffStatus.RELEASED)
            write_off.status = WriteOffStatus.RELEASED
            write_off.released_at = now
            write_off.save(update_fields=["status", "released_at"])
    return len(write_offs)


def writeoff_settle(*, declaration_id: uuid.UUID, actor: Any) -> int:
    """Release order: turn the declaration's reservations into settled quantities.

    Settles a B/L whose packages are all settled (event row) and closes a manifest whose B/Ls are
    all settled (transition event), when it has arrived. Idempotent: returns 0 when nothing is
    reserved any more.
    """
    now = clock.now()
    with transaction.atomic():
        bill_ids = _reserved_bill_ids(declaration_id)
        if not bill_ids:
            return 0
        manifest_ids = sorted(set(
            BillOfLading.objects.filter(pk__in=bill_ids).values_list("manifest_id", flat=True)
        ))
        manifests = {m.pk: m for m in Manifest.objects.select_for_update(of=("self",))
                     .filter(pk__in=manifest_ids).order_by("pk")}
        bills, write_offs = _lock_reserved(declaration_id, bill_ids)
        for write_off in write_offs:
            bill = bills[write_off.bill_of_lading_id]
            bill.packages_reserved -= write_off.packages
            bill.weight_reserved_kg -= write_off.gross_weight_kg
            bill.packages_settled += write_off.packages
            bill.weight_settled_kg += write_off.gross_weight_kg
            fields = ["packages_reserved", "weight_reserved_kg", "packages_settled", "weight_settled_kg"]
            if bill.packages_settled >= bill.packages and bill.status != BillStatus.SETTLED:
                BILL.transition_check(bill.status, BillStatus.SETTLED)
                bill.status = BillStatus.SETTLED
                bill.settled_at = now
                fields += ["status", "settled_at"]
                record_event(manifest=manifests[bill.manifest_id], bill=bill, kind=EventKind.BILL_SETTLED,
                             from_status=BillStatus.OPEN, to_status=BillStatus.SETTLED, actor=actor, at=now,
                             payload={"declaration_id": str(declaration_id)})
            bill.save(update_fields=fields)
            WRITE_OFF.transition_check(write_off.status, WriteOffStatus.SETTLED)
            write_off.status = WriteOffStatus.SETTLED
            write_off.settled_at = now
            write_off.save(update_fields=["status", "settled_at"])
        for manifest in manifests.values():
            close_if_settled(manifest, actor=actor, now=now)
    return len(write_offs)


def _reserved_bill_ids(declaration_id: uuid.UUID) -> list[Any]:
    """The B/Ls on which the declaration still holds reservations, in lock order (pk)."""
    return sorted(set(
        WriteOff.objects.filter(declaration_id=declaration_id, status=WriteOffStatus.RESERVED)
        .values_list("bill_of_lading_id", flat=True)
    ))


def _lock_reserved(declaration_id: uuid.UUID, bill_ids: list[Any]) -> tuple[dict[Any, BillOfLading], list[WriteOff]]:
    """Lock the B/L rows (pk order, after any manifest locks the caller holds), then the
    declaration's reserved write-offs."""
    bills = {b.pk: b for b in BillOfLading.objects.select_for_update(of=("self",))
             .filter(pk__in=bill_ids).order_by("pk")}
    write_offs = list(
        WriteOff.objects.select_for_update()
        .filter(declaration_id=declaration_id, status=WriteOffStatus.RESERVED).order_by("bill_of_lading_id")
    )
    return bills, write_offs
