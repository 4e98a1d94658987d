"""Writes to parties: AEO profile lifecycle (with history rows) and the compliance counters that
risk reads. Services are keyword-only and record the actor."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F

from core import clock
from core.exceptions import Conflict, ValidationFailed, error
from core.lifecycle import Lifecycle
from traders.models import AEOProfile, AEOProfileChange, Trader

Status = AEOProfile.Status

# AEO lifecycle: suspension is temporary (back to active), revocation is final.
AEO_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.ACTIVE: frozenset({Status.SUSPENDED, Status.REVOKED}),
    Status.SUSPENDED: frozenset({Status.ACTIVE, Status.REVOKED}),
    Status.REVOKED: frozenset(),
}
AEO = Lifecycle("an AEO profile", AEO_TRANSITIONS, code="aeo_illegal_transition")
BENEFITS = ("automatic_release", "reduced_inspection", "pre_arrival_clearance", "priority")
EDITABLE = ("tier", "valid_from", "valid_to", *BENEFITS)


def aeo_profile_grant(
    *,
    trader: Trader,
    tier: str = AEOProfile.Tier.NATIONAL,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    actor: Any = None,
    reason: str = "",
    **benefits: bool,
) -> AEOProfile:
    unknown = set(benefits) - set(BENEFITS)
    if unknown:
        raise ValidationFailed(
            errors=[error("unknown_field", "Unknown benefit.", f"/{name}") for name in sorted(unknown)]
        )
    with transaction.atomic():
        if AEOProfile.objects.filter(trader=trader).exists():
            raise Conflict(detail="This trader already has an AEO profile.", code="aeo_profile_exists")
        profile = AEOProfile(trader=trader, tier=tier, valid_from=valid_from, valid_to=valid_to, **benefits)
        profile.full_clean()
        profile.save()
        AEOProfileChange.objects.create(
            profile=profile,
            actor=actor,
            from_status="",
            to_status=profile.status,
            reason=reason,
            payload={"granted": {f: str(getattr(profile, f)) for f in EDITABLE}},
            created_at=clock.now(),
        )
    return profile


def aeo_profile_change(
    *, profile_id: int, actor: Any = None, reason: str = "", status: str | None = None, **changes: Any
) -> AEOProfile:
    """Change status (guarded by AEO_TRANSITIONS) and/or tier, validity and benefits; one history
    row with the before/after values, written in the same transaction, the row locked."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(
            errors=[error("unknown_field", "Not an editable field.", f"/{n}") for n in sorted(unknown)]
        )
    with transaction.atomic():
        profile = AEOProfile.objects.select_for_update(of=("self",)).get(pk=profile_id)
        before = profile.status
        target = status or before
        if target not in Status.values:
            raise ValidationFailed(errors=[error("invalid_choice", f"Unknown status {target!r}.", "/status")])
        if target != before:  # an edit of tier, validity or benefits keeps the status
            AEO.transition_check(before, target)
        diff = {
            name: [str(getattr(profile, name)), str(value)]
            for name, value in changes.items()
            if getattr(profile, name) != value
        }
        if target == before and not diff:
            return profile
        for name, value in changes.items():
            setattr(profile, name, value)
        profile.status = target
        profile.full_clean()
        profile.save(update_fields=["status", *changes])
        AEOProfileChange.objects.create(
            profile=profile,
            actor=actor,
            from_status=before,
            to_status=target,
            reason=reason,
            payload={"changed": diff},
            created_at=clock.now(),
        )
    return profile


def trader_record_declaration(*, trader_id: Any, at: dt.datetime | None = None) -> None:
    """Count one lodged declaration (atomic increment; first_declared_at set once)."""
    when = at or clock.now()
    Trader.objects.filter(pk=trader_id).update(declarations_count=F("declarations_count") + 1)
    Trader.objects.filter(pk=trader_id, first_declared_at__isnull=True).update(first_declared_at=when)


def trader_record_offence(*, trader_id: Any) -> None:
    Trader.objects.filter(pk=trader_id).update(offences_count=F("offences_count") + 1)
