from django.apps import AppConfig

from core.events import Event, subscribe


class TransitConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transit"
    verbose_name = "EAC transit (SCT), regional bonds, cargo tracking"

    def ready(self) -> None:
        # Subscribers import services and models: loaded once the app registry is ready.
        from . import subscribers

        # Transit follows the declaration's life (README "Architecture": the one place it is wired).
        subscribe(Event.DECLARATION_VALIDATING, subscribers.on_declaration_validating)
        subscribe(Event.DECLARATION_LODGED, subscribers.on_declaration_lodged)
        subscribe(Event.DECLARATION_REGISTERED, subscribers.on_declaration_registered)
        subscribe(Event.DECLARATION_STATUS_CHANGED, subscribers.on_declaration_status_changed)
        subscribe(Event.DECLARATION_STATUS_SECTIONS, subscribers.on_declaration_status_sections)
