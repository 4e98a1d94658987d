"""The officer task lifecycle: one transition table, one guard (`core.lifecycle`).

open -> assigned (an officer takes it, or a supervisor assigns it) -> done (released, queried and
answered, rejected, ...). An assigned task may be reassigned to another officer; a task leaves the
queues once done (cancelled or released some other way: closed with it). Done is final.
"""

from __future__ import annotations

from core.lifecycle import Lifecycle

from .enums import OfficerTaskStatus

T = OfficerTaskStatus

OFFICER_TASK = Lifecycle("an officer task", {
    T.OPEN: frozenset({T.ASSIGNED, T.DONE}),
    T.ASSIGNED: frozenset({T.ASSIGNED, T.DONE}),
    T.DONE: frozenset(),
}, code="task_done")
