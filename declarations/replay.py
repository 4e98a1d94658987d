"""Contingency replay of buffered declaration bodies (the replay handlers `DeclarationsConfig.ready`
registers in `maintenance.replay_handlers` for the `declarations` and `declarations.lodge` endpoints).

The maintenance app stores lodging requests received during an outage and replays them here,
inside its own transaction, once service returns. The receipt time is the registration time
(rates, 21-day entry rule) and the contingency length relaxes the entry and payment deadlines.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from core.exceptions import ApplicationError, ValidationFailed, error
from maintenance.replay_handlers import ReplayOutcome
from traders.selectors import agent_for_user

from .services import declaration_draft_create, declaration_draft_lodge, declaration_lodge
from .services.bulk_lodging import ChunkEntry, chunk_lodge, chunk_prepare

_DRAFT_LODGE = re.compile(r"^/api/v1/declarations/([0-9a-fA-F-]{36})/lodge/?$")


def lodge_buffered(submission: Any, *, lodged_at: dt.datetime, deadline_extension: dt.timedelta) -> Any:
    if submission.endpoint not in ("declarations", "declarations.lodge"):
        return ReplayOutcome(lodged=False, code="endpoint_not_supported",
                             detail=f"No declaration replay for endpoint {submission.endpoint!r}.")
    user = submission.agent
    agent = agent_for_user(user)
    if agent is None:
        return ReplayOutcome(lodged=False, code="not_an_agent", detail="The submitter is not clearing-agent staff.")
    try:
        if submission.endpoint == "declarations.lodge":
            match = _DRAFT_LODGE.match(submission.path)
            if match is None:
                raise ValidationFailed(errors=[error("not_found", "Bad draft path.", "")])
            declaration = declaration_draft_lodge(declaration_id=match.group(1), agent=agent, actor=user,
                                                  received_at=lodged_at, deadline_extension=deadline_extension)
        else:
            try:
                payload = json.loads(bytes(submission.body).decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise ValidationFailed(code="parse_error", detail=f"Malformed JSON: {exc}") from None
            if isinstance(payload, dict) and payload.get("draft") is True:
                declaration = declaration_draft_create(agent=agent, user=user, payload=payload, actor=user)
            else:
                declaration = declaration_lodge(agent=agent, user=user, payload=payload, received_at=lodged_at,
                                                deadline_extension=deadline_extension, actor=user)
    except ApplicationError as exc:
        return _rejected(exc)
    return _lodged(declaration)


def _lodged(declaration: Any) -> Any:
    return ReplayOutcome(lodged=True, entry_number=declaration.entry_number, resource_id=str(declaration.pk),
                         result={"status": declaration.status,
                                 "payment_due_date": declaration.payment_due_date.isoformat()
                                 if declaration.payment_due_date else None})


def _rejected(exc: ApplicationError) -> Any:
    return ReplayOutcome(lodged=False, errors=tuple(exc.errors), detail=exc.detail, code=exc.code)


class ReplayChunk:
    """A chunk of buffered declarations validated together (the `lodge_chunk` replay handler).

    `handled`: the submissions this chunk decides (valid ones it lodges, invalid ones it rejects
    with the problems one lodging would report); every other one (drafts, manifests, IM8, quota
    draws, unparsable bodies, non-agents) is left to `lodge_buffered`. `lodge(only)` writes,
    inside the caller's transaction, and returns an outcome per submission in `only`."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan

    @property
    def handled(self) -> list[Any]:
        return list(self.plan.handled)

    def lodge(self, only: set[Any]) -> dict[Any, Any]:
        # The replay scores each chunk in its transaction (CONTINGENCY_REPLAY_SCORE_INLINE): no hand-off
        # to a scoring queue trailing the backlog (docs/performance.md "Replay").
        result = chunk_lodge(self.plan, only=only, score_now=settings.CONTINGENCY_REPLAY_SCORE_INLINE)
        outcomes = {key: _lodged(declaration) for key, declaration in result.lodged.items()}
        outcomes.update({key: _rejected(exc) for key, exc in result.rejected.items()})
        return outcomes


def lodge_buffered_chunk(items: list[tuple[Any, dt.datetime, dt.timedelta]]) -> ReplayChunk:
    """Validate (reads only) a chunk of buffered submissions: (submission, lodged_at, extension)
    each, in priority order."""
    users = {user.pk: user for user in get_user_model().objects.select_related("agent_staff__agent").filter(
        pk__in={submission.agent_id for submission, _at, _ext in items if submission.agent_id is not None})}
    entries = []
    for submission, lodged_at, extension in items:
        user = users.get(submission.agent_id)
        if submission.endpoint != "declarations" or user is None:
            continue
        submission.agent = user  # the one read of the submitting user, shared with lodge_buffered
        agent = agent_for_user(user)
        try:
            payload = json.loads(bytes(submission.body).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if agent is None:
            continue
        entries.append(ChunkEntry(key=submission.pk, agent=agent, user=user, payload=payload,
                                  registered_at=lodged_at, deadline_extension=extension))
    return ReplayChunk(chunk_prepare(entries))

