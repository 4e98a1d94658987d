"""The assessment engine: a pure function from declaration data to taxes (no database, no clock).

    book = tariff.selectors.tariff_book(on=registration_date)   # rates in force on that date
    result = assess(DeclarationInput(date=..., currency="USD", items=(ItemInput(...), ...)), book)

Taxes per item (DOMAIN.md "Taxes", KRA motor-vehicle template 2025):
- customs value in KES = CIF in the declaration currency x the rate in force (KES: no rate);
- import duty: CET rate of the 8-digit line (Schedule 2 / amendments already resolved in the
  book), replaced by Kenya's national rate where one applies (35 % on vehicles), 0 % for goods of
  EAC origin claiming the EAC preference, 0 % under a claimed exemption; compound rates are
  "X % or Y per unit, whichever is higher";
- excise duty: rate x (customs value + import duty), or a specific amount per unit;
- VAT: 16 % x (customs value + import duty + excise duty); exempt / zero-rated goods pay 0;
- IDF 2.5 % (1.5 % reduced) and RDL 2 % (1.5 % reduced) of the customs value.

Rounding, one rule for all money (docs/declarations.md "Rounding"): the customs value in KES is
rounded half-up to the cent; every tax line is its shown base x its rate, rounded half-up to the
cent; a line's base chains the rounded figures before it (excise base = value + duty, VAT base =
value + duty + excise); each tax total is the sum of its rounded lines and the grand total the sum
of the tax totals. An agent can re-compute every figure from the figures printed beside it. The
DOMAIN.md example (customs value 425.71) gives 149.00 + 114.94 + 110.34 + 8.51 + 10.64 = 393.43
(KRA's motor-vehicle calculator keeps full precision and prints 393.44: a cent of difference).

Every problem in every item is collected and raised at once as `AssessmentFailed`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from core.exceptions import ErrorItem
from tariff.exceptions import AssessmentFailed

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)
ZERO = Decimal(0)
KES = "KES"

IMPORT_DUTY = "import_duty"
EXCISE_DUTY = "excise_duty"
VAT = "vat"
IDF = "idf"
RDL = "rdl"
TAXES = (IMPORT_DUTY, EXCISE_DUTY, VAT, IDF, RDL)

PREFERENCE_EAC = "EAC"
WEIGHT_UNITS = frozenset({"kg", "MT"})


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def normalise_hs_code(value: str) -> str:
    """ "8703.22.90" / "8703 22 90" / "87032290" -> "87032290" (validity is checked separately)."""
    return value.replace(".", "").replace(" ", "").strip()


# ------------------------------------------------------------------------------------------------
# Tariff book: a plain in-memory snapshot of everything in force on one date.


@dataclass(frozen=True, slots=True)
class RateRule:
    """One rate: ad valorem (percent), specific (amount per unit) or compound (the higher)."""

    kind: str  # ad_valorem / specific / compound
    ad_valorem_rate: Decimal | None = None  # percent, e.g. Decimal("35")
    specific_amount: Decimal | None = None
    specific_currency: str = ""
    specific_unit: str = ""  # kg / MT / unit / litre / mille
    label: str = ""  # where it comes from, e.g. "CET schedule1"
    fraction: Decimal = field(default=ZERO, init=False, compare=False, repr=False)
    _text: str = field(default="", init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.ad_valorem_rate is not None:
            object.__setattr__(self, "fraction", self.ad_valorem_rate / HUNDRED)
        object.__setattr__(self, "_text", self._render())

    @property
    def is_specific(self) -> bool:
        return self.kind in ("specific", "compound")

    def text(self) -> str:
        return self._text

    def _render(self) -> str:
        av = f"{self.ad_valorem_rate.normalize():f}%" if self.ad_valorem_rate is not None else ""
        if self.kind == "ad_valorem":
            return av
        amount = f"{self.specific_amount.normalize():f}" if self.specific_amount is not None else "?"
        sp = f"{self.specific_currency} {amount}/{self.specific_unit}"
        return sp if self.kind == "specific" else f"{av} or {sp} whichever is higher"


@dataclass(frozen=True, slots=True)
class LineEntry:
    code: str
    description: str
    unit: str
    duty: RateRule | None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """A national measure in force: `kind` vat/excise/idf/rdl/vehicle_duty/eac_preference/exemption."""

    kind: str
    category: str  # standard / exempt / zero_rated / reduced
    hs_prefix: str
    rule: RateRule | None
    code: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class ItemRules:
    """Everything the engine needs for one code, resolved once per book (see TariffBook.rules)."""

    line: LineEntry
    national_duty: Measure | None
    eac_preference: Measure | None
    excise: Measure | None
    vat: Measure | None
    idf: Measure | None
    idf_reduced: Measure | None
    rdl: Measure | None
    rdl_reduced: Measure | None


@dataclass(frozen=True)
class TariffBook:
    """Rates in force on `on`. Built by `tariff.selectors.tariff_book` (or by hand in tests)."""

    on: dt.date
    lines: Mapping[str, LineEntry]
    measures: tuple[Measure, ...] = ()
    exchange_rates: Mapping[str, Decimal] = field(default_factory=dict)
    eac_partners: frozenset[str] = frozenset()
    known_codes: frozenset[str] = frozenset()  # every code that is a tariff line on some date
    hs_subheadings: frozenset[str] = frozenset()  # HS 2022 six-digit subheadings
    _by_kind: dict[tuple[str, str], tuple[Measure, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _rules: dict[str, ItemRules] = field(default_factory=dict, init=False, repr=False, compare=False)
    _subheadings_with_lines: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        grouped: dict[tuple[str, str], list[Measure]] = {}
        for m in self.measures:
            grouped.setdefault((m.kind, m.category), []).append(m)
            grouped.setdefault((m.kind, "*"), []).append(m)
        for key, ms in grouped.items():
            # longest prefix first; a measure list per (kind, category) keeps lookups to a scan
            self._by_kind[key] = tuple(sorted(ms, key=lambda m: -len(m.hs_prefix)))
        codes = self.known_codes | frozenset(self.lines)
        object.__setattr__(self, "known_codes", codes)
        object.__setattr__(self, "_subheadings_with_lines", frozenset(c[:6] for c in codes))

    def measure(self, kind: str, code: str, category: str = "*") -> Measure | None:
        for m in self._by_kind.get((kind, category), ()):
            if code.startswith(m.hs_prefix):
                return m
        return None

    def exemption(self, code: str) -> Measure | None:
        for m in self._by_kind.get(("exemption", "*"), ()):
            if m.code == code:
                return m
        return None

    def rules(self, code: str) -> ItemRules | None:
        """Resolved rules for an in-force line (cached per book: one dict hit per item)."""
        r = self._rules.get(code)
        if r is None:
            line = self.lines.get(code)
            if line is None:
                return None
            r = ItemRules(
                line=line,
                national_duty=self.measure("vehicle_duty", code),
                eac_preference=self.measure("eac_preference", code),
                excise=self.measure("excise", code),
                vat=self.measure("vat", code),
                idf=self.measure("idf", code, "standard"),
                idf_reduced=self.measure("idf", code, "reduced"),
                rdl=self.measure("rdl", code, "standard"),
                rdl_reduced=self.measure("rdl", code, "reduced"),
            )
            self._rules[code] = r
        return r

    def code_problem(self, code: str) -> tuple[str, str]:
        """Why `code` has no line in force: (error code, detail)."""
        if code in self.known_codes:
            return "hs_code_not_in_force", f"Tariff line {code} is not in force on {self.on.isoformat()}."
        if code[:6] in self.hs_subheadings and code[:6] not in self._subheadings_with_lines:
            return (
                "hs_code_no_tariff_line",
                f"HS 2022 subheading {code[:6]} has no EAC CET tariff line; declare it under the "
                "line customs advises (the CET 2022 conversion has no line for it).",
            )
        return "hs_code_unknown", f"{code} is not an EAC CET tariff line."


# ------------------------------------------------------------------------------------------------
# Input and output


@dataclass(frozen=True, slots=True)
class ItemInput:
    line_no: int
    hs_code: str
    origin_country: str
    customs_value: Decimal  # CIF, in the declaration currency
    net_weight_kg: Decimal | None = None
    gross_weight_kg: Decimal | None = None
    supplementary_quantity: Decimal | None = None
    supplementary_unit: str | None = None
    preference: str | None = None  # "EAC"
    exemption: str | None = None  # an exemption code in force (NationalMeasure kind=exemption)
    idf_reduced: bool = False  # manufacturers' raw materials
    rdl_reduced: bool = False


@dataclass(frozen=True, slots=True)
class DeclarationInput:
    date: dt.date
    currency: str
    items: tuple[ItemInput, ...]


class TaxLine(NamedTuple):
    """One tax on one item. An immutable NamedTuple rather than a frozen dataclass: a 20-item
    declaration makes ~90 of them and a NamedTuple builds 2.5x faster (see bench_assessment)."""

    line_no: int
    tax: str  # import_duty / excise_duty / vat / idf / rdl
    base: Decimal  # KES, the ad valorem base (rounded for display)
    rule: str  # the rule applied, human readable
    amount: Decimal  # KES, rounded half-up to the cent


@dataclass(frozen=True, slots=True)
class Totals:
    import_duty: Decimal
    excise_duty: Decimal
    vat: Decimal
    idf: Decimal
    rdl: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class Assessment:
    date: dt.date
    currency: str
    exchange_rate: Decimal  # KES per unit of the declaration currency (1 for KES)
    lines: tuple[TaxLine, ...]
    totals: Totals
    item_values_kes: tuple[Decimal, ...]  # customs value in KES per item, in item order

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (amounts as decimal strings), as the API renders it."""
        return {
            "date": self.date.isoformat(),
            "currency": self.currency,
            "exchange_rate": str(self.exchange_rate),
            "item_values_kes": [str(v) for v in self.item_values_kes],
            "lines": [
                {
                    "line_no": t.line_no,
                    "tax": t.tax,
                    "base": str(t.base),
                    "rule": t.rule,
                    "amount": str(t.amount),
                }
                for t in self.lines
            ],
            "totals": {name: str(getattr(self.totals, name)) for name in (*TAXES, "total")},
        }


