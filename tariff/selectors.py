"""Reads of tariff data.

`tariff_book(on)` is the hot path (every assessment): books are built once per date and kept in
this process (at most `MAX_BOOKS` dates); a shared version number in Django's cache, bumped by
`tariff.services.tariff_cache_invalidate` whenever rates change, is re-read at most every
`VERSION_CHECK_SECONDS`, so an admin edit reaches every web and worker process within that time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet

from reference.models import Country
from tariff.assessment import LineEntry, Measure, RateRule, TariffBook, normalise_hs_code
from tariff.models import (
    CrspDepreciation,
    CrspEntry,
    CrspTemplate,
    DutyRate,
    ExchangeRate,
    ExemptionCertificate,
    ExemptionDrawdown,
    HSNode,
    NationalMeasure,
    TariffLine,
)
from tariff.vehicles import CrspValuation, DepreciationBand, crsp_value, vehicle_age_years

# A customs exchange rate older than this is not "in force" (rates are fixed at least monthly).
EXCHANGE_RATE_MAX_AGE_DAYS = 45
VERSION_CHECK_SECONDS = 2.0
# Bumped in the shared cache by `tariff.services.tariff_cache_invalidate`: every process drops its books.
TARIFF_VERSION_KEY = "forodha:tariff:version"
MAX_BOOKS = 64

_lock = threading.Lock()
_books: OrderedDict[dt.date, TariffBook] = OrderedDict()
_state = {"version": None, "checked_at": 0.0}


def _in_force(on: dt.date) -> Q:
    return Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))


def clear_local_cache() -> None:
    with _lock:
        _books.clear()
        _state["checked_at"] = 0.0


def _check_version() -> None:
    now = time.monotonic()
    if now - _state["checked_at"] < VERSION_CHECK_SECONDS:  # type: ignore[operator]
        return
    try:
        version = cache.get(TARIFF_VERSION_KEY, 0)
    except Exception:  # cache (Redis) down: keep serving the books we have, retry later
        _state["checked_at"] = now
        return
    with _lock:
        if version != _state["version"]:
            _books.clear()
            _state["version"] = version
        _state["checked_at"] = now


def tariff_book(on: dt.date) -> TariffBook:
    """Everything in force on `on`, as a plain in-memory book for `tariff.assessment.assess`."""
    _check_version()
    book = _books.get(on)
    if book is None:
        book = build_tariff_book(on)
        with _lock:
            _books[on] = book
            while len(_books) > MAX_BOOKS:
                _books.popitem(last=False)
    return book


def _rule(
    kind: str,
    av: Decimal | None,
    amount: Decimal | None,
    currency: str,
    unit: str,
    label: str,
    interned: dict[tuple[object, ...], RateRule],
) -> RateRule:
    key = (kind, av, amount, currency, unit, label)
    rule = interned.get(key)
    if rule is None:
        rule = interned[key] = RateRule(
            kind=kind,
            ad_valorem_rate=av,
            specific_amount=amount,
            specific_currency=currency,
            specific_unit=unit,
            label=label,
        )
    return rule


def build_tariff_book(on: dt.date) -> TariffBook:
    interned: dict[tuple[object, ...], RateRule] = {}
    precedence = DutyRate.SOURCE_PRECEDENCE
    best: dict[int, tuple[tuple[int, dt.date], RateRule]] = {}
    for line_id, kind, av, amount, currency, unit, source, start in (
        DutyRate.objects.filter(_in_force(on))
        .values_list(
            "tariff_line_id",
            "kind",
            "ad_valorem_rate",
            "specific_amount",
            "specific_currency",
            "specific_unit",
            "source",
            "valid_from",
        )
        .iterator(chunk_size=5000)
    ):
        rank = (precedence.get(source, 0), start)
        current = best.get(line_id)
        if current is None or rank > current[0]:
            av = av.normalize() if av is not None else None
            best[line_id] = (rank, _rule(kind, av, amount, currency, unit, f"CET {source}", interned))
    lines: dict[str, LineEntry] = {}
    for pk, code, description, unit, start, end in (
        TariffLine.objects.filter(_in_force(on))
        .values_list("id", "code", "description", "unit", "valid_from", "valid_to")
        .iterator(chunk_size=5000)
    ):
        entry = best.get(pk)
        lines[code] = LineEntry(code, description, unit, entry[1] if entry else None, start, end)
    measures = []
    for m in NationalMeasure.objects.filter(_in_force(on)).order_by("kind", "hs_prefix", "-valid_from"):
        rule = None
        if m.kind != NationalMeasure.Kind.EXEMPTION:
            av = m.ad_valorem_rate.normalize() if m.ad_valorem_rate is not None else None
            rule = _rule(
                m.rate_kind,
                av,
                m.specific_amount,
                m.specific_currency or "KES",
                m.specific_unit,
                m.get_kind_display(),
                interned,
            )
        measures.append(Measure(m.kind, m.category, m.hs_prefix, rule, m.code, m.description, m.legal_reference))
    # Several measures of one kind, category and prefix in force: the latest valid_from wins
    # (ordered above; TariffBook keeps the first of equal-length prefixes).
    fx = exchange_rates_dated(on)
    return TariffBook(
        on=on,
        lines=lines,
        measures=tuple(measures),
        exchange_rates={currency: rate for currency, (rate, _) in fx.items()},
        exchange_rate_dates={currency: day for currency, (_, day) in fx.items()},
        eac_partners=frozenset(Country.objects.filter(is_eac_partner=True).values_list("code", flat=True)),
        known_codes=frozenset(TariffLine.objects.values_list("code", flat=True).distinct()),
        hs_subheadings=frozenset(HSNode.objects.filter(level=6).values_list("code", flat=True)),
    )


def exchange_rates_dated(on: dt.date) -> dict[str, tuple[Decimal, dt.date]]:
    """Per currency, the rate in force on `on` and the date it was fixed."""
    oldest = on - dt.timedelta(days=EXCHANGE_RATE_MAX_AGE_DAYS)
    rates: dict[str, tuple[Decimal, dt.date]] = {}
    for currency, rate, day in (
        ExchangeRate.objects.filter(date__lte=on, date__gte=oldest)
        .order_by("currency_id", "-date")
        .values_list("currency_id", "kes_per_unit", "date")
    ):
        rates.setdefault(currency, (rate, day))
    return rates


def exchange_rates_in_force(on: dt.date) -> dict[str, Decimal]:
    oldest = on - dt.timedelta(days=EXCHANGE_RATE_MAX_AGE_DAYS)
    rates: dict[str, Decimal] = {}
    for currency, rate in (
        ExchangeRate.objects.filter(date__lte=on, date__gte=oldest)
        .order_by("currency_id", "-date")
        .values_list("currency_id", "kes_per_unit")
    ):
        rates.setdefault(currency, rate)
    return rates


def exchange_rate_row(currency: str, on: dt.date) -> ExchangeRate | None:
    """The rate in force: the latest row on or before `on`, at most EXCHANGE_RATE_MAX_AGE_DAYS old."""
    return (
        ExchangeRate.objects.filter(
            currency_id=currency, date__lte=on, date__gte=on - dt.timedelta(days=EXCHANGE_RATE_MAX_AGE_DAYS)
        )
        .order_by("-date")
        .first()
    )


def exchange_rate_get(currency: str, on: dt.date) -> Decimal | None:
    if currency == "KES":
        return Decimal(1)
    row = exchange_rate_row(currency, on)
    return row.kes_per_unit if row is not None else None


@dataclass(frozen=True)
class TariffLineView:
    """A tariff line in force with its duty rule and the national measures that apply to it."""

    code: str
    description: str
    unit: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    duty: RateRule | None
    national_duty: Measure | None
    excise: Measure | None
    vat: Measure | None
    idf: Measure | None
    rdl: Measure | None
    hs_subheading: str
    hs_description: str


def tariff_line_get(code: str, on: dt.date) -> TariffLineView | None:
    code = normalise_hs_code(code)
    book = tariff_book(on)
    rules = book.rules(code)
    if rules is None:
        return None
    node = HSNode.objects.filter(code=code[:6]).only("description").first()
    return TariffLineView(
        code=code,
        description=rules.line.description,
        unit=rules.line.unit,
        valid_from=rules.line.valid_from,
        valid_to=rules.line.valid_to,
        duty=rules.line.duty,
        national_duty=rules.national_duty,
        excise=rules.excise,
        vat=rules.vat,
        idf=rules.idf,
        rdl=rules.rdl,
        hs_subheading=code[:6],
        hs_description=node.description if node else "",
    )


def tariff_code_problem(code: str, on: dt.date) -> tuple[str, str]:
    """Why `code` has no line in force on `on` (hs_code_invalid / _unknown / _not_in_force / _no_tariff_line)."""
    code = normalise_hs_code(code)
    if len(code) != 8 or not code.isdigit():
        return "hs_code_invalid", "An HS code has 8 digits (e.g. 8703.22.90)."
    return tariff_book(on).code_problem(code)


def tariff_lines_search(*, query: str, on: dt.date) -> QuerySet[TariffLine]:
    """Lines in force on `on` whose code starts with `query` (dots ignored), or whose description,
    subheading or heading text contains every word of `query`."""
    qs = TariffLine.objects.filter(_in_force(on)).select_related("hs_subheading").order_by("code")
    query = query.strip()
    digits = normalise_hs_code(query)
    if digits.isdigit():
        return qs.filter(code__startswith=digits)
    for word in query.split():
        qs = qs.filter(
            Q(description__icontains=word)
            | Q(hs_subheading__description__icontains=word)
            | Q(hs_subheading__parent__description__icontains=word)
        )
    return qs


# ------------------------------------------------------------------------------------------------
# Exemption certificates


@dataclass(frozen=True)
class ExemptionClaim:
    """One item's claim on a certificate, for `exemption_claim_problems` and the quota draw."""

    index: int  # item position in the body (JSON pointer)
    line_no: int
    certificate_number: str
    exemption_code: str
    hs_digits: str
    customs_value_kes: Decimal
    supplementary_quantity: Decimal | None


