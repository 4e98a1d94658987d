"""Maintenance windows and contingency at the HTTP edge.

Place it directly BEFORE `core.idempotency.IdempotencyMiddleware` (after authentication):
- requests refused by a window never reach the idempotency store (no database work at all:
  the database may be the thing under maintenance);
- buffered intake is wrapped in its own `IdempotencyMiddleware`, so a retry with the same
  `Idempotency-Key` gets the same signed receipt, also after the contingency ends.

Per request it reads the process snapshot (see `snapshot.py`, no database query) and
`core.clock.now()`; when no window is near and no outage is declared it only adds a comparison.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core import clock
from core.exceptions import ApplicationError
from core.idempotency import IdempotencyMiddleware
from core.problems import problem_response
from core.settings_cache import setting

from .enums import WindowScope
from .intake import EXEMPT_API_PREFIXES, LodgingEndpoint, check_body, lodging_endpoint
from .snapshot import Contingency, Snapshot, SnapshotStore, WindowView, store

logger = logging.getLogger("forodha.maintenance")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOTICE_HEADER = "Forodha-Maintenance"
_FORWARDED_HEADERS = ("Content-Type", "Idempotency-Key", "If-Match")


def _iso(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat()


def window_json(window: WindowView) -> dict[str, str]:
    return {"id": str(window.id), "starts_at": _iso(window.starts_at), "ends_at": _iso(window.ends_at),
            "reason": window.reason, "scope": window.scope, "mode": window.mode}


def in_scope(scope: str, method: str, endpoint: LodgingEndpoint | None) -> bool:
    if scope == WindowScope.FULL:
        return True
    if scope == WindowScope.WRITES:
        return method not in SAFE_METHODS
    return endpoint is not None


def maintenance_response(window: WindowView, now: dt.datetime) -> HttpResponse:
    from .services import retry_after_seconds

    return problem_response(
        status=503, title="Service unavailable", code="maintenance_window",
        detail=f"Scheduled maintenance until {_iso(window.ends_at)}: {window.reason}",
        extra={"window": window_json(window)},
        headers={"Retry-After": str(retry_after_seconds(window.ends_at, now))},
    )


class MaintenanceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse],
                 snapshot_store: SnapshotStore | None = None) -> None:
        self.get_response = get_response
        self.store = snapshot_store or store
        self._buffered_intake = IdempotencyMiddleware(self._intake)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith("/api/"):
            return self.get_response(request)  # officer admin, static files: never blocked
        snap = self.store.get()
        if not snap.windows and snap.outage is None:
            return self.get_response(request)
        now = clock.now()
        window, upcoming = snap.around(now, self._horizon)
        if window is None and snap.outage is None:
            response = self.get_response(request)
        else:
            response = self._decide(request, path, snap, window, now)
        if upcoming is not None:
            response[NOTICE_HEADER] = upcoming.notice
        return response

    @property
    def _horizon(self) -> dt.timedelta:
        hours = setting("MAINTENANCE_NOTICE_HORIZON_HOURS")
        cached = self._horizon_cache
        if cached is None or cached[0] != hours:
            cached = self._horizon_cache = (hours, dt.timedelta(hours=hours))
        return cached[1]

    _horizon_cache: tuple[int, dt.timedelta] | None = None

    def _decide(self, request: HttpRequest, path: str, snap: Snapshot, window: WindowView | None,
                now: dt.datetime) -> HttpResponse:
        method = request.method or "GET"
        endpoint = lodging_endpoint(method, path)
        if endpoint is not None:
            contingency = snap.contingency(now)
            if contingency.active:
                request._forodha_intake = (endpoint, contingency)  # type: ignore[attr-defined]
                try:
                    return self._buffered_intake(request)
                except (OperationalError, InterfaceError):
                    # Nothing can be stored durably, so no receipt: the agent must retry.
                    logger.warning("buffered intake: database unavailable")
                    return problem_response(
                        status=503, title="Service unavailable", code="database_unavailable",
                        detail="The submission could not be stored; retry shortly.",
                        headers={"Retry-After": "5"})
        if window is not None and not path.startswith(EXEMPT_API_PREFIXES) and in_scope(
                window.scope, method, endpoint):
            return maintenance_response(window, now)
        return self.get_response(request)

    def _intake(self, request: HttpRequest) -> HttpResponse:
        from .services import submission_buffer

        endpoint, contingency = request._forodha_intake  # type: ignore[attr-defined]
        agent = _token_user(request)
        if agent is None:
            return problem_response(
                status=401, title="Not authenticated", code="not_authenticated",
                detail="Authentication credentials were not provided or are invalid.",
                headers={"WWW-Authenticate": "Token"})
        body = request.body
        check = check_body(endpoint, request.META.get("CONTENT_TYPE", ""), body)
        if not check.ok:
            return problem_response(status=check.status, title="Bad request" if check.status == 400
                                    else "Unsupported media type", code=check.code, detail=check.detail,
                                    errors=[e.as_dict() for e in check.errors])
        headers = {name: request.headers[name] for name in _FORWARDED_HEADERS if name in request.headers}
        try:
            submission = submission_buffer(
                endpoint=endpoint, method=request.method or "POST", path=request.path_info, headers=headers,
                body=body, data=check.data, pins=check.pins, agent=agent, contingency=contingency)
        except ApplicationError as exc:
            return problem_response(status=exc.status, title=exc.title, code=exc.code, detail=exc.detail,
                                    errors=[e.as_dict() for e in exc.errors])
        return _buffered_response(submission.receipt, contingency)


def _token_user(request: HttpRequest):  # type: ignore[no-untyped-def]
    """`Authorization: Token <key>` (agents' software). Session users are not accepted here: the
    lodging endpoints are for agents' systems and a cookie-authenticated POST would skip CSRF."""
    from rest_framework.authtoken.models import Token

    auth = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(auth) != 2 or auth[0].lower() != "token":
        return None
    token = Token.objects.select_related("user").filter(key=auth[1]).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def _buffered_response(receipt: dict[str, object], contingency: Contingency) -> HttpResponse:
    body = {
        "status": "buffered",
        "detail": "Lodging is in contingency. Your submission is stored and will be lodged, in priority "
                  "order, when service returns; the receipt time counts as the lodgement time.",
        "receipt": receipt,
        "contingency": {"source": contingency.source,
                        "since": _iso(contingency.since) if contingency.since else None},
    }
    return HttpResponse(json.dumps(body), status=202, content_type="application/json")
