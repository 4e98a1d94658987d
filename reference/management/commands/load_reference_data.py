"""`manage.py load_reference_data`: load every vendored reference and tariff data set, KRA's CRSP
workbook (motor vehicle prices and depreciation) and the default risk rules.

Idempotent and re-runnable (upserts on natural keys, one transaction); shows a tqdm progress bar
(`--quiet` hides it). Order matters only for foreign keys: countries and currencies first.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from reference import loaders as ref
from reference.selectors import clear_cache
from risk.loaders import load_default_risk_rules
from tariff import loaders as tar
from tariff.services import tariff_cache_invalidate


class Command(BaseCommand):
    help = "Load HS 2022, EAC CET, Kenyan measures, exchange rates, UN/LOCODE, offices and code lists."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet", action="store_true", help="No progress bar and no summary.")
        parser.add_argument(
            "--without-risk-rules", action="store_true",
            help="Do not insert the default risk rules (the test suite starts from no rules).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["quiet"] or options["verbosity"] == 0
        started = time.perf_counter()
        steps: list[tuple[str, Any]] = [
            ("countries", ref.load_countries),
            ("currencies", ref.load_currencies),
            ("locations", ref.load_locations),
            ("offices", ref.load_offices),
            ("package kinds", ref.load_package_kinds),
            ("units", ref.load_units),
            ("HS 2022", tar.load_hs),
            ("EAC CET", tar.load_cet),
            ("national measures", tar.load_national_measures),
            ("exchange rates", tar.load_exchange_rates),
            ("CRSP", tar.load_crsp),
        ]
        if not options["without_risk_rules"]:
            steps.append(("risk rules", load_default_risk_rules))
        # The bar counts rows written; its total is an estimate refined as steps finish.
        bar = tqdm(total=49_000, unit="rows", disable=quiet, desc="reference data", leave=False)
        summary: dict[str, int] = {}
        cet: Any = None
        with transaction.atomic():
            for name, step in steps:
                bar.set_postfix_str(name)
                out = step(progress=bar.update)
                if name == "EAC CET":
                    cet = out
                    summary[name] = len(out.lines)
                else:
                    summary[name] = int(out)
            transaction.on_commit(tariff_cache_invalidate)
        bar.close()
        clear_cache()
        elapsed = time.perf_counter() - started
        if not quiet:
            for name, n in summary.items():
                self.stdout.write(f"  {name:<18} {n:>6}")
            if cet is not None:
                self.stdout.write(f"  CET defects cleaned: {len(cet.fixes)}, not applied: {len(cet.unapplied)}")
                for line in cet.unapplied:
                    self.stdout.write(f"    not applied: {line}")
            self.stdout.write(self.style.SUCCESS(f"Reference data loaded in {elapsed:.1f} s"))
