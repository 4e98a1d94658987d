"""Version snapshots and field-level diffs between canonical bodies."""

from __future__ import annotations

from typing import Any

from core.problems import join_pointer

from ..models import Declaration


def flatten(value: Any, path: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """{JSON pointer: leaf value} of a JSON document (lists indexed, dicts by key)."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, child in value.items():
            out.update(flatten(child, (*path, key)))
    elif isinstance(value, list):
        if not value:
            out[join_pointer(*path)] = []
        for index, child in enumerate(value):
            out.update(flatten(child, (*path, index)))
    else:
        out[join_pointer(*path)] = value
    return out


def body_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Changed leaves, sorted by pointer: [{"pointer", "old", "new"}] (missing side = null)."""
    before, after = flatten(old), flatten(new)
    changes = []
    for pointer in sorted(set(before) | set(after)):
        if before.get(pointer) != after.get(pointer):
            changes.append({"pointer": pointer, "old": before.get(pointer), "new": after.get(pointer)})
    return changes


def declaration_snapshot(declaration: Declaration) -> dict[str, Any]:
    return {
        "version": declaration.version,
        "status": declaration.status,
        "entry_number": declaration.entry_number,
        "body": declaration.body,
    }
