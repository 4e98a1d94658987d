"""ISO 6346 container numbers and IMO ship numbers (pure functions, no database)."""

from __future__ import annotations

import pytest

from manifests.codes import (
    container_number_problem,
    imo_check_digit,
    is_valid_container_number,
    iso6346_check_digit,
    normalise_imo,
)


@pytest.mark.parametrize(
    "number",
    [
        "CSQU3054383",  # the ISO 6346 worked example
        "MSKU9070323",
        "TGHU1000002",
        "MSCU0000060",  # remainder 10 -> check digit 0
    ],
)
def test_known_good_container_numbers_are_valid(number: str) -> None:
    assert is_valid_container_number(number) is True
    assert container_number_problem(number) is None


def test_check_digit_of_the_iso_example_is_computed_step_by_step() -> None:
    # given C=13 S=30 Q=28 U=32 (letters skip 11, 22 and 33), digits 3 0 5 4 3 8
    values = [13, 30, 28, 32, 3, 0, 5, 4, 3, 8]
    total = sum(v * 2**i for i, v in enumerate(values))
    # then
    assert total == 6185
    assert total % 11 == 3
    assert iso6346_check_digit("CSQU305438") == 3


def test_remainder_ten_gives_check_digit_zero() -> None:
    # given M=24 S=30 C=13 U=32 and serial 000006
    total = 24 * 1 + 30 * 2 + 13 * 4 + 32 * 8 + 6 * 2**9
    # then the sum leaves remainder 10, and the check digit is 0, not 10
    assert total % 11 == 10
    assert iso6346_check_digit("MSCU000006") == 0
    assert is_valid_container_number("MSCU0000060") is True
    assert is_valid_container_number("MSCU0000061") is False


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("CSQU3054384", "expected 3, got 4"),
        ("MSKU9070324", "expected 3, got 4"),
        ("CSQX3054383", "Not an ISO 6346"),  # category must be U, J or Z
        ("CSQU305438", "Not an ISO 6346"),  # too short
        ("csqu3054383", "Not an ISO 6346"),  # lower case is not normalised
        ("CSQU 3054383", "Not an ISO 6346"),
        ("", "Not an ISO 6346"),
        ("CSQU305438\uff13", "Not an ISO 6346"),  # full-width digit three
    ],
)
def test_bad_container_numbers_are_rejected(number: str, fragment: str) -> None:
    assert is_valid_container_number(number) is False
    problem = container_number_problem(number)
    assert problem is not None
    assert fragment in problem


def test_non_string_is_not_a_container_number() -> None:
    assert is_valid_container_number(None) is False
    assert is_valid_container_number(30543830) is False


def test_imo_numbers() -> None:
    # 9074729: 9*7 + 0*6 + 7*5 + 4*4 + 7*3 + 2*2 = 139 -> check digit 9
    assert imo_check_digit("907472") == 9
    assert normalise_imo("9074729") == "9074729"
    assert normalise_imo("IMO9074729") == "9074729"
    assert normalise_imo("9321483") == "9321483"
    assert normalise_imo("9074728") is None
    assert normalise_imo("907472") is None
    assert normalise_imo("IMO 9074729") is None
