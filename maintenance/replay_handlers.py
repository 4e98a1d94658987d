"""Who lodges a buffered submission during replay: an explicit registry, filled by the apps that own
the lodging (declarations, manifests) in their `AppConfig.ready`.

Maintenance sits below declarations and manifests (README "Architecture"): it stores their lodging
requests during an outage or a buffer window and, once service returns, hands each one back to the
app that owns that endpoint. It never imports them; they register here, keyed by the endpoint name
of `maintenance.intake.LODGING_ENDPOINTS`:

    register("declarations", lodge=lodge_buffered, lodge_chunk=lodge_buffered_chunk)

`lodge` lodges one submission; `lodge_chunk` (optional) validates a chunk of them together for the
set-based replay. The requests that are not lodgings (`OTHER_BUFFERED_ENDPOINTS`) are re-dispatched
through their view by maintenance itself (`maintenance.redispatch`) and need no handler.

A lodging endpoint without a handler is a wiring error, not a reason to skip: the replay refuses to
start (`503 replay_unavailable`, nothing claimed) and `manage.py check` reports it
(`maintenance.E001`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.checks import CheckMessage
from django.core.checks import Error as CheckError

from core.exceptions import ErrorItem, ServiceUnavailable

from .intake import LODGING_ENDPOINTS


@dataclass(frozen=True)
class ReplayOutcome:
    """What the lodging path says about one buffered submission."""

    lodged: bool
    entry_number: str | None = None
    resource_id: str | None = None
    errors: tuple[ErrorItem, ...] = ()
    detail: str = ""
    code: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"lodged": self.lodged, "entry_number": self.entry_number, "resource_id": self.resource_id,
                "errors": [e.as_dict() for e in self.errors], "detail": self.detail, "code": self.code,
                **({"result": self.result} if self.result else {})}


class LodgeCallable(Protocol):
    """Lodge one buffered submission through the normal lodging path.

    `lodged_at` is the receipt time (it counts as the lodgement time for deadlines);
    `deadline_extension` is the contingency length to add to payment due dates. Called inside a
    transaction (a savepoint) that also records the outcome: database writes made here commit
    together with the submission's `lodged` status, which is what makes the replay exactly-once.
    Raise an `ApplicationError` (or return `lodged=False`) to reject.
    """

    def __call__(self, submission: Any, *, lodged_at: dt.datetime,
                 deadline_extension: dt.timedelta) -> ReplayOutcome: ...


class ChunkLodgeCallable(Protocol):
    """Validate a chunk of buffered submissions together and lodge them in one transaction.

    Called with `(submission, lodged_at, deadline_extension)` tuples in priority order; reads only.
    Returns an object with `handled` (the submission ids it decides; the others go to the lodge
    callable one by one) and `lodge(only: set[id]) -> {id: ReplayOutcome}`, which writes inside the
    caller's transaction (the chunk's, together with its ledger rows)."""

    def __call__(self, items: list[tuple[Any, dt.datetime, dt.timedelta]]) -> Any: ...


@dataclass(frozen=True)
class ReplayHandler:
    kind: str
    lodge: LodgeCallable | Callable[..., ReplayOutcome]
    lodge_chunk: ChunkLodgeCallable | Callable[..., Any] | None = None


class ChunkRetry(RuntimeError):
    """Raised by a chunk callable when its chunk must be replayed one by one: an expected race
    (another lodging took what the chunk counted on), not a failure; logged without a traceback."""


# The endpoints that need a handler: every lodging endpoint (the others are re-dispatched).
KINDS: tuple[str, ...] = tuple(endpoint.name for endpoint in LODGING_ENDPOINTS)

_handlers: dict[str, ReplayHandler] = {}


def register(kind: str, *, lodge: LodgeCallable | Callable[..., ReplayOutcome],
             lodge_chunk: ChunkLodgeCallable | Callable[..., Any] | None = None) -> None:
    """Make `lodge` (and `lodge_chunk`) the replay of the buffered submissions of endpoint `kind`
    (from an `AppConfig.ready`). Registering a kind again replaces its handler (ready() run again)."""
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a lodging endpoint; replay handlers exist for {', '.join(KINDS)}")
    _handlers[kind] = ReplayHandler(kind=kind, lodge=lodge, lodge_chunk=lodge_chunk)


def registrations() -> dict[str, ReplayHandler]:
    """Who replays what, by endpoint name (for readers, tests and the system check)."""
    return dict(_handlers)


def missing(kinds: Iterable[str] = KINDS) -> list[str]:
    return [kind for kind in kinds if kind not in _handlers]


def require(kinds: Iterable[str] = KINDS) -> None:
    """Refuse to replay while a lodging endpoint has no handler: a buffered submission would
    otherwise wait, or be rejected, for a wiring error."""
    absent = missing(kinds)
    if absent:
        raise ServiceUnavailable(
            detail=f"No replay handler is registered for {', '.join(absent)} (the owning app registers one "
                   "in its AppConfig.ready); nothing was replayed.",
            code="replay_unavailable")


def lodge(submission: Any, *, lodged_at: dt.datetime, deadline_extension: dt.timedelta) -> ReplayOutcome:
    """The default lodge callable of the replay: the handler registered for the submission's endpoint
    (the replay calls `require()` once before it claims anything)."""
    return _handlers[submission.endpoint].lodge(submission, lodged_at=lodged_at,
                                                deadline_extension=deadline_extension)


class _Chunks:
    """Several registered chunk lodgings seen as one (`ChunkLodgeCallable`'s result)."""

    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = [(chunk, set(chunk.handled)) for chunk in chunks]

    @property
    def handled(self) -> list[Any]:
        return [key for _chunk, handled in self.chunks for key in handled]

    def lodge(self, only: set[Any]) -> dict[Any, ReplayOutcome]:
        outcomes: dict[Any, ReplayOutcome] = {}
        for chunk, handled in self.chunks:
            mine = only & handled
            if mine:
                outcomes.update(chunk.lodge(mine))
        return outcomes


def lodge_chunk(items: list[tuple[Any, dt.datetime, dt.timedelta]]) -> _Chunks:
    """The default chunk callable: each registered `lodge_chunk` gets, in priority order, the items
    of the endpoints it is registered for; the rest are left to the one-by-one path."""
    groups: dict[Any, list[tuple[Any, dt.datetime, dt.timedelta]]] = {}
    for item in items:
        handler = _handlers.get(item[0].endpoint)
        if handler is not None and handler.lodge_chunk is not None:
            groups.setdefault(handler.lodge_chunk, []).append(item)
    return _Chunks([chunk_fn(group) for chunk_fn, group in groups.items()])


def has_chunk_lodging() -> bool:
    return any(handler.lodge_chunk is not None for handler in _handlers.values())


def check_registered(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """System check (`manage.py check`): every lodging endpoint has a replay handler."""
    return [CheckError(f"No replay handler is registered for the lodging endpoint {kind!r}.",
                       hint="The app owning the endpoint calls maintenance.replay_handlers.register() "
                            "in its AppConfig.ready.",
                       id="maintenance.E001") for kind in missing()]
