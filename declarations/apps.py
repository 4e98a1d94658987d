from django.apps import AppConfig


class DeclarationsConfig(AppConfig):
    name = "declarations"

    def ready(self) -> None:
        from maintenance.periods import subscribe

        from .services.deadlines import contingency_period_ended

        # An outage or buffer window that ended moves the unpaid payment due dates it covers.
        subscribe(contingency_period_ended)
