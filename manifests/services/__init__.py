"""Write services of the manifests app (one module per sub-domain, re-exported here)."""

from manifests.services.amendment import BillPatch, ManifestPatch, manifest_amend
from manifests.services.common import manifest_etag, pre_arrival_deadline
from manifests.services.lifecycle import manifest_record_arrival, manifest_record_discharge
from manifests.services.lodging import manifest_lodge, manifest_submit
from manifests.services.writeoff import (
    writeoff_fresh_many_fit,
    writeoff_release,
    writeoff_reserve,
    writeoff_reserve_fresh,
    writeoff_reserve_fresh_many,
    writeoff_settle,
)

__all__ = [
    "BillPatch",
    "ManifestPatch",
    "manifest_amend",
    "manifest_etag",
    "manifest_lodge",
    "manifest_record_arrival",
    "manifest_record_discharge",
    "manifest_submit",
    "pre_arrival_deadline",
    "writeoff_fresh_many_fit",
    "writeoff_release",
    "writeoff_reserve",
    "writeoff_reserve_fresh",
    "writeoff_reserve_fresh_many",
    "writeoff_settle",
]
