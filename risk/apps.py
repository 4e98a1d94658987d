from django.apps import AppConfig

from core.events import Event, subscribe
from reference.datasets import DataSet, register


class RiskConfig(AppConfig):
    name = "risk"

    def ready(self) -> None:
        # Subscribers import services and models: loaded once the app registry is ready.
        from . import subscribers
        from .loaders import load_default_risk_rules

        register(DataSet("risk rules", load_default_risk_rules, risk_rules=True))
        subscribe(Event.DECLARATION_STATUS_CHANGED, subscribers.on_declaration_status_changed)
