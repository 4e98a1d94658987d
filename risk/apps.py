from django.apps import AppConfig

from reference.datasets import DataSet, register


class RiskConfig(AppConfig):
    name = "risk"

    def ready(self) -> None:
        # The loader imports the models: loaded once the app registry is ready.
        from .loaders import load_default_risk_rules

        register(DataSet("risk rules", load_default_risk_rules, risk_rules=True))