def exemption_certificates_get(numbers: set[str]) -> dict[str, ExemptionCertificate]:
    return {c.number: c for c in ExemptionCertificate.objects.filter(number__in=numbers)} if numbers else {}


def exemption_claim_amount(certificate: ExemptionCertificate, claim: ExemptionClaim) -> Decimal | None:
    """What the claim draws from the quota: the KES customs value, or the supplementary quantity."""
    if certificate.quota_kind == ExemptionCertificate.QuotaKind.VALUE:
        return claim.customs_value_kes
    return claim.supplementary_quantity


def exemption_claim_problems(
    *, claims: list[ExemptionClaim], holder_pin: str, on: dt.date, declaration_id: Any = None
) -> tuple[list[tuple[str, str, str]], dict[str, ExemptionCertificate]]:
    """(code, detail, pointer) per problem in the claims, and the certificates found.

    An unknown certificate and another holder's certificate get the same answer (no enumeration of
    certificate numbers). The quota is checked here against the committed balance, and again
    atomically by `tariff.services.exemption_quota_draw` inside the lodging transaction.
    """
    certificates = exemption_certificates_get({c.certificate_number for c in claims})
    # An amended declaration already holds its draws: they count as available to it.
    own: dict[int, Decimal] = {}
    if declaration_id is not None and certificates:
        for certificate_id, drawn in ExemptionDrawdown.objects.filter(
            declaration_id=declaration_id, released_at__isnull=True
        ).values_list("certificate_id", "amount"):
            own[certificate_id] = own.get(certificate_id, Decimal(0)) + drawn
    problems: list[tuple[str, str, str]] = []
    wanted: dict[str, Decimal] = {}
    for claim in claims:
        pointer = f"/items/{claim.index}/exemption_certificate"
        cert = certificates.get(claim.certificate_number)
        if cert is None or cert.holder_pin != holder_pin:
            problems.append(("exemption_certificate_invalid",
                             f"No exemption certificate {claim.certificate_number} is held by this importer.",
                             pointer))
            continue
        if cert.status != ExemptionCertificate.Status.ACTIVE:
            problems.append(("exemption_certificate_not_active",
                             f"Exemption certificate {cert.number} is {cert.status}.", pointer))
            continue
        if not cert.valid_from <= on <= cert.valid_to:
            problems.append(("exemption_certificate_not_in_force",
                             f"Exemption certificate {cert.number} is valid from {cert.valid_from.isoformat()} "
                             f"to {cert.valid_to.isoformat()}, not on {on.isoformat()}.", pointer))
            continue
        if cert.exemption_code != claim.exemption_code:
            problems.append(("exemption_code_mismatch",
                             f"Exemption certificate {cert.number} grants {cert.exemption_code}, "
                             f"not {claim.exemption_code}.", f"/items/{claim.index}/exemption"))
            continue
        prefixes = [p for p in (x.strip().replace(".", "") for x in cert.hs_prefixes.split(",")) if p]
        if prefixes and not claim.hs_digits.startswith(tuple(prefixes)):
            problems.append(("exemption_goods_not_covered",
                             f"Exemption certificate {cert.number} covers {cert.goods_description} "
                             f"(HS {', '.join(prefixes)}), not HS {claim.hs_digits}.", pointer))
            continue
        amount = exemption_claim_amount(cert, claim)
        if amount is None:
            problems.append(("supplementary_quantity_required",
                             f"Exemption certificate {cert.number} has a quantity quota: give the "
                             "supplementary quantity.", f"/items/{claim.index}/supplementary_quantity"))
            continue
        wanted[cert.number] = wanted.get(cert.number, Decimal(0)) + amount
        if wanted[cert.number] > cert.quota_left + own.get(cert.pk, Decimal(0)):
            problems.append(("exemption_quota_exhausted",
                             f"Exemption certificate {cert.number} has {cert.quota_left} "
                             f"{'KES' if cert.quota_kind == 'value' else 'units'} left.", pointer))
    return problems, certificates


