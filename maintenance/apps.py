from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db import router
from django.db.models.signals import post_migrate

from . import replay_handlers


class MaintenanceConfig(AppConfig):
    name = "maintenance"

    def ready(self) -> None:
        # The default provisional release rules are seeded by migration 0006; after a flush (a
        # transactional test) the migration does not run again, so they are put back here.
        post_migrate.connect(_ensure_release_rules, sender=self, dispatch_uid="maintenance_release_rules")
        # Every lodging endpoint has a replay handler, registered by the app owning it (maintenance.E001).
        checks.register(replay_handlers.check_registered)


def _ensure_release_rules(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # local import: models and the services over them load once the app registry is ready
    from .models import ProvisionalReleaseRule
    from .provisional import release_rules_ensure_defaults

    if not router.allow_migrate_model(using, ProvisionalReleaseRule):
        return
    release_rules_ensure_defaults(actor=None)
