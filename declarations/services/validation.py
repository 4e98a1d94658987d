"""Everything checked before a declaration is lodged, collected so that every problem is reported
at once with a JSON pointer into the request body (API.md).

`declaration_prepare` is pure with respect to writes: it reads reference data, the agent's
authorisations, the B/L and the tariff, and returns a `PreparedDeclaration` plus the problems found.
The B/L quantity check is the one rule that needs a lock; lodging runs it inside its transaction
(`manifests.services.writeoff_reserve`) and merges its problems with these.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from core import events, policy
from core.events import Event
from core.exception_handler import flatten_errors
from core.exceptions import ErrorItem, NotFound, ValidationFailed, error
from core.fast_validation import compile_serializer
from core.problems import join_pointer
from manifests.selectors import bl_find
from reference.selectors import country_exists, currency_exists, office_get, package_kind_exists, unit_exists
from tariff.assessment import DeclarationInput, ItemInput, assess
from tariff.exceptions import AssessmentFailed
from tariff.selectors import tariff_book
from traders.selectors import agent_licence_valid, trader_get_for_agent

from ..enums import EXPORT_REGIMES, IMPORT_REGIMES, REGIME_CPC_FIRST_DIGIT
from ..models import ImportDeclarationForm
from ..serializers import DeclarationInSerializer
from .common import money
from .fiscal import fiscal_problems
from .idf import idf_problems, ucr_problems

TWO = Decimal("0.01")
ENTRY_DEADLINE_DAYS = 21  # EACCMA s.34: goods must be entered within 21 days of discharge


@dataclass(frozen=True)
class PreparedItem:
    line_no: int
    hs_code: str
    description: str
    origin_country: str
    packages: int
    package_kind: str
    gross_weight_kg: Decimal
    net_weight_kg: Decimal
    supplementary_quantity: Decimal | None
    supplementary_unit: str
    item_value: Decimal | None
    customs_value: Decimal
    customs_value_kes: Decimal
    cpc: str
    preference: str
    exemption: str
    idf_reduced: bool
    rdl_reduced: bool
    exemption_certificate: str = ""
    vehicle: dict[str, Any] | None = None


@dataclass(frozen=True)
class PreparedDeclaration:
    body: dict[str, Any]
    data: dict[str, Any]
    registered_at: dt.datetime
    rate_date: dt.date
    exchange_rate: Decimal
    trader: Any
    office: Any
    bill_of_lading: Any
    late_entry: bool
    entry_deadline: dt.datetime | None
    deadline_extension: dt.timedelta | None
    items: tuple[PreparedItem, ...]
    assessment: Any  # tariff.assessment.Assessment, or None for exports
    errors: tuple[ErrorItem, ...] = field(default=())
    # Quota to draw from exemption certificates at lodging (tariff.services.QuotaDraw).
    exemption_draws: tuple[Any, ...] = field(default=())

    @property
    def total_packages(self) -> int:
        return sum(item.packages for item in self.items)

    @property
    def total_gross_weight_kg(self) -> Decimal:
        return sum((item.gross_weight_kg for item in self.items), Decimal("0.000"))


def body_parse(body: Any, *, partial: bool = False) -> dict[str, Any]:
    """Structural validation (types, formats, unknown fields); raises ValidationFailed.

    A full body is first read by the serializer's compiled fast path (core.fast_validation: the
    same field rules, ~10x faster for a valid body); an invalid body, or one it cannot read, goes
    through the serializer itself, so every problem report is the serializer's."""
    if not partial:
        data = _fast_body_parse()(body)
        if data is not None:
            return data
    serializer = _body_serializer(body, partial=partial)
    if not serializer.is_valid():
        raise ValidationFailed(
            errors=[error(e["code"], e["detail"], e["pointer"]) for e in flatten_errors(serializer.errors)]
        )
    return dict(serializer.validated_data)


_serializers = threading.local()


@functools.cache
def _fast_body_parse() -> Callable[[Any], dict[str, Any] | None]:
    """The compiled fast path of a full `DeclarationInSerializer` (holds no per-body state, so one
    serves every thread)."""
    return compile_serializer(DeclarationInSerializer())


