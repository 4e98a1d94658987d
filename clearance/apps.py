from django.apps import AppConfig

from core.events import Event, subscribe


class ClearanceConfig(AppConfig):
    name = "clearance"

    def ready(self) -> None:
        # Subscribers import services, tasks and models: loaded once the app registry is ready.
        from . import subscribers

        subscribe(Event.DECLARATION_STATUS_CHANGED, subscribers.on_declaration_status_changed)
        subscribe(Event.DECLARATIONS_SCORED, subscribers.on_declarations_scored)
