from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from declarations.entry_numbers import (
    entry_number_format,
    entry_number_next,
    entry_number_valid,
    luhn_check_digit,
)
from declarations.models import Declaration, EntryNumberCounter
from tests.factories.declarations import body_im4, world_create


def test_format_is_16_characters_with_a_luhn_check_digit() -> None:
    # given / when
    number = entry_number_format(year=2026, office_code="MBA", regime="IM4", serial=12345)

    # then: YY + office + regime + 7-digit serial + check digit
    assert number == "26MBAIM40012345" + luhn_check_digit("260012345")
    assert len(number) == 16
    assert entry_number_valid(number)


def test_luhn_check_digit_known_value() -> None:
    # 7992739871 -> 3 is the textbook Luhn example
    assert luhn_check_digit("7992739871") == "3"


def test_a_single_digit_typo_is_detected() -> None:
    number = entry_number_format(year=2026, office_code="MBA", regime="EX1", serial=233845)
    typo = number[:12] + str((int(number[12]) + 1) % 10) + number[13:]
    assert entry_number_valid(number)
    assert not entry_number_valid(typo)
    assert not entry_number_valid("26MBAIM9" + number[8:])


@pytest.mark.django_db
def test_serials_restart_per_office_regime_and_year() -> None:
    # given / when
    with transaction.atomic():
        a1 = entry_number_next(year=2026, office_code="MBA", regime="IM4")
        a2 = entry_number_next(year=2026, office_code="MBA", regime="IM4")
        b1 = entry_number_next(year=2026, office_code="MBA", regime="EX1")
        c1 = entry_number_next(year=2027, office_code="MBA", regime="IM4")
        d1 = entry_number_next(year=2026, office_code="JKA", regime="IM4")

    # then
    assert [n[8:15] for n in (a1, a2, b1, c1, d1)] == ["0000001", "0000002", "0000001", "0000001", "0000001"]


@pytest.mark.django_db
def test_a_rolled_back_lodging_gives_its_serial_back() -> None:
    # given: a serial taken inside a transaction that then fails
    taken: list[str] = []

    def lodging_that_fails() -> None:
        with transaction.atomic():
            taken.append(entry_number_next(year=2026, office_code="MBA", regime="IM4"))
            raise RuntimeError("lodging failed after numbering")

    with pytest.raises(RuntimeError):
        lodging_that_fails()

    # when
    with transaction.atomic():
        again = entry_number_next(year=2026, office_code="MBA", regime="IM4")

    # then
    assert again == taken[0]
    assert EntryNumberCounter.objects.get(office_code="MBA", regime="IM4", year=2026).last_serial == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_lodgings_get_gap_free_serials(postgres: None) -> None:
    # given: one agent/importer/B/L, 20 clients released at once
    world = world_create(bl_packages=1000)
    barrier = threading.Barrier(20)
    results: list[Any] = []
    lock = threading.Lock()

    def lodge(n: int) -> None:
        try:
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
            body = body_im4(world, items=3, local_reference=f"REF-{n}")
            barrier.wait(timeout=30)
            response = api.post("/api/v1/declarations", body, format="json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=lodge, args=(n,)) for n in range(20)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then: all 20 lodged, serials exactly 1..20, no duplicates, counter at 20
    assert [status for status, _ in results] == [201] * 20, [body for status, body in results if status != 201]
    numbers = sorted(body["entry_number"] for _, body in results)
    serials = sorted(int(n[8:15]) for n in numbers)
    assert serials == list(range(1, 21))
    assert all(entry_number_valid(n) for n in numbers)
    assert Declaration.objects.filter(entry_number__in=numbers).count() == 20
    year = int(numbers[0][:2]) + 2000
    assert EntryNumberCounter.objects.get(office_code="MBA", regime="IM4", year=year).last_serial == 20
    world.bl.refresh_from_db()
    assert world.bl.packages_reserved == 20 * sum(i["packages"] for i in body_im4(world, items=3)["items"])
