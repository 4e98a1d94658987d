"""The default risk rules shipped with the reference data (risk/data/default_rules.csv), loaded by
`manage.py load_reference_data`.

Only missing rules are inserted (by `code`): a re-run never undoes an analyst's tuning of weight,
threshold, lane or `active` in the admin. The rows carry fixed ids (8001...) because the random
rule's draw hashes (declaration id, rule id): the same declaration gets the same draw on every
installation. The ids are far above what the table's sequence hands out to rules added in the
admin.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

from reference.loaders import Progress, _noop

from .models import RiskRule

DATA_FILE = Path(__file__).resolve().parent / "data" / "default_rules.csv"
DEFAULT_RULES_VALID_FROM = dt.datetime(2022, 7, 1, tzinfo=dt.UTC)


def default_rules(path: Path = DATA_FILE) -> list[RiskRule]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        RiskRule(
            id=int(r["id"]), code=r["code"], kind=r["kind"], description=r["description"],
            explanation=r["explanation"], weight=int(r["weight"]), forced_lane=r["forced_lane"],
            threshold_percent=Decimal(r["threshold_percent"]) if r["threshold_percent"] else None,
            threshold_count=int(r["threshold_count"]) if r["threshold_count"] else None,
            rate=Decimal(r["rate"]) if r["rate"] else None, hs_prefixes=r["hs_prefixes"], countries="",
            active=True, valid_from=DEFAULT_RULES_VALID_FROM,
        )
        for r in rows
    ]


def load_default_risk_rules(progress: Progress = _noop, path: Path = DATA_FILE) -> int:
    """Insert the default rules that are missing; returns how many were inserted."""
    rules = default_rules(path)
    existing = set(RiskRule.objects.filter(code__in=[r.code for r in rules]).values_list("code", flat=True))
    missing = [r for r in rules if r.code not in existing]
    RiskRule.objects.bulk_create(missing)
    progress(len(rules))
    return len(missing)


# What "as shipped" covers: everything an analyst may tune in the admin.
_SHIPPED_FIELDS = ("kind", "description", "explanation", "weight", "forced_lane", "threshold_percent",
                   "threshold_count", "rate", "hs_prefixes", "countries", "active", "valid_from", "valid_to")


def default_risk_rules_reset(path: Path = DATA_FILE) -> int:
    """Every default rule exactly as shipped: missing ones inserted (with their fixed ids), tuned
    ones put back (weight, thresholds, lane, `active`, ...). For worlds that must score the same on
    every installation, whatever was loaded or tuned before: the sandbox's seeds (a production
    install keeps its analysts' tuning: `load_default_risk_rules`). Returns how many were inserted."""
    inserted = 0
    for rule in default_rules(path):
        _, created = RiskRule.objects.update_or_create(
            code=rule.code, defaults={name: getattr(rule, name) for name in _SHIPPED_FIELDS},
            create_defaults={"id": rule.id, **{name: getattr(rule, name) for name in _SHIPPED_FIELDS}})
        inserted += created
    return inserted
