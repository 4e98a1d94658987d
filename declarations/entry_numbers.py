"""iCMS entry numbers: `YY` + office (3 letters) + regime (3) + serial (7 digits) + check digit.

16 characters: `26` + `MBA` + `IM4` + `0000012` + `5` = `26MBAIM400000125` (the 12th IM4 entry at
Mombasa in 2026); `26MBAEX102338457` is export serial 233845.
The serial restarts every calendar year (East Africa Time) per office and regime and is gap-free:
it comes from `EntryNumberCounter`, locked FOR UPDATE in the lodging transaction, so a rollback
returns the number. The check digit is Luhn (mod 10) over the 2-digit year and the 7-digit serial:
it catches every single-digit typo and most transpositions when an entry number is keyed by hand.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection

from .models import EntryNumberCounter

SERIAL_DIGITS = 7
ENTRY_NUMBER_RE = re.compile(r"^(\d{2})([A-Z]{3})(IM[4-8]|EX[13])(\d{7})(\d)$")


def luhn_check_digit(digits: str) -> str:
    total = 0
    # Double every second digit starting from the rightmost digit of the payload.
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def entry_number_format(*, year: int, office_code: str, regime: str, serial: int) -> str:
    yy = f"{year % 100:02d}"
    serial_text = f"{serial:0{SERIAL_DIGITS}d}"
    if len(serial_text) != SERIAL_DIGITS:
        raise ValueError("serial out of range")
    return f"{yy}{office_code}{regime}{serial_text}{luhn_check_digit(yy + serial_text)}"


def entry_number_valid(value: str) -> bool:
    match = ENTRY_NUMBER_RE.match(value)
    if match is None:
        return False
    yy, _office, _regime, serial, check = match.groups()
    return luhn_check_digit(yy + serial) == check


def entry_number_next(*, year: int, office_code: str, regime: str) -> str:
    """Take the next serial. MUST run inside the caller's transaction (the lock lasts until commit).

    `UPDATE ... SET last_serial = last_serial + 1 RETURNING` locks the row and increments it in one
    round trip; the lock lasts until the caller commits or rolls back. The first lodging of a year
    finds no row: it inserts one with ON CONFLICT DO NOTHING (two first lodgings do not race on the
    insert) and updates again. Callers take the serial as late as possible in their transaction so
    the lock is held for the shortest time.
    """
    key = {"office_code": office_code, "regime": regime, "year": year}
    for _attempt in range(2):
        # One statement: UPDATE takes the row lock and returns the new value (no read-modify-write).
        serial = _increment(key)
        if serial is not None:
            return entry_number_format(year=year, office_code=office_code, regime=regime, serial=serial)
        EntryNumberCounter.objects.bulk_create([EntryNumberCounter(last_serial=0, **key)], ignore_conflicts=True)
    raise RuntimeError("entry-number counter row could not be created")  # pragma: no cover


def entry_numbers_take(*, year: int, office_code: str, regime: str, count: int) -> list[str]:
    """`count` consecutive serials in one statement (a chunk of replayed lodgings), under the same
    lock as `entry_number_next`: gap-free, returned to the counter if the caller rolls back."""
    key = {"office_code": office_code, "regime": regime, "year": year}
    for _attempt in range(2):
        last = _increment(key, count)
        if last is not None:
            return [entry_number_format(year=year, office_code=office_code, regime=regime, serial=serial)
                    for serial in range(last - count + 1, last + 1)]
        EntryNumberCounter.objects.bulk_create([EntryNumberCounter(last_serial=0, **key)], ignore_conflicts=True)
    raise RuntimeError("entry-number counter row could not be created")  # pragma: no cover


def _increment(key: dict[str, Any], count: int = 1) -> int | None:
    table = EntryNumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_serial = last_serial + %s "
            "WHERE office_code = %s AND regime = %s AND year = %s RETURNING last_serial",
            [count, key["office_code"], key["regime"], key["year"]],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None
