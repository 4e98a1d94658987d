"""Amending a manifest: a new version with a reason; earlier versions stay readable.

Rules (docs/manifests.md):
- a closed manifest cannot be amended (409);
- the client must send the ETag it read (If-Match): missing 428, stale 412;
- once a declaration has written off part of a B/L (reserved or settled packages), that B/L's
  declaration fields (`BILL_DECLARATION_FIELDS`) are frozen and it cannot be removed, and the
  manifest's `MANIFEST_DECLARATION_FIELDS` are frozen; everything else (vessel name spelling,
  notify party, shipper, description, seals, ...) may still change, and new B/Ls may be added.
Lock order everywhere in this app: manifest row, then its B/L rows ordered by pk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction

from core import clock
from core.exceptions import (
    Conflict,
    ErrorItem,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
    error,
)
from manifests.enums import EventKind, ManifestStatus
from manifests.inputs import (
    BILL_DECLARATION_FIELDS,
    BILL_SCALAR_FIELDS,
    MANIFEST_DECLARATION_FIELDS,
    MANIFEST_SCALAR_FIELDS,
    BillInput,
    ContainerInput,
    ManifestInput,
    json_pointers,
)
from manifests.lifecycle import AMENDABLE
from manifests.models import BillOfLading, Container, Manifest, ManifestVersion, WriteOff
from manifests.services.common import manifest_etag, manifest_snapshot, record_event
from manifests.services.lodging import bill_fields, manifest_fields, write_bills, write_containers
from manifests.services.validation import Resolved, validate_manifest

_MANIFEST_COLUMNS = (
    "reference", "mode", "vessel_name", "vessel_imo", "flight_number", "vehicle_registration", "voyage_number",
    "port_of_loading_id", "port_of_discharge_id", "office_of_discharge_id", "eta",
)


@dataclass(frozen=True)
class BillPatch:
    """Changes to one B/L, identified by its number; an unknown number adds a new B/L.

    `containers`, when given, replaces the B/L's whole container list.
    """

    number: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    containers: tuple[ContainerInput, ...] | None = None


@dataclass(frozen=True)
class ManifestPatch:
    reason: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    bills: tuple[BillPatch, ...] = ()
    remove_bills: tuple[str, ...] = ()


def manifest_input_from_rows(manifest: Manifest, bills: list[BillOfLading]) -> ManifestInput:
    return ManifestInput(
        reference=manifest.reference,
        mode=manifest.mode,
        vessel_name=manifest.vessel_name,
        vessel_imo=manifest.vessel_imo,
        flight_number=manifest.flight_number,
        vehicle_registration=manifest.vehicle_registration,
        voyage_number=manifest.voyage_number,
        port_of_loading=manifest.port_of_loading_id,
        port_of_discharge=manifest.port_of_discharge_id,
        office_of_discharge=manifest.office_of_discharge_id,
        eta=manifest.eta,
        bills=tuple(_bill_input(b) for b in bills),
    )


def _bill_input(bill: BillOfLading) -> BillInput:
    return BillInput(
        number=bill.number, kind=bill.kind, master_number=bill.master_number,
        consolidator_pin=bill.consolidator_pin, shipper_name=bill.shipper_name,
        shipper_address=bill.shipper_address, consignee_name=bill.consignee_name,
        consignee_pin=bill.consignee_pin, consignee_address=bill.consignee_address,
        notify_party_name=bill.notify_party_name, notify_party_address=bill.notify_party_address,
        description=bill.description, marks=bill.marks, packages=bill.packages,
        package_kind=bill.package_kind_id, gross_weight_kg=bill.gross_weight_kg,
        place_of_delivery=bill.place_of_delivery_id or "",
        containers=tuple(
            ContainerInput(number=c.number, size_type=c.size_type, seals=tuple(c.seals), packages=c.packages)
            for c in sorted(bill.containers.all(), key=lambda c: c.number)
        ),
    )


def manifest_amend(*, manifest_id: UUID, patch: ManifestPatch, if_match: str | None, actor: Any) -> Manifest:
    if not if_match:
        raise PreconditionRequired()
    now = clock.now()
    with transaction.atomic():
        manifest = Manifest.objects.select_for_update(of=("self",)).select_related("carrier").get(pk=manifest_id)
        if not etag_matches(if_match, manifest_etag(manifest)):
            raise PreconditionFailed(extra={"etag": manifest_etag(manifest)})
        if manifest.status not in AMENDABLE:
            raise Conflict(detail=f"A {manifest.status} manifest cannot be amended.", code="manifest_not_amendable")
        bills = list(
            BillOfLading.objects.select_for_update(of=("self",)).filter(manifest=manifest)
            .prefetch_related("containers").order_by("pk")
        )
        bills.sort(key=lambda b: b.position)
        by_number = {b.number: b for b in bills}
        current = manifest_input_from_rows(manifest, bills)

        errors: list[ErrorItem] = []
        if not patch.reason.strip():
            errors.append(error("required", "An amendment needs a reason.", "/reason"))
        pointer_map: dict[int, int] = {}
        merged_bills: list[BillInput] = []
        patched = {p.number: (i, p) for i, p in enumerate(patch.bills)}
        for number in patch.remove_bills:
            if number not in by_number:
                errors.append(error("unknown_bill_of_lading", f"No B/L {number} on this manifest.",
                                    "/remove_bills_of_lading"))
        for bill_input in current.bills:
            if bill_input.number in patch.remove_bills:
                continue
            if bill_input.number in patched:
                index, bill_patch = patched[bill_input.number]
                pointer_map[len(merged_bills)] = index
                merged_bills.append(_apply_bill_patch(bill_input, bill_patch))
            else:
                merged_bills.append(bill_input)
        new_patches = [(i, p) for i, p in enumerate(patch.bills) if p.number not in by_number]
        for index, bill_patch in new_patches:
            pointer_map[len(merged_bills)] = index
            merged_bills.append(_apply_bill_patch(BillInput(number=bill_patch.number), bill_patch))
        manifest_changes = {k: v for k, v in patch.fields.items() if k in MANIFEST_SCALAR_FIELDS}
        merged = dataclasses.replace(current, bills=tuple(merged_bills), **manifest_changes)
        pointer = json_pointers(pointer_map)
        validation_errors, resolved = validate_manifest(
            data=merged, carrier=manifest.carrier, pointer=pointer, now=now, existing=manifest,
            require_bills=manifest.status != ManifestStatus.DRAFT,
        )
        errors.extend(validation_errors)

        # Frozen fields once declared against.
        declared = {b.number for b in bills if b.is_declared_against}
        written_off = set(
            WriteOff.objects.filter(bill_of_lading__manifest=manifest).values_list("bill_of_lading__number", flat=True)
        )
        changes: list[str] = []
        for name in MANIFEST_SCALAR_FIELDS:
            if getattr(merged, name) != getattr(current, name):
                changes.append(f"/{name}")
                if declared and name in MANIFEST_DECLARATION_FIELDS:
                    errors.append(error("bl_declared_against",
                                        f"{name} cannot change: declarations were lodged against "
                                        f"B/L {', '.join(sorted(declared))}.", f"/{name}"))
        for number in patch.remove_bills:
            if number in written_off:
                errors.append(error("bl_declared_against",
                                    f"B/L {number} has write-offs from declarations and cannot be removed.",
                                    "/remove_bills_of_lading"))
            if number in by_number:
                changes.append(f"/bills_of_lading/{number}")
        for number, (index, bill_patch) in patched.items():
            old = by_number.get(number)
            if old is None:
                changes.append(f"/bills_of_lading/{number}")
                continue
            before = _bill_input(old)
            after = _apply_bill_patch(before, bill_patch)
            for name in (*BILL_SCALAR_FIELDS, "containers"):
                if getattr(after, name) != getattr(before, name):
                    changes.append(f"/bills_of_lading/{number}/{name}")
                    if number in declared and name in BILL_DECLARATION_FIELDS:
                        errors.append(error("bl_declared_against",
                                            f"B/L {number} has been declared against; {name} cannot change.",
                                            f"/bills_of_lading/{index}/{name}"))
        if not errors and not changes:
            errors.append(error("no_changes", "The amendment changes nothing.", ""))
        if errors:
            raise ValidationFailed(errors=errors)

        _write(manifest, merged, resolved.office_code, resolved.voyage_key, by_number, patch, patched)
        old_version = manifest.version
        manifest.version = old_version + 1
        manifest.updated_at = now
        manifest.save(update_fields=[*_MANIFEST_COLUMNS, "version", "updated_at"])
        ManifestVersion.objects.create(
            manifest=manifest, version=manifest.version, reason=patch.reason, changes=changes,
            snapshot=manifest_snapshot(manifest), actor=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        record_event(manifest=manifest, kind=EventKind.AMENDMENT, actor=actor, at=now, reason=patch.reason,
                     from_status=manifest.status, to_status=manifest.status,
                     payload={"from_version": old_version, "to_version": manifest.version, "changes": changes})
    return manifest


def etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


def _apply_bill_patch(bill: BillInput, bill_patch: BillPatch) -> BillInput:
    changes = {k: v for k, v in bill_patch.fields.items() if k in BILL_SCALAR_FIELDS and k != "number"}
    if bill_patch.containers is not None:
        changes["containers"] = tuple(sorted(bill_patch.containers, key=lambda c: c.number))
    return dataclasses.replace(bill, **changes)


def _write(
    manifest: Manifest,
    merged: ManifestInput,
    office_code: str,
    voyage: str,
    by_number: dict[str, BillOfLading],
    patch: ManifestPatch,
    patched: dict[str, tuple[int, BillPatch]],
) -> None:
    for name, value in manifest_fields(merged, Resolved(office_code=office_code, voyage_key=voyage)).items():
        setattr(manifest, name, value)
    removed = [by_number[n] for n in patch.remove_bills if n in by_number]
    if removed:
        BillOfLading.objects.filter(pk__in=[b.pk for b in removed]).delete()
    merged_by_number = {b.number: b for b in merged.bills}
    for number, bill in by_number.items():
        if number in patch.remove_bills:
            continue
        fields = bill_fields(merged_by_number[number])
        dirty = [k for k, v in fields.items() if getattr(bill, k) != v]
        if bill.voyage_number != voyage:
            bill.voyage_number = voyage
            dirty.append("voyage_number")
        for k in dirty:
            if k != "voyage_number":
                setattr(bill, k, fields[k])
        if dirty:
            bill.save(update_fields=dirty)
        if number in patched and patched[number][1].containers is not None:
            Container.objects.filter(bill_of_lading=bill).delete()
            write_containers(bill, merged_by_number[number].containers)
    new_bills = tuple(b for b in merged.bills if b.number not in by_number)
    if new_bills:
        start = max((b.position for b in by_number.values()), default=-1) + 1
        write_bills(manifest=manifest, bills=new_bills, voyage=voyage, start=start)
