"""Load the vendored tariff data (tariff/data) into the database: HS 2022, the cleaned EAC CET
(see tariff/cet.py), Kenyan national measures and the seed exchange rates.

Idempotent upserts keyed on natural keys (HS code; line code + valid_from; line + source +
valid_from; measure kind + category + code + prefix + valid_from; currency + date), in batches.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

from reference.loaders import Progress, _noop, upsert
from tariff.cet import CetResult, parse_cet
from tariff.models import DutyRate, ExchangeRate, HSNode, NationalMeasure, TariffLine

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