# ------------------------------------------------------------------------------------------------
# The engine


class _Problems:
    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[ErrorItem] = []

    def add(self, code: str, detail: str, pointer: str) -> None:
        self.items.append(ErrorItem(code=code, detail=detail, pointer=pointer))


def _fx(book: TariffBook, currency: str) -> Decimal | None:
    return Decimal(1) if currency == KES else book.exchange_rates.get(currency)


def _quantity(item: ItemInput, unit: str) -> tuple[Decimal | None, str]:
    """The quantity a specific rate applies to, and the field that carries it."""
    if unit in WEIGHT_UNITS:
        kg = item.net_weight_kg
        if kg is None:
            return None, "net_weight_kg"
        return (kg / THOUSAND if unit == "MT" else kg), "net_weight_kg"
    return item.supplementary_quantity, "supplementary_quantity"


def _apply(
    rule: RateRule, base: Decimal, item: ItemInput, book: TariffBook, index: int, tax: str, problems: _Problems
) -> tuple[Decimal, str] | None:
    """Exact amount of `rule` on `base` for `item`, with the rule text; None after a problem."""
    if rule.kind == "ad_valorem":
        return base * rule.fraction, rule.text()
    assert rule.specific_amount is not None
    qty, fieldname = _quantity(item, rule.specific_unit)
    if qty is None:
        problems.add(
            "quantity_required_for_specific_rate",
            f"The {tax.replace('_', ' ')} rate {rule.text()} needs the {fieldname.replace('_', ' ')}.",
            f"/items/{index}/{fieldname}",
        )
        return None
    fx = _fx(book, rule.specific_currency)
    if fx is None:
        problems.add(
            "exchange_rate_missing",
            f"No {rule.specific_currency} exchange rate in force on {book.on.isoformat()} "
            f"for the specific rate {rule.text()}.",
            f"/items/{index}/hs_code",
        )
        return None
    specific = rule.specific_amount * qty * fx
    if rule.kind == "specific":
        return specific, f"{rule.text()} x {qty.normalize():f}"
    ad_valorem = base * rule.fraction
    if specific > ad_valorem:
        return (
            specific,
            f"{rule.text()}: specific {rule.specific_currency} "
            f"{rule.specific_amount.normalize():f} x {qty.normalize():f}",
        )
    return ad_valorem, f"{rule.text()}: ad valorem"


