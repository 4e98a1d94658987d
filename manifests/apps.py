from django.apps import AppConfig

from core.events import Event, subscribe


class ManifestsConfig(AppConfig):
    name = "manifests"

    def ready(self) -> None:
        # Subscribers import services and models: loaded once the app registry is ready.
        from . import subscribers

        subscribe(Event.DECLARATION_STATUS_CHANGED, subscribers.on_declaration_status_changed)
