"""Clearance's answers to the events of the apps below it (`core.events`), subscribed in
`ClearanceConfig.ready`."""

from __future__ import annotations

from typing import Any

from core.outbox import outbox_enqueue_many
from declarations.enums import Status

from .services.clearance import officer_tasks_close
from .tasks import ADVANCE_TASK


def on_declaration_status_changed(*, declaration: Any, from_status: str, to_status: str, actor: Any) -> None:
    if to_status == Status.PAID:
        # Paid: advanced after commit by a worker if it is scored too (whichever of payment and
        # scoring comes second advances it; both hold the declaration's row lock).
        outbox_enqueue_many([(ADVANCE_TASK, {"declaration_id": str(declaration.pk)})])
    elif to_status == Status.CANCELLED and from_status == Status.UNDER_CONTROL:
        # Cancelled while under officer control: close its task so it leaves the work queues.
        officer_tasks_close(declaration_id=declaration.pk, outcome="cancelled")


def on_declarations_scored(*, outcomes: list[Any], actor: Any) -> None:
    """Risk stored a selectivity: the declarations already paid (or with nothing to pay) are
    advanced after commit, by a worker (one outbox row each; the outbox coalesces a batch's rows
    into `clearance.advance_batch` messages)."""
    ready = [outcome.declaration_id for outcome in outcomes if outcome.ready_for_clearance]
    outbox_enqueue_many([(ADVANCE_TASK, {"declaration_id": str(pk)}) for pk in ready])
