"""Risk's answers to declaration events (`core.events`), subscribed in `RiskConfig.ready`."""

from __future__ import annotations

from typing import Any

from declarations.enums import Status

from .services.clearance import officer_tasks_close


def on_declaration_status_changed(*, declaration: Any, from_status: str, to_status: str, actor: Any) -> None:
    if to_status == Status.CANCELLED and from_status == Status.UNDER_CONTROL:
        # Cancelled while under officer control: close its task so it leaves the work queues.
        officer_tasks_close(declaration_id=declaration.pk, outcome="cancelled")
