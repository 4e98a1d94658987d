"""Database helpers for hot write paths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


@cache
def _insert_plan(model: type[models.Model], field_names: tuple[str, ...]) -> tuple[str, str, tuple[Any, ...]]:
    meta = model._meta
    fields = tuple(meta.get_field(name) for name in field_names)
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[union-attr,arg-type]
    marks = ", ".join(["%s"] * len(fields))
    # Only keys need the backend's conversion (UUIDs are hex strings on SQLite); ints, strings,
    # booleans and Decimals go to the driver as they are.
    prep = tuple(field if isinstance(field, models.ForeignKey | models.UUIDField) else None for field in fields)
    return f"COPY {table} ({columns}) FROM STDIN", f"INSERT INTO {table} ({columns}) VALUES ({marks})", prep


def insert_rows(model: type[models.Model], field_names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples of values in `field_names` order, already in their final form: quantized
    Decimals, validated strings) without the ORM's per-object, per-field work; returns the count.

    For append-only child rows written in bulk on the lodging path (declaration items, assessment
    lines). On PostgreSQL it is one COPY: 83 assessment lines cost ~0.4 ms of client CPU, against
    2.5-4 ms for a multi-row INSERT or an executemany (psycopg re-parses a multi-row INSERT's
    hundreds of placeholders on every call, and pipelines executemany row by row). Elsewhere an
    executemany. No signals, no `pre_save`, no defaults: pass every column the row needs.
    """
    copy_sql, insert_sql, prep = _insert_plan(model, tuple(field_names))
    conn = connections[DEFAULT_DB_ALIAS]  # `connection` is a proxy: a thread-local look-up per use
    # A key is converted once per distinct value: the rows of a chunk repeat their parent's id.
    keys: list[tuple[int, Any, dict[Any, Any]]] = [
        (index, field, {}) for index, field in enumerate(prep) if field is not None]
    params = []
    for row in rows:
        values = list(row)
        if len(values) != len(prep):
            raise ValueError(f"{len(values)} values for {len(prep)} columns")
        for index, field, converted in keys:
            value = values[index]
            if value not in converted:
                converted[value] = field.get_db_prep_save(value, conn)
            values[index] = converted[value]
        params.append(values)
    if not params:
        return 0
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            with cursor.cursor.copy(copy_sql) as copy:
                for row in params:
                    copy.write_row(row)
        else:
            cursor.executemany(insert_sql, params)
    return len(params)


def insert_instances(model: type[models.Model], objs: Sequence[models.Model]) -> int:
    """Insert unsaved model instances, every concrete column but an auto-increment key, in one COPY
    on PostgreSQL (`bulk_create` elsewhere): for rows written a chunk at a time (the contingency
    replay) whose keys the caller assigned or does not need back. Field defaults and `pre_save`
    (auto_now) are applied; no signals."""
    if not objs:
        return 0
    conn = connections[DEFAULT_DB_ALIAS]  # `connection` is a proxy: a thread-local look-up per use
    if conn.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return len(objs)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not isinstance(f, models.AutoField | models.BigAutoField
                                                                      | models.SmallAutoField)]
    quote = conn.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    with conn.cursor() as cursor, cursor.cursor.copy(
            f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields])
    return len(objs)
