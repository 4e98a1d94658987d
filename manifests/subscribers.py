"""Manifests' answers to declaration events (`core.events`), subscribed in `ManifestsConfig.ready`.

Manifests sit below declarations (README "Architecture"): the declaration arrives duck-typed
(`pk`, `bill_of_lading_id`), never imported."""

from __future__ import annotations

from typing import Any

from .enums import DeclarationMove
from .services import writeoff_release, writeoff_settle


def on_declaration_status_changed(*, declaration: Any, from_status: str, to_status: str, actor: Any) -> None:
    if declaration.bill_of_lading_id is None:
        return
    if to_status == DeclarationMove.RELEASED:
        # Release order: the reserved B/L quantities are settled (B/L and manifest may close).
        writeoff_settle(declaration_id=declaration.pk, actor=actor)
    elif to_status in (DeclarationMove.CANCELLED, DeclarationMove.REJECTED):
        # The goods were not (or will not be) cleared under this entry: give the B/L quantities
        # back so another declaration can write them off. Idempotent (nothing reserved: no-op).
        writeoff_release(declaration_id=declaration.pk, actor=actor)
