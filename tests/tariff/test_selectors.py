from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tariff.assessment import DeclarationInput, ItemInput, assess
from tariff.models import DutyRate, NationalMeasure, TariffLine
from tariff.selectors import exchange_rate_get, tariff_book, tariff_line_get, tariff_lines_search
from tariff.services import tariff_row_save

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("currency", "on", "expected"),
    [
        ("USD", dt.date(2025, 3, 1), Decimal("129.500000")),
        ("USD", dt.date(2025, 3, 31), Decimal("129.500000")),
        ("USD", dt.date(2024, 1, 1), Decimal("157.000000")),
        ("USD", dt.date(2028, 1, 15), Decimal("129.300000")),  # 45 days after the last seed row
        ("USD", dt.date(2028, 1, 16), None),
        ("USD", dt.date(2023, 12, 31), None),
        ("KES", dt.date(1999, 1, 1), Decimal(1)),
        ("XAF", dt.date(2025, 3, 1), None),
    ],
)
def test_exchange_rate_in_force_is_the_latest_on_or_before_the_date(
    currency: str, on: dt.date, expected: Decimal | None
) -> None:
    assert exchange_rate_get(currency, on) == expected


def test_book_is_cached_per_date() -> None:
    assert tariff_book(dt.date(2025, 1, 2)) is tariff_book(dt.date(2025, 1, 2))
    assert tariff_book(dt.date(2025, 1, 2)) is not tariff_book(dt.date(2025, 1, 3))


def test_admin_edit_through_the_service_reaches_the_next_assessment(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given: 8506.90.00 is 10 % and the book for the day is cached
    on = dt.date(2026, 1, 5)
    parts = DeclarationInput(date=on, currency="KES", items=(ItemInput(1, "85069000", "CN", Decimal(1000)),))
    assert assess(parts, tariff_book(on)).totals.import_duty == Decimal("100.00")
    # when: an officer closes the rate and adds 25 % from 2026-01-01 (a new Finance Act)
    line = TariffLine.objects.get(code="85069000")
    old = DutyRate.objects.get(tariff_line=line, valid_to__isnull=True)
    with django_capture_on_commit_callbacks(execute=True):
        old.valid_to = dt.date(2025, 12, 31)
        tariff_row_save(instance=old)
        tariff_row_save(
            instance=DutyRate(
                tariff_line=line,
                kind="ad_valorem",
                ad_valorem_rate=Decimal(25),
                source="amendment",
                valid_from=dt.date(2026, 1, 1),
            )
        )
    # then
    assert assess(parts, tariff_book(on)).totals.import_duty == Decimal("250.00")
    earlier = DeclarationInput(date=dt.date(2025, 12, 31), currency="KES", items=parts.items)
    assert assess(earlier, tariff_book(earlier.date)).totals.import_duty == Decimal("100.00")


def test_later_national_measure_of_the_same_prefix_wins(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    # given: VAT changes to 18 % from 2026-07-01 (the old row left open, as an officer might)
    with django_capture_on_commit_callbacks(execute=True):
        tariff_row_save(
            instance=NationalMeasure(
                kind="vat",
                category="standard",
                ad_valorem_rate=Decimal(18),
                description="VAT 18 %",
                valid_from=dt.date(2026, 7, 1),
            )
        )
    data = DeclarationInput(
        date=dt.date(2026, 7, 1), currency="KES", items=(ItemInput(1, "85069000", "CN", Decimal(1000)),)
    )
    # then: VAT on value + 10 % duty
    assert assess(data, tariff_book(data.date)).totals.vat == Decimal("198.00")
    june = DeclarationInput(date=dt.date(2026, 6, 30), currency="KES", items=data.items)
    assert assess(june, tariff_book(june.date)).totals.vat == Decimal("176.00")


def test_tariff_line_get_accepts_dotted_codes() -> None:
    view = tariff_line_get("8703.22.90", dt.date(2025, 7, 1))
    assert view is not None
    assert (view.code, view.unit, view.duty.text() if view.duty else None) == ("87032290", "u", "25%")
    assert view.national_duty is not None
    assert view.national_duty.rule is not None
    assert view.national_duty.rule.text() == "35%"
    assert tariff_line_get("8703.80.00", dt.date(2025, 7, 1)) is None


def test_search_by_code_prefix_and_words() -> None:
    on = dt.date(2025, 7, 1)
    by_code = list(tariff_lines_search(query="8703.2", on=on).values_list("code", flat=True))
    assert by_code == ["87032110", "87032190", "87032210", "87032290", "87032310", "87032390", "87032410", "87032490"]
    rice = set(tariff_lines_search(query="rice", on=on).values_list("code", flat=True))
    assert {"10061000", "10062000", "10063000", "10064000"} <= rice
    assert list(tariff_lines_search(query="milled rice", on=on).values_list("code", flat=True)) == ["10063000"]


def test_book_keeps_serving_when_the_cache_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from tariff import selectors

    book = tariff_book(dt.date(2025, 2, 3))

    def broken(*args: object, **kwargs: object) -> object:
        raise ConnectionError("redis down")

    monkeypatch.setattr(selectors.cache, "get", broken)
    selectors._state["checked_at"] = 0.0
    assert tariff_book(dt.date(2025, 2, 3)) is book
