from typing import Any

from django.apps import AppConfig

from reference.datasets import DataSet, register


def _cet_report(cet: Any) -> list[str]:
    return [f"CET defects cleaned: {len(cet.fixes)}, not applied: {len(cet.unapplied)}",
            *(f"  not applied: {line}" for line in cet.unapplied)]


class TariffConfig(AppConfig):
    name = "tariff"

    def ready(self) -> None:
        # local import: loaders and services read models, loadable once the app registry is ready
        from . import loaders
        from .services import tariff_cache_invalidate

        # `manage.py load_reference_data` (reference app) loads these after the reference sets.
        register(
            DataSet("HS 2022", loaders.load_hs),
            DataSet("EAC CET", loaders.load_cet, count=lambda cet: len(cet.lines), report=_cet_report,
                    after_commit=tariff_cache_invalidate),
            DataSet("national measures", loaders.load_national_measures),
            DataSet("exchange rates", loaders.load_exchange_rates),
            DataSet("CRSP", loaders.load_crsp),
        )
