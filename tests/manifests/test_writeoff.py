"""Write-off of B/L quantities by declarations, including a real 20-thread race on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, transaction

from core.exceptions import Conflict, ValidationFailed
from manifests.enums import ManifestStatus
from manifests.models import BillOfLading, ManifestEvent, WriteOff
from manifests.selectors import bl_find
from manifests.services import (
    manifest_record_arrival,
    writeoff_release,
    writeoff_reserve,
    writeoff_reserve_fresh,
    writeoff_settle,
)
from tests.factories.manifests import BillOfLadingFactory, ManifestFactory, reference_rows


@pytest.fixture
def bill(refdata: None) -> BillOfLading:
    return BillOfLadingFactory(packages=10, gross_weight_kg=Decimal("1000.000"))


def _reserve(bill: BillOfLading, declaration_id: uuid.UUID, packages: int, weight: str) -> WriteOff:
    return writeoff_reserve(bill_of_lading_id=bill.pk, declaration_id=declaration_id, packages=packages,
                            gross_weight_kg=Decimal(weight), actor=None)


def test_reserve_takes_packages_and_weight(bill: BillOfLading) -> None:
    declaration = uuid.uuid4()
    write_off = _reserve(bill, declaration, 4, "400.5")
    bill.refresh_from_db()
    assert (write_off.packages, write_off.gross_weight_kg, write_off.status) == (4, Decimal("400.500"), "reserved")
    assert (bill.packages_reserved, bill.weight_reserved_kg) == (4, Decimal("400.500"))
    assert (bill.packages_remaining, bill.weight_remaining_kg) == (6, Decimal("599.500"))


def test_over_declaring_is_refused_with_every_problem(bill: BillOfLading) -> None:
    _reserve(bill, uuid.uuid4(), 8, "900")
    with pytest.raises(ValidationFailed) as info:
        _reserve(bill, uuid.uuid4(), 3, "100.001")
    assert info.value.code == "bl_quantity_exceeded"
    assert [(e.code, e.pointer) for e in info.value.errors] == [
        ("bl_quantity_exceeded", "/bill_of_lading"), ("bl_quantity_exceeded", "/bill_of_lading")]
    bill.refresh_from_db()
    assert (bill.packages_reserved, bill.weight_reserved_kg) == (8, Decimal("900.000"))
    assert WriteOff.objects.count() == 1


def test_exact_remaining_quantity_can_be_declared(bill: BillOfLading) -> None:
    _reserve(bill, uuid.uuid4(), 8, "900")
    _reserve(bill, uuid.uuid4(), 2, "100")
    bill.refresh_from_db()
    assert (bill.packages_remaining, bill.weight_remaining_kg) == (0, Decimal("0.000"))


def test_reserving_again_for_the_same_declaration_replaces_the_quantities(bill: BillOfLading) -> None:
    declaration = uuid.uuid4()
    _reserve(bill, declaration, 4, "400")
    _reserve(bill, declaration, 10, "1000")
    bill.refresh_from_db()
    assert (bill.packages_reserved, bill.weight_reserved_kg) == (10, Decimal("1000.000"))
    assert WriteOff.objects.filter(declaration_id=declaration).count() == 1


def test_zero_or_negative_packages_are_refused(bill: BillOfLading) -> None:
    with pytest.raises(ValidationFailed) as info:
        _reserve(bill, uuid.uuid4(), 0, "-1")
    assert [(e.code, e.pointer) for e in info.value.errors] == [
        ("packages_not_positive", "/packages"), ("weight_not_positive", "/gross_weight_kg")]


def test_draft_manifest_cannot_be_declared_against(refdata: None) -> None:
    bill = BillOfLadingFactory(manifest=ManifestFactory(status=ManifestStatus.DRAFT, lodged_at=None))
    with pytest.raises(ValidationFailed) as info:
        _reserve(bill, uuid.uuid4(), 1, "1")
    assert [e.code for e in info.value.errors] == ["bl_not_declarable"]


def test_release_frees_the_reservation_and_is_idempotent(bill: BillOfLading) -> None:
    declaration = uuid.uuid4()
    _reserve(bill, declaration, 4, "400")
    assert writeoff_release(declaration_id=declaration, actor=None) == 1
    assert writeoff_release(declaration_id=declaration, actor=None) == 0
    bill.refresh_from_db()
    assert (bill.packages_reserved, bill.weight_reserved_kg, bill.packages_remaining) == (0, Decimal("0.000"), 10)
    assert WriteOff.objects.get(declaration_id=declaration).status == "released"
    # and the declaration may reserve again afterwards (only one *active* write-off per pair)
    _reserve(bill, declaration, 2, "200")
    assert WriteOff.objects.filter(declaration_id=declaration).count() == 2


def test_settle_moves_reserved_to_settled_and_closes_the_manifest(bill: BillOfLading) -> None:
    # given an arrived manifest whose only B/L is reserved by two declarations
    manifest = bill.manifest
    manifest.status = ManifestStatus.ARRIVED
    manifest.save(update_fields=["status"])
    first, second = uuid.uuid4(), uuid.uuid4()
    _reserve(bill, first, 6, "600")
    _reserve(bill, second, 4, "400")
    # when the first is released by customs
    assert writeoff_settle(declaration_id=first, actor=None) == 1
    bill.refresh_from_db()
    manifest.refresh_from_db()
    assert (bill.packages_reserved, bill.packages_settled, bill.status) == (4, 6, "open")
    assert manifest.status == "arrived"
    # when the second is released
    assert writeoff_settle(declaration_id=second, actor=None) == 1
    assert writeoff_settle(declaration_id=second, actor=None) == 0
    # then the B/L is settled and the manifest closed, each with an event row
    bill.refresh_from_db()
    manifest.refresh_from_db()
    assert (bill.packages_reserved, bill.packages_settled, bill.weight_settled_kg, bill.status) == (
        0, 10, Decimal("1000.000"), "settled")
    assert manifest.status == "closed"
    assert manifest.closed_at is not None
    events = list(ManifestEvent.objects.filter(manifest=manifest).order_by("id")
                  .values_list("kind", "from_status", "to_status", "bill_of_lading"))
    assert events == [("bill_settled", "open", "settled", bill.pk), ("transition", "arrived", "closed", None)]
    # and a settled write-off cannot be re-reserved, nor the settled B/L declared against
    with pytest.raises(ValidationFailed):
        _reserve(bill, uuid.uuid4(), 1, "1")


def test_settled_write_off_is_not_replaced(bill: BillOfLading) -> None:
    declaration = uuid.uuid4()
    _reserve(bill, declaration, 2, "200")
    writeoff_settle(declaration_id=declaration, actor=None)
    with pytest.raises(Conflict):
        _reserve(bill, declaration, 3, "300")


def test_settled_before_arrival_closes_on_arrival(bill: BillOfLading) -> None:
    # given a lodged (not arrived) manifest fully settled (AEO pre-arrival clearance)
    declaration = uuid.uuid4()
    _reserve(bill, declaration, 10, "1000")
    writeoff_settle(declaration_id=declaration, actor=None)
    bill.manifest.refresh_from_db()
    assert bill.manifest.status == "lodged"
    # when arrival is recorded
    manifest = manifest_record_arrival(manifest_id=bill.manifest_id, ata=None, actor=None)
    # then the manifest is closed at once, through arrived
    assert manifest.status == "closed"
    assert list(ManifestEvent.objects.filter(manifest=manifest, kind="transition").order_by("id")
                .values_list("from_status", "to_status")) == [("lodged", "arrived"), ("arrived", "closed")]


def test_bl_find_returns_the_open_bill_of_the_latest_manifest(refdata: None) -> None:
    import datetime as dt

    from core import clock

    older = BillOfLadingFactory(number="MEDUKE000001",
                                manifest=ManifestFactory(lodged_at=clock.now() - dt.timedelta(days=30)))
    newer = BillOfLadingFactory(number="MEDUKE000001", manifest=ManifestFactory())
    BillOfLadingFactory(number="MEDUKE000001",
                        manifest=ManifestFactory(status=ManifestStatus.DRAFT, lodged_at=None))
    assert bl_find("MEDUKE000001") == newer
    newer.status = "settled"
    newer.save(update_fields=["status"])
    assert bl_find("MEDUKE000001") == older
    assert bl_find("NOPE") is None
    assert bl_find("") is None


def _race_twenty(reserve: Callable[[BillOfLading], object]) -> None:
    """20 threads reserve 3 packages / 300 kg each, at once, on a B/L of 50 packages / 5000 kg."""
    reference_rows()
    bill = BillOfLadingFactory(packages=50, gross_weight_kg=Decimal("5000.000"))
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def declare() -> None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                reserve(bill)
            result = "ok"
        except ValidationFailed as exc:
            result = exc.code
        except Exception as exc:  # anything else (an IntegrityError from the CHECK) is a failure
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=declare) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # exactly 16 fit (48 packages), 4 are refused, counters are exact
    assert sorted(outcomes) == ["bl_quantity_exceeded"] * 4 + ["ok"] * 16
    bill.refresh_from_db()
    assert (bill.packages_reserved, bill.weight_reserved_kg, bill.packages_remaining) == (
        48, Decimal("4800.000"), 2)
    assert WriteOff.objects.filter(bill_of_lading=bill, status="reserved").count() == 16


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_declarations_never_over_declare(postgres: None) -> None:
    _race_twenty(lambda bill: writeoff_reserve(bill_of_lading_id=bill.pk, declaration_id=uuid.uuid4(),
                                               packages=3, gross_weight_kg=Decimal("300"), actor=None))


def _fresh(bill: BillOfLading, packages: int, weight: str) -> WriteOff:
    found = BillOfLading.objects.select_related("manifest").get(pk=bill.pk)
    return writeoff_reserve_fresh(bill=found, declaration_id=uuid.uuid4(), packages=packages,
                                  gross_weight_kg=Decimal(weight), actor=None)


def test_fresh_reservation_takes_the_quantities_in_one_update_and_one_insert(bill: BillOfLading) -> None:
    from django.test.utils import CaptureQueriesContext

    read = BillOfLading.objects.select_related("manifest").get(pk=bill.pk)
    with CaptureQueriesContext(connection) as ctx:
        write_off = writeoff_reserve_fresh(bill=read, declaration_id=uuid.uuid4(), packages=4,
                                           gross_weight_kg=Decimal("400.5"), actor=None)
    bill.refresh_from_db()
    assert (write_off.packages, write_off.gross_weight_kg, write_off.status) == (4, Decimal("400.500"), "reserved")
    assert (bill.packages_reserved, bill.weight_reserved_kg) == (4, Decimal("400.500"))
    # the B/L read inside the helper is not trusted for quantities; no SELECT, no savepoint
    assert [q["sql"].split()[0].upper() for q in ctx.captured_queries] == ["UPDATE", "INSERT"]


def test_fresh_reservation_refused_reports_why_and_changes_nothing(bill: BillOfLading) -> None:
    _fresh(bill, 8, "900")
    stale = BillOfLading.objects.select_related("manifest").get(pk=bill.pk)
    stale.packages_reserved = 0  # a stale read must not let it over-declare
    with pytest.raises(ValidationFailed) as info:
        writeoff_reserve_fresh(bill=stale, declaration_id=uuid.uuid4(), packages=3,
                               gross_weight_kg=Decimal("100.001"), actor=None)
    assert info.value.code == "bl_quantity_exceeded"
    assert [e.code for e in info.value.errors] == ["bl_quantity_exceeded", "bl_quantity_exceeded"]
    bill.refresh_from_db()
    assert (bill.packages_reserved, bill.weight_reserved_kg) == (8, Decimal("900.000"))
    assert WriteOff.objects.count() == 1


def test_fresh_reservation_on_a_settled_bill_is_refused(bill: BillOfLading) -> None:
    BillOfLading.objects.filter(pk=bill.pk).update(status="settled")
    with pytest.raises(ValidationFailed) as info:
        _fresh(bill, 1, "1")
    assert [e.code for e in info.value.errors] == ["bl_settled"]
    assert WriteOff.objects.count() == 0


def test_fresh_reservation_with_a_weight_tolerance_uses_the_full_check(bill: BillOfLading, settings) -> None:  # type: ignore[no-untyped-def]
    # 1 % tolerance on 1000 kg: 1010 kg may be written off (the one-statement path cannot express it)
    settings.MANIFEST_WRITEOFF_WEIGHT_TOLERANCE_PERCENT = "1"
    write_off = _fresh(bill, 10, "1010")
    bill.refresh_from_db()
    assert (write_off.gross_weight_kg, bill.weight_reserved_kg) == (Decimal("1010.000"), Decimal("1010.000"))


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_fresh_reservations_never_over_declare(postgres: None) -> None:
    # every lodging holds the same, soon stale, read of the B/L (validated before its transaction)
    reads: dict[object, BillOfLading] = {}
    once = threading.Lock()

    def reserve(bill: BillOfLading) -> object:
        with once:  # one read, shared by all 20: stale as soon as the first lodging commits
            if bill.pk not in reads:
                reads[bill.pk] = BillOfLading.objects.select_related("manifest").get(pk=bill.pk)
        read = reads[bill.pk]
        return writeoff_reserve_fresh(bill=read, declaration_id=uuid.uuid4(), packages=3,
                                      gross_weight_kg=Decimal("300"), actor=None)

    _race_twenty(reserve)


def test_lookup_is_given_in_the_declarations_format(bill: BillOfLading) -> None:
    found = bl_find(bill.number)
    assert found is not None
    assert (found.consignee_pin, found.manifest.office_of_discharge_id, found.manifest.late_lodging) == (
        "P051234567X", "MBA", False)
    assert found.manifest.discharged_at is None
    assert found.manifest.ata is None




@pytest.mark.django_db(transaction=True)
def test_concurrent_lodging_of_the_same_manifest_creates_one(postgres: None) -> None:
    # given five threads lodging the same manifest for one carrier at once
    from manifests.serializers import ManifestInSerializer, manifest_input
    from manifests.services import manifest_lodge
    from tests.factories.manifests import CarrierFactory
    from tests.manifests.conftest import manifest_body

    reference_rows()
    carrier = CarrierFactory()
    serializer = ManifestInSerializer(data=manifest_body())
    assert serializer.is_valid(), serializer.errors
    data = manifest_input(dict(serializer.validated_data))
    barrier = threading.Barrier(5)
    outcomes: list[str] = []
    lock = threading.Lock()

    def lodge() -> None:
        try:
            barrier.wait(timeout=30)
            manifest_lodge(carrier=carrier, data=data, actor=None)
            result = "ok"
        except ValidationFailed as exc:
            result = exc.errors[0].code
        except Exception as exc:
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=lodge) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then exactly one manifest exists, the others got a 400-class duplicate error
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"duplicate_manifest_reference", "duplicate_bill_of_lading"}
    assert len(outcomes) == 5
    assert BillOfLading.objects.count() == 2