def _body_serializer(body: Any, *, partial: bool) -> DeclarationInSerializer:
    """A serializer for `body`. DRF deep-copies every declared field of a new serializer instance
    and of its nested ones (~13 % of validating a 20-item body), so each thread keeps one instance
    per mode and re-uses it: `is_valid()` keeps nothing between bodies but the attributes reset
    here (the fields themselves hold no per-body state)."""
    key = "partial" if partial else "full"
    serializer: DeclarationInSerializer | None = getattr(_serializers, key, None)
    if serializer is None:
        serializer = DeclarationInSerializer(data=body, partial=partial)
        setattr(_serializers, key, serializer)
        return serializer
    for attr in ("_validated_data", "_errors", "_data"):
        serializer.__dict__.pop(attr, None)
    serializer.initial_data = body
    return serializer


def _parsed(field: Any, value: Any) -> tuple[bool, Any]:
    """(True, value) when `value` passes `field` on its own; (False, None) otherwise or when blank."""
    if value in (None, ""):
        return False, None
    try:
        return True, field.run_validation(value)
    except (serializers.ValidationError, DjangoValidationError):
        return False, None


def parsed_fields_reference_errors(body: dict[str, Any], *, failed: set[str], agent: Any,
                                   on: dt.date) -> list[ErrorItem]:
    """Reference-data problems (unknown office, currency, country, package kind, unit, HS code;
    trader not authorised) of the fields of a body that failed field-level validation elsewhere.
    Only fields that parse on their own and have no field-level problem are looked up."""
    fields = DeclarationInSerializer().fields
    problems: list[ErrorItem] = []

    def value_of(name: str, source: dict[str, Any], pointer: str, field_set: Any) -> Any:
        if pointer in failed or name not in source:
            return None
        ok, value = _parsed(field_set[name], source[name])
        return value if ok else None

    office = value_of("office", body, "/office", fields)
    if office and office_get(office) is None:
        problems.append(error("unknown_office", f"No customs office {office!r}.", "/office"))
    currency = value_of("currency", body, "/currency", fields)
    if currency and not currency_exists(currency):
        problems.append(error("unknown_currency", f"Unknown currency {currency!r}.", "/currency"))
    for name in ("country_of_export", "country_of_origin", "country_of_destination"):
        country = value_of(name, body, join_pointer(name), fields)
        if country and not country_exists(country):
            problems.append(error("unknown_country", f"Unknown country {country!r}.", join_pointer(name)))
    for pin_field in ("importer_pin", "exporter_pin"):
        pin = value_of(pin_field, body, join_pointer(pin_field), fields)
        if pin:
            try:
                trader = trader_get_for_agent(agent=agent, pin=pin, on=on)
            except NotFound:
                trader = None
            if trader is None:
                problems.append(error("trader_not_authorised", "This agent is not authorised to act for this trader.",
                                      join_pointer(pin_field)))
    items = body.get("items")
    if not isinstance(items, list) or "/items" in failed:
        return problems
    item_fields = fields["items"].child.fields  # type: ignore[attr-defined]
    book = None
    for i, item in enumerate(items):
        if not isinstance(item, dict) or join_pointer("items", i) in failed:
            continue
        country = value_of("origin_country", item, join_pointer("items", i, "origin_country"), item_fields)
        if country and not country_exists(country):
            problems.append(error("unknown_country", f"Unknown country {country!r}.",
                                  join_pointer("items", i, "origin_country")))
        kind = value_of("package_kind", item, join_pointer("items", i, "package_kind"), item_fields)
        if kind and not package_kind_exists(kind):
            problems.append(error("unknown_package_kind", f"Unknown package kind {kind!r}.",
                                  join_pointer("items", i, "package_kind")))
        unit = value_of("supplementary_unit", item, join_pointer("items", i, "supplementary_unit"), item_fields)
        if unit and not unit_exists(unit):
            problems.append(error("unknown_unit", f"Unknown unit {unit!r}.",
                                  join_pointer("items", i, "supplementary_unit")))
        hs_code = value_of("hs_code", item, join_pointer("items", i, "hs_code"), item_fields)
        if hs_code:
            book = book or tariff_book(on)
            digits = hs_digits(hs_code)
            if digits not in book.lines:
                code, detail = book.code_problem(digits)
                problems.append(error(code, detail, join_pointer("items", i, "hs_code")))
    return problems


def hs_digits(code: str) -> str:
    return code.replace(".", "")


