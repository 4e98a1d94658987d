"""Replay of the buffered requests that are not lodgings (bank callback, manifest arrival and
discharge, cancellation): the stored request is sent again through the normal view, in process,
for the submitting user, inside the replay's savepoint.

The view is the one place these rules live (the bank's signature and idempotent bank reference,
the arrival/discharge and cancellation guards), so the replay neither duplicates nor bypasses
them. 2xx = lodged; 4xx = rejected with the problem's errors; 5xx = an unexpected failure
(the row goes back to pending for the next run).
"""

from __future__ import annotations

import json
from typing import Any

from django.test import RequestFactory
from django.urls import resolve
from rest_framework.test import force_authenticate

from core.exceptions import ErrorItem

from .replay_handlers import ReplayOutcome

_factory = RequestFactory()


class RedispatchFailed(Exception):
    """The view answered 5xx: not a rejection, retried by the next replay run."""


def lodge_redispatched(submission: Any, **kwargs: Any) -> Any:
    headers = dict(submission.headers or {})
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
             if name.lower() not in ("content-type", "idempotency-key")}
    request = _factory.generic(submission.method, submission.path, data=bytes(submission.body),
                               content_type=headers.get("Content-Type", "application/json"), **extra)
    user = submission.agent
    if user is not None:
        force_authenticate(request, user=user)
        request.user = user
    match = resolve(submission.path)
    response = match.func(request, *match.args, **match.kwargs)
    if hasattr(response, "render"):
        response.render()
    data: dict[str, Any] = {}
    try:
        data = json.loads(response.content or b"{}")
    except ValueError:
        data = {}
    if response.status_code >= 500:
        raise RedispatchFailed(f"{submission.endpoint}: HTTP {response.status_code}")
    if response.status_code >= 400:
        errors = tuple(ErrorItem(code=str(e.get("code", "")), detail=str(e.get("detail", "")),
                                 pointer=str(e.get("pointer", ""))) for e in data.get("errors", []))
        return ReplayOutcome(lodged=False, errors=errors, detail=str(data.get("detail", "")),
                             code=str(data.get("code", f"http_{response.status_code}")))
    resource = data.get("id") or data.get("declaration_id") or data.get("manifest_id")
    return ReplayOutcome(lodged=True, entry_number=data.get("entry_number"),
                         resource_id=str(resource) if resource else None,
                         result={"http_status": response.status_code,
                                 **{k: data[k] for k in ("status", "payment_reference") if k in data}})
