from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from officers.groups import groups_sync


class Command(BaseCommand):
    help = "Create/refresh the officer groups (officer, inspector, supervisor, risk analyst, " \
           "maintenance admin, trainer) and their permissions. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in groups_sync(create_missing_permissions=True).items():
            self.stdout.write(f"{name}: {count} permissions")
