from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"

    def ready(self) -> None:
        # The event log is append-only and hash-chained per subject (`manage.py audit verify`).
        from core.audit import register_chain

        from .models import MAINTENANCE_WINDOW_EVENT_CHAIN, OUTAGE_EVENT_CHAIN

        for spec in (MAINTENANCE_WINDOW_EVENT_CHAIN, OUTAGE_EVENT_CHAIN,):
            register_chain(spec.model, subject_field=spec.subject_field, hashed_fields=spec.hashed_fields)
