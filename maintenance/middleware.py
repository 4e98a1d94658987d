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
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import clock
from core.exceptions import ApplicationError, error
from core.idempotency import IdempotencyMiddleware
from core.problems import problem_response
from core.settings_cache import setting
from intake.breaker import EPISODE_REASON, breaker, cutoff_active, episodes, primary_reachable
from intake.identity import Identity, identity_for_token
from intake.models import BufferedSubmission, ProvisionalRelease
from intake.selectors import receipt_state

from . import services
from .enums import OutageSource, WindowScope
from .intake import EXEMPT_API_PREFIXES, LodgingEndpoint, buffered_endpoint, check_body, lodging_endpoint
from .provisional import release_document, release_for_submission, release_issue
from .snapshot import Contingency, OutageView, Snapshot, SnapshotStore, WindowView, store

logger = logging.getLogger("forodha.maintenance")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOTICE_HEADER = "Forodha-Maintenance"
# Kept with a buffered request for its replay (never Authorization: the user is kept by id; the
# bank's signature is an HMAC of the body, not a secret).
_FORWARDED_HEADERS = ("Content-Type", "Idempotency-Key", "If-Match", "X-Forodha-Signature")


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
    return problem_response(
        status=503, title="Service unavailable", code="maintenance_window",
        detail=f"Scheduled maintenance until {_iso(window.ends_at)}: {window.reason}",
        extra={"window": window_json(window)},
        headers={"Retry-After": str(services.retry_after_seconds(window.ends_at, now))},
    )


class MaintenanceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse],
                 snapshot_store: SnapshotStore | None = None) -> None:
        self.get_response = get_response
        self.store = snapshot_store or store
        self._buffered_intake = IdempotencyMiddleware(self._intake_with_primary)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith("/api/"):
            return self.get_response(request)  # officer admin, static files: never blocked
        if breaker.is_open or cutoff_active() or (breaker.state().state == "half_open" and not self._probe()):
            return self._primary_away(request, path)
        if episodes.seen and not self._probe():  # this process saw the primary away: is it back?
            return self._primary_away(request, path)
        snap = self.store.get()
        if not snap.windows and snap.outage is None:
            return self._through(request, path)
        now = clock.now()
        window, upcoming = snap.around(now, self._horizon)
        if window is None and snap.outage is None:
            response = self._through(request, path)
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

    # --- the primary answers (or is believed to) ---------------------------------------------------

    def _through(self, request: HttpRequest, path: str) -> HttpResponse:
        """No contingency: the normal path, watching for the primary going away under it."""
        endpoint = buffered_endpoint(request.method or "GET", path)
        if endpoint is None:
            response = self.get_response(request)
            if primary_failed(request, response):
                breaker.record_failure()
            return response
        # A bufferable request: make sure the primary is there first (one bounded connect on a
        # persistent connection's health check), so a dead primary costs no partial work.
        if not primary_reachable():
            return self._detected(request, endpoint, "connect")
        replayed = self._intake_replay(request, endpoint)
        if replayed is not None:
            return replayed
        if request.headers.get(CORRECTS_HEADER):
            return self._correction(request, endpoint)
        response = self.get_response(request)
        if primary_failed(request, response):
            # The view's transaction was rolled back with the failed statement: store it instead.
            return self._detected(request, endpoint, "query")
        breaker.record_success()
        self._recover_if_needed()
        return response

    def _decide(self, request: HttpRequest, path: str, snap: Snapshot, window: WindowView | None,
                now: dt.datetime) -> HttpResponse:
        method = request.method or "GET"
        endpoint = buffered_endpoint(method, path)
        if endpoint is not None:
            contingency = snap.contingency(now)
            if contingency.active:
                request._forodha_intake = (endpoint, contingency)  # type: ignore[attr-defined]
                try:
                    return self._buffered_intake(request)
                except (OperationalError, InterfaceError):
                    if primary_reachable():
                        # The intake store failed: nothing can be stored durably, so no receipt.
                        logger.warning("buffered intake: intake store unavailable", exc_info=True)
                        return database_unavailable_response(
                            detail="The submission could not be stored; retry shortly.")
                    # The primary went away under a declared contingency: the intake store alone.
                    return self._detected(request, endpoint, "query")
        lodging = lodging_endpoint(method, path)
        if window is not None and not path.startswith(EXEMPT_API_PREFIXES) and in_scope(
                window.scope, method, lodging):
            return maintenance_response(window, now)
        return self._through(request, path)

    def _probe(self) -> bool:
        """Half-open: this request probes the primary for the whole process."""
        if primary_reachable():
            breaker.record_success()
            self._recover_if_needed()
            return True
        breaker.record_failure()
        return False

    # --- the primary is away --------------------------------------------------------------------------

    def _primary_away(self, request: HttpRequest, path: str) -> HttpResponse:
        if path.startswith(INTAKE_SERVED_PREFIXES):
            return self.get_response(request)  # answered from the intake store alone
        endpoint = buffered_endpoint(request.method or "GET", path)
        if endpoint is not None:
            return self._detected(request, endpoint, None)
        snap = self.store.get()  # kept in memory: a reload fails and keeps the previous view
        window = snap.active_window(clock.now())
        lodging = lodging_endpoint(request.method or "GET", path)
        if window is not None and in_scope(window.scope, request.method or "GET", lodging):
            return maintenance_response(window, clock.now())
        return database_unavailable_response()

    def _detected(self, request: HttpRequest, endpoint: LodgingEndpoint, failure: str | None) -> HttpResponse:
        """Buffer in the intake store because the primary cannot be reached."""
        if failure is not None:
            breaker.record_failure()
        try:
            contingency = self._contingency_detected()
            return self._intake(request, endpoint, contingency, primary_up=False)
        except (OperationalError, InterfaceError):
            # The intake store is away too: nothing can be stored durably, so no receipt.
            logger.error("intake store unavailable while the primary is away", exc_info=True)
            return database_unavailable_response(detail="The submission could not be stored; retry shortly.")

    def _contingency_detected(self) -> Contingency:
        snap = self.store.get()
        declared = snap.contingency(clock.now())
        if declared.active:
            return declared  # a declared outage or buffer window keeps its period (and relief)
        episode_id, since = episodes.touch()  # shared by every process through the intake store
        return Contingency(True, since, OutageSource.DATABASE_UNAVAILABLE,
                           OutageView(episode_id, since, EPISODE_REASON), None)

    def _recover_if_needed(self) -> None:
        """The primary answers: if this process saw it away, record the outage and start the replay."""
        if not episodes.forget():
            return
        try:
            services.outage_recover_detected(actor=None)
        except Exception:
            # The beat task (maintenance.advance_windows) retries the recovery every 15 s.
            logger.warning("recording the detected outage failed; the beat task will retry", exc_info=True)

    # --- intake ---------------------------------------------------------------------------------------

    def _intake_with_primary(self, request: HttpRequest) -> HttpResponse:
        endpoint, contingency = request._forodha_intake  # type: ignore[attr-defined]
        return self._intake(request, endpoint, contingency, primary_up=True)

    def _intake(self, request: HttpRequest, endpoint: LodgingEndpoint, contingency: Contingency, *,
                primary_up: bool, corrects: BufferedSubmission | None = None) -> HttpResponse:
        identity = _identity(request, endpoint, primary_up=primary_up)
        if identity is None:
            return _not_authenticated(endpoint)
        body = request.body
        check = check_body(endpoint, request.META.get("CONTENT_TYPE", ""), body)
        if not check.ok:
            return problem_response(status=check.status, title="Bad request" if check.status == 400
                                    else "Unsupported media type", code=check.code, detail=check.detail,
                                    errors=[e.as_dict() for e in check.errors])
        headers = {name: request.headers[name] for name in _FORWARDED_HEADERS if name in request.headers}
        key = request.headers.get("Idempotency-Key", "")
        if key and not primary_up:
            previous = submission_by_key(identity, endpoint, key)
            if previous is not None:
                return _replayed_or_reused(previous, body)
        try:
            submission = services.submission_buffer(
                endpoint=endpoint, method=request.method or "POST", path=request.path_info, headers=headers,
                body=body, data=check.data, pins=check.pins, agent=identity, contingency=contingency,
                aeo_lookup=primary_up, corrects=corrects, idempotency_key=key)
        except ApplicationError as exc:
            return problem_response(status=exc.status, title=exc.title, code=exc.code, detail=exc.detail,
                                    errors=[e.as_dict() for e in exc.errors])
        except IntegrityError:  # the same key raced in another process: answer with its receipt
            previous = submission_by_key(identity, endpoint, key)
            if previous is None:
                raise
            return _replayed_or_reused(previous, body)
        return _buffered_response(submission.receipt, contingency, _release_for(submission, check.data))

    def _intake_replay(self, request: HttpRequest, endpoint: LodgingEndpoint) -> HttpResponse | None:
        """A retry, after the outage, of a submission buffered while the primary was away: the
        primary's idempotency store never saw its key, the intake store did."""
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return None
        try:
            identity = _identity(request, endpoint, primary_up=False)
            previous = submission_by_key(identity, endpoint, key) if identity is not None else None
        except (OperationalError, InterfaceError):
            return None
        return _replayed_or_reused(previous, request.body) if previous is not None else None

    def _correction(self, request: HttpRequest, endpoint: LodgingEndpoint) -> HttpResponse:
        """`Forodha-Corrects: <submission id>`: buffered with the rejected submission's receipt time
        and period, then lodged at once (the primary is up)."""
        identity = _identity(request, endpoint, primary_up=True)
        if identity is None:
            return _not_authenticated(endpoint)
        try:
            original = services.correction_target(submission_id=request.headers[CORRECTS_HEADER],
                                                  agent=identity, endpoint=endpoint)
        except ApplicationError as exc:
            return problem_response(status=exc.status, title=exc.title, code=exc.code, detail=exc.detail,
                                    errors=[e.as_dict() for e in exc.errors])
        contingency = Contingency(False, None, None, None, None)
        response = self._intake(request, endpoint, contingency, primary_up=True, corrects=original)
        if response.status_code == 202:
            submission_id = json.loads(response.content)["receipt"]["submission_id"]
            services.replay_buffered(actor=None, reclaim=False, only=[uuid.UUID(submission_id)])
            return _receipt_state_response(uuid.UUID(submission_id), corrected=True)
        return response


