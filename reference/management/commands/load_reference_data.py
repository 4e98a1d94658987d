"""`manage.py load_reference_data`: load every vendored reference and tariff data set, KRA's CRSP
workbook (motor vehicle prices and depreciation) and the default risk rules: the data sets the
apps registered in `reference.datasets` (reference's own, then tariff's, then risk's).

Idempotent and re-runnable (upserts on natural keys, one transaction); shows a tqdm progress bar
(`--quiet` hides it). Order matters only for foreign keys: countries and currencies first.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from reference.datasets import registered
from reference.selectors import clear_cache


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
        steps = [d for d in registered() if not (d.risk_rules and options["without_risk_rules"])]
        # The bar counts rows written; its total is an estimate refined as steps finish.
        bar = tqdm(total=49_000, unit="rows", disable=quiet, desc="reference data", leave=False)
        summary: dict[str, int] = {}
        report: list[str] = []
        with transaction.atomic():
            for step in steps:
                bar.set_postfix_str(step.name)
                out = step.load(progress=bar.update)
                summary[step.name] = step.count(out)
                report.extend(step.report(out))
                if step.after_commit is not None:
                    transaction.on_commit(step.after_commit)
        bar.close()
        clear_cache()
        elapsed = time.perf_counter() - started
        if not quiet:
            for name, n in summary.items():
                self.stdout.write(f"  {name:<18} {n:>6}")
            for line in report:
                self.stdout.write(f"  {line}")
            self.stdout.write(self.style.SUCCESS(f"Reference data loaded in {elapsed:.1f} s"))