def totals_of(lines: Iterable[TaxLine]) -> Totals:
    """Each tax total is the sum of its (rounded) lines; the grand total is the sum of the tax
    totals. The one place totals are made: the engine, amendments and tests all call it."""
    sums = dict.fromkeys(TAXES, ZERO)
    for line in lines:
        sums[line.tax] += line.amount
    return Totals(**sums, total=sum(sums.values(), ZERO))


def assess(data: DeclarationInput, book: TariffBook) -> Assessment:
    problems = _Problems()
    fx = _fx(book, data.currency)
    if fx is None:
        problems.add(
            "exchange_rate_missing",
            f"No {data.currency} exchange rate in force on {book.on.isoformat()}.",
            "/currency",
        )
    lines: list[TaxLine] = []
    values: list[Decimal] = []
    for index, item in enumerate(data.items):
        _assess_item(item, index, fx, book, problems, lines, values)
    if problems.items:
        raise AssessmentFailed(errors=problems.items)
    totals = totals_of(lines)
    return Assessment(
        date=data.date,
        currency=data.currency,
        exchange_rate=fx if fx is not None else ZERO,
        lines=tuple(lines),
        totals=totals,
        item_values_kes=tuple(values),
    )


def _assess_item(
    item: ItemInput,
    index: int,
    fx: Decimal | None,
    book: TariffBook,
    problems: _Problems,
    lines: list[TaxLine],
    values: list[Decimal],
) -> None:
    pointer = f"/items/{index}"
    before = len(problems.items)
    code = normalise_hs_code(item.hs_code)
    rules = None
    if len(code) != 8 or not code.isdigit():
        problems.add("hs_code_invalid", "An HS code has 8 digits (e.g. 8703.22.90).", f"{pointer}/hs_code")
    else:
        rules = book.rules(code)
        if rules is None:
            err, detail = book.code_problem(code)
            problems.add(err, detail, f"{pointer}/hs_code")
    if item.customs_value < ZERO:
        problems.add("customs_value_negative", "The customs value cannot be negative.", f"{pointer}/customs_value")
    exemption = None
    if item.exemption:
        exemption = book.exemption(item.exemption)
        if exemption is None:
            problems.add(
                "exemption_unknown",
                f"No exemption {item.exemption!r} is in force on {book.on.isoformat()}.",
                f"{pointer}/exemption",
            )
    eac = False
    if item.preference:
        if item.preference != PREFERENCE_EAC:
            problems.add("preference_unknown", "The only preference is 'EAC'.", f"{pointer}/preference")
        elif item.origin_country not in book.eac_partners:
            problems.add(
                "preference_not_applicable",
                f"The EAC preference needs goods of EAC origin, not {item.origin_country!r}.",
                f"{pointer}/preference",
            )
        else:
            eac = True
    if rules is None or fx is None or len(problems.items) != before:
        return

    value = money(item.customs_value * fx)
    values.append(value)
    no = item.line_no

    # Import duty
    if exemption is not None:
        duty, duty_rule = ZERO, f"exempt ({exemption.code})"
    elif eac and rules.eac_preference is not None and rules.eac_preference.rule is not None:
        pref = rules.eac_preference.rule
        duty, duty_rule = money(value * pref.fraction), f"EAC origin ({item.origin_country}): {pref.text()}"
    else:
        national = rules.national_duty
        rule = national.rule if national is not None and national.rule is not None else rules.line.duty
        if rule is None:
            problems.add(
                "duty_rate_missing",
                f"Tariff line {code} has no duty rate in force on {book.on.isoformat()}.",
                f"{pointer}/hs_code",
            )
            return
        applied = _apply(rule, value, item, book, index, IMPORT_DUTY, problems)
        if applied is None:
            return
        duty, duty_rule = money(applied[0]), applied[1]
        if national is not None and rules.line.duty is not None:
            duty_rule = f"{duty_rule} (Kenya rate, CET {rules.line.duty.text()})"
    # Excise duty
    excise = ZERO
    excise_rule = None
    base_excise = value + duty
    if exemption is not None:
        excise_rule = f"exempt ({exemption.code})" if rules.excise is not None else None
    elif rules.excise is not None and rules.excise.rule is not None:
        applied = _apply(rules.excise.rule, base_excise, item, book, index, EXCISE_DUTY, problems)
        if applied is None:
            return
        excise, excise_rule = money(applied[0]), applied[1]
    # VAT
    base_vat = base_excise + excise
    vat_measure = rules.vat
    if exemption is not None:
        vat, vat_rule = ZERO, f"exempt ({exemption.code})"
    elif vat_measure is None or vat_measure.rule is None:
        vat, vat_rule = ZERO, "no VAT measure"
    elif vat_measure.category in ("exempt", "zero_rated"):
        vat, vat_rule = ZERO, vat_measure.category.replace("_", "-")
    else:
        vat, vat_rule = money(base_vat * vat_measure.rule.fraction), vat_measure.rule.text()
    # IDF and RDL on the customs value
    idf_m = rules.idf_reduced if item.idf_reduced and rules.idf_reduced is not None else rules.idf
    rdl_m = rules.rdl_reduced if item.rdl_reduced and rules.rdl_reduced is not None else rules.rdl
    idf = money(value * idf_m.rule.fraction) if idf_m is not None and idf_m.rule is not None else ZERO
    rdl = money(value * rdl_m.rule.fraction) if rdl_m is not None and rdl_m.rule is not None else ZERO

    # Every figure here is already rounded: bases are sums of rounded amounts.
    lines.append(TaxLine(no, IMPORT_DUTY, value, duty_rule, duty))
    if excise_rule is not None:
        lines.append(TaxLine(no, EXCISE_DUTY, base_excise, excise_rule, excise))
    lines.append(TaxLine(no, VAT, base_vat, vat_rule, vat))
    if idf_m is not None and idf_m.rule is not None:
        rule_text = idf_m.rule.text() + (" (reduced)" if idf_m.category == "reduced" else "")
        lines.append(TaxLine(no, IDF, value, rule_text, idf))
    if rdl_m is not None and rdl_m.rule is not None:
        rule_text = rdl_m.rule.text() + (" (reduced)" if rdl_m.category == "reduced" else "")
        lines.append(TaxLine(no, RDL, value, rule_text, rdl))
