"""One-off script that produced the files in this folder from /work/shared/data and Debian's
iso-codes package. Kept for provenance; the loader never runs it.

    python reference/data/vendor.py /work/shared/data /usr/share/iso-codes/json
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

EAC = ["KE", "UG", "TZ", "RW", "BI", "SS", "CD", "SO"]
# Kenya's main trading partners and transit neighbours (KNBS Economic Survey 2024 top sources of
# imports and destinations of exports), plus hubs agents meet in transport documents.
PARTNERS = [
    "ET",
    "CN",
    "IN",
    "AE",
    "JP",
    "US",
    "GB",
    "DE",
    "NL",
    "ZA",
    "SA",
    "SG",
    "MY",
    "ID",
    "EG",
    "OM",
    "FR",
    "IT",
    "BE",
    "PK",
    "TH",
    "KR",
    "TR",
    "MU",
    "DJ",
    "ZM",
    "MW",
    "MZ",
]
# For partners keep only places that appear on transport documents: seaports (function digit 1),
# airports (4), inland container depots / multimodal (6), border crossings (B).
PARTNER_FUNCTIONS = set("146B")


def main(shared: Path, iso: Path) -> None:
    countries = json.loads((iso / "iso_3166-1.json").read_text())["3166-1"]
    with (HERE / "countries.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name"])
        for c in sorted(countries, key=lambda c: c["alpha_2"]):
            w.writerow([c["alpha_2"], c.get("common_name") or c["name"]])
    currencies = json.loads((iso / "iso_4217.json").read_text())["4217"]
    with (HERE / "currencies.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name"])
        for c in sorted(currencies, key=lambda c: c["alpha_3"]):
            w.writerow([c["alpha_3"], c["name"]])
    with (HERE / "unlocode.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["country", "location", "name", "function", "iata"])
        for cc in EAC + PARTNERS:
            with (shared / "unlocode" / f"{cc}.csv").open(newline="") as src:
                for row in csv.DictReader(src):
                    fn = row["function"]
                    if cc not in EAC and not PARTNER_FUNCTIONS & set(fn):
                        continue
                    w.writerow(
                        [row["country"], row["location"], row["nameWoDiacritics"] or row["name"], fn, row["iata"]]
                    )
    kinds: list[dict[str, str]] = []
    for name in ("KindOfPackages.json", "KindOfPackagesBulk.json", "KindOfPackagesUnpacked.json"):
        kinds += json.loads((shared / "codelists" / name).read_text())
    (HERE / "package_kinds.json").write_text(json.dumps(kinds, indent=0, ensure_ascii=False))
    (HERE / "units.json").write_text((shared / "codelists" / "Unit.json").read_text())


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
