"""Parse and clean the EAC CET 2022 text conversion (tariff/data/eac_cet_2022_parsed.csv).

Pure functions over CSV rows, no database: the loader writes what `parse_cet` returns, and the
tests check the cleaning directly. Every defect listed in the data README is handled here and
recorded in `CetResult.fixes` (one line per repaired row) so a reload can be audited:

- Schedule 1 "SI" means "sensitive item, see Schedule 2": the Schedule 2 row gives the rate.
- Rate text is not uniform: "25% or $200/MT whichever is higher", "100 %or $ 460/MT whichever is
  higher", "35% or USD 0.40/kg whichever is higher"; a compound rate split across cells
  ("25% or" with the rest on a neighbouring row, "whichever 25% or", "... is higher" without
  "whichever"); a duplicated cell "10% 10%"; nine empty rates.
  Split compound rates are completed from the nearest complete compound rate with the same
  percentage in the same chapter; empty rates take the rate shared by every other line of the
  same heading (all nine headings are unanimous, checked here, else the line gets no rate and the
  assessment reports `duty_rate_missing`).
- Amendment rows (gazette notices of the June 2023 update, in force from AMENDMENT_DATE) change
  existing lines. The Schedule 1 text is already consolidated, so an amendment end-dates the
  Schedule 1 rate the day before and starts an `amendment` rate; where the notice states a single
  old rate ("from 0% to 10%") the Schedule 1 row carries that old rate, so the change really takes
  effect on its date. Deleted/split lines are closed and their replacements open on that date.
- Units are normalised ("Kg" -> "kg", "kg kg" -> "kg").
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

CET_START = dt.date(2022, 7, 1)  # EAC CET 2022 version in force from 1 July 2022
AMENDMENT_DATE = dt.date(2023, 7, 1)  # EAC Gazette notices of June 2023, FY 2023/24
BEFORE_AMENDMENT = AMENDMENT_DATE - dt.timedelta(days=1)


@dataclass(frozen=True)
class ParsedRate:
    kind: str  # ad_valorem / specific / compound
    ad_valorem_rate: Decimal | None = None
    specific_amount: Decimal | None = None
    specific_currency: str = ""
    specific_unit: str = ""

    def text(self) -> str:
        av = f"{self.ad_valorem_rate.normalize():f}%" if self.ad_valorem_rate is not None else ""
        if self.kind == "ad_valorem":
            return av
        sp = f"{self.specific_currency} {self.specific_amount}/{self.specific_unit}"
        return sp if self.kind == "specific" else f"{av} or {sp} whichever is higher"


@dataclass(frozen=True)
class CetRate:
    code: str  # 8 digits
    source: str  # schedule1 / schedule2 / amendment
    rate: ParsedRate
    rate_text: str
    valid_from: dt.date
    valid_to: dt.date | None = None


@dataclass
class CetLine:
    code: str
    description: str
    unit: str
    valid_from: dt.date = CET_START
    valid_to: dt.date | None = None


@dataclass
class CetResult:
    lines: dict[tuple[str, dt.date], CetLine] = field(default_factory=dict)
    rates: list[CetRate] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    unapplied: list[str] = field(default_factory=list)

    def rates_for(self, code: str) -> list[CetRate]:
        return [r for r in self.rates if r.code == code]


_AD_VALOREM = re.compile(r"(\d+(?:\.\d+)?)%")
_REPEATED = re.compile(r"(\d+(?:\.\d+)?%)(?: \1)+")
_COMPOUND = re.compile(
    r"(\d+(?:\.\d+)?)% or (?:\$|USD) ?(\d+(?:\.\d+)?) ?/ ?(MT|kg)(?: whichever)?(?: is)?(?: higher)?",
    re.IGNORECASE,
)
_INCOMPLETE_COMPOUND = re.compile(r"(?:whichever )?(\d+(?:\.\d+)?)% or(?: whichever)?")
_CHANGE = re.compile(r"\b(?:increase|increased|reduce|reduced)\b", re.IGNORECASE)
_TO_RATE = re.compile(r"\bto (\d+(?:\.\d+)?) ?%", re.IGNORECASE)
_FROM_RATE = re.compile(r"from (\d+(?:\.\d+)?) ?% to", re.IGNORECASE)
_NEW_DESCRIPTION = re.compile(r"Amended the description to read '\s*([^']+?)\s*'")

# Structural amendments (deleted/split lines): free prose in the notice, so spelled out here.
# old codes closed the day before AMENDMENT_DATE -> replacement codes opened on it.
STRUCTURAL_AMENDMENTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("48211010", "48211090"), ("48211000",)),
    (("48041910", "48041990"), ("48041900",)),
    (("48115910", "48115990"), ("48115900",)),
    (("87038000",), ("87038010", "87038090")),
)


def normalise_code(text: str) -> str:
    return text.replace(".", "").replace(" ", "").strip()


def _squash(text: str) -> str:
    text = text.replace("\u00a0", " ")
    text = re.sub(r"\s*%\s*", "% ", text)  # "100 %or" -> "100% or"
    text = re.sub(r"\$\s+", "$", text)  # "$ 460" -> "$460"
    return re.sub(r"\s+", " ", text).strip()


def parse_rate_text(raw: str) -> ParsedRate | None:
    """A clean rate, or None if the text is empty/incomplete (the caller repairs those)."""
    text = _squash(raw)
    if not text:
        return None
    m = _REPEATED.fullmatch(text)
    if m:
        text = m.group(1)
    m = _AD_VALOREM.fullmatch(text)
    if m:
        return ParsedRate(kind="ad_valorem", ad_valorem_rate=Decimal(m.group(1)))
    m = _COMPOUND.fullmatch(text)
    if m:
        unit = "MT" if m.group(3).upper() == "MT" else "kg"
        return ParsedRate(
            kind="compound",
            ad_valorem_rate=Decimal(m.group(1)),
            specific_amount=Decimal(m.group(2)),
            specific_currency="USD",
            specific_unit=unit,
        )
    return None


def _incomplete_compound_percent(raw: str) -> Decimal | None:
    m = _INCOMPLETE_COMPOUND.fullmatch(_squash(raw))
    return Decimal(m.group(1)) if m else None


def normalise_unit(raw: str) -> str:
    unit = re.sub(r"\s+", " ", raw).strip()
    parts = unit.split(" ")
    if len(parts) == 2 and parts[0].lower() == parts[1].lower():
        unit = parts[0]
    return "kg" if unit.lower() == "kg" else unit


def parse_cet(rows: Iterable[Mapping[str, str]]) -> CetResult:
    result = CetResult()
    schedule1: list[dict[str, str]] = []
    schedule2: dict[str, dict[str, str]] = {}
    amendments: list[dict[str, str]] = []
    for row in rows:
        r = dict(row)
        r["code"] = normalise_code(r["hs_code"])
        {"schedule1": schedule1, "amendments": amendments}.get(r["part"], []).append(r)
        if r["part"] == "schedule2":
            schedule2[r["code"]] = r

    parsed: dict[str, ParsedRate | None] = {}
    for r in schedule1:
        unit = normalise_unit(r["unit"])
        if unit != r["unit"]:
            result.fixes.append(f"{r['code']}: unit {r['unit']!r} -> {unit!r}")
        result.lines[(r["code"], CET_START)] = CetLine(code=r["code"], description=r["description"].strip(), unit=unit)
        if r["rate"].strip() == "SI":
            continue
        rate = parse_rate_text(r["rate"])
        if (
            rate is not None
            and _squash(r["rate"]) != _squash(rate.text())
            and not _COMPOUND.fullmatch(_squash(r["rate"]))
        ):
            result.fixes.append(f"{r['code']}: rate {r['rate']!r} -> {rate.text()!r}")
        parsed[r["code"]] = rate

    # Split compound rates: complete from the nearest full compound of the same % in the chapter.
    codes = [r["code"] for r in schedule1]
    for i, r in enumerate(schedule1):
        if parsed.get(r["code"]) is not None or r["rate"].strip() in ("SI", ""):
            continue
        percent = _incomplete_compound_percent(r["rate"])
        if percent is None:
            continue
        donor = None
        for dist in range(1, len(codes)):
            for j in (i - dist, i + dist):
                if 0 <= j < len(codes) and codes[j][:2] == r["code"][:2]:
                    cand = parsed.get(codes[j])
                    if cand is not None and cand.kind == "compound" and cand.ad_valorem_rate == percent:
                        donor = cand
                        break
            if donor is not None or (i - dist < 0 and i + dist >= len(codes)):
                break
        if donor is not None:
            parsed[r["code"]] = donor
            result.fixes.append(f"{r['code']}: split compound rate {r['rate']!r} -> {donor.text()!r}")

    # Empty rates: the rate shared by every sibling line, closest group first (same subheading,
    # same one-dash group, same heading).
    groups: dict[str, list[str]] = defaultdict(list)
    for r in schedule1:
        for n in (6, 5, 4):
            groups[r["code"][:n]].append(r["code"])
    for r in schedule1:
        if r["rate"].strip() != "" or parsed.get(r["code"]) is not None:
            continue
        for n in (6, 5, 4):
            siblings = {parsed.get(c) for c in groups[r["code"][:n]] if c != r["code"]}
            siblings.discard(None)
            if len(siblings) == 1:
                donor = siblings.pop()
                assert donor is not None
                parsed[r["code"]] = donor
                result.fixes.append(f"{r['code']}: empty rate -> {donor.text()!r} (shared by {r['code'][:n]})")
                break
        else:
            result.unapplied.append(f"{r['code']}: empty rate, heading not unanimous; no duty rate loaded")

    for code, rate in parsed.items():
        if rate is not None:
            result.rates.append(
                CetRate(code=code, source="schedule1", rate=rate, rate_text=rate.text(), valid_from=CET_START)
            )
        elif (code, CET_START) in result.lines and not any(code in u for u in result.unapplied):
            result.unapplied.append(f"{code}: rate text not understood; no duty rate loaded")

    # Schedule 2 overrides Schedule 1 ("SI").
    for code, r in schedule2.items():
        rate = parse_rate_text(r["rate"])
        if rate is None:
            result.unapplied.append(f"{code}: schedule 2 rate {r['rate']!r} not understood")
            continue
        if (code, CET_START) not in result.lines:
            result.lines[(code, CET_START)] = CetLine(code=code, description=r["description"].strip(), unit="")
        result.rates = [x for x in result.rates if x.code != code]
        result.rates.append(
            CetRate(code=code, source="schedule2", rate=rate, rate_text=_squash(r["rate"]), valid_from=CET_START)
        )
        result.fixes.append(f"{code}: schedule 2 rate {rate.text()!r} overrides schedule 1")

    _apply_amendments(result, amendments)
    return result


def _close_rates(result: CetResult, code: str, old_rate: Decimal | None) -> ParsedRate | None:
    """End the line's open rates the day before the amendment; return the last one."""
    last = None
    kept: list[CetRate] = []
    for r in result.rates:
        if r.code == code and r.valid_to is None and r.source != "amendment":
            rate = r.rate
            if old_rate is not None and rate.kind == "ad_valorem":
                rate = ParsedRate(kind="ad_valorem", ad_valorem_rate=old_rate)
            r = CetRate(
                code=code,
                source=r.source,
                rate=rate,
                rate_text=rate.text(),
                valid_from=r.valid_from,
                valid_to=BEFORE_AMENDMENT,
            )
            last = r.rate
        kept.append(r)
    result.rates = kept
    return last