# ------------------------------------------------------------------------------------------------
# CRSP


def _norm(value: str) -> str:
    return " ".join(value.upper().split())


def crsp_valuation(
    *, make: str, model: str, hs_digits: str, engine_capacity_cc: int, fuel: str, year_of_manufacture: int,
    on: dt.date,
) -> CrspValuation | None:
    """The CRSP-derived customs value of a directly imported vehicle (None when its make and model
    are not on the latest list published on or before `on`). Rows of one make and model that
    differ only in trim: the one with the same engine capacity, then the lowest price (the value
    least favourable to a finding of undervaluation)."""
    list_date = (
        CrspEntry.objects.filter(list_date__lte=on).order_by("-list_date").values_list("list_date", flat=True).first()
    )
    if list_date is None:
        return None
    rows = list(CrspEntry.objects.filter(list_date=list_date, sheet="motor_vehicle", make=_norm(make),
                                         model=_norm(model)).order_by("crsp_kes"))
    if not rows:
        return None
    same_engine = [r for r in rows if r.engine_capacity == str(engine_capacity_cc)]
    row = (same_engine or rows)[0]
    bands = [DepreciationBand(d.age_over, d.age_up_to, d.rate, d.label) for d in
             CrspDepreciation.objects.filter(list_date=list_date, basis="direct_import")]
    divisors = dict(CrspTemplate.objects.filter(list_date=list_date).values_list("code", "divisor"))
    age = vehicle_age_years(year_of_manufacture=year_of_manufacture, on_year=on.year)
    return crsp_value(
        crsp_kes=row.crsp_kes,
        description=f"{row.make} {row.model} {row.model_number} ({row.engine_capacity}, {row.fuel}), "
                    f"CRSP {list_date.isoformat()}".replace(" ()", ""),
        hs_digits=hs_digits, engine_capacity_cc=engine_capacity_cc, fuel=fuel, age_years=max(age, 0),
        bands=bands, divisors=divisors,
    )
