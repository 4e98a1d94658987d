"""Authentication without the primary: a hashed copy of every active API token.

The intake store holds, per active token, sha256(key) and who it belongs to (user id, username,
agent or carrier); never the token itself. The copy follows the primary:
- on commit, when a token is created or deleted, or its user deactivated (`signals.py`: tokens
  are created by DRF, the sandbox seeding and the transit tracking client, so the model signal
  is the one place every path passes through);
- every `INTAKE_TOKEN_RECONCILE_SECONDS` (30 s) the beat task `intake.reconcile_tokens` compares
  the whole set and fixes any drift (a copy missed while the intake store was away).
So a revoked token stops working at intake within 60 s at worst (at once, normally).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core import clock

from .enums import IdentityKind
from .models import TokenCopy
from .routers import INTAKE_ALIAS

logger = logging.getLogger("forodha.intake")


@dataclass(frozen=True)
class Identity:
    """Who sent a request, as far as the intake store knows."""

    user_id: int
    username: str
    kind: str = IdentityKind.OTHER
    organisation_id: str = ""

    @classmethod
    def of_user(cls, user: Any) -> Identity:
        return cls(user_id=int(user.pk), username=user.get_username())


def token_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def identity_for_token(key: str) -> Identity | None:
    """Look a presented token up in the intake store (None: unknown or revoked)."""
    row = TokenCopy.objects.filter(key_sha256=token_sha256(key)).first()
    if row is None:
        return None
    return Identity(user_id=row.user_id, username=row.username, kind=row.kind, organisation_id=row.organisation_id)


_TOKEN_FIELDS = ("key", "user_id", "user__username", "user__agent_staff__agent_id",
                 "user__carrier_staff__carrier_id")


def _active_tokens(user_ids: Iterable[int] | None = None, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The active tokens in the primary, with each holder's agent or carrier (relations by name:
    the intake app sits below the apps that own agents and carriers)."""
    from rest_framework.authtoken.models import Token

    qs = Token.objects.filter(user__is_active=True)
    if user_ids is not None:
        qs = qs.filter(user_id__in=list(user_ids))
    if keys is not None:
        qs = qs.filter(key__in=list(keys))
    return list(qs.values(*_TOKEN_FIELDS))


def _copy_of(row: dict[str, Any]) -> TokenCopy:
    agent_id, carrier_id = row["user__agent_staff__agent_id"], row["user__carrier_staff__carrier_id"]
    kind = IdentityKind.AGENT if agent_id else IdentityKind.CARRIER if carrier_id else IdentityKind.OTHER
    return TokenCopy(key_sha256=token_sha256(row["key"]), user_id=row["user_id"], username=row["user__username"],
                     kind=kind, organisation_id=str(agent_id or carrier_id or ""), synced_at=clock.now())


def token_copy_refresh(*, keys: Iterable[str] = (), user_ids: Iterable[int] = (),
                       removed_keys: Iterable[str] = ()) -> int:
    """Bring the copies of these tokens (and of every token of these users) in line with the
    primary: active ones are written, the rest removed. Returns how many copies changed."""
    keys, user_ids, removed_keys = list(keys), list(user_ids), list(removed_keys)
    active = _active_tokens(keys=keys) if keys else []
    if user_ids:
        active += _active_tokens(user_ids=user_ids)
    copies = {c.key_sha256: c for c in map(_copy_of, active)}
    gone = {token_sha256(k) for k in [*keys, *removed_keys]} - set(copies)
    with transaction.atomic(using=INTAKE_ALIAS):
        deleted = 0
        if gone:
            deleted += TokenCopy.objects.filter(key_sha256__in=gone).delete()[0]
        if user_ids:
            deleted += TokenCopy.objects.filter(user_id__in=user_ids).exclude(key_sha256__in=list(copies)).delete()[0]
        _upsert(copies.values())
    return deleted + len(copies)


def _upsert(copies: Iterable[TokenCopy]) -> None:
    TokenCopy.objects.bulk_create(list(copies), update_conflicts=True, unique_fields=["key_sha256"],
                                  update_fields=["user_id", "username", "kind", "organisation_id", "synced_at"],
                                  batch_size=500)


@dataclass(frozen=True)
class ReconcileReport:
    active: int
    written: int
    removed: int


def token_copies_reconcile() -> ReconcileReport:
    """Make the intake copy equal the primary's active tokens (the periodic safety net)."""
    copies = {c.key_sha256: c for c in map(_copy_of, _active_tokens())}
    with transaction.atomic(using=INTAKE_ALIAS):
        held = {row[0]: row[1:] for row in TokenCopy.objects.values_list(
            "key_sha256", "user_id", "username", "kind", "organisation_id")}
        stale = set(held) - set(copies)
        removed = TokenCopy.objects.filter(key_sha256__in=stale).delete()[0] if stale else 0
        changed = [c for h, c in copies.items()
                   if held.get(h) != (c.user_id, c.username, c.kind, c.organisation_id)]
        _upsert(changed)
    return ReconcileReport(active=len(copies), written=len(changed), removed=removed)
