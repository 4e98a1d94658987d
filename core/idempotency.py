"""`Idempotency-Key` for every POST under /api/ (API.md).

- same key + same request (method, path, body) -> the first response is replayed
  (`Idempotent-Replayed: true`);
- same key + different request -> 422 `idempotency_key_reused`;
- a retry while the first is still running -> 409 `idempotency_request_in_flight`;
- records live `IDEMPOTENCY_TTL_HOURS` (>= 24 h); a beat task purges expired ones.

The record is inserted in its own committed statement *before* the view runs, so the unique
constraint on (scope, key) serialises concurrent requests across processes and machines.
Responses with status >= 500 are not stored: the client may retry them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from . import clock
from .models import IdempotencyRecord
from .problems import problem_response

HEADER = "HTTP_IDEMPOTENCY_KEY"
_STORED_HEADERS = ("Content-Type", "Location", "ETag", "Retry-After")


def _client_scope(request: HttpRequest) -> str | None:
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth:
        return hashlib.sha256(auth.encode()).hexdigest()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return hashlib.sha256(f"session-user:{user.pk}".encode()).hexdigest()
    return None


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\0")
    digest.update(request.get_full_path().encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body or b""), status=record.response_status or 200)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key or len(key) > 255 or not key.isprintable():
            return problem_response(
                status=400, title="Bad request", code="invalid_idempotency_key",
                detail="Idempotency-Key must be 1 to 255 printable characters.",
                errors=[{"code": "invalid", "detail": "Invalid Idempotency-Key header.",
                         "pointer": ""}],
            )
        scope = _client_scope(request)
        if scope is None:
            # Anonymous requests are refused by authentication anyway; nothing to scope a key to.
            return self.get_response(request)

        now = clock.now()
        request_hash = _request_hash(request)
        record = self._claim(scope, key, request, request_hash, now)
        if isinstance(record, HttpResponse):
            return record

        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or getattr(response, "streaming", False):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.COMPLETED,
            response_status=response.status_code,
            response_headers={h: response[h] for h in _STORED_HEADERS if response.has_header(h)},
            response_body=response.content,
        )
        return response

    def _claim(
        self, scope: str, key: str, request: HttpRequest, request_hash: str, now: dt.datetime
    ) -> IdempotencyRecord | HttpResponse:
        ttl = dt.timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(
                        scope=scope, key=key, method=request.method or "POST",
                        path=request.path[:500], request_hash=request_hash,
                        created_at=now, expires_at=now + ttl,
                    )
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
                if existing is None:
                    continue  # deleted between our insert and read (a failed first attempt): retry
                if existing.expires_at <= now:
                    IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
                    continue
                if existing.request_hash != request_hash:
                    return problem_response(
                        status=422, title="Unprocessable content", code="idempotency_key_reused",
                        detail="This Idempotency-Key was already used with a different request.",
                        errors=[{"code": "idempotency_key_reused",
                                 "detail": "Use a new key for a different request.", "pointer": ""}],
                    )
                if existing.state == IdempotencyRecord.State.IN_FLIGHT:
                    stale = now - existing.created_at > dt.timedelta(
                        seconds=settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS)
                    if stale and IdempotencyRecord.objects.filter(
                            pk=existing.pk, state=IdempotencyRecord.State.IN_FLIGHT).delete()[0]:
                        continue  # the first attempt's process died: take the key over
                    return problem_response(
                        status=409, title="Conflict", code="idempotency_request_in_flight",
                        detail="A request with this Idempotency-Key is still being processed.",
                        headers={"Retry-After": "1"},
                    )
                return _replay(existing)
        return problem_response(
            status=409, title="Conflict", code="idempotency_request_in_flight",
            detail="A request with this Idempotency-Key is still being processed.",
            headers={"Retry-After": "1"},
        )


def purge_expired(now: dt.datetime | None = None) -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now or clock.now()).delete()
    return deleted
