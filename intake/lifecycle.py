"""The buffered submission lifecycle (`core.lifecycle`).

pending -> replaying (a replay run claims it) -> lodged | rejected (the primary's outcome, copied
from the replay ledger); replaying -> pending when the run failed on it or died holding it (the
claim is reclaimed). Lodged and rejected are final: a correction is a new submission.
"""

from __future__ import annotations

from core.lifecycle import Lifecycle

from .enums import SubmissionStatus

S = SubmissionStatus

SUBMISSION = Lifecycle("a buffered submission", {
    S.PENDING: frozenset({S.REPLAYING}),
    S.REPLAYING: frozenset({S.PENDING, S.LODGED, S.REJECTED}),
    S.LODGED: frozenset(),
    S.REJECTED: frozenset(),
})
