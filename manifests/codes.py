"""Pure validators for transport identifiers: ISO 6346 container numbers and IMO ship numbers.

No database, no Django: plain functions over strings so they can be tested exhaustively.
"""

from __future__ import annotations

import re

# ISO 6346: 3-letter owner code + equipment category (U freight container, J detachable
# equipment, Z trailer/chassis) + 6-digit serial + 1 check digit.
CONTAINER_RE = re.compile(r"[A-Z]{3}[UJZ][0-9]{6}[0-9]")


def _letter_values() -> dict[str, int]:
    # A=10 upward, skipping multiples of 11 (11, 22, 33) so that no letter equals a digit sum
    # that the modulus would confuse (ISO 6346 Annex A).
    values: dict[str, int] = {}
    value = 10
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    return values


_LETTER_VALUES = _letter_values()


def iso6346_check_digit(first_ten: str) -> int:
    """Check digit of the first 10 characters (owner, category, serial).

    Sum of value * 2**position (position 0..9), modulo 11; a remainder of 10 gives check digit 0
    (which is why the standard advises owners not to issue such serials, but they exist).
    """
    if len(first_ten) != 10:
        raise ValueError("ISO 6346 check digit needs exactly 10 characters")
    total = 0
    for position, char in enumerate(first_ten):
        if char.isdigit():
            value = int(char)
        elif char in _LETTER_VALUES:
            value = _LETTER_VALUES[char]
        else:
            raise ValueError(f"invalid character {char!r} in container number")
        total += value * (2**position)
    return total % 11 % 10


def is_valid_container_number(number: object) -> bool:
    if not isinstance(number, str) or not number.isascii() or CONTAINER_RE.fullmatch(number) is None:
        return False
    return iso6346_check_digit(number[:10]) == int(number[10])


def container_number_problem(number: object) -> str | None:
    """Why `number` is not a valid ISO 6346 container number, or None when it is."""
    if not isinstance(number, str) or not number.isascii() or CONTAINER_RE.fullmatch(number) is None:
        return "Not an ISO 6346 container number (3 letters, U/J/Z, 6 digits, check digit), e.g. CSQU3054383."
    expected = iso6346_check_digit(number[:10])
    if expected != int(number[10]):
        return f"Wrong ISO 6346 check digit: expected {expected}, got {number[10]}."
    return None


IMO_RE = re.compile(r"(?:IMO)?([0-9]{7})")


def imo_check_digit(first_six: str) -> int:
    """IMO ship identification number check digit: digits weighted 7..2, last digit of the sum."""
    if len(first_six) != 6 or not first_six.isdigit():
        raise ValueError("IMO check digit needs 6 digits")
    return sum(int(d) * w for d, w in zip(first_six, range(7, 1, -1), strict=True)) % 10


def normalise_imo(value: str) -> str | None:
    """The 7-digit IMO number if `value` ("9321483" or "IMO9321483") is valid, else None."""
    if not isinstance(value, str) or not value.isascii():
        return None
    match = IMO_RE.fullmatch(value)
    if match is None:
        return None
    digits = match.group(1)
    return digits if imo_check_digit(digits[:6]) == int(digits[6]) else None


FLIGHT_RE = re.compile(r"[A-Z0-9]{2}[A-Z]?[0-9]{1,4}[A-Z]?")
# Kenyan and regional plates vary (KCA 123A, UAX 456B, T 123 ABC); accept letters, digits, spaces.
VEHICLE_RE = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,14}[A-Z0-9]")
