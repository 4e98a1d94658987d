"""Reads of manifests and bills of lading, with object isolation.

Visibility: carrier staff see their own carrier's manifests and B/Ls; customs staff (`is_staff`)
see everything; clearing agents may look up a B/L (not a manifest) whose consignee is a trader
they are authorised for today. Anything else is "not found" (404), never "forbidden".
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from core import clock
from core.exceptions import NotFound
from manifests.enums import BillStatus, ManifestStatus
from manifests.models import (
    BillOfLading,
    Carrier,
    CarrierStaff,
    Manifest,
    ManifestEvent,
    ManifestVersion,
    Terminal,
    TerminalStaff,
    WriteOff,
)
from traders.selectors import agent_authorised_for, agent_for_user


def carrier_for_user(user: Any) -> Carrier | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    staff = CarrierStaff.objects.select_related("carrier").filter(user_id=user.pk).first()
    if staff is None or not staff.carrier.is_active:
        return None
    return staff.carrier


def terminal_for_user(user: Any) -> Terminal | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    staff = TerminalStaff.objects.select_related("terminal").filter(user_id=user.pk).first()
    if staff is None or not staff.terminal.is_active:
        return None
    return staff.terminal


def is_customs_staff(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


def manifests_visible_to(user: Any) -> QuerySet[Manifest]:
    qs = Manifest.objects.select_related("carrier", "port_of_loading", "port_of_discharge", "office_of_discharge")
    if is_customs_staff(user):
        return qs
    carrier = carrier_for_user(user)
    if carrier is None:
        return qs.none()
    return qs.filter(carrier=carrier)


def manifest_get_for_user(*, user: Any, manifest_id: UUID) -> Manifest:
    manifest = manifests_visible_to(user).filter(pk=manifest_id).first()
    if manifest is None:
        raise NotFound(detail="No such manifest.", code="manifest_not_found")
    return manifest


def manifest_bills(manifest: Manifest) -> list[BillOfLading]:
    return list(
        BillOfLading.objects.filter(manifest=manifest).select_related("package_kind")
        .prefetch_related("containers").order_by("position")
    )


def manifest_versions(manifest: Manifest) -> list[ManifestVersion]:
    return list(ManifestVersion.objects.filter(manifest=manifest).order_by("version"))


def manifest_version_get(*, manifest: Manifest, version: int) -> ManifestVersion:
    row = ManifestVersion.objects.filter(manifest=manifest, version=version).first()
    if row is None:
        raise NotFound(detail=f"Manifest has no version {version}.", code="version_not_found")
    return row


def bl_find(number: str) -> BillOfLading | None:
    """The open B/L with this number on a lodged (not draft, not closed) manifest.

    B/L numbers are unique per carrier and voyage only, so several open B/Ls may share a number
    (two carriers, or a carrier re-using numbers across voyages); the one on the most recently
    lodged manifest wins, since an agent declares the cargo that is arriving now.
    """
    if not isinstance(number, str) or not number:
        return None
    return (
        BillOfLading.objects.select_related("manifest", "manifest__office_of_discharge", "manifest__carrier")
        .filter(number=number, status=BillStatus.OPEN)
        .exclude(manifest__status__in=[ManifestStatus.DRAFT, ManifestStatus.CLOSED])
        .order_by("-manifest__lodged_at", "-manifest__created_at")
        .first()
    )


def bl_find_many(numbers: set[str]) -> dict[str, BillOfLading]:
    """`bl_find` for many numbers in one query (the contingency replay prefetches a chunk's)."""
    found: dict[str, BillOfLading] = {}
    wanted = {n for n in numbers if isinstance(n, str) and n}
    if not wanted:
        return found
    for bill in (BillOfLading.objects.select_related("manifest", "manifest__office_of_discharge", "manifest__carrier")
                 .filter(number__in=wanted, status=BillStatus.OPEN)
                 .exclude(manifest__status__in=[ManifestStatus.DRAFT, ManifestStatus.CLOSED])
                 .order_by("number", "-manifest__lodged_at", "-manifest__created_at")):
        found.setdefault(bill.number, bill)
    return found


def bl_get_for_user(*, user: Any, number: str) -> BillOfLading:
    """The B/L `number` as the user may see it (most recent visible one), else NotFound."""
    base = (
        BillOfLading.objects.select_related("manifest", "manifest__carrier", "package_kind")
        .prefetch_related("containers")
        .filter(number=number)
        .exclude(manifest__status=ManifestStatus.DRAFT)
        .order_by("-manifest__lodged_at", "-manifest__created_at")
    )
    bill: BillOfLading | None = None
    if is_customs_staff(user):
        bill = base.first()
    elif (carrier := carrier_for_user(user)) is not None:
        bill = base.filter(carrier=carrier).first()
    elif (agent := agent_for_user(user)) is not None:
        candidate = bl_find(number)
        if candidate is not None and agent_authorised_for(agent=agent, pin=candidate.consignee_pin,
                                                          on=clock.today()):
            bill = base.filter(pk=candidate.pk).first()
    if bill is None:
        raise NotFound(detail=f"No bill of lading {number!r} visible to you.", code="bl_not_found")
    return bill


def writeoffs_for_declaration(declaration_id: UUID) -> list[WriteOff]:
    return list(WriteOff.objects.filter(declaration_id=declaration_id).select_related("bill_of_lading"))


def manifests_visible_to_all() -> QuerySet[Manifest]:
    """Unfiltered (for rendering a manifest the caller was already allowed to act on)."""
    return Manifest.objects.select_related("carrier")


def manifest_events(manifest: Manifest) -> list[ManifestEvent]:
    return list(
        ManifestEvent.objects.filter(manifest=manifest).select_related("actor", "bill_of_lading")
        .order_by("created_at", "id")
    )
