"""Lodging a manifest (JSON or CUSCAR), and lodging a saved draft."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction

from core import clock
from core.actors import actor_user
from core.exceptions import ErrorItem, ValidationFailed, error
from manifests.enums import ManifestStatus
from manifests.inputs import BillInput, ManifestInput, PointerFn, json_pointers
from manifests.lifecycle import transition_check
from manifests.models import BillOfLading, Carrier, Container, Manifest, ManifestVersion
from manifests.services.common import WEIGHT_Q, is_late, manifest_snapshot, manifest_transition, record_transition
from manifests.services.validation import Resolved, validate_manifest, voyage_key


def manifest_lodge(
    *,
    carrier: Carrier,
    data: ManifestInput,
    actor: Any,
    draft: bool = False,
    source: str = "json",
    pointer: PointerFn | None = None,
    extra_errors: list[ErrorItem] | None = None,
    received_at: dt.datetime | None = None,
) -> Manifest:
    """Create a manifest with its B/Ls and containers; lodge it unless `draft`.

    Everything is validated first (every problem reported with its pointer) and written in one
    transaction, so a rejected manifest leaves nothing behind. Late lodging (after the
    pre-arrival deadline) is accepted and flagged, not refused.

    `received_at`: when a manifest buffered during an outage was received (contingency replay);
    it is the legal lodging time, so the ETA and pre-arrival rules are judged at that moment.
    """
    pointer = pointer or json_pointers()
    now = clock.now()
    lodged_at = received_at or now
    errors, resolved = validate_manifest(
        data=data, carrier=carrier, pointer=pointer, now=lodged_at, require_bills=not draft
    )
    # Problems found while mapping (EDIFACT) are reported together with the business ones.
    errors = [*(extra_errors or []), *errors]
    if errors:
        raise ValidationFailed(errors=errors)
    try:
        with transaction.atomic():
            manifest = Manifest.objects.create(
                carrier=carrier, created_by=actor_user(actor), created_at=now, updated_at=now,
                status=ManifestStatus.DRAFT, source=source, **manifest_fields(data, resolved),
            )
            write_bills(manifest=manifest, bills=data.bills, voyage=resolved.voyage_key)
            record_transition(manifest=manifest, from_status="", to_status=ManifestStatus.DRAFT,
                              actor=actor, at=now, payload={"source": source})
            ManifestVersion.objects.create(
                manifest=manifest, version=1, reason="initial", snapshot=manifest_snapshot(manifest),
                actor=actor_user(actor), created_at=now,
            )
            if not draft:
                _lodge(manifest, actor=actor, now=now, lodged_at=lodged_at)
    except IntegrityError as exc:
        # A concurrent lodging took the same reference or B/L number between validation and insert.
        message = str(exc)
        if "manifest_reference_unique_per_carrier" in message:
            item = error("duplicate_manifest_reference", "A manifest with this reference was just lodged.",
                         pointer("reference"))
        elif "bl_number_unique_per_carrier_voyage" in message:
            item = error("duplicate_bill_of_lading", "A B/L number of this manifest was just lodged on another "
                         "manifest of the same voyage.", pointer("bills"))
        else:
            raise
        raise ValidationFailed(errors=[item]) from exc
    return manifest


def manifest_submit(*, manifest_id: UUID, actor: Any) -> Manifest:
    """Lodge a saved draft (draft -> lodged); the same rules as a direct lodging apply."""
    now = clock.now()
    with transaction.atomic():
        manifest = Manifest.objects.select_for_update(of=("self",)).select_related("carrier").get(pk=manifest_id)
        transition_check(manifest.status, ManifestStatus.LODGED)  # before the content checks
        errors: list = []
        if manifest.eta <= now:
            errors.append(error("eta_in_past", "The ETA must be in the future to lodge the manifest.", "/eta"))
        if not manifest.bills_of_lading.exists():
            errors.append(error("required", "A manifest needs at least one bill of lading.", "/bills_of_lading"))
        if errors:
            raise ValidationFailed(errors=errors)
        _lodge(manifest, actor=actor, now=now)
    return manifest


def _lodge(manifest: Manifest, *, actor: Any, now: dt.datetime, lodged_at: dt.datetime | None = None) -> None:
    lodged_at = lodged_at or now
    late = is_late(mode=manifest.mode, eta=manifest.eta, lodged_at=lodged_at)
    manifest_transition(manifest, ManifestStatus.LODGED, actor=actor, at=now,
                        payload={"late_lodging": late, "lodged_at": lodged_at.isoformat()},
                        lodged_at=lodged_at, late_lodging=late)


def manifest_fields(data: ManifestInput, resolved: Resolved) -> dict[str, Any]:
    return {
        "reference": data.reference,
        "mode": data.mode,
        "vessel_name": data.vessel_name,
        "vessel_imo": (data.vessel_imo or "").removeprefix("IMO"),
        "flight_number": data.flight_number,
        "vehicle_registration": data.vehicle_registration,
        "voyage_number": resolved.voyage_key,
        "port_of_loading_id": data.port_of_loading,
        "port_of_discharge_id": data.port_of_discharge,
        "office_of_discharge_id": resolved.office_code,
        "eta": data.eta,
    }


def bill_fields(bill: BillInput) -> dict[str, Any]:
    assert bill.gross_weight_kg is not None
    assert bill.packages is not None
    return {
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
        "package_kind_id": bill.package_kind,
        "gross_weight_kg": bill.gross_weight_kg.quantize(WEIGHT_Q),
        "place_of_delivery_id": bill.place_of_delivery or None,
    }


def write_containers(bill: BillOfLading, containers: Any) -> None:
    Container.objects.bulk_create(
        [
            Container(bill_of_lading=bill, number=c.number, size_type=c.size_type, seals=list(c.seals),
                      packages=c.packages)
            for c in containers
        ]
    )


def write_bills(*, manifest: Manifest, bills: tuple[BillInput, ...], voyage: str, start: int = 0) -> None:
    for position, bill in enumerate(bills, start=start):
        row = BillOfLading.objects.create(
            manifest=manifest, carrier_id=manifest.carrier_id, voyage_number=voyage, position=position,
            **bill_fields(bill),
        )
        write_containers(row, bill.containers)


__all__ = ["manifest_lodge", "manifest_submit", "voyage_key"]