def hs_dotted(code: str) -> str:
    digits = hs_digits(code)
    return f"{digits[:4]}.{digits[4:6]}.{digits[6:]}"


def _apportion_customs_values(data: dict[str, Any], errors: list[ErrorItem]) -> list[Decimal | None]:
    """CIF per item. Declared `customs_value` wins. Items without it take their `item_value` plus
    freight and insurance apportioned by value over those items (the last such item absorbs the
    rounding remainder, so the parts add up to the whole to the cent)."""
    items = data["items"]
    charges = data.get("freight_amount") or Decimal(0)
    charges += data.get("insurance_amount") or Decimal(0)
    values: list[Decimal | None] = [item.get("customs_value") for item in items]
    open_indexes = [i for i, v in enumerate(values) if v is None]
    for i in open_indexes:
        if items[i].get("item_value") is None:
            errors.append(error("customs_value_missing",
                                "Give customs_value (CIF) or item_value for this item.",
                                join_pointer("items", i, "customs_value")))
    usable = [i for i in open_indexes if items[i].get("item_value") is not None]
    base_total = sum((items[i]["item_value"] for i in usable), Decimal(0))
    remaining = charges
    for position, i in enumerate(usable):
        item_value = items[i]["item_value"]
        if position == len(usable) - 1:
            share = remaining
        elif base_total <= 0:
            share = Decimal(0)  # every value is zero: reported as value_not_positive
        else:
            share = (charges * item_value / base_total).quantize(TWO, rounding=ROUND_HALF_UP)
        remaining -= share
        values[i] = item_value + share
    return values


class Lookups:
    """The per-declaration reads of `declaration_prepare` (trader authorisation, B/L, IDF).

    HTTP lodging uses this one (a query each). The contingency replay passes a `PrefetchedLookups`
    filled for a whole chunk of bodies in three queries: the same rules read the same rows, only
    the number of round trips differs."""

    def trader(self, *, agent: Any, pin: str, on: dt.date) -> Any:
        try:  # one query: the trader through a valid authorisation of this agent
            return trader_get_for_agent(agent=agent, pin=pin, on=on)
        except NotFound:
            return None

    def bill_of_lading(self, number: str) -> Any:
        return bl_find(number)

    def idf(self, number: str) -> Any:
        return ImportDeclarationForm.objects.filter(number=number).first()


DEFAULT_LOOKUPS = Lookups()


@dataclass
class _Checked:
    """What the section validators share: the parsed body, what they found, and one problem list
    (every section appends to `errors`; the order of the sections is the order of the problems)."""

    agent: Any
    body: dict[str, Any]
    data: dict[str, Any]
    registered_at: dt.datetime
    rate_date: dt.date
    deadline_extension: dt.timedelta | None
    declaration_id: Any
    lookups: Lookups
    errors: list[ErrorItem] = field(default_factory=list)
    trader: Any = None
    office: Any = None
    exchange_rate: Decimal = Decimal(1)
    customs_values: list[Decimal | None] = field(default_factory=list)
    bill_of_lading: Any = None
    late_entry: bool = False
    entry_deadline: dt.datetime | None = None
    items: list[PreparedItem] = field(default_factory=list)
    exemption_draws: list[Any] = field(default_factory=list)
    assessment: Any = None

    @property
    def regime(self) -> str:
        return str(self.data["regime"])

    @property
    def is_import(self) -> bool:
        return self.regime in IMPORT_REGIMES

    @property
    def pin_field(self) -> str:
        return "importer_pin" if self.is_import else "exporter_pin"

    @property
    def pin(self) -> str:
        return self.data.get(self.pin_field) or ""


