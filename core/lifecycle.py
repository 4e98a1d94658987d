"""One shape for every status lifecycle: a transition table and its one guard, `transition_check`.

Each app names its lifecycles next to their enum (`declarations.lifecycle`, `manifests.lifecycle`,
`transit.lifecycle`, ...): `Lifecycle("a manifest", {DRAFT: {LODGED}, ...})`. The service that
changes a status calls `transition_check(from_status, to_status)` before it writes; an illegal move
is a 409 problem with the lifecycle's code (`illegal_transition` unless the API published another),
the requested move and the statuses allowed from where the row stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from core.exceptions import Conflict, error


class Lifecycle:
    """A status field's transition table (status -> statuses it may move to) and its guard."""

    # Keys: a status (str or its TextChoices member; a Mapping is invariant in its key type).
    def __init__(self, subject: str, transitions: Mapping[Any, Iterable[str]], *,
                 code: str = "illegal_transition", pointer: str = "/status") -> None:
        self.subject = subject  # with its article, as in a sentence: "a transit alert"
        self.transitions: dict[str, frozenset[str]] = {
            str(status): frozenset(str(target) for target in targets) for status, targets in transitions.items()
        }
        self.code = code
        self.pointer = pointer

    @property
    def terminal(self) -> frozenset[str]:
        """Statuses with no way out."""
        return frozenset(status for status, targets in self.transitions.items() if not targets)

    def allowed_from(self, from_status: str) -> frozenset[str]:
        return self.transitions.get(str(from_status), frozenset())

    def transition_allowed(self, from_status: str, to_status: str) -> bool:
        return str(to_status) in self.allowed_from(from_status)

    def update(self, queryset: QuerySet[Any], from_status: str | Iterable[str], to_status: str,
               **fields: Any) -> int:
        """Compare-and-set through the table: move the rows of `queryset` still in `from_status`
        (one status or several) to `to_status` with `fields`, each move checked by the guard first.
        Returns how many rows moved (0: another process moved them first)."""
        sources = [from_status] if isinstance(from_status, str) else list(from_status)
        for source in sources:
            self.transition_check(source, to_status)
        return queryset.filter(status__in=sources).update(status=to_status, **fields)

    def transition_check(self, from_status: str, to_status: str) -> None:
        """The guard: raise Conflict (`self.code`, 409) unless the table allows the move."""
        if not self.transition_allowed(from_status, to_status):
            raise Conflict(
                detail=f"{self.subject[:1].upper()}{self.subject[1:]} cannot go from {str(from_status)!r} "
                       f"to {str(to_status)!r}.",
                code=self.code,
                errors=[error(self.code, f"{from_status} -> {to_status} is not allowed.", self.pointer)],
                extra={"from": str(from_status), "to": str(to_status),
                       "allowed": sorted(self.allowed_from(from_status))},
            )
