"""IDF (Import Declaration Form) of the simulated single window, and the UCR rules.

IDF: Kenyan imports for home use need an IDF raised on the single window (KenTrade) before the
goods are shipped; the declaration quotes its number and customs checks it. Forodha simulates the
single window's register with `ImportDeclarationForm` (seeded in sandboxes, raised there with
`POST /api/v1/idfs`) and checks, at lodging: the IDF exists, names the importer, covers every
declared HS code, is in the invoice currency and its value is within
`DECLARATION_IDF_VALUE_TOLERANCE_PERCENT` of the invoice amount. The number format
(`E` + 2-digit year + 9 digits) is Forodha's own, not KenTrade's.

UCR: the WCO Unique Consignment Reference (WCO Recommendation of June 2004 and its guidelines,
built on the ISO 15459 "licence plate"): year digit + ISO 3166 country code of the issuer + the
issuer's trader identifier in that country + "-" + the issuer's own reference, at most 35
characters (the UK DUCR follows the same scheme with the EORI). Forodha enforces that shape, a
year digit of this or last year, a known country, a KRA PIN as the identifier when the country is
KE, and uniqueness per consignment (docs/declarations.md, "UCR").
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from core import clock
from core.exceptions import ErrorItem, ValidationFailed, error
from core.problems import join_pointer
from reference.selectors import country_exists, currency_exists
from traders.selectors import agent_authorised_for

from ..enums import Status
from ..models import Declaration, ImportDeclarationForm

_UCR = re.compile(r"^(?P<year>[0-9])(?P<country>[A-Z]{2})(?P<trader>[A-Z0-9]{1,17})-(?P<reference>.+)$")
_PIN = re.compile(r"^[AP][0-9]{9}[A-Z]$")
# Declarations whose consignment is still "held" by their UCR (a cancelled or rejected one frees it).
_LIVE_EXCLUDED = (Status.DRAFT, Status.CANCELLED, Status.REJECTED)


def _digits(hs_code: str) -> str:
    return hs_code.replace(".", "")


def idf_number_new(on: dt.date) -> str:
    # Random digits (uuid4: seeded while a sandbox is seeded, so seeds stay reproducible).
    return f"E{on.year % 100:02d}{uuid.uuid4().int % 10**9:09d}"


def idf_raise(*, agent: Any, importer_pin: str, currency: str, value: Decimal, hs_codes: list[str],
              actor: Any) -> ImportDeclarationForm:
    """Raise an IDF on the simulated single window for a trader the agent acts for."""
    today = clock.today()
    errors: list[ErrorItem] = []
    if not agent_authorised_for(agent=agent, pin=importer_pin, on=today):
        errors.append(error("trader_not_authorised", "This agent is not authorised to act for this trader.",
                            "/importer_pin"))
    if not currency_exists(currency):
        errors.append(error("unknown_currency", f"Unknown currency {currency!r}.", "/currency"))
    if value <= 0:
        errors.append(error("value_not_positive", "The value must be greater than zero.", "/value"))
    if errors:
        raise ValidationFailed(errors=errors)
    codes = sorted({_digits(code) for code in hs_codes})
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ImportDeclarationForm.objects.create(
                    number=idf_number_new(today), importer_pin=importer_pin, currency=currency, value=value,
                    hs_codes=codes, issued_on=today, raised_by=actor if getattr(actor, "pk", None) else None,
                    created_at=clock.now())
        except IntegrityError:
            continue  # number clash (1 in 10^9 per IDF): draw again
    raise RuntimeError("could not allocate a unique IDF number")


def idf_problems(*, data: dict[str, Any], regime: str, pin: str, rate_date: dt.date,
                 taken_pointers: set[str], idf_lookup: Callable[[str], Any] | None = None) -> list[ErrorItem]:
    """The IDF rules for one parsed body. `taken_pointers`: fields already in error (no pile-up);
    `idf_lookup`: the IDF with a number (default one query; the replay passes a prefetched one)."""
    number = data.get("idf_number") or ""
    if regime not in settings.DECLARATION_IDF_REGIMES:
        if number:
            return [error("not_allowed_for_regime", f"An IDF is not used for regime {regime}.", "/idf_number")]
        return []
    if not number:
        return [error("required", f"idf_number is required for regime {regime} (single window IDF).",
                      "/idf_number")]
    idf = (idf_lookup(number) if idf_lookup is not None
           else ImportDeclarationForm.objects.filter(number=number).first())
    if idf is None or idf.issued_on > rate_date:
        return [error("idf_not_found", "No IDF with this number on the single window.", "/idf_number")]
    problems: list[ErrorItem] = []
    if pin and idf.importer_pin != pin:
        problems.append(error("idf_importer_mismatch", "The IDF was raised for another importer.", "/idf_number"))
    if idf.currency != data["currency"]:
        problems.append(error("idf_currency_mismatch",
                              f"The IDF is in {idf.currency}, the invoice in {data['currency']}.", "/idf_number"))
    elif data["invoice_amount"] > 0:
        tolerance = Decimal(str(settings.DECLARATION_IDF_VALUE_TOLERANCE_PERCENT))
        if abs(data["invoice_amount"] - idf.value) > idf.value * tolerance / 100:
            problems.append(error(
                "idf_value_out_of_tolerance",
                f"The invoice amount differs from the IDF value {idf.value} {idf.currency} by more than "
                f"{tolerance} %.", "/invoice_amount"))
    covered = set(idf.hs_codes)
    for i, item in enumerate(data["items"]):
        pointer = join_pointer("items", i, "hs_code")
        if pointer not in taken_pointers and _digits(item["hs_code"]) not in covered:
            problems.append(error("idf_hs_code_not_covered", "This HS code is not on the IDF.", pointer))
    return problems


def ucr_problems(*, ucr: str, pin: str, bill_of_lading: str, rate_date: dt.date,
                 declaration_id: Any = None) -> list[ErrorItem]:
    """The UCR's business rules (its shape is checked by the serializer)."""
    if not ucr:
        return []
    match = _UCR.match(ucr)
    if match is None:  # the serializer's regex is the same shape; kept for direct callers
        return [error("invalid", "Not a WCO UCR (year digit, country, trader id, -, reference).", "/ucr")]
    problems: list[ErrorItem] = []
    years = {str(rate_date.year % 10), str((rate_date.year - 1) % 10)}
    if match["year"] not in years:
        problems.append(error("ucr_invalid", f"The UCR's year digit must be one of {sorted(years)} "
                                             f"(issued this year or last).", "/ucr"))
    if not country_exists(match["country"]):
        problems.append(error("ucr_invalid", f"Unknown country {match['country']!r} in the UCR.", "/ucr"))
    elif match["country"] == "KE" and not _PIN.match(match["trader"]):
        problems.append(error("ucr_invalid", "A Kenyan UCR identifies its issuer by KRA PIN.", "/ucr"))
    # One UCR, one consignment: other live declarations may carry it only for the same trader and
    # transport document (e.g. re-lodged after a cancellation, or split into two regimes).
    others = (Declaration.objects.filter(ucr=ucr).exclude(status__in=_LIVE_EXCLUDED)
              .exclude(pk=declaration_id).values_list("importer_pin", "exporter_pin", "bill_of_lading_number"))
    for importer, exporter, bl in others:
        if (importer or exporter) != pin or bl != bill_of_lading:
            problems.append(error("ucr_not_unique", "This UCR already names another consignment.", "/ucr"))
            break
    return problems
