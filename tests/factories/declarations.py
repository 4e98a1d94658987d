"""A small declaration world: reference codes, tariff lines and rates, an agent with a token
authorised for an importer, and a lodged manifest with a B/L consigned to that importer.

Every row is created only when missing, so the same helpers work on an empty test database
(transactional tests) and on one holding the full reference data (session fixture).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import factory

from core import clock
from declarations.models import ImportDeclarationForm
from manifests.enums import ManifestStatus
from manifests.models import BillOfLading, Manifest
from reference.models import Currency, CustomsOffice, PackageKind
from tariff.models import DutyRate, ExchangeRate, NationalMeasure, RateKind, TariffLine
from tests.factories.manifests import BillOfLadingFactory, ManifestFactory, reference_rows
from tests.factories.reference import (
    CountryFactory,
    CurrencyFactory,
    CustomsOfficeFactory,
    LocationFactory,
    PackageKindFactory,
    UnitFactory,
)
from tests.factories.traders import AgentAuthorisationFactory, TraderFactory, agent_with_token
from traders.models import AgentStaff, ClearingAgent, Trader

# Rates of the test codes (EAC CET 2022 schedule 1 + Kenyan measures, tariff/data): (duty %, excise %, VAT %).
# The tests compute expected taxes from this table, independently of the engine.
TEST_RATES: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "8703.22.90": (Decimal(35), Decimal(20), Decimal(16)),  # cars 1000-1500 cc: Kenya 35 %, excise 20 %
    "8708.99.00": (Decimal(10), Decimal(0), Decimal(16)),  # vehicle parts
    "3926.90.90": (Decimal(25), Decimal(0), Decimal(16)),  # other articles of plastics
    "8471.30.00": (Decimal(0), Decimal(0), Decimal(16)),  # laptops
    "9403.60.00": (Decimal(35), Decimal(0), Decimal(16)),  # wooden furniture
    "3004.90.00": (Decimal(0), Decimal(0), Decimal(0)),  # medicaments: VAT exempt
}
_CET_RATES = {"87032290": 25, "87089900": 10, "39269090": 25, "84713000": 0, "94036000": 35, "30049000": 0}
IDF_RATE = Decimal("2.5")
RDL_RATE = Decimal(2)
USD_RATE = Decimal("129.400000")  # tariff/data seed for 2026-11 (used when the seed is not loaded)
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def reference_codes() -> None:
    reference_rows()
    for code in ("JP", "KE", "CN", "US", "UG", "DE", "IN"):
        CountryFactory(code=code)
    for code in ("KES", "USD", "EUR", "XAU"):
        CurrencyFactory(code=code)
    CustomsOfficeFactory(code="JKA", name="JKIA", location=LocationFactory(unlocode="KENBO"))
    for code in ("NE", "CT", "PK", "BX"):
        PackageKindFactory(code=code)
    for code in ("NAR", "KGM", "LTR"):
        UnitFactory(code=code)


def tariff_rows(on: dt.date | None = None) -> Decimal:
    """Tariff lines, rates and measures for TEST_RATES when missing; returns the USD rate in force."""
    from reference import selectors as reference_selectors
    from tariff import selectors as tariff_selectors

    start = dt.date(2022, 7, 1)
    for code, cet in _CET_RATES.items():
        if not TariffLine.objects.filter(code=code).exists():
            line = TariffLine.objects.create(code=code, description=f"Line {code}", unit="u", valid_from=start)
            DutyRate.objects.create(tariff_line=line, kind=RateKind.AD_VALOREM, ad_valorem_rate=Decimal(cet),
                                    valid_from=start, rate_text=f"{cet}%")
    if not NationalMeasure.objects.exists():
        measures: list[tuple[str, str, str, Decimal]] = [
            ("vat", "standard", "", Decimal(16)),
            ("vat", "exempt", "3004", Decimal(0)),
            ("idf", "standard", "", IDF_RATE),
            ("idf", "reduced", "", Decimal("1.5")),
            ("rdl", "standard", "", RDL_RATE),
            ("rdl", "reduced", "", Decimal("1.5")),
            ("excise", "standard", "8703", Decimal(25)),
            ("excise", "standard", "870322", Decimal(20)),
            ("vehicle_duty", "standard", "8703", Decimal(35)),
            ("eac_preference", "standard", "", Decimal(0)),
        ]
        for kind, category, prefix, rate in measures:
            NationalMeasure.objects.create(kind=kind, category=category, hs_prefix=prefix,
                                           rate_kind=RateKind.AD_VALOREM, ad_valorem_rate=rate,
                                           description=f"{kind} {prefix}", valid_from=start)
    day = on or clock.today()
    usd = Currency.objects.get(code="USD")
    row = ExchangeRate.objects.filter(currency=usd, date__lte=day).order_by("-date").first()
    if row is None or (day - row.date).days > 40:
        row, _ = ExchangeRate.objects.get_or_create(currency=usd, date=day.replace(day=1),
                                                    defaults={"kes_per_unit": USD_RATE})
    tariff_selectors.clear_local_cache()
    reference_selectors.clear_cache()
    return row.kes_per_unit


@dataclass
class World:
    agent: ClearingAgent
    staff: AgentStaff
    token: str
    trader: Trader
    manifest: Manifest
    bl: BillOfLading
    usd_rate: Decimal

    @property
    def user(self) -> Any:
        return self.staff.user

    @property
    def auth(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Token {self.token}"}


_counter = {"n": 0}


def world_create(*, pin: str | None = None, bl_packages: int = 100, bl_weight: str = "100000.000",
                 discharged_days_ago: int | None = 2, agent: ClearingAgent | None = None) -> World:
    reference_codes()
    usd_rate = tariff_rows()
    _counter["n"] += 1
    staff, token = agent_with_token(agent=agent)
    trader = TraderFactory(pin=pin) if pin else TraderFactory()
    AgentAuthorisationFactory(agent=staff.agent, trader=trader, valid_from=dt.date(2024, 1, 1))
    now = clock.now()
    discharged = now - dt.timedelta(days=discharged_days_ago) if discharged_days_ago is not None else None
    manifest = ManifestFactory(
        office_of_discharge=CustomsOffice.objects.get(code="MBA"),
        status=ManifestStatus.DISCHARGED if discharged else ManifestStatus.LODGED,
        ata=discharged, discharged_at=discharged,
        eta=(discharged or now + dt.timedelta(days=3)) - dt.timedelta(hours=6),
    )
    bl = BillOfLadingFactory(manifest=manifest, consignee_pin=trader.pin, packages=bl_packages,
                             gross_weight_kg=Decimal(bl_weight), package_kind=PackageKind.objects.get(code="CT"))
    return World(
        agent=staff.agent, staff=staff, token=token, usd_rate=usd_rate,
        trader=trader,  # type: ignore[arg-type]
        manifest=manifest,  # type: ignore[arg-type]
        bl=bl,  # type: ignore[arg-type]
    )


ITEM_CODES = ("8703.22.90", "8708.99.00", "3926.90.90", "8471.30.00", "9403.60.00", "3004.90.00")


def item(n: int = 0, **overrides: Any) -> dict[str, Any]:
    code = ITEM_CODES[n % len(ITEM_CODES)]
    body: dict[str, Any] = {
        "hs_code": code,
        "description": f"Item {n} of heading {code[:4]}",
        "origin_country": "JP" if n % 3 else "CN",
        "packages": 1 + n % 4,
        "package_kind": "CT",
        "gross_weight_kg": f"{100 + n * 7}.500",
        "net_weight_kg": f"{95 + n * 7}.250",
        "supplementary_quantity": str(1 + n % 4),
        "supplementary_unit": "NAR",
        "customs_value": f"{1000 + n * 137}.{(n * 13) % 100:02d}",
    }
    body.update(overrides)
    if "vehicle" not in body and body["hs_code"].replace(".", "").startswith(("8702", "8703", "8704", "8705")):
        body["vehicle"] = vehicle()  # iCMS: a motor vehicle item carries its particulars
    return body


def vehicle(**overrides: Any) -> dict[str, Any]:
    """Particulars of a used 1496 cc Toyota Corolla Axio (on KRA's CRSP list), 3 years old by the
    test clock; the chassis number stands in for a VIN, as on most Japanese used imports."""
    body: dict[str, Any] = {
        "chassis_number": "NKE165-7012345",
        "make": "TOYOTA",
        "model": "COROLLA AXIO",
        "year_of_manufacture": clock.today().year - 3,
        "engine_capacity_cc": 1496,
        "fuel": "petrol",
        "condition": "used",
    }
    body.update(overrides)
    return body


class ImportDeclarationFormFactory(factory.django.DjangoModelFactory[ImportDeclarationForm]):
    """An IDF on the simulated single window (numbers E + year + 9 digits, by sequence)."""

    class Meta:
        model = ImportDeclarationForm

    number = factory.Sequence(lambda n: f"E{clock.today().year % 100:02d}{700_000_000 + n:09d}")
    importer_pin = factory.Sequence(lambda n: f"P{51_000_000 + n:09d}Z")
    currency = "USD"
    value = Decimal("1000.00")
    hs_codes = factory.LazyFunction(lambda: sorted(code.replace(".", "") for code in ITEM_CODES))
    issued_on = factory.LazyFunction(lambda: clock.today() - dt.timedelta(days=30))
    created_at = factory.LazyFunction(clock.now)


def idf_for(body: dict[str, Any]) -> ImportDeclarationForm:
    """An IDF that matches an import body: its importer, currency and invoice amount, and every HS
    code of the body plus the test codes (so a test may still change the items afterwards)."""
    codes = {code.replace(".", "") for code in ITEM_CODES}
    codes |= {str(it.get("hs_code", "")).replace(".", "") for it in body.get("items") or []}
    return ImportDeclarationFormFactory(  # type: ignore[return-value]
        importer_pin=body.get("importer_pin") or "", currency=body.get("currency") or "USD",
        # a zero invoice (a test of value_not_positive) or one that is not a number at all (a test of
        # the money parser) still gets a valid IDF
        value=max(_idf_value(body.get("invoice_amount")), Decimal("1.00")), hs_codes=sorted(codes))


def _idf_value(invoice_amount: Any) -> Decimal:
    try:
        value = Decimal(str(invoice_amount or "1000.00"))
    except InvalidOperation:
        return Decimal("1000.00")
    return value if value.is_finite() else Decimal("1000.00")


def body_im4(world: World, *, items: int = 1, currency: str = "USD", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "regime": "IM4",
        "cpc": "4000000",
        "office": "MBA",
        "importer_pin": world.trader.pin,
        "local_reference": "AGT-2026-000123",
        "bill_of_lading": world.bl.number,
        "currency": currency,
        "invoice_amount": "1000.00",
        "freight_amount": "0.00",
        "insurance_amount": "0.00",
        "incoterm": "CIF",
        "country_of_export": "JP",
        "items": [item(n) for n in range(items)],
    }
    body.update(overrides)
    if "idf_number" not in overrides and body["regime"] in ("IM4", "IM5", "IM6", "IM7"):
        # Imports quote a single-window IDF (DECLARATION_IDF_REGIMES): one that matches this body.
        body["idf_number"] = idf_for(body).number
    return body


def expected_taxes(items: list[dict[str, Any]], rate: Decimal) -> dict[str, Decimal]:
    """Taxes from TEST_RATES by the one rounding rule, written out independently of the engine:
    each line is its base x rate rounded half-up, bases chain the rounded figures, totals are the
    sums of the lines (docs/declarations.md "Rounding")."""
    out = dict.fromkeys(("import_duty", "excise_duty", "vat", "idf", "rdl"), Decimal("0.00"))
    for it in items:
        duty_pct, excise_pct, vat_pct = TEST_RATES[it["hs_code"]]
        value = money(Decimal(it["customs_value"]) * rate)
        duty = money(value * duty_pct / 100)
        excise = money((value + duty) * excise_pct / 100)
        vat = money((value + duty + excise) * vat_pct / 100)
        out["import_duty"] += duty
        out["excise_duty"] += excise
        out["vat"] += vat
        out["idf"] += money(value * IDF_RATE / 100)
        out["rdl"] += money(value * RDL_RATE / 100)
    out["total"] = sum(out.values(), Decimal("0.00"))
    return out

