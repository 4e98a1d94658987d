from django.apps import AppConfig


class TransitConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transit"
    verbose_name = "EAC transit (SCT), regional bonds, cargo tracking"

    def ready(self) -> None:
        # The event log is append-only and hash-chained per subject (`manage.py audit verify`).
        from core.audit import register_chain

        from .models import TRANSIT_MOVEMENT_EVENT_CHAIN

        for spec in (TRANSIT_MOVEMENT_EVENT_CHAIN,):
            register_chain(spec.model, subject_field=spec.subject_field, hashed_fields=spec.hashed_fields)