def _apply_amendments(result: CetResult, amendments: list[dict[str, str]]) -> None:
    structural_old = {c for olds, _ in STRUCTURAL_AMENDMENTS for c in olds}
    for a in amendments:
        code, text = a["code"], _squash(a["rate"])
        if code in structural_old:
            continue
        line = result.lines.get((code, CET_START))
        m_desc = _NEW_DESCRIPTION.search(a["rate"])
        if m_desc and line is not None:
            line.description = (
                "--- " + m_desc.group(1).strip() if line.description.startswith("---") else m_desc.group(1)
            )
            result.fixes.append(f"{code}: amendment description -> {m_desc.group(1)!r}")
        tos = _TO_RATE.findall(text) if _CHANGE.search(text) else []
        if not tos:
            if not m_desc and normalise_code(a["rate"]) != code:
                result.unapplied.append(f"{code}: amendment {a['rate'][:60]!r} not understood; ignored")
            continue
        if line is None:
            result.unapplied.append(f"{code}: amendment for a code without a tariff line; ignored")
            continue
        froms = _FROM_RATE.findall(text)
        old_rate = Decimal(froms[0]) if len(froms) == 1 and " and " not in text.split(" to ")[0] else None
        _close_rates(result, code, old_rate)
        amended = ParsedRate(kind="ad_valorem", ad_valorem_rate=Decimal(tos[-1]))
        result.rates.append(
            CetRate(code=code, source="amendment", rate=amended, rate_text=text, valid_from=AMENDMENT_DATE)
        )
        result.fixes.append(f"{code}: amendment from {AMENDMENT_DATE}: {amended.text()}")

    for olds, news in STRUCTURAL_AMENDMENTS:
        new_rates: dict[str, ParsedRate] = {}
        for new in news:
            line = result.lines.pop((new, CET_START), None)
            if line is None:
                result.unapplied.append(f"{new}: replacement line missing from schedule 1")
                continue
            line.valid_from = AMENDMENT_DATE
            result.lines[(new, AMENDMENT_DATE)] = line
            moved = []
            for r in result.rates:
                if r.code == new and r.valid_from == CET_START:
                    r = CetRate(
                        code=new, source="amendment", rate=r.rate, rate_text=r.rate_text, valid_from=AMENDMENT_DATE
                    )
                    new_rates[new] = r.rate
                moved.append(r)
            result.rates = moved
        # The deleted lines existed until the day before; their rate is taken from the last
        # replacement (the "Other" line of a split), the notice does not state it.
        donor_rate = list(new_rates.values())[-1] if new_rates else None
        for old in olds:
            if (old, CET_START) in result.lines:
                continue
            desc = next((a["description"] for a in amendments if a["code"] == old), "Deleted line")
            result.lines[(old, CET_START)] = CetLine(
                code=old, description=desc.strip(), unit="", valid_from=CET_START, valid_to=BEFORE_AMENDMENT
            )
            if donor_rate is not None:
                result.rates.append(
                    CetRate(
                        code=old,
                        source="schedule1",
                        rate=donor_rate,
                        rate_text=donor_rate.text(),
                        valid_from=CET_START,
                        valid_to=BEFORE_AMENDMENT,
                    )
                )
            result.fixes.append(f"{old}: deleted from {AMENDMENT_DATE}, replaced by {', '.join(news)}")
