"""Database router: the `intake` app lives in its own database (alias `intake`).

The intake store must survive the primary database going away, so nothing in it may point at
the primary: no foreign keys across the two (ids are plain columns), no relation between a model
of one and a model of the other, and each database only gets its own tables when migrated.
"""

from __future__ import annotations

from typing import Any

INTAKE_ALIAS = "intake"
INTAKE_APP = "intake"


class IntakeRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return INTAKE_ALIAS if model._meta.app_label == INTAKE_APP else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return INTAKE_ALIAS if model._meta.app_label == INTAKE_APP else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        in_intake = {obj1._meta.app_label == INTAKE_APP, obj2._meta.app_label == INTAKE_APP}
        return len(in_intake) == 1

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if app_label == INTAKE_APP:
            return db == INTAKE_ALIAS
        if db == INTAKE_ALIAS:
            return False
        return None
