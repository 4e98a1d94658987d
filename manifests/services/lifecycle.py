"""Recording arrival and discharge (carrier or customs); closing when every B/L is settled."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.db import transaction

from core import clock
from core.exceptions import ValidationFailed, error
from core.outbox import outbox_enqueue
from manifests.enums import BillStatus, ManifestStatus
from manifests.lifecycle import transition_check
from manifests.models import BillOfLading, Manifest
from manifests.services.common import manifest_transition


def _check_time(value: dt.datetime, *, now: dt.datetime, not_before: dt.datetime | None, field: str) -> None:
    errors = []
    if value > now:
        errors.append(error("in_future", f"{field} cannot be in the future.", f"/{field}"))
    if not_before is not None and value < not_before:
        errors.append(error("before_previous_event", f"{field} cannot be before {not_before.isoformat()}.",
                            f"/{field}"))
    if errors:
        raise ValidationFailed(errors=errors)


def manifest_record_arrival(*, manifest_id: UUID, ata: dt.datetime | None, actor: Any) -> Manifest:
    """lodged -> arrived, with the actual time of arrival (default: now)."""
    now = clock.now()
    with transaction.atomic():
        manifest = Manifest.objects.select_for_update(of=("self",)).get(pk=manifest_id)
        transition_check(manifest.status, ManifestStatus.ARRIVED)  # before the time checks
        arrived_at = ata or now
        _check_time(arrived_at, now=now, not_before=manifest.lodged_at, field="ata")
        manifest_transition(manifest, ManifestStatus.ARRIVED, actor=actor, at=now,
                            payload={"ata": arrived_at.isoformat()}, ata=arrived_at)
        close_if_settled(manifest, actor=actor, now=now)
        # Declarations lodged pre-arrival and already cleared wait for arrival to be released:
        # hand the manifest to the clearance workers (outbox: survives a broker outage).
        outbox_enqueue(task_name="clearance.manifest_arrived", kwargs={"manifest_id": str(manifest.pk)})
    return manifest


def manifest_record_discharge(*, manifest_id: UUID, discharged_at: dt.datetime | None, actor: Any) -> Manifest:
    """arrived -> discharged (cargo off the conveyance; starts the 21-day entry period, EACCMA s.34)."""
    now = clock.now()
    with transaction.atomic():
        manifest = Manifest.objects.select_for_update(of=("self",)).get(pk=manifest_id)
        transition_check(manifest.status, ManifestStatus.DISCHARGED)  # before the time checks
        at = discharged_at or now
        _check_time(at, now=now, not_before=manifest.ata, field="discharged_at")
        manifest_transition(manifest, ManifestStatus.DISCHARGED, actor=actor, at=now,
                            payload={"discharged_at": at.isoformat()}, discharged_at=at)
        close_if_settled(manifest, actor=actor, now=now)
    return manifest


def close_if_settled(manifest: Manifest, *, actor: Any, now: dt.datetime) -> bool:
    """Close a manifest (locked by the caller) whose B/Ls are all settled.

    Only from arrived/discharged: cargo settled before arrival (AEO pre-arrival clearance) closes
    the manifest when arrival or discharge is recorded, so those are never skipped.
    """
    if manifest.status not in (ManifestStatus.ARRIVED, ManifestStatus.DISCHARGED):
        return False
    bills = BillOfLading.objects.filter(manifest=manifest)
    if not bills.exists() or bills.exclude(status=BillStatus.SETTLED).exists():
        return False
    manifest_transition(manifest, ManifestStatus.CLOSED, actor=actor, at=now, reason="all bills of lading settled",
                        closed_at=now)
    return True
