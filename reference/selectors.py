"""Cheap reads of reference codes, called for every field of every declaration and manifest.

Known codes are kept per process in a small positive cache (TTL `_TTL_SECONDS`): a hit costs a set
lookup; a miss falls through to one indexed query, so rows created after the cache was filled
(admin edits, test factories) are found at once. Negative answers are never cached.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import models

from reference.models import Country, Currency, CustomsOffice, Location, PackageKind, Unit

_TTL_SECONDS = 60.0
_lock = threading.Lock()
_known: dict[str, tuple[float, dict[str, Any]]] = {}


def _cache_for(model: type[models.Model]) -> dict[str, Any]:
    key = model._meta.label
    now = time.monotonic()
    entry = _known.get(key)
    if entry is None or entry[0] < now:
        with _lock:
            entry = (now + _TTL_SECONDS, {})
            _known[key] = entry
    return entry[1]


def _exists(model: type[models.Model], code: object) -> bool:
    if not isinstance(code, str) or not code:
        return False
    cache = _cache_for(model)
    if code in cache:
        return True
    if model._default_manager.filter(pk=code).exists():
        cache[code] = True
        return True
    return False


def clear_cache() -> None:
    """Forget every cached code (after a reload of reference data)."""
    with _lock:
        _known.clear()


def country_exists(code: str) -> bool:
    return _exists(Country, code)


def currency_exists(code: str) -> bool:
    return _exists(Currency, code)


def location_exists(unlocode: str) -> bool:
    return _exists(Location, unlocode)


def package_kind_exists(code: str) -> bool:
    return _exists(PackageKind, code)


def unit_exists(code: str) -> bool:
    return _exists(Unit, code)


def office_get(code: str) -> CustomsOffice | None:
    if not isinstance(code, str) or not code:
        return None
    cache = _cache_for(CustomsOffice)
    office = cache.get(code)
    if office is None:
        office = CustomsOffice.objects.select_related("location").filter(pk=code).first()
        if office is not None:
            cache[code] = office
    return office


def eac_partner_codes() -> frozenset[str]:
    return frozenset(Country.objects.filter(is_eac_partner=True).values_list("code", flat=True))
