"""`manage.py sandbox reset`: wipe everything but the reference data, users who are superusers,
and the officer groups; reset the clock.

Event tables are append-only (core.audit triggers refuse UPDATE/DELETE). PostgreSQL: one
`TRUNCATE ... CASCADE` (row triggers do not fire on TRUNCATE). SQLite: the triggers are dropped,
the rows deleted and the triggers re-created from their stored SQL, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from rest_framework.authtoken.models import Token

from maintenance.snapshot import bump_version

from . import clock
from .seeding import require_sandbox

# Apps whose rows are reference data (loaded by load_reference_data) or framework tables.
KEEP_APPS = frozenset({"reference", "tariff", "contenttypes", "auth", "authtoken", "staticfiles",
                       "drf_spectacular", "drf_spectacular_sidecar", "django_filters", "rest_framework"})
KEEP_MODELS = frozenset({"sandbox.clockstate"})
# Operational rows living in a reference app: the exemptions register is seeded per sandbox.
WIPE_MODELS = frozenset({"tariff.exemptioncertificate", "tariff.exemptioncertificatechange",
                         "tariff.exemptiondrawdown"})


@dataclass(frozen=True)
class ResetResult:
    tables: int
    users_deleted: int


def wiped_models() -> list[type[models.Model]]:
    out = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        kept = meta.app_label in KEEP_APPS and meta.label_lower not in WIPE_MODELS
        if meta.proxy or not meta.managed or kept or meta.label_lower in KEEP_MODELS:
            continue
        out.append(model)
    return out


def sandbox_reset(*, actor_label: str) -> ResetResult:
    """Wipe the sandbox's non-reference data (sandbox mode only)."""
    require_sandbox()
    tables = sorted({m._meta.db_table for m in wiped_models()} & set(connection.introspection.table_names()))
    user_model = get_user_model()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Deferred foreign-key checks of this transaction must run before TRUNCATE can.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables)
                               + " RESTART IDENTITY CASCADE")
                # Back to the default for the rest of the transaction: a caller that seeds in the
                # same transaction lodges declarations, whose child rows precede the declaration
                # row and rely on deferred foreign-key checks (declarations.services.lodging).
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            _delete_with_triggers_lifted(tables)
        users = _delete_users(user_model)
        clock.set_offset(0.0, actor_label=actor_label)
    _bump_maintenance()
    return ResetResult(tables=len(tables), users_deleted=users)


def _delete_users(user_model: type[models.Model]) -> int:
    """Non-superusers, with their tokens, group memberships and permissions (the groups stay).
    Raw SQL: every other table that refers to users was emptied above (the ORM's collector would
    also visit models of apps whose tables are not migrated here)."""
    q = connection.ops.quote_name
    users = q(user_model._meta.db_table)
    doomed = f"SELECT id FROM {users} WHERE NOT is_superuser"
    with connection.cursor() as cursor:
        for through in (user_model.groups.through, user_model.user_permissions.through, Token):  # type: ignore[attr-defined]
            cursor.execute(f"DELETE FROM {q(through._meta.db_table)} WHERE user_id IN ({doomed})")
        cursor.execute(f"DELETE FROM {users} WHERE NOT is_superuser")
        return cursor.rowcount


def _delete_with_triggers_lifted(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(tables))
        cursor.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({placeholders})",
                       tables)
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        cursor.execute("DELETE FROM sqlite_sequence WHERE name IN (" + placeholders + ")", tables) \
            if _has_sqlite_sequence(cursor) else None
        for _name, sql in triggers:
            cursor.execute(sql)


def _has_sqlite_sequence(cursor: object) -> bool:
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")  # type: ignore[attr-defined]
    return cursor.fetchone() is not None  # type: ignore[attr-defined]


def _bump_maintenance() -> None:
    """Processes holding a snapshot of maintenance windows reload it (the windows are gone)."""
    bump_version()
