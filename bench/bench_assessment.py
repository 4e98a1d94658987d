"""Tariff assessment benchmark (pure, single process = one core; about 10 s).

1. Assessments per second of a 20-item declaration (`tariff.assessment.assess`, USD, vehicles,
   compound rice and sugar, specific beer/cigarette excise, EAC-origin and exempt items), on a
   TariffBook holding the whole real tariff (5,940 CET lines, Kenyan measures, seed exchange
   rates) built from the vendored files without a database. Goal: >= 5,000/s per core.
   Baseline in the same run: the bare arithmetic of the same declaration (for each item: convert
   the value, five ad valorem taxes, quantize each, build a tuple), i.e. the Decimal work no
   engine can avoid; the ratio says what rules, lookups, compound/specific logic and result
   objects cost on top.
2. Cached tariff lookups per second: `tariff.selectors.tariff_book(on)` on a warm cache (the call
   every assessment makes) and `book.rules(code)` (resolved line + measures). Goal: >= 200,000/s.
   Baseline: a plain dict lookup of the same keys.

Run: .venv/bin/python bench/bench_assessment.py   (prints JSON; `main()` returns the dict)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from reference.models import EAC_PARTNER_STATES  # noqa: E402
from tariff import selectors  # noqa: E402
from tariff.assessment import (  # noqa: E402
    DeclarationInput,
    ItemInput,
    LineEntry,
    Measure,
    RateRule,
    TariffBook,
    assess,
)
from tariff.cet import parse_cet  # noqa: E402
from tariff.models import DutyRate  # noqa: E402

DATA = ROOT / "tariff" / "data"
ON = dt.date(2025, 7, 1)
D = Decimal


def _in_force(start: dt.date, end: dt.date | None) -> bool:
    return start <= ON and (end is None or end >= ON)


def book_from_files(on: dt.date = ON) -> TariffBook:
    """The same book `tariff.selectors.build_tariff_book` builds, from the vendored files."""
    with (DATA / "eac_cet_2022_parsed.csv").open(newline="", encoding="utf-8") as fh:
        cet = parse_cet(csv.DictReader(fh))
    best: dict[str, tuple[tuple[int, dt.date], RateRule]] = {}
    for r in cet.rates:
        if not _in_force(r.valid_from, r.valid_to):
            continue
        rank = (DutyRate.SOURCE_PRECEDENCE[r.source], r.valid_from)
        if r.code not in best or rank > best[r.code][0]:
            p = r.rate
            rule = RateRule(
                p.kind, p.ad_valorem_rate, p.specific_amount, p.specific_currency, p.specific_unit, r.source
            )
            best[r.code] = (rank, rule)
    lines = {
        line.code: LineEntry(line.code, line.description, line.unit, best[line.code][1] if line.code in best else None)
        for line in cet.lines.values()
        if _in_force(line.valid_from, line.valid_to)
    }
    measures = []
    with (DATA / "kenya_national_measures.csv").open(newline="", encoding="utf-8") as fh:
        for m in csv.DictReader(fh):
            if not _in_force(dt.date.fromisoformat(m["valid_from"]), None):
                continue
            measure_rule: RateRule | None = None
            if m["kind"] != "exemption":
                av = D(m["ad_valorem_rate"]) if m["ad_valorem_rate"] else None
                amount = D(m["specific_amount"]) if m["specific_amount"] else None
                measure_rule = RateRule(
                    m["rate_kind"], av, amount, m["specific_currency"] or "KES", m["specific_unit"], m["kind"]
                )
            measures.append(
                Measure(m["kind"], m["category"], m["hs_prefix"], measure_rule, m["code"], m["description"])
            )
    rates: dict[str, Decimal] = {}
    with (DATA / "exchange_rates_seed.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if dt.date.fromisoformat(row["date"]) <= on:
                rates[row["currency"]] = D(row["kes_per_unit"])  # rows are in date order
    return TariffBook(
        on=on, lines=lines, measures=tuple(measures), exchange_rates=rates, eac_partners=EAC_PARTNER_STATES
    )


def declaration() -> DeclarationInput:
    specs = [
        ("8703.22.90", "JP", "8500", {}),
        ("8703.23.90", "JP", "14000", {}),
        ("8703.24.90", "GB", "42000", {}),
        ("8703.33.90", "DE", "39000", {}),
        ("8703.80.90", "CN", "23000", {}),
        ("1006.30.00", "PK", "9800", {"net_weight_kg": D("25000")}),
        ("1006.30.00", "IN", "31000", {"net_weight_kg": D("25000")}),
        ("1701.99.90", "BR", "12000", {"net_weight_kg": D("40000")}),
        ("2203.00.90", "ZA", "6400", {"supplementary_quantity": D("4800"), "supplementary_unit": "LTR"}),
        ("2402.20.90", "AE", "15500", {"supplementary_quantity": D("500"), "supplementary_unit": "MIL"}),
        ("1704.90.00", "UG", "3100", {"net_weight_kg": D("1800"), "preference": "EAC"}),
        ("8471.30.00", "CN", "18250", {}),
        ("8517.13.00", "CN", "52000", {}),
        ("6109.10.00", "BD", "7400", {}),
        ("3004.90.00", "IN", "26000", {}),
        ("8506.90.00", "CN", "1200", {"idf_reduced": True}),
        ("7213.91.10", "TR", "21000", {"net_weight_kg": D("60000")}),
        ("6309.00.10", "GB", "4100", {"net_weight_kg": D("12000")}),
        ("0401.20.00", "TZ", "2500", {"preference": "EAC"}),
        ("8703.22.90", "JP", "9100", {"exemption": "DIPLOMATIC"}),
    ]
    items = tuple(
        ItemInput(line_no=n, hs_code=code, origin_country=origin, customs_value=D(value), **kw)  # type: ignore[arg-type]
        for n, (code, origin, value, kw) in enumerate(specs, start=1)
    )
    return DeclarationInput(date=ON, currency="USD", items=items)


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn` over about `seconds` (best of 3 slices, warm)."""
    fn()
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        deadline = start + seconds / 3
        while True:
            for _ in range(50):
                fn()
            n += 50
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def main(seconds: float = 3.0) -> dict[str, object]:
    book = book_from_files()
    data = declaration()
    result = assess(data, book)  # validates the declaration once (raises on any problem)
    cent = D("0.01")
    fx = book.exchange_rates["USD"]
    fractions = (D("0.25"), D("0.20"), D("0.16"), D("0.025"), D("0.02"))

    def baseline_arith() -> tuple[Decimal, ...]:
        out = []
        for it in data.items:
            value = it.customs_value * fx
            for f in fractions:
                out.append((value * f).quantize(cent, rounding=ROUND_HALF_UP))
        return tuple(out)

    assess_rate = _rate(lambda: assess(data, book), seconds)
    arith_rate = _rate(baseline_arith, seconds / 2)

    # Warm selector cache, as in a running web/worker process (no DB: the book is pre-seeded).
    selectors._books[ON] = book
    selectors._state["version"] = selectors.cache.get(selectors.TARIFF_VERSION_KEY, 0)
    selectors._state["checked_at"] = time.monotonic() + 3600  # measure the hot path only
    codes = [it.hs_code.replace(".", "") for it in data.items]
    plain = {c: book.lines[c] for c in codes}
    idx = {"i": 0}

    def book_lookup() -> object:
        return selectors.tariff_book(ON)

    def rules_lookup() -> object:
        i = idx["i"] = (idx["i"] + 1) % 20
        return book.rules(codes[i])

    def dict_lookup() -> object:
        i = idx["i"] = (idx["i"] + 1) % 20
        return plain[codes[i]]

    book_rate = _rate(book_lookup, seconds / 2)
    rules_rate = _rate(rules_lookup, seconds / 2)
    dict_rate = _rate(dict_lookup, seconds / 2)
    details = {
        "items_per_declaration": len(data.items),
        "tax_lines_per_declaration": len(result.lines),
        "declaration_total_kes": str(result.totals.total),
        "tariff_lines_in_book": len(book.lines),
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
    }
    results = [
        {
            "scenario": "assess a 20-item declaration (pure, 1 core)",
            "metric": "assessments_per_s_per_core",
            "unit": "/s",
            "value": round(assess_rate, 1),
            "baseline_name": "bare Decimal arithmetic of the same declaration",
            "baseline": round(arith_rate, 1),
            "ratio": round(assess_rate / arith_rate, 4),
            "goal": ">= 5,000/s",
            "goal_met": assess_rate >= 5000,
        },
        {
            "scenario": "tariff_book(date), warm cache",
            "metric": "tariff_book_lookups_per_s",
            "unit": "/s",
            "value": round(book_rate, 1),
            "baseline_name": "plain dict lookup",
            "baseline": round(dict_rate, 1),
            "ratio": round(book_rate / dict_rate, 4),
            "goal": ">= 200,000/s",
            "goal_met": book_rate >= 200_000,
        },
        {
            "scenario": "book.rules(code): resolved line + measures, warm",
            "metric": "line_rules_lookups_per_s",
            "unit": "/s",
            "value": round(rules_rate, 1),
            "baseline_name": "plain dict lookup",
            "baseline": round(dict_rate, 1),
            "ratio": round(rules_rate / dict_rate, 4),
            "goal": ">= 200,000/s",
            "goal_met": rules_rate >= 200_000,
        },
    ]
    figures: dict[str, object] = {"benchmark": "assessment", "results": results, "details": details}
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