INTAKE_SERVED_PREFIXES = ("/api/v1/system/", "/api/v1/receipts/", "/api/v1/provisional-releases/")
CORRECTS_HEADER = "Forodha-Corrects"


def primary_failed(request: HttpRequest, response: HttpResponse) -> bool:
    """The request failed because the primary could not be reached (the API's exception handler
    answers 503 `database_unavailable`; a failure outside a view is flagged by `core`'s signal)."""
    if getattr(request, "_forodha_primary_failed", False):
        return True
    if response.status_code != 503:
        return False
    data = getattr(response, "data", None)
    return isinstance(data, dict) and data.get("code") == "database_unavailable"


def database_unavailable_response(detail: str = "") -> HttpResponse:
    return problem_response(
        status=503, title="Service unavailable", code="database_unavailable",
        detail=detail or "The database is unavailable. Lodging endpoints keep answering with signed "
                         "receipts (202); retry other requests later.",
        headers={"Retry-After": str(setting("INTAKE_RETRY_AFTER_SECONDS"))})


def _not_authenticated(endpoint: LodgingEndpoint) -> HttpResponse:
    if endpoint.kind == "bank_callback":
        return problem_response(status=401, title="Not authenticated", code="invalid_signature",
                                detail="Missing or invalid bank signature.",
                                errors=[error("invalid_signature", "Bad X-Forodha-Signature header.", "").as_dict()])
    return problem_response(
        status=401, title="Not authenticated", code="not_authenticated",
        detail="Authentication credentials were not provided or are invalid.",
        headers={"WWW-Authenticate": "Token"})


