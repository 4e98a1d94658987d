"""A chunk of lodgings validated together and written once per table (the contingency replay).

The same rules as one lodging (`declaration_prepare`, the one validation core) and the same rows
(built by the pieces `services/lodging.py` builds one lodging with); what differs is the number of
round trips: the chunk's traders, bills of lading and IDFs are read in three queries
(`PrefetchedLookups`), and each table is written once for the whole chunk (COPY on PostgreSQL).

Two steps, so the caller can claim exactly-once keys between them:
`chunk_prepare(entries)` validates (reads only) and sorts each entry into
- bulk: valid, written by `chunk_lodge`;
- rejected: its problems are final without a write (the `ValidationFailed` one lodging raises);
- single: the one-declaration path must lodge it (a draft, an IM8 transit bond, an exemption quota
  draw, or problems to which the B/L quantity check under lock may add its own).

`chunk_lodge(plan, only=...)` runs inside the caller's transaction, in the lock order of one
lodging (B/Ls by id -> traders by id -> entry-number counters), so it never deadlocks with HTTP
lodgings or another chunk. A B/L that cannot take the chunk's sum is retried one declaration at a
time (each in a savepoint): the one that does not fit is rejected as one lodging would be.
Entry numbers stay gap-free: one counter UPDATE per office/regime/year takes the chunk's serials,
in the chunk's order (the replay's priority order).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import clock, events
from core.db import insert_instances, insert_rows
from core.events import Event
from core.exceptions import ApplicationError, ValidationFailed
from core.outbox import outbox_enqueue_many
from maintenance.replay_handlers import ChunkRetry
from manifests.selectors import bl_find_many
from manifests.services import writeoff_fresh_many_fit, writeoff_reserve_fresh_many
from notifications.models import Notification
from notifications.services import notification_create_many
from traders.selectors import traders_for_agent

from ..entry_numbers import entry_numbers_take
from ..enums import Status
from ..lifecycle import transition_check
from ..models import (
    Assessment,
    AssessmentLine,
    AttachedDocument,
    Declaration,
    DeclarationEvent,
    DeclarationItem,
    DeclarationVersion,
    ESlip,
    ImportDeclarationForm,
)
from .common import actor_user, events_chain
from .lodging import (
    ITEM_FIELDS,
    LINE_FIELDS,
    RISK_TASK,
    LineValues,
    _reserve,
    accepted_notice,
    assessment_build,
    declaration_fill,
    eslip_build,
    item_rows,
    line_rows,
    lodging_events,
    lodging_version,
    nothing_to_pay_apply,
    trader_counts_add,
)
from .validation import Lookups, PreparedDeclaration, declaration_prepare


@dataclass
class ChunkEntry:
    """One body to lodge: `key` names it to the caller (the buffered submission's id)."""

    key: Any
    agent: Any  # the clearing agent
    user: Any  # the submitting staff user (the actor)
    payload: Any
    registered_at: dt.datetime
    deadline_extension: dt.timedelta | None = None


@dataclass
class _Planned:
    entry: ChunkEntry
    declaration_id: uuid.UUID
    prepared: PreparedDeclaration


@dataclass
class ChunkPlan:
    bulk: list[_Planned] = field(default_factory=list)
    rejected: dict[Any, ApplicationError] = field(default_factory=dict)
    single: list[Any] = field(default_factory=list)

    @property
    def handled(self) -> list[Any]:
        """Keys this plan decides (lodged by `chunk_lodge` or rejected), in chunk order."""
        return [p.entry.key for p in self.bulk] + list(self.rejected)


@dataclass
class ChunkResult:
    lodged: dict[Any, Declaration] = field(default_factory=dict)
    rejected: dict[Any, ApplicationError] = field(default_factory=dict)


class PrefetchedLookups(Lookups):
    """The chunk's traders (per agent and day), B/Ls and IDFs, read in one query each; a key not
    prefetched falls back to the per-declaration query."""

    def __init__(self, entries: list[ChunkEntry]) -> None:
        pins: dict[tuple[Any, dt.date], set[str]] = defaultdict(set)
        agents: dict[Any, Any] = {}
        bls: set[str] = set()
        idfs: set[str] = set()
        for entry in entries:
            body = entry.payload
            if not isinstance(body, dict):
                continue
            on = timezone.localtime(entry.registered_at).date()
            agents[entry.agent.pk] = entry.agent
            for name in ("importer_pin", "exporter_pin"):
                if isinstance(body.get(name), str) and body[name]:
                    pins[(entry.agent.pk, on)].add(body[name])
            if isinstance(body.get("bill_of_lading"), str):
                bls.add(body["bill_of_lading"])
            if isinstance(body.get("idf_number"), str) and body["idf_number"]:
                idfs.add(body["idf_number"])
        self._traders: dict[tuple[Any, dt.date, str], Any] = {}
        for (agent_pk, on), wanted in pins.items():
            found = traders_for_agent(agent=agents[agent_pk], pins=wanted, on=on)
            for pin in wanted:
                self._traders[(agent_pk, on, pin)] = found.get(pin)
        self._bls: dict[str, Any] = dict.fromkeys(bls)
        self._bls.update(bl_find_many(bls))
        self._idfs: dict[str, Any] = dict.fromkeys(idfs)
        self._idfs.update({idf.number: idf for idf in ImportDeclarationForm.objects.filter(number__in=idfs)}
                          if idfs else {})

    def trader(self, *, agent: Any, pin: str, on: dt.date) -> Any:
        key = (agent.pk, on, pin)
        return self._traders[key] if key in self._traders else super().trader(agent=agent, pin=pin, on=on)

    def bill_of_lading(self, number: str) -> Any:
        return self._bls[number] if number in self._bls else super().bill_of_lading(number)

    def idf(self, number: str) -> Any:
        return self._idfs[number] if number in self._idfs else super().idf(number)


def chunk_prepare(entries: list[ChunkEntry]) -> ChunkPlan:
    """Validate every entry (reads only; nothing is written)."""
    lookups = PrefetchedLookups(entries)
    plan = ChunkPlan()
    for entry in entries:
        if not isinstance(entry.payload, dict) or entry.payload.get("draft") is True:
            plan.single.append(entry.key)
            continue
        declaration_id = uuid.uuid4()
        try:
            prepared = declaration_prepare(agent=entry.agent, body=entry.payload, registered_at=entry.registered_at,
                                           deadline_extension=entry.deadline_extension,
                                           declaration_id=declaration_id, lookups=lookups)
        except ApplicationError as exc:
            plan.rejected[entry.key] = exc
            continue
        if prepared.errors:
            if prepared.bill_of_lading is not None and not any(e.pointer == "/bill_of_lading"
                                                               for e in prepared.errors):
                plan.single.append(entry.key)  # the B/L quantity check adds its problems under lock
            else:
                plan.rejected[entry.key] = ValidationFailed(errors=list(prepared.errors))
        elif prepared.data["regime"] == "IM8" or prepared.exemption_draws:
            plan.single.append(entry.key)  # a bond reservation / quota draw of its own
        else:
            plan.bulk.append(_Planned(entry=entry, declaration_id=declaration_id, prepared=prepared))
    return plan


class ChunkRaced(ChunkRetry):
    """The chunk's bills changed between the unlocked check and their locks (another lodging took
    what they had left): the chunk's transaction must roll back; its declarations are lodged one
    by one, each told exactly what does not fit."""


def chunk_lodge(plan: ChunkPlan, *, only: set[Any] | None = None, score_now: bool = False) -> ChunkResult:
    """Lodge the plan's valid entries (those in `only`, when given) inside the caller's
    transaction; returns the lodged declarations and the rejections (the plan's, and any B/L
    that could not take a declaration). `score_now`: the selectivity is decided in the same
    transaction (`Event.DECLARATIONS_SCORE_NOW`) instead of by the scoring queue after commit."""
    result = ChunkResult(rejected={k: v for k, v in plan.rejected.items() if only is None or k in only})
    todo = [p for p in plan.bulk if only is None or p.entry.key in only]
    if not todo:
        return result
    transition_check(Status.DRAFT, Status.REGISTERED)
    transition_check(Status.REGISTERED, Status.ASSESSED)
    now = clock.now()

    # 1. B/L write-offs. When every bill can take its declarations' sum (read without locks), the
    #    bills are locked LAST (step 3), for the shortest time: two replayers' chunks share bills,
    #    and a lock taken here would serialise their whole transactions. Otherwise (a bill short,
    #    a manifest not declarable) as one lodging would: the bills locked in id order now, each
    #    takes its sum in one statement, and a bill that cannot is retried one declaration at a
    #    time (chunk order, each in a savepoint) to find which does not fit.
    with_bill = [p for p in todo if p.prepared.bill_of_lading is not None]
    reservations = [(p.prepared.bill_of_lading, p.declaration_id, p.prepared.total_packages,
                     p.prepared.total_gross_weight_kg, p.entry.user) for p in with_bill]
    late = bool(reservations) and writeoff_fresh_many_fit(reservations)
    if not late:
        reserved = writeoff_reserve_fresh_many(reservations)
        refused: set[uuid.UUID] = set()
        for p in (p for p in with_bill if p.declaration_id not in reserved):
            with transaction.atomic():
                problems = _reserve(Declaration(id=p.declaration_id), p.prepared, p.entry.user)
                if problems:
                    refused.add(p.declaration_id)
                    result.rejected[p.entry.key] = ValidationFailed(errors=problems)
                    transaction.set_rollback(True)
        todo = [p for p in todo if p.declaration_id not in refused]
        if not todo:
            return result

    # 2. The rows, built as one lodging builds them.
    declarations: list[Declaration] = []
    due_dates: dict[uuid.UUID, dt.date] = {}
    assessments: list[Assessment] = []
    lines: dict[uuid.UUID, list[LineValues]] = {}
    for p in todo:
        declaration = Declaration(id=p.declaration_id, agent=p.entry.agent, created_by=actor_user(p.entry.user),
                                  created_at=now)
        due_dates[declaration.pk] = declaration_fill(declaration, p.prepared, now)
        assessment, assessment_lines = assessment_build(declaration=declaration, prepared=p.prepared, version=1,
                                                        fee_lines=())
        nothing_to_pay_apply(declaration, assessment)
        declarations.append(declaration)
        assessments.append(assessment)
        lines[declaration.pk] = assessment_lines
    insert_rows(DeclarationItem, ITEM_FIELDS, [row for p, d in zip(todo, declarations, strict=True)
                                               for row in item_rows(d, p.prepared)])
    documents = [AttachedDocument(declaration=d, kind=doc["kind"], reference=doc["reference"],
                                  issued_on=doc.get("issued_on"))
                 for p, d in zip(todo, declarations, strict=True) for doc in p.prepared.data.get("documents") or []]
    if documents:
        AttachedDocument.objects.bulk_create(documents)
    Assessment.objects.bulk_create(assessments)  # ids back (RETURNING): the lines and e-slips need them
    insert_rows(AssessmentLine, LINE_FIELDS, [row for a, d in zip(assessments, declarations, strict=True)
                                              for row in line_rows(a.pk, lines[d.pk])])
    eslips = [eslip_build(declaration=d, assessment=a, due_date=due_dates[d.pk])
              for d, a in zip(declarations, assessments, strict=True)]
    insert_instances(ESlip, eslips)
    insert_instances(DeclarationVersion, [lodging_version(d, actor=p.entry.user, now=now)
                                          for p, d in zip(todo, declarations, strict=True)])
    insert_instances(DeclarationEvent, events_chain(
        [event for p, d, a, e in zip(todo, declarations, assessments, eslips, strict=True)
         for event in lodging_events(d, prepared=p.prepared, assessment=a, eslip=e, actor=p.entry.user,
                                     from_status="", now=now)],
        new_subjects=True))

    # 3. The bills (late path: locked in id order, each takes its sum; if one no longer can, the
    #    chunk rolls back and the caller lodges it one by one), trader counters (rows in id order),
    #    then the entry-number counters LAST (in key order), then the declaration rows with their
    #    numbers, then the agents' notices quoting them: the lock order of one lodging.
    if late and writeoff_reserve_fresh_many(reservations) != {p.declaration_id for p in with_bill}:
        raise ChunkRaced("a bill of lading can no longer take the chunk's declarations")
    for trader_pk, count in sorted(Counter(p.prepared.trader.pk for p in todo
                                           if p.prepared.trader is not None).items()):
        trader_counts_add(trader_pk, count, now)
    by_counter: dict[tuple[int, str, str], list[Declaration]] = defaultdict(list)
    for p, d in zip(todo, declarations, strict=True):
        by_counter[(timezone.localtime(p.prepared.registered_at).year, p.prepared.office.pk,
                    p.prepared.data["regime"])].append(d)
    for (year, office_code, regime), group_declarations in sorted(by_counter.items()):
        numbers = entry_numbers_take(year=year, office_code=office_code, regime=regime,
                                     count=len(group_declarations))
        for declaration, number in zip(group_declarations, numbers, strict=True):
            declaration.entry_number = number
            declaration.status = Status.ASSESSED
    insert_instances(Declaration, declarations)
    notices = []
    for p, d, a, e in zip(todo, declarations, assessments, eslips, strict=True):
        subject, payload = accepted_notice(d, assessment=a, eslip=e, due_date=due_dates[d.pk])
        notices.append(Notification(agent=d.agent, kind="accepted", subject=subject[:300], payload=payload,
                                    declaration_id=d.pk, created_at=clock.now(),
                                    created_by=actor_user(p.entry.user)))
    notification_create_many(notices)
    _scoring_request([d.pk for d in declarations], score_now=score_now)
    for p, d in zip(todo, declarations, strict=True):
        result.lodged[p.entry.key] = d
    return result


def _scoring_request(declaration_ids: list[uuid.UUID], *, score_now: bool) -> None:
    """Score the chunk in its own transaction (`score_now`: a subscriber -- risk -- scores what it
    can and says which), the rest through the outbox, one scoring message each, as one lodging.
    The selectivity is the system's either way (actor None, as the scoring task records it)."""
    scored: set[str] = set()
    if score_now:
        for ids in events.publish(Event.DECLARATIONS_SCORE_NOW, declaration_ids=declaration_ids, actor=None):
            scored.update(str(pk) for pk in ids)
    outbox_enqueue_many([(RISK_TASK, {"declaration_id": str(pk)}) for pk in declaration_ids
                         if str(pk) not in scored])
