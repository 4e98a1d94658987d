"""The data sets `manage.py load_reference_data` loads, in order.

Reference sits below tariff and risk (README "Architecture"), so it cannot name their loaders:
each app registers its own data sets here from its `AppConfig.ready` (INSTALLED_APPS order, so
reference's own first, then tariff's, then risk's), and the command loads whatever is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _count(out: Any) -> int:
    return int(out)


@dataclass(frozen=True)
class DataSet:
    name: str
    # load(progress=<callable(n)>) -> rows written (or a result `count` reads).
    load: Callable[..., Any]
    count: Callable[[Any], int] = _count
    # Extra summary lines from the result (e.g. the CET defects cleaned).
    report: Callable[[Any], list[str]] = field(default=lambda out: [])
    # Run once the loading transaction committed (e.g. invalidate a cache of the loaded rows).
    after_commit: Callable[[], None] | None = None
    # Left out with `--without-risk-rules` (the test suite starts from no rules).
    risk_rules: bool = False


_registered: list[DataSet] = []


def register(*data_sets: DataSet) -> None:
    """Append data sets (idempotent by name: a second ready() run changes nothing)."""
    names = {d.name for d in _registered}
    _registered.extend(d for d in data_sets if d.name not in names)


def registered() -> list[DataSet]:
    return list(_registered)
