from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    name = "reference"
    verbose_name = "Reference data (countries, currencies, locations, offices, code lists)"

    def ready(self) -> None:
        # Loaders read models and vendored files: imported once the app registry is ready.
        from . import loaders
        from .datasets import DataSet, register

        # Order matters only for foreign keys: countries and currencies first.
        register(
            DataSet("countries", loaders.load_countries),
            DataSet("currencies", loaders.load_currencies),
            DataSet("locations", loaders.load_locations),
            DataSet("offices", loaders.load_offices),
            DataSet("package kinds", loaders.load_package_kinds),
            DataSet("units", loaders.load_units),
        )