def _check_header(c: _Checked) -> None:
    """Regime and procedure: CPC digits, fields required or not allowed for the regime."""
    data, errors, regime = c.data, c.errors, c.regime
    expected_digit = REGIME_CPC_FIRST_DIGIT[regime]
    if data["cpc"][0] != expected_digit:
        errors.append(error("cpc_regime_mismatch",
                            f"A {regime} CPC starts with {expected_digit} (got {data['cpc']}).", "/cpc"))
    for i, item in enumerate(data["items"]):
        if item.get("cpc") and item["cpc"][0] != expected_digit:
            errors.append(error("cpc_regime_mismatch",
                                f"A {regime} CPC starts with {expected_digit}.", join_pointer("items", i, "cpc")))

    def _required(name: str) -> None:
        if not data.get(name):
            errors.append(error("required", f"{name} is required for regime {regime}.", join_pointer(name)))

    def _forbidden(name: str, instead: str) -> None:
        if data.get(name):
            errors.append(error("not_allowed_for_regime",
                                f"{name} is not used for regime {regime}; use {instead}.", join_pointer(name)))

    if c.is_import:
        _required("importer_pin")
        _required("bill_of_lading")
        _required("country_of_export")
        _forbidden("exporter_pin", "importer_pin")
    else:
        _required("exporter_pin")
        _required("country_of_destination")
        _forbidden("importer_pin", "exporter_pin")
        _forbidden("bill_of_lading", "no transport document (exports are not written off a manifest)")


def _check_parties(c: _Checked) -> None:
    """The agent's licence and its authorisation for the trader."""
    if not agent_licence_valid(c.agent, c.rate_date):
        c.errors.append(error("agent_licence_invalid",
                              f"The agent's licence is not valid on {c.rate_date.isoformat()}.", ""))
    if c.pin:
        c.trader = c.lookups.trader(agent=c.agent, pin=c.pin, on=c.rate_date)
        # Someone else's trader and an unknown PIN get the same answer (no PIN enumeration).
        if c.trader is None:
            c.errors.append(error("trader_not_authorised",
                                  "This agent is not authorised to act for this trader.", join_pointer(c.pin_field)))


def _check_header_values(c: _Checked) -> None:
    """Reference codes of the header, the exchange rate of the day, the invoice amount."""
    data, errors = c.data, c.errors
    c.office = office_get(data["office"])
    if c.office is None:
        errors.append(error("unknown_office", f"No customs office {data['office']!r}.", "/office"))
    if not currency_exists(data["currency"]):
        errors.append(error("unknown_currency", f"Unknown currency {data['currency']!r}.", "/currency"))
    for name in ("country_of_export", "country_of_origin", "country_of_destination"):
        if data.get(name) and not country_exists(data[name]):
            errors.append(error("unknown_country", f"Unknown country {data[name]!r}.", join_pointer(name)))

    if data["currency"] != "KES" and currency_exists(data["currency"]):
        rate = _exchange_rate(data["currency"], c.rate_date)
        if rate is None:
            errors.append(error("exchange_rate_missing",
                                f"No {data['currency']} exchange rate in force on {c.rate_date.isoformat()}.",
                                "/currency"))
        else:
            c.exchange_rate = rate

    if data["invoice_amount"] <= 0:
        errors.append(error("value_not_positive", "The invoice amount must be greater than zero.", "/invoice_amount"))


def _check_items(c: _Checked) -> None:
    """Item reference codes, weights and values, document dates, and the CIF of every item."""
    data, errors = c.data, c.errors
    for i, item in enumerate(data["items"]):
        ptr = ("items", i)
        if not country_exists(item["origin_country"]):
            errors.append(error("unknown_country", f"Unknown country {item['origin_country']!r}.",
                                join_pointer(*ptr, "origin_country")))
        if not package_kind_exists(item["package_kind"]):
            errors.append(error("unknown_package_kind", f"Unknown package kind {item['package_kind']!r}.",
                                join_pointer(*ptr, "package_kind")))
        if item.get("supplementary_unit") and not unit_exists(item["supplementary_unit"]):
            errors.append(error("unknown_unit", f"Unknown unit {item['supplementary_unit']!r}.",
                                join_pointer(*ptr, "supplementary_unit")))
        if item["gross_weight_kg"] <= 0:
            errors.append(error("value_not_positive", "Gross weight must be greater than zero.",
                                join_pointer(*ptr, "gross_weight_kg")))
        if item["net_weight_kg"] <= 0:
            errors.append(error("value_not_positive", "Net weight must be greater than zero.",
                                join_pointer(*ptr, "net_weight_kg")))
        if item["net_weight_kg"] > item["gross_weight_kg"]:
            errors.append(error("net_exceeds_gross", "Net weight exceeds gross weight.",
                                join_pointer(*ptr, "net_weight_kg")))
        for name in ("customs_value", "item_value"):
            if item.get(name) is not None and item[name] <= 0:
                errors.append(error("value_not_positive", f"{name} must be greater than zero.",
                                    join_pointer(*ptr, name)))
    for i, document in enumerate(data.get("documents") or []):
        if document.get("issued_on") and document["issued_on"] > c.rate_date:
            errors.append(error("future_date", "A document cannot be issued after the lodging date.",
                                join_pointer("documents", i, "issued_on")))

    c.customs_values = _apportion_customs_values(data, errors)


