from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core API plumbing"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401  (registers the secret checks)
        from .process_role import on_connection_created

        connection_created.connect(on_connection_created, dispatch_uid="forodha-statement-timeout")