def _identity(request: HttpRequest, endpoint: LodgingEndpoint, *, primary_up: bool) -> Identity | None:
    """Who sends this. `Authorization: Token <key>` (agents' and carriers' software): checked
    against the primary while it answers (authoritative), else against the intake store's hashed
    copy. Session users are not accepted here: a cookie-authenticated POST would skip CSRF.
    The bank's callback carries an HMAC signature of the body instead (no database at all)."""
    if endpoint.kind == "bank_callback":
        return BANK_IDENTITY if bank_signature_valid(request.body, request.headers.get("X-Forodha-Signature")) \
            else None
    auth = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(auth) != 2 or auth[0].lower() != "token":
        return None
    if primary_up:
        user = _token_user(auth[1])
        return Identity.of_user(user) if user is not None else None
    return identity_for_token(auth[1])


BANK_IDENTITY = Identity(user_id=0, username="bank-callback", kind="bank")


def bank_signature_valid(body: bytes, signature: str | None) -> bool:
    """The bank callback's rule (declarations.services.payments.signature_verify), checked here
    without the database: `X-Forodha-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    secret = settings.BANK_CALLBACK_SECRET
    if not secret or not signature:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip())


def _token_user(key: str):  # type: ignore[no-untyped-def]
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def submission_by_key(identity: Identity, endpoint: LodgingEndpoint, key: str) -> BufferedSubmission | None:
    return BufferedSubmission.objects.filter(
        agent_id=identity.user_id or None, endpoint=endpoint.name, idempotency_key=key).first()


def _replayed_or_reused(previous: BufferedSubmission, body: bytes) -> HttpResponse:
    if previous.body_sha256 != hashlib.sha256(body).hexdigest():
        return problem_response(
            status=422, title="Unprocessable content", code="idempotency_key_reused",
            detail="This Idempotency-Key was used with a different request.",
            errors=[error("idempotency_key_reused", "Use a new key for a different request.", "").as_dict()])
    response = _receipt_state_response(previous.id)
    response["Idempotent-Replayed"] = "true"
    return response


def _receipt_state_response(submission_id: uuid.UUID, corrected: bool = False) -> HttpResponse:
    state = receipt_state(submission_id=submission_id)
    release = release_for_submission(submission_id)
    body = {"status": state["state"] if corrected else "buffered", **state,
            "provisional_release": release_document(release) if release is not None else None}
    return HttpResponse(json.dumps(body), status=202, content_type="application/json")


def _release_for(submission: BufferedSubmission, data: object) -> ProvisionalRelease | None:
    """A provisional release when the goods qualify (intake store only). Issuing it must never cost
    the agent the receipt, which is already committed: any failure is logged and the 202 goes
    without a release."""
    try:
        return release_issue(submission=submission, data=data)
    except Exception:
        logger.exception("issuing a provisional release for %s failed", submission.pk)
        return None


def _buffered_response(receipt: dict[str, object], contingency: Contingency,
                       release: ProvisionalRelease | None = None) -> HttpResponse:
    body = {
        "status": "buffered",
        "detail": "Lodging is in contingency. Your submission is stored and will be lodged, in priority "
                  "order, when service returns; the receipt time counts as the lodgement time.",
        "receipt": receipt,
        "contingency": {"source": contingency.source,
                        "since": _iso(contingency.since) if contingency.since else None},
        # Goods that qualify under the published rules may leave the terminal now (docs/maintenance.md).
        "provisional_release": release_document(release) if release is not None else None,
    }
    return HttpResponse(json.dumps(body), status=202, content_type="application/json")
