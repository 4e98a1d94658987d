"""Load the vendored tariff data (tariff/data) into the database: HS 2022, the cleaned EAC CET
(see tariff/cet.py), Kenyan national measures and the seed exchange rates.

Idempotent upserts keyed on natural keys (HS code; line code + valid_from; line + source +
valid_from; measure kind + category + code + prefix + valid_from; currency + date), in batches.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl

from core.db import insert_rows
from reference.loaders import Progress, _noop, upsert
from tariff.cet import CetResult, parse_cet
from tariff.models import (
    CrspDepreciation,
    CrspEntry,
    CrspTemplate,
    DutyRate,
    ExchangeRate,
    HSNode,
    NationalMeasure,
    TariffLine,
)

DATA_DIR = Path(__file__).resolve().parent / "data"


def _csv(name: str, data_dir: Path = DATA_DIR) -> list[dict[str, str]]:
    with (data_dir / name).open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _dec(value: str) -> Decimal | None:
    return Decimal(value) if value.strip() else None


def load_hs(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    nodes = []
    for r in _csv("harmonized-system.csv", data_dir):
        level = int(r["level"])
        if level not in (2, 4, 6):
            continue  # the "TOTAL" root row
        parent = r["parent"] if level > 2 else None
        section = r["section"] if r["section"] != "TOTAL" else ""
        nodes.append(
            HSNode(code=r["hscode"], level=level, description=r["description"], parent_id=parent, section=section)
        )
    nodes.sort(key=lambda n: n.level)  # parents first (the FK is checked at commit anyway)
    return upsert(
        HSNode,
        nodes,
        unique_fields=["code"],
        update_fields=["level", "description", "parent", "section"],
        progress=progress,
    )


def parse_cet_file(data_dir: Path = DATA_DIR) -> CetResult:
    return parse_cet(_csv("eac_cet_2022_parsed.csv", data_dir))


def load_cet(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> CetResult:
    result = parse_cet_file(data_dir)
    subheadings = set(HSNode.objects.filter(level=6).values_list("code", flat=True))
    lines = [
        TariffLine(
            code=line.code,
            description=line.description,
            unit=line.unit,
            hs_subheading_id=line.code[:6] if line.code[:6] in subheadings else None,
            valid_from=line.valid_from,
            valid_to=line.valid_to,
        )
        for line in result.lines.values()
    ]
    upsert(
        TariffLine,
        lines,
        unique_fields=["code", "valid_from"],
        update_fields=["description", "unit", "hs_subheading", "valid_to"],
        progress=progress,
    )
    # Each rate belongs to the line version whose validity contains the rate's start.
    versions: dict[str, list[tuple[dt.date, dt.date | None, int]]] = {}
    for code, start, end, pk in TariffLine.objects.values_list("code", "valid_from", "valid_to", "id"):
        versions.setdefault(code, []).append((start, end, pk))
    rates = []
    for r in result.rates:
        line_id = next(
            (
                pk
                for start, end, pk in versions.get(r.code, ())
                if start <= r.valid_from and (end is None or r.valid_from <= end)
            ),
            None,
        )
        if line_id is None:
            result.unapplied.append(f"{r.code}: rate from {r.valid_from} has no line version; skipped")
            continue
        rates.append(
            DutyRate(
                tariff_line_id=line_id,
                kind=r.rate.kind,
                ad_valorem_rate=r.rate.ad_valorem_rate,
                specific_amount=r.rate.specific_amount,
                specific_currency=r.rate.specific_currency,
                specific_unit=r.rate.specific_unit,
                source=r.source,
                rate_text=r.rate_text[:200],
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
        )
    upsert(
        DutyRate,
        rates,
        unique_fields=["tariff_line", "source", "valid_from"],
        update_fields=[
            "kind",
            "ad_valorem_rate",
            "specific_amount",
            "specific_currency",
            "specific_unit",
            "rate_text",
            "valid_to",
        ],
        progress=progress,
    )
    return result


def load_national_measures(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    objs = [
        NationalMeasure(
            kind=r["kind"],
            category=r["category"],
            code=r["code"],
            hs_prefix=r["hs_prefix"],
            rate_kind=r["rate_kind"],
            ad_valorem_rate=_dec(r["ad_valorem_rate"]),
            specific_amount=_dec(r["specific_amount"]),
            specific_currency=r["specific_currency"],
            specific_unit=r["specific_unit"],
            description=r["description"],
            legal_reference=r["legal_reference"],
            valid_from=dt.date.fromisoformat(r["valid_from"]),
            valid_to=_date(r["valid_to"]),
        )
        for r in _csv("kenya_national_measures.csv", data_dir)
    ]
    return upsert(
        NationalMeasure,
        objs,
        unique_fields=["kind", "category", "code", "hs_prefix", "valid_from"],
        update_fields=[
            "rate_kind",
            "ad_valorem_rate",
            "specific_amount",
            "specific_currency",
            "specific_unit",
            "description",
            "legal_reference",
            "valid_to",
        ],
        progress=progress,
    )


def load_exchange_rates(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    objs = [
        ExchangeRate(
            currency_id=r["currency"], date=dt.date.fromisoformat(r["date"]), kes_per_unit=Decimal(r["kes_per_unit"])
        )
        for r in _csv("exchange_rates_seed.csv", data_dir)
    ]
    return upsert(
        ExchangeRate, objs, unique_fields=["currency", "date"], update_fields=["kes_per_unit"], progress=progress
    )


# ------------------------------------------------------------------------------------------------
# KRA CRSP workbook (motor vehicles, motor cycles, depreciation schedule, valuation tabulations)

CRSP_WORKBOOK = "kra_crsp_july_2025.xlsx"
CRSP_LIST_DATE = dt.date(2025, 7, 1)
_CRSP_SHEETS = {"M.Vehicle CRSP July 2025": "motor_vehicle", "Motor Cycles July 2025": "motor_cycle"}
_CRSP_TEMPLATE_SHEET = "TEMPLATE 2025"
# Title keywords of the "Direct Imports" tabulations -> our template code (first match wins).
_TEMPLATE_TITLES = (
    ("NOT EXCEEDING 1500CC", "up_to_1500cc"),
    ("EXCEEDING 1500CC", "over_1500cc"),  # its title also names 8703.24.90, as an exclusion
    ("8703.24.90", "large_engine"),
    ("ELECTRIC", "electric"),
    ("SCHOOL BUSES", "school_bus"),
    ("PRIME MOVERS", "prime_mover"),
    ("TRAILERS", "trailer"),
    ("AMBULANCE", "ambulance"),
    ("MOTOR CYCLES", "motor_cycle"),
    ("SPECIAL PURPOSE", "special_purpose"),
    ("HEAVY MACHINERIES", "heavy_machinery"),
)
_AGE_BAND = re.compile(r"^\s*>\s*(\d+)\s*<=\s*(\d+)\s*years?\s*$", re.IGNORECASE)
_AGE_YEARS = re.compile(r"^\s*(over\s+)?(\d+)\s*years?\s*$", re.IGNORECASE)
_DIVISOR = re.compile(r"/(\d+(?:\.\d+)?)")


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _money2(value: object) -> Decimal:
    # openpyxl gives floats for numeric cells; go through repr (shortest round-trip) to Decimal.
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class CrspWorkbook:
    entries: list[CrspEntry]
    depreciation: list[CrspDepreciation]
    templates: list[CrspTemplate]


def parse_crsp_workbook(path: Path) -> CrspWorkbook:
    """Read KRA's workbook (read-only, values): the price sheets, both depreciation tables and the
    customs-value formula of each "Direct Imports" tabulation (formulas kept, not evaluated)."""
    entries: list[CrspEntry] = []
    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for sheet_name, sheet in _CRSP_SHEETS.items():
            ws = wb[sheet_name]
            header: list[str] | None = None
            # The price is the 11th column (motor vehicles) or the 8th (motor cycles): no need to
            # read the empty trailing columns.
            for row_no, row in enumerate(ws.iter_rows(values_only=True, max_col=11), start=1):
                cells = [_text(c) for c in row]
                if header is None:
                    if cells and cells[0].lower() == "make":
                        header = [c.lower().replace(" ", "") for c in cells]
                    continue
                col = {name: cells[i] for i, name in enumerate(header) if name}
                price_key = next((k for k in col if k.startswith("crsp")), "")
                raw_price = row[header.index(price_key)] if price_key else None
                if not col.get("make") or not isinstance(raw_price, int | float) or raw_price <= 0:
                    continue  # blank and note rows
                entries.append(CrspEntry(
                    list_date=CRSP_LIST_DATE, sheet=sheet, row_no=row_no, make=col["make"].upper()[:60],
                    model=col.get("model", "").upper()[:120], model_number=col.get("modelnumber", "")[:60],
                    transmission=col.get("transmission", "")[:20], drive=col.get("driveconfiguration", "")[:20],
                    engine_capacity=col.get("enginecapacity", "")[:30], body_type=col.get("bodytype", "")[:40],
                    fuel=col.get("fuel", "").upper()[:20], crsp_kes=_money2(raw_price),
                ))
        depreciation: list[CrspDepreciation] = []
        templates: list[CrspTemplate] = []
        title = ""
        for row in wb[_CRSP_TEMPLATE_SHEET].iter_rows(values_only=True):
            cells = [_text(c) for c in row]
            # Depreciation tables: direct imports in columns B/C, previously registered in I/J.
            for label_col, rate_col, basis in ((1, 2, "direct_import"), (8, 9, "previously_registered")):
                label = cells[label_col] if len(cells) > rate_col else ""
                rate = row[rate_col] if len(row) > rate_col else None
                if not label or not isinstance(rate, int | float):
                    continue
                up_to: int | None
                if (m := _AGE_BAND.match(label)) is not None:
                    over, up_to = int(m.group(1)), int(m.group(2))
                elif (m := _AGE_YEARS.match(label.replace("years", " years"))) is not None:
                    years = int(m.group(2))
                    over, up_to = (years, None) if m.group(1) else (years - 1, years)
                else:
                    continue
                depreciation.append(CrspDepreciation(list_date=CRSP_LIST_DATE, basis=basis, age_over=over,
                                                     age_up_to=up_to, rate=_money2(rate * 100) / 100,
                                                     label=label[:40]))
            if len(cells) > 1 and cells[1].upper().startswith("TABULATION") and "DIRECT IMPORTS" in cells[1].upper():
                title = cells[1]
            elif title and len(cells) > 3 and cells[1].lower() == "customs value" and cells[3].startswith("="):
                code = next((c for key, c in _TEMPLATE_TITLES if key in title.upper()), "")
                factors = [Decimal(f) for f in _DIVISOR.findall(cells[3])]
                if code and factors:
                    divisor = Decimal(1)
                    for f in factors:
                        divisor *= f
                    templates.append(CrspTemplate(list_date=CRSP_LIST_DATE, code=code, title=title,
                                                  formula=cells[3][:200], divisor=divisor))
                title = ""
    finally:
        wb.close()
    return CrspWorkbook(entries=entries, depreciation=depreciation, templates=templates)


_CRSP_FIELDS = ("list_date", "sheet", "row_no", "make", "model", "model_number", "transmission", "drive",
                "engine_capacity", "body_type", "fuel", "crsp_kes")


def load_crsp(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    """The list's rows are replaced as a whole (nothing refers to them and the admin cannot edit
    them): one DELETE and one COPY, ~10x faster than an upsert of 5,700 rows on the test-session
    setup path. Depreciation and templates are upserted."""
    book = parse_crsp_workbook(data_dir / CRSP_WORKBOOK)
    CrspEntry.objects.filter(list_date=CRSP_LIST_DATE).delete()
    n = insert_rows(CrspEntry, _CRSP_FIELDS, [tuple(getattr(e, f) for f in _CRSP_FIELDS) for e in book.entries])
    progress(n)
    n += upsert(CrspDepreciation, book.depreciation, unique_fields=["list_date", "basis", "age_over"],
                update_fields=["age_up_to", "rate", "label"], progress=progress)
    n += upsert(CrspTemplate, book.templates, unique_fields=["list_date", "code"],
                update_fields=["title", "formula", "divisor"], progress=progress)
    return n
