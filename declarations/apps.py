from django.apps import AppConfig


class DeclarationsConfig(AppConfig):
    name = "declarations"

    def ready(self) -> None:
        # The event log is append-only and hash-chained per subject (`manage.py audit verify`).
        from core.audit import register_chain

        from .models import DECLARATION_EVENT_CHAIN

        for spec in (DECLARATION_EVENT_CHAIN,):
            register_chain(spec.model, subject_field=spec.subject_field, hashed_fields=spec.hashed_fields)
