"""Writes to tariff data. Admin edits and the loader end here so the in-process tariff books
(tariff.selectors.tariff_book) are invalidated everywhere: a version number in Django's cache
(Redis in production, shared by web and workers) is bumped; every process compares it with the
version its books were built from (checked at most every `VERSION_CHECK_SECONDS`)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import models, transaction

TARIFF_VERSION_KEY = "forodha:tariff:version"
logger = logging.getLogger(__name__)


def tariff_cache_invalidate() -> None:
    """Bump the shared tariff version and drop this process's books at once."""
    from tariff import selectors

    selectors.clear_local_cache()
    try:
        try:
            cache.incr(TARIFF_VERSION_KEY)
        except ValueError:
            cache.set(TARIFF_VERSION_KEY, 1, timeout=None)
    except Exception:  # cache down: other processes pick the change up when they rebuild
        logger.warning("tariff cache version not bumped (cache unavailable)", exc_info=True)


def tariff_row_save(*, instance: models.Model, actor: Any = None) -> models.Model:
    """Save a tariff row (duty rate, national measure, exchange rate, tariff line) from the admin;
    validation runs first, the books are invalidated after commit."""
    instance.full_clean()
    with transaction.atomic():
        instance.save()
        transaction.on_commit(tariff_cache_invalidate)
    return instance


def tariff_row_delete(*, instance: models.Model, actor: Any = None) -> None:
    with transaction.atomic():
        instance.delete()
        transaction.on_commit(tariff_cache_invalidate)
