from django.apps import AppConfig


class TradersConfig(AppConfig):
    name = "traders"

    def ready(self) -> None:
        # The event log is append-only and hash-chained per subject (`manage.py audit verify`).
        from core.audit import register_chain

        from .models import AEO_PROFILE_CHANGE_CHAIN

        for spec in (AEO_PROFILE_CHANGE_CHAIN,):
            register_chain(spec.model, subject_field=spec.subject_field, hashed_fields=spec.hashed_fields)
