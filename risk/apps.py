from django.apps import AppConfig

from core.events import Event, subscribe
from reference.datasets import DataSet, register


class RiskConfig(AppConfig):
    name = "risk"

    def ready(self) -> None:
        # The loader and the subscriber import the models: loaded once the app registry is ready.
        from . import subscribers
        from .loaders import load_default_risk_rules

        register(DataSet("risk rules", load_default_risk_rules, risk_rules=True))
        subscribe(Event.DECLARATIONS_SCORE_NOW, subscribers.on_declarations_score_now)