def _check_transport_document(c: _Checked) -> None:
    """The bill of lading of an import: on a lodged manifest, the importer's, discharged at the
    declaring office; the 21-day entry deadline from its discharge (late entry)."""
    data, errors = c.data, c.errors
    if not (c.is_import and data.get("bill_of_lading")):
        return
    c.bill_of_lading = bill_of_lading = c.lookups.bill_of_lading(data["bill_of_lading"])
    if bill_of_lading is None:
        errors.append(error("bl_not_found", "No bill of lading with this number on a lodged manifest.",
                            "/bill_of_lading"))
        return
    if c.pin and bill_of_lading.consignee_pin != c.pin:
        errors.append(error("bl_consignee_mismatch",
                            "The bill of lading's consignee is not the importer.", "/bill_of_lading"))
    manifest = bill_of_lading.manifest
    discharge_office = getattr(manifest, "office_of_discharge_id", None)
    if c.office is not None and discharge_office and discharge_office != c.office.pk:
        errors.append(error("bl_office_mismatch",
                            f"The goods are discharged at {discharge_office}, not {c.office.pk}.", "/office"))
    discharged = manifest.discharged_at or manifest.ata
    if discharged is not None:
        c.entry_deadline = discharged + dt.timedelta(days=ENTRY_DEADLINE_DAYS) + (
            c.deadline_extension or dt.timedelta(0))
        c.late_entry = c.registered_at > c.entry_deadline


def _check_tariff(c: _Checked) -> None:
    """The prepared items, their fiscal rules (vehicles, exemptions, IDF/RDL reductions), transit
    (IM8), and the assessment by the tariff engine when every value is usable."""
    data, errors = c.data, c.errors
    for i, item in enumerate(data["items"]):
        value = c.customs_values[i] or Decimal(0)
        c.items.append(PreparedItem(
            line_no=i + 1,
            hs_code=hs_dotted(item["hs_code"]),
            description=item["description"],
            origin_country=item["origin_country"],
            packages=item["packages"],
            package_kind=item["package_kind"],
            gross_weight_kg=item["gross_weight_kg"],
            net_weight_kg=item["net_weight_kg"],
            supplementary_quantity=item.get("supplementary_quantity"),
            supplementary_unit=item.get("supplementary_unit") or "",
            item_value=item.get("item_value"),
            customs_value=money(value),
            customs_value_kes=money(value * c.exchange_rate),
            cpc=item.get("cpc") or "",
            preference=item.get("preference") or "",
            exemption=item.get("exemption") or "",
            idf_reduced=bool(item.get("idf_reduced")),
            rdl_reduced=bool(item.get("rdl_reduced")),
            exemption_certificate=item.get("exemption_certificate") or "",
            vehicle=dict(item["vehicle"]) if item.get("vehicle") else None,
        ))

    # --- vehicles, exemption certificates, IDF/RDL reductions (docs/declarations.md) -------------
    fiscal_errors, c.exemption_draws = fiscal_problems(
        items=c.items, documents=data.get("documents") or [], holder_pin=c.pin, is_import=c.is_import,
        on=c.rate_date, declaration_id=c.declaration_id)
    errors.extend(fiscal_errors)

    # --- EAC Single Customs Territory transit (IM8): destination, route, e-seals, bond ----------
    for problems in events.publish(Event.DECLARATION_VALIDATING, payload=c.body, on=c.rate_date):
        errors.extend(problems)

    tariff_ready = not any(e.pointer in ("/currency",) for e in errors) and all(
        v is not None and v > 0 for v in c.customs_values)
    if tariff_ready:
        c.assessment, tariff_errors = _assess(data["currency"], c.rate_date, c.items)
        errors.extend(tariff_errors)


