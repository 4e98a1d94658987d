"""Tamper-evident, append-only event logs.

Event tables (declaration events, manifest events, ...) are:
- append-only in the database: a trigger refuses UPDATE and DELETE (PostgreSQL and SQLite), so
  not even a bug or a shell session can rewrite history through the ORM or SQL;
- hash-chained per subject (e.g. per declaration): each row stores the previous row's hash and
  `sha256(prev_hash + canonical JSON of its own fields)`, so a row edited or removed behind the
  trigger's back (superuser disabling triggers, restored backup) is detected by
  `manage.py audit verify`.

The writer must hold a lock on the subject (the declaration row) while appending, so the chain
is linear; every transition service already does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.apps import apps as django_apps
from django.conf import settings
from django.db import migrations, models

GENESIS_HASH = "0" * 64


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, (dt.date, Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(_canonical(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainSpec:
    model: type[models.Model]
    subject_field: str  # e.g. "declaration_id"
    hashed_fields: tuple[str, ...]
    order_field: str = "pk"


class ChainedEvent(models.Model):
    """Abstract base of every append-only event table: the hash-chain columns and their filling.

    A concrete event model names its subject (`chain_subject_field`, e.g. "declaration_id") and the
    fields covered by the hash (`chain_hashed_fields`). A new row gets its place in its subject's
    chain when inserted; the writer holds the subject's row lock, so the chain is linear. Bulk
    writers fill the hashes themselves (see `next_hashes` and declarations' `events_chain`).
    """

    chain_subject_field: ClassVar[str]
    chain_hashed_fields: ClassVar[tuple[str, ...]]

    # What every event row says (a model narrows a field by redefining it, e.g. a shorter status):
    # who (null: the system), the move, why, the details, when.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    prev_hash = models.CharField(max_length=64, editable=False, default="")
    hash = models.CharField(max_length=64, editable=False, default="")

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and not self.hash:
            self.prev_hash, self.hash = next_hashes(self.chain_spec(), self)
        super().save(*args, **kwargs)

    @classmethod
    def chain_spec(cls) -> ChainSpec:
        return ChainSpec(cls, cls.chain_subject_field, cls.chain_hashed_fields)


def registered_chains() -> list[ChainSpec]:
    """Every concrete event model with a hash chain (what `manage.py audit verify` checks)."""
    return [model.chain_spec() for model in django_apps.get_models() if issubclass(model, ChainedEvent)]


def fields_of(instance: models.Model, hashed_fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in hashed_fields}


def next_hashes(spec: ChainSpec, instance: models.Model) -> tuple[str, str]:
    """(prev_hash, hash) for a new event row of `spec.model`, given the subject is locked."""
    subject = getattr(instance, spec.subject_field)
    last = (spec.model._default_manager.filter(**{spec.subject_field: subject})
            .order_by(f"-{spec.order_field}").values_list("hash", flat=True).first())
    prev = last or GENESIS_HASH
    return prev, chain_hash(prev, fields_of(instance, spec.hashed_fields))


@dataclass(frozen=True)
class ChainProblem:
    model: str
    subject: str
    row: str
    problem: str


def verify_chain(spec: ChainSpec) -> tuple[int, list[ChainProblem]]:
    label = spec.model._meta.label
    checked = 0
    problems: list[ChainProblem] = []
    expected_prev: dict[Any, str] = {}
    rows = spec.model._default_manager.order_by(spec.subject_field, spec.order_field).iterator(chunk_size=2000)
    for row in rows:
        checked += 1
        subject = getattr(row, spec.subject_field)
        prev = expected_prev.get(subject, GENESIS_HASH)
        if row.prev_hash != prev:  # type: ignore[attr-defined]
            problems.append(ChainProblem(label, str(subject), str(row.pk), "broken link (row removed or reordered)"))
        if row.hash != chain_hash(row.prev_hash, fields_of(row, spec.hashed_fields)):  # type: ignore[attr-defined]
            problems.append(ChainProblem(label, str(subject), str(row.pk), "content does not match its hash"))
        expected_prev[subject] = row.hash  # type: ignore[attr-defined]
    return checked, problems


def _append_only_forward(table: str) -> Any:
    def forward(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            # `%%`: schema_editor.execute() passes parameters, so a bare % would be a placeholder.
            schema_editor.execute(
                "CREATE OR REPLACE FUNCTION forodha_refuse_change() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'append-only table %%: %% refused', TG_TABLE_NAME, TG_OP "
                "USING ERRCODE = 'insufficient_privilege'; END; $$ LANGUAGE plpgsql;"
            )
            schema_editor.execute(
                f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION forodha_refuse_change();"
            )
        elif vendor == "sqlite":
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f'CREATE TRIGGER "{table}_append_only_{op.lower()}" BEFORE {op} ON "{table}" '
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END;"
                )

    return forward


def _append_only_reverse(table: str) -> Any:
    def reverse(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}";')
        elif vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f'DROP TRIGGER IF EXISTS "{table}_append_only_{op}";')

    return reverse


def chain_backfill(app_label: str, model_name: str, subject_field: str, hashed_fields: tuple[str, ...]) -> Any:
    """A migration function chaining the rows written before the chain existed, in subject and
    insertion order (used by each app's `*_audit_chain` migration)."""

    def forward(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        last: dict[Any, str] = {}
        rows = model.objects.using(schema_editor.connection.alias).order_by(subject_field, "pk")
        for row in rows.iterator(chunk_size=2000):
            subject = getattr(row, subject_field)
            prev = last.get(subject, GENESIS_HASH)
            digest = chain_hash(prev, {name: getattr(row, name) for name in hashed_fields})
            model.objects.using(schema_editor.connection.alias).filter(pk=row.pk).update(prev_hash=prev, hash=digest)
            last[subject] = digest

    return forward


def append_only_operation(table: str) -> migrations.RunPython:
    """A migration operation installing the append-only trigger on `table`."""
    return migrations.RunPython(_append_only_forward(table), _append_only_reverse(table))
