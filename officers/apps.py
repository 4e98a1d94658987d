"""The officer workspace: Django admin customised for customs officers (queues, decisions,
explanations, history, dashboard)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class OfficersConfig(AppConfig):
    name = "officers"
    verbose_name = "Officer workspace"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # After every migrate (and every flush of a transactional test) the groups are re-synced:
        # permissions of models added by later migrations join their groups, and a flushed test
        # database gets its groups back.
        post_migrate.connect(_sync_groups_after_migrate, sender=self, dispatch_uid="officers_sync_groups")


class OfficersAdminConfig(AdminConfig):
    """Replaces `django.contrib.admin` in INSTALLED_APPS so `admin.site` is the officer site."""

    default_site = "officers.site.OfficerAdminSite"


def _sync_groups_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import router

    from .groups import groups_sync

    if not router.allow_migrate(using, "auth"):  # e.g. the intake store: it has no auth tables
        return
    groups_sync(using=using, create_missing_permissions=True)
