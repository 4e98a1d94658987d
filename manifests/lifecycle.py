"""The manifest lifecycle: one transition table, one guard (and those of its B/Ls and write-offs).

    draft -> lodged -> arrived -> discharged -> closed
                          \\------------------------^   (arrived -> closed: all B/Ls settled
                                                       before the discharge was recorded)

`closed` is reached only through settlement of every B/L (write-off service) or when arrival /
discharge is recorded for a manifest whose B/Ls are already all settled.
"""

from __future__ import annotations

from core.lifecycle import Lifecycle
from manifests.enums import BillStatus, ManifestStatus, WriteOffStatus

S = ManifestStatus

TRANSITIONS: dict[ManifestStatus, frozenset[ManifestStatus]] = {
    S.DRAFT: frozenset({S.LODGED}),
    S.LODGED: frozenset({S.ARRIVED}),
    S.ARRIVED: frozenset({S.DISCHARGED, S.CLOSED}),
    S.DISCHARGED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

# Statuses in which the manifest may be amended (a closed manifest is final).
AMENDABLE: frozenset[ManifestStatus] = frozenset({S.DRAFT, S.LODGED, S.ARRIVED, S.DISCHARGED})
# Statuses in which declarations may write off its B/Ls (pre-arrival processing included).
DECLARABLE: frozenset[ManifestStatus] = frozenset({S.LODGED, S.ARRIVED, S.DISCHARGED})


MANIFEST = Lifecycle("a manifest", TRANSITIONS)
transition_allowed = MANIFEST.transition_allowed
# Raise 409 `illegal_transition` unless `current -> target` is in the table.
transition_check = MANIFEST.transition_check

# A B/L is settled once its packages are all written off by released declarations.
BILL = Lifecycle("a bill of lading", {BillStatus.OPEN: {BillStatus.SETTLED}, BillStatus.SETTLED: ()})

# A declaration's reservation on a B/L: settled on release, or released (given back) when the
# declaration is cancelled, rejected or amended to other quantities. Either end is final.
WRITE_OFF = Lifecycle("a write-off", {
    WriteOffStatus.RESERVED: {WriteOffStatus.SETTLED, WriteOffStatus.RELEASED},
    WriteOffStatus.SETTLED: (),
    WriteOffStatus.RELEASED: (),
})