def _check_single_window(c: _Checked) -> None:
    """The single window IDF and UCR (services/idf.py)."""
    data = c.data
    taken = {e.pointer for e in c.errors}
    c.errors.extend(idf_problems(data=data, regime=c.regime, pin=c.pin, rate_date=c.rate_date, taken_pointers=taken,
                                 idf_lookup=c.lookups.idf))
    c.errors.extend(ucr_problems(ucr=data.get("ucr") or "", pin=c.pin,
                                 bill_of_lading=data.get("bill_of_lading") or "", rate_date=c.rate_date,
                                 declaration_id=c.declaration_id))


def _check_sandbox(c: _Checked) -> None:
    """The installed policy's own refusals (the training sandbox: a local reference starting with X)."""
    c.errors.extend(policy.current().lodging_errors(c.body))


# The section validators, in the order their problems are reported.
SECTIONS = (_check_header, _check_parties, _check_header_values, _check_items, _check_transport_document,
            _check_tariff, _check_single_window, _check_sandbox)


def declaration_prepare(
    *,
    agent: Any,
    body: Any,
    registered_at: dt.datetime,
    deadline_extension: dt.timedelta | None = None,
    declaration_id: Any = None,
    lookups: Lookups | None = None,
) -> PreparedDeclaration:
    """Validate a body for lodging. Structural problems raise at once; business problems are
    collected into `PreparedDeclaration.errors` by the section validators (`SECTIONS`), each
    adding to one list (the caller raises after merging the B/L ones). The one validation core of
    HTTP lodging, drafts, amendments and the contingency replay (`lookups`: where the per-declaration
    rows are read from)."""
    if not isinstance(body, dict):
        body_parse(body)  # raises with the serializer's "expected an object" error
    clean_body = {k: v for k, v in body.items() if k != "draft"}
    rate_date = timezone.localtime(registered_at).date()
    try:
        data = body_parse(clean_body)
    except ValidationFailed as exc:
        # Every problem at once, across phases: the field-level problems, plus the reference-data
        # problems of every field that did parse (an unknown HS code on item 0 is reported even
        # though item 1 has a negative value).
        raise ValidationFailed(errors=[*exc.errors, *parsed_fields_reference_errors(
            clean_body, failed={e.pointer for e in exc.errors}, agent=agent, on=rate_date)]) from None
    checked = _Checked(agent=agent, body=clean_body, data=data, registered_at=registered_at, rate_date=rate_date,
                       deadline_extension=deadline_extension, declaration_id=declaration_id,
                       lookups=lookups or DEFAULT_LOOKUPS)
    for section in SECTIONS:
        section(checked)
    return PreparedDeclaration(
        body=clean_body, data=data, registered_at=registered_at, rate_date=rate_date,
        exchange_rate=checked.exchange_rate, trader=checked.trader, office=checked.office,
        bill_of_lading=checked.bill_of_lading, late_entry=checked.late_entry,
        entry_deadline=checked.entry_deadline, deadline_extension=deadline_extension,
        items=tuple(checked.items),
        assessment=checked.assessment if checked.regime not in EXPORT_REGIMES else None,
        errors=tuple(checked.errors), exemption_draws=tuple(checked.exemption_draws),
    )


def _exchange_rate(currency: str, on: dt.date) -> Decimal | None:
    """The rate in force on the registration date, from the (cached) tariff book of that date: the
    same figure the assessment engine converts with."""
    return tariff_book(on).exchange_rates.get(currency)


def _assess(currency: str, on: dt.date, items: list[PreparedItem]) -> tuple[Any, list[ErrorItem]]:
    data = DeclarationInput(
        date=on,
        currency=currency,
        items=tuple(
            ItemInput(
                line_no=item.line_no,
                hs_code=hs_digits(item.hs_code),
                origin_country=item.origin_country,
                customs_value=item.customs_value,
                net_weight_kg=item.net_weight_kg,
                gross_weight_kg=item.gross_weight_kg,
                supplementary_quantity=item.supplementary_quantity,
                supplementary_unit=item.supplementary_unit or None,
                preference=item.preference or None,
                exemption=item.exemption or None,
                idf_reduced=item.idf_reduced,
                rdl_reduced=item.rdl_reduced,
            )
            for item in items
        ),
    )
    try:
        return assess(data, tariff_book(on)), []
    except AssessmentFailed as exc:
        return None, list(exc.errors) or [error(exc.code, exc.detail, "")]


def late_entry_penalty_kes() -> Decimal:
    return money(Decimal(str(settings.DECLARATION_LATE_ENTRY_PENALTY_KES)))
