"""Pieces shared by the manifest services: events, snapshots, ETags, pre-arrival deadline."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.conf import settings

from core.actors import actor_user
from manifests.enums import EventKind, TransportMode
from manifests.lifecycle import transition_check
from manifests.models import BillOfLading, Manifest, ManifestEvent

WEIGHT_Q = Decimal("0.001")


def pre_arrival_deadline(*, mode: str, eta: dt.datetime) -> dt.datetime | None:
    """When the manifest was due (KRA public notice 554: sea 48 h before arrival; air 4 h).

    Road manifests have no pre-arrival deadline in Forodha (trucks are manifested at the border).
    """
    hours = {
        TransportMode.SEA: getattr(settings, "MANIFEST_SEA_PRE_ARRIVAL_HOURS", 48),
        TransportMode.AIR: getattr(settings, "MANIFEST_AIR_PRE_ARRIVAL_HOURS", 4),
    }.get(TransportMode(mode))
    return None if hours is None else eta - dt.timedelta(hours=hours)


def is_late(*, mode: str, eta: dt.datetime, lodged_at: dt.datetime) -> bool:
    deadline = pre_arrival_deadline(mode=mode, eta=eta)
    return deadline is not None and lodged_at > deadline


def record_event(
    *,
    manifest: Manifest,
    kind: str,
    actor: Any,
    at: dt.datetime,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    payload: dict[str, Any] | None = None,
    bill: BillOfLading | None = None,
) -> ManifestEvent:
    return ManifestEvent.objects.create(
        manifest=manifest, bill_of_lading=bill, kind=kind, from_status=from_status, to_status=to_status,
        reason=reason, payload=payload or {}, actor=actor_user(actor), created_at=at,
    )


def record_transition(
    *, manifest: Manifest, from_status: str, to_status: str, actor: Any, at: dt.datetime,
    reason: str = "", payload: dict[str, Any] | None = None,
) -> ManifestEvent:
    return record_event(manifest=manifest, kind=EventKind.TRANSITION, from_status=from_status,
                        to_status=to_status, actor=actor, at=at, reason=reason, payload=payload)


def manifest_transition(
    manifest: Manifest, to_status: str, *, actor: Any, at: dt.datetime, reason: str = "",
    payload: dict[str, Any] | None = None, **fields: Any,
) -> ManifestEvent:
    """The one way a manifest's status changes (the caller holds its row lock): the table's guard,
    the new status with `fields` (e.g. `ata=`), one save and one transition event."""
    transition_check(manifest.status, to_status)
    from_status = manifest.status
    manifest.status = to_status
    for name, value in fields.items():
        setattr(manifest, name, value)
    manifest.updated_at = at
    manifest.save(update_fields=["status", *fields, "updated_at"])
    return record_transition(manifest=manifest, from_status=from_status, to_status=to_status, actor=actor,
                             at=at, reason=reason, payload=payload)


def manifest_etag(manifest: Manifest) -> str:
    """Strong ETag over everything a client can see change (version, status, timestamps)."""
    raw = f"{manifest.pk}:{manifest.version}:{manifest.status}:{manifest.updated_at.isoformat()}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def manifest_snapshot(manifest: Manifest) -> dict[str, Any]:
    """The manifest's declared content (no counters, no status) as JSON for `ManifestVersion`."""
    bills = (
        BillOfLading.objects.filter(manifest=manifest).prefetch_related("containers").order_by("position")
    )
    return {
        "reference": manifest.reference,
        "mode": manifest.mode,
        "vessel_name": manifest.vessel_name,
        "vessel_imo": manifest.vessel_imo,
        "flight_number": manifest.flight_number,
        "vehicle_registration": manifest.vehicle_registration,
        "voyage_number": manifest.voyage_number,
        "port_of_loading": manifest.port_of_loading_id,
        "port_of_discharge": manifest.port_of_discharge_id,
        "office_of_discharge": manifest.office_of_discharge_id,
        "eta": _iso(manifest.eta),
        "bills_of_lading": [
            {
                "id": str(bill.id),
                "number": bill.number,
                "kind": bill.kind,
                "master_number": bill.master_number,
                "consolidator_pin": bill.consolidator_pin,
                "shipper_name": bill.shipper_name,
                "shipper_address": bill.shipper_address,
                "consignee_name": bill.consignee_name,
                "consignee_pin": bill.consignee_pin,
                "consignee_address": bill.consignee_address,
                "notify_party_name": bill.notify_party_name,
                "notify_party_address": bill.notify_party_address,
                "description": bill.description,
                "marks": bill.marks,
                "packages": bill.packages,
                "package_kind": bill.package_kind_id,
                "gross_weight_kg": str(bill.gross_weight_kg),
                "place_of_delivery": bill.place_of_delivery_id or "",
                "containers": [
                    {"number": c.number, "size_type": c.size_type, "seals": list(c.seals),
                     "packages": c.packages}
                    for c in sorted(bill.containers.all(), key=lambda c: c.number)
                ],
            }
            for bill in bills
        ],
    }
