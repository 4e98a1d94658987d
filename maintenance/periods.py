"""Contingency periods as events other apps subscribe to (an explicit registry, filled in the
subscribers' `AppConfig.ready`): a declared outage ended, a detected database outage recorded after
recovery, a `buffer` window completed (or cancelled while active). The maintenance app owns the
periods; what follows from one (payment deadlines moving: declarations) belongs to its subscriber.

Subscribers run inside the transaction that ends the period, so what they write (an outbox row, a
marker) commits with it, exactly once per period: every caller publishes a period only on the
transition that ends it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContingencyPeriod:
    kind: str  # "outage" | "window"
    id: uuid.UUID
    source: str  # operator | database_unavailable | buffer_window
    started_at: dt.datetime
    ended_at: dt.datetime

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def length(self) -> dt.timedelta:
        return self.ended_at - self.started_at


Subscriber = Callable[[ContingencyPeriod], Any]  # what it returns is ignored
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def period_ended(period: ContingencyPeriod) -> None:
    """Publish, inside the caller's transaction."""
    for subscriber in list(_subscribers):
        subscriber(period)
