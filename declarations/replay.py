"""Contingency replay of buffered declaration bodies (`CONTINGENCY_LODGE_CALLABLE`).

The maintenance app stores lodging requests received during an outage and replays them here,
inside its own transaction, once service returns. The receipt time is the registration time
(rates, 21-day entry rule) and the contingency length relaxes the entry and payment deadlines.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from core.exceptions import ApplicationError, ValidationFailed, error
from maintenance.services import ReplayOutcome
from manifests.replay import lodge_buffered as manifests_lodge_buffered
from traders.selectors import agent_for_user

_DRAFT_LODGE = re.compile(r"^/api/v1/declarations/([0-9a-fA-F-]{36})/lodge/?$")


def lodge_buffered(submission: Any, *, lodged_at: dt.datetime, deadline_extension: dt.timedelta) -> Any:
    from .services import declaration_draft_lodge, declaration_lodge

    if submission.endpoint not in ("declarations", "declarations.lodge"):
        return _delegate(submission, lodged_at=lodged_at, deadline_extension=deadline_extension)
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
                from .services import declaration_draft_create

                declaration = declaration_draft_create(agent=agent, user=user, payload=payload, actor=user)
            else:
                declaration = declaration_lodge(agent=agent, user=user, payload=payload, received_at=lodged_at,
                                                deadline_extension=deadline_extension, actor=user)
    except ApplicationError as exc:
        return ReplayOutcome(lodged=False, errors=tuple(exc.errors), detail=exc.detail, code=exc.code)
    return ReplayOutcome(lodged=True, entry_number=declaration.entry_number, resource_id=str(declaration.pk),
                         result={"status": declaration.status,
                                 "payment_due_date": declaration.payment_due_date.isoformat()
                                 if declaration.payment_due_date else None})


def _delegate(submission: Any, **kwargs: Any) -> Any:
    """Manifests are lodged by the manifests app's replay function when it provides one."""
    return manifests_lodge_buffered(submission, **kwargs)
