"""Load the vendored reference data (reference/data) into the database.

Every loader is an idempotent upsert keyed on the natural code (`bulk_create(update_conflicts=
True)`, in batches): re-running restores the vendored values of loaded rows and keeps rows added
in the admin. Returns the number of rows written, for the progress bar and the tests.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from django.db import models

from reference.models import EAC_PARTNER_STATES, Country, Currency, CustomsOffice, Location, PackageKind, Unit

DATA_DIR = Path(__file__).resolve().parent / "data"
BATCH_SIZE = 2000

Progress = Callable[[int], object]
M = TypeVar("M", bound=models.Model)


def _noop(_: int) -> None:
    return None


def _csv(name: str, data_dir: Path = DATA_DIR) -> list[dict[str, str]]:
    with (data_dir / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _batches(objs: Sequence[M], size: int = BATCH_SIZE) -> Iterator[Sequence[M]]:
    for start in range(0, len(objs), size):
        yield objs[start : start + size]


def upsert(
    model: type[M],
    objs: Sequence[M],
    *,
    unique_fields: list[str],
    update_fields: list[str],
    progress: Progress = _noop,
) -> int:
    for batch in _batches(objs):
        model._default_manager.bulk_create(
            batch, update_conflicts=True, unique_fields=unique_fields, update_fields=update_fields
        )
        progress(len(batch))
    return len(objs)


def load_countries(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    objs = [
        Country(code=r["code"], name=r["name"], is_eac_partner=r["code"] in EAC_PARTNER_STATES)
        for r in _csv("countries.csv", data_dir)
    ]
    return upsert(Country, objs, unique_fields=["code"], update_fields=["name", "is_eac_partner"], progress=progress)


def load_currencies(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    objs = [Currency(code=r["code"], name=r["name"]) for r in _csv("currencies.csv", data_dir)]
    return upsert(Currency, objs, unique_fields=["code"], update_fields=["name"], progress=progress)


def location_flags(function: str) -> dict[str, bool]:
    """UN/LOCODE function string: position 1 seaport, 2 rail, 3 road, 4 airport, 6 ICD, B border."""
    fn = function.ljust(8, "-")
    return {
        "is_seaport": fn[0] == "1",
        "is_rail": fn[1] == "2",
        "is_road": fn[2] == "3",
        "is_airport": fn[3] == "4",
        "is_icd": fn[5] == "6",
        "is_border_crossing": "B" in fn,
    }


def load_locations(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    offices = _csv("customs_offices.csv", data_dir)
    icd = {o["unlocode"] for o in offices if o["kind"] == "icd" and o["unlocode"]}
    border = {o["unlocode"] for o in offices if o["kind"] == "border" and o["unlocode"]}
    objs: dict[str, Location] = {}
    for r in _csv("unlocode.csv", data_dir):
        code = r["country"] + r["location"]
        if len(code) != 5:
            continue
        flags = location_flags(r["function"])
        # Offices sit where UN/LOCODE's flags are incomplete (Embakasi "0", border towns "5").
        flags["is_icd"] = flags["is_icd"] or code in icd
        flags["is_border_crossing"] = flags["is_border_crossing"] or code in border
        objs[code] = Location(unlocode=code, country_id=r["country"], name=r["name"][:120], **flags)
    fields = ["country", "name", "is_seaport", "is_airport", "is_road", "is_rail", "is_icd", "is_border_crossing"]
    return upsert(Location, list(objs.values()), unique_fields=["unlocode"], update_fields=fields, progress=progress)


def load_offices(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    objs = [
        CustomsOffice(
            code=r["code"],
            name=r["name"],
            kind=r["kind"],
            location_id=r["unlocode"] or None,
            is_border_post=r["is_border_post"] == "true",
            partner_country_id=r["partner_country"] or None,
        )
        for r in _csv("customs_offices.csv", data_dir)
    ]
    fields = ["name", "kind", "location", "is_border_post", "partner_country"]
    return upsert(CustomsOffice, objs, unique_fields=["code"], update_fields=fields, progress=progress)


def _codelist(name: str, data_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((data_dir / name).read_text(encoding="utf-8"))
    return rows


def load_package_kinds(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    objs = {
        r["code"]: PackageKind(code=r["code"], description=html.unescape(r["description"])[:200])
        for r in _codelist("package_kinds.json", data_dir)
    }
    return upsert(
        PackageKind, list(objs.values()), unique_fields=["code"], update_fields=["description"], progress=progress
    )


# Units used by specific rates and by the CET's statistical units, beside the HMRC list.
EXTRA_UNITS = {
    "KGM": "Kilogram",
    "TNE": "Metric tonne (1000 kg)",
    "LTR": "Litre",
    "NAR": "Number of articles",
    "MIL": "Thousand (1000 sticks, per mille)",
    "MTK": "Square metre",
    "MTQ": "Cubic metre",
    "MTR": "Metre",
    "GRM": "Gram",
    "KWH": "Kilowatt hour",
    "PR": "Pair",
}


def load_units(progress: Progress = _noop, data_dir: Path = DATA_DIR) -> int:
    objs = {
        r["code"]: Unit(code=r["code"], description=html.unescape(r["description"])[:200])
        for r in _codelist("units.json", data_dir)
        if len(r["code"]) <= 8
    }
    for code, description in EXTRA_UNITS.items():
        objs.setdefault(code, Unit(code=code, description=description))
    return upsert(Unit, list(objs.values()), unique_fields=["code"], update_fields=["description"], progress=progress)
