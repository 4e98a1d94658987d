"""Webhook subscriptions (agent-scoped) and signed delivery: SSRF-safe, fair and self-limiting.

Safety: a URL is resolved once per attempt; every address must be public (unless
`WEBHOOK_ALLOW_PRIVATE_ADDRESSES`); the request goes to the checked address (the name is only
sent as Host / TLS SNI, and the certificate is checked against it), and a 3xx is a failed
delivery, never followed. So DNS rebinding and redirects cannot reach inside.

Fairness: deliveries run on their own queue (`webhooks`); at most `WEBHOOK_AGENT_CONCURRENCY`
attempts of one agent firm are in flight at once (the others are put back for a moment without a
request); an endpoint that failed is not tried again before its back-off (exponential, jittered,
bounded), whatever the number of deliveries waiting for it; after `WEBHOOK_BREAKER_THRESHOLD`
failures in a row the subscription is suspended (circuit breaker), its deliveries are parked, and
the agent is notified and may re-enable it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import math
import random
import secrets
import socket
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import urllib3
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F

from core import clock
from core.exceptions import Conflict, ErrorItem, NotFound, ValidationFailed, error

from ..enums import NotificationKind
from ..services import notification_create
from .models import WebhookDelivery, WebhookSubscription, WebhookSubscriptionEvent, WebhookSubscriptionStatus
from .signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger("forodha.webhooks")

DELIVER_TASK = "risk.deliver_webhook"
# Longest wait between two attempts. Kept below the Redis visibility timeout (3600 s) so a
# countdown message is never redelivered while it waits.
MAX_BACKOFF_SECONDS = 1800
# Bytes of a receiver's answer read at most (only the status matters).
MAX_RESPONSE_BYTES = 4096

Status = WebhookSubscriptionStatus
# The subscription lifecycle: the breaker suspends, the agent re-enables.
TRANSITIONS: dict[str, set[str]] = {
    Status.ACTIVE: {Status.SUSPENDED},
    Status.SUSPENDED: {Status.ACTIVE},
}


# --- Address policy -----------------------------------------------------------------------------

def address_is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a globally routable unicast address. Refused: loopback, private (10/8, 172.16/12,
    192.168/16), link-local (169.254/16 incl. cloud metadata, fe80::/10), CGNAT 100.64/10, ULA
    fc00::/7, multicast, reserved, unspecified, documentation/benchmark ranges, and IPv6 forms that
    embed an IPv4 address (IPv4-mapped, 6to4, Teredo) whose IPv4 address is not public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return address_is_public(embedded)
    return bool(
        address.is_global
        and not (address.is_multicast or address.is_private or address.is_loopback or address.is_link_local
                 or address.is_reserved or address.is_unspecified)
    )


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (TCP), in resolver order. Tests patch this function."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class WebhookTarget:
    """Where one attempt connects: `address` (checked), with `host` as Host header and TLS name."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


class WebhookTargetRefused(Exception):
    def __init__(self, item: ErrorItem) -> None:
        super().__init__(item.detail)
        self.item = item


def _url_parts(url: str) -> tuple[urllib.parse.SplitResult, str, int]:
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookTargetRefused(error("invalid", f"Not a valid URL: {exc}.", "/url")) from exc
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookTargetRefused(error("invalid", "Use an http(s) URL with a host name.", "/url"))
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused(error("invalid", "Credentials in the URL are not accepted.", "/url"))
    return parts, host, port


def webhook_target_resolve(url: str) -> WebhookTarget:
    """Resolve `url` once and check every address; raise WebhookTargetRefused (pointer /url)."""
    parts, host, port = _url_parts(url)
    unresolvable = error("webhook_url_unresolvable", f"The host {host!r} does not resolve.", "/url")
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve_host(host, port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise WebhookTargetRefused(unresolvable) from exc
    if not addresses:
        raise WebhookTargetRefused(unresolvable)
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not address_is_public(address):
                raise WebhookTargetRefused(error(
                    "webhook_url_not_public",
                    f"The host {host!r} resolves to {address}, which is not a public address.", "/url",
                ))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return WebhookTarget(scheme=parts.scheme, host=host, port=port, address=str(addresses[0]), path=path)


def webhook_url_problems(url: str) -> list[ErrorItem]:
    """Subscription-time check. With private receivers explicitly allowed only the URL's form is
    checked (a receiver on a lab network may not resolve yet); otherwise it must resolve, to
    public addresses only. Deliveries check again, every time."""
    try:
        if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
            _url_parts(url)
        else:
            webhook_target_resolve(url)
    except WebhookTargetRefused as exc:
        return [exc.item]
    return []


# --- Subscriptions ------------------------------------------------------------------------------

def _event(*, subscription: WebhookSubscription, action: str, from_status: str, to_status: str, actor: Any,
           reason: str = "", payload: dict[str, Any] | None = None) -> WebhookSubscriptionEvent:
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return WebhookSubscriptionEvent.objects.create(
        subscription_id=subscription.pk, agent_id=subscription.agent_id, actor=user, action=action,
        from_status=from_status, to_status=to_status, reason=reason, payload=payload or {},
        created_at=clock.now(),
    )


@transaction.atomic
def webhook_subscription_create(
    *, agent: Any, url: str, kinds: list[str] | None = None, description: str = "", actor: Any
) -> WebhookSubscription:
    from traders.models import ClearingAgent

    # The agent row lock serialises concurrent creations, so the cap holds under races.
    ClearingAgent.objects.select_for_update(of=("self",)).filter(pk=agent.pk).first()
    limit = settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_AGENT
    if WebhookSubscription.objects.filter(agent=agent).count() >= limit:
        raise Conflict(
            detail=f"An agent firm may have at most {limit} webhook subscriptions; delete one first.",
            code="webhook_limit_reached",
            errors=[error("webhook_limit_reached", f"At most {limit} subscriptions per agent firm.", "/url")],
        )
    problems = webhook_url_problems(url)
    if problems:
        raise ValidationFailed(errors=problems)
    subscription = WebhookSubscription.objects.create(
        agent=agent,
        url=url,
        secret=secrets.token_hex(32),
        kinds=sorted(set(kinds or [])),
        description=description,
        created_at=clock.now(),
    )
    _event(subscription=subscription, action=WebhookSubscriptionEvent.Action.CREATED, from_status="",
           to_status=subscription.status, actor=actor, payload={"url": url, "kinds": subscription.kinds})
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, agent: Any, subscription_id: Any, actor: Any) -> None:
    """Delete one of the agent's subscriptions; someone else's is 404 (never revealed)."""
    subscription = (WebhookSubscription.objects.select_for_update(of=("self",))
                    .filter(agent=agent, pk=subscription_id).first())
    if subscription is None:
        raise NotFound(detail="Webhook subscription not found.", code="webhook_not_found")
    _event(subscription=subscription, action=WebhookSubscriptionEvent.Action.DELETED,
           from_status=subscription.status, to_status="", actor=actor, payload={"url": subscription.url})
    subscription.delete()


def _transition_check(subscription: WebhookSubscription, to: str) -> None:
    if to not in TRANSITIONS.get(subscription.status, set()):
        raise Conflict(
            detail=f"A {subscription.status} webhook subscription cannot become {to}.",
            code="webhook_not_suspended" if to == Status.ACTIVE else "webhook_illegal_transition",
        )


@transaction.atomic
def webhook_subscription_enable(*, agent: Any, subscription_id: Any, actor: Any) -> WebhookSubscription:
    """The agent re-enables a suspended subscription: the breaker is reset and the deliveries
    parked while it was suspended are sent again (each through the outbox)."""
    from core.outbox import outbox_enqueue

    subscription = (WebhookSubscription.objects.select_for_update(of=("self",))
                    .filter(agent=agent, pk=subscription_id).first())
    if subscription is None:
        raise NotFound(detail="Webhook subscription not found.", code="webhook_not_found")
    _transition_check(subscription, Status.ACTIVE)
    previous = subscription.status
    failures = subscription.consecutive_failures
    subscription.status = Status.ACTIVE
    subscription.consecutive_failures = 0
    subscription.retry_not_before = None
    subscription.suspended_at = None
    subscription.save(update_fields=["status", "consecutive_failures", "retry_not_before", "suspended_at"])
    now = clock.now()
    parked = list(WebhookDelivery.objects.filter(
        subscription=subscription, status=WebhookDelivery.Status.PENDING, next_attempt_at__isnull=True
    ).values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=parked).update(next_attempt_at=now)
    for pk in parked:
        outbox_enqueue(task_name=DELIVER_TASK, kwargs=_task_kwargs(pk, subscription.agent_id))
    _event(subscription=subscription, action=WebhookSubscriptionEvent.Action.ENABLED, from_status=previous,
           to_status=Status.ACTIVE, actor=actor,
           payload={"consecutive_failures_before": failures, "deliveries_resumed": len(parked)})
    return subscription


def _suspend(*, subscription_id: Any, last_error: str) -> bool:
    """The circuit breaker trips (system actor): suspend, park pending deliveries, tell the agent.
    Returns False when another attempt already suspended it."""
    with transaction.atomic():
        subscription = (WebhookSubscription.objects.select_for_update(of=("self",))
                        .filter(pk=subscription_id).first())
        if subscription is None or subscription.status != Status.ACTIVE:
            return False
        _transition_check(subscription, Status.SUSPENDED)
        now = clock.now()
        subscription.status = Status.SUSPENDED
        subscription.suspended_at = now
        subscription.save(update_fields=["status", "suspended_at"])
        WebhookDelivery.objects.filter(subscription=subscription, status=WebhookDelivery.Status.PENDING).update(
            next_attempt_at=None
        )
        reason = (f"{subscription.consecutive_failures} failed deliveries in a row "
                  f"(threshold {settings.WEBHOOK_BREAKER_THRESHOLD}); last error: {last_error}")[:1000]
        _event(subscription=subscription, action=WebhookSubscriptionEvent.Action.SUSPENDED,
               from_status=Status.ACTIVE, to_status=Status.SUSPENDED, actor=None, reason=reason,
               payload={"consecutive_failures": subscription.consecutive_failures})
        notification_create(
            agent=subscription.agent,
            kind=NotificationKind.WEBHOOK_SUSPENDED,
            subject=f"Webhook {subscription.url} suspended after {subscription.consecutive_failures} failures",
            payload={"webhook_id": str(subscription.pk), "url": subscription.url,
                     "consecutive_failures": subscription.consecutive_failures, "last_error": last_error[:500],
                     "enable": f"/api/v1/webhooks/{subscription.pk}/enable"},
            actor=None,
        )
    logger.warning("webhooks: subscription %s suspended (%s)", subscription_id, reason)
    return True


# --- Fan-out ------------------------------------------------------------------------------------

def delivery_body(notification: Any) -> str:
    created_at = getattr(notification, "created_at", None)
    declaration_id = getattr(notification, "declaration_id", None)
    return json.dumps(
        {
            "id": str(getattr(notification, "id", notification.pk)),
            "kind": notification.kind,
            "subject": notification.subject,
            "declaration_id": str(declaration_id) if declaration_id else None,
            "payload": notification.payload,
            "created_at": created_at.isoformat() if created_at else None,
        },
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def webhook_deliveries_enqueue(notification: Any) -> int:
    """Create one delivery per matching active subscription of the notification's agent and
    enqueue one task per delivery (through the outbox, so a broker outage loses nothing).
    Idempotent: a notification is delivered at most once per subscription. A suspended
    subscription gets nothing (the agent was told; what happens meanwhile is in the pull feed)."""
    from core.outbox import outbox_enqueue

    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(agent_id=notification.agent_id, status=Status.ACTIVE)
        if not s.kinds or notification.kind in s.kinds
    ]
    if not subscriptions:
        return 0
    body = delivery_body(notification)
    notification_id = str(getattr(notification, "id", notification.pk))
    created = 0
    now = clock.now()
    for subscription in subscriptions:
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    subscription=subscription,
                    notification_id=notification_id,
                    kind=notification.kind,
                    body=body,
                    next_attempt_at=now,
                    created_at=now,
                )
                outbox_enqueue(task_name=DELIVER_TASK, kwargs=_task_kwargs(delivery.pk, subscription.agent_id))
        except IntegrityError:
            continue  # already created by an earlier run of the fan-out
        created += 1
    return created


# --- Delivery -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttemptResult:
    delivery_id: str
    status: str
    attempted: bool
    # Seconds until the task should run again (None: nothing more to do now).
    retry_in_seconds: float | None = None


def backoff_seconds(failures: int, *, rng: random.Random | None = None) -> float:
    """Wait after the n-th failure in a row: base x 2^(n-1), capped at MAX_BACKOFF_SECONDS, with
    "equal jitter" (a uniform draw in [half, full]) so endpoints that failed together do not all
    come back in the same second. Bounded: WEBHOOK_BACKOFF_SECONDS / 2 <= wait <= the cap."""
    ceiling = min(settings.WEBHOOK_BACKOFF_SECONDS * 2 ** min(max(failures - 1, 0), 30), MAX_BACKOFF_SECONDS)
    draw = (rng or random).uniform(0.5, 1.0)
    return round(ceiling * draw, 3)


def _slot_timeout() -> int:
    return math.ceil(settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS) + 5


def _task_kwargs(delivery_id: Any, agent_id: Any) -> dict[str, str]:
    # The firm travels with the message so a busy firm's deliveries are put back without a
    # database query (webhook_agent_busy).
    return {"delivery_id": str(delivery_id), "agent_id": str(agent_id)}


def _slot_keys(agent_id: Any) -> list[str]:
    return [f"forodha:webhook-slot:{agent_id}:{index}" for index in range(settings.WEBHOOK_AGENT_CONCURRENCY)]


def webhook_agent_busy(*, agent_id: Any) -> float | None:
    """Seconds to wait when every in-flight slot of the firm is taken (one cache read, no
    database), else None. Advisory: the attempt itself still acquires a slot."""
    keys = _slot_keys(agent_id)
    if len(cache.get_many(keys)) < len(keys):
        return None
    return float(settings.WEBHOOK_AGENT_BUSY_RETRY_SECONDS * random.uniform(1.0, 2.0))


def _agent_slot_acquire(agent_id: Any) -> str | None:
    """One of the agent firm's WEBHOOK_AGENT_CONCURRENCY in-flight slots (shared cache), or None.
    A slot expires by itself if a worker dies holding it."""
    for key in _slot_keys(agent_id):
        if cache.add(key, uuid.uuid4().hex, timeout=_slot_timeout()):
            return key
    return None


def _post(target: WebhookTarget, body: bytes, headers: dict[str, str]) -> int:
    """POST to the checked address; the name goes only into Host and the TLS handshake (SNI and
    certificate check). No retries, no redirects: the status is returned as is."""
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                              read=settings.WEBHOOK_TIMEOUT_SECONDS)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False, maxsize=1)
    try:
        response = pool.urlopen(
            "POST", target.path, body=body, headers={**headers, "Host": target.host_header},
            retries=False, redirect=False, assert_same_host=False, preload_content=False,
        )
        try:
            response.read(MAX_RESPONSE_BYTES)
        finally:
            response.release_conn()
        return int(response.status)
    finally:
        pool.close()


def _defer(delivery_id: Any, seconds: float, *, now: dt.datetime) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING).update(
        next_attempt_at=now + dt.timedelta(seconds=seconds)
    )


def webhook_delivery_attempt(*, delivery_id: Any) -> AttemptResult:
    """One delivery attempt. A lease (next_attempt_at pushed forward by compare-and-set) makes
    sure two copies of the task never post the same delivery at the same time."""
    now = clock.now()
    lease_until = now + dt.timedelta(seconds=_slot_timeout() + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now + dt.timedelta(seconds=2)
    ).update(next_attempt_at=lease_until)
    if not claimed:
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).only("status").first()
        return AttemptResult(str(delivery_id), delivery.status if delivery else "missing", attempted=False)
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if subscription.status == Status.SUSPENDED:
        # Parked (next_attempt_at NULL: the sweeper skips it) until the agent re-enables it.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
        return AttemptResult(str(delivery.pk), delivery.status, attempted=False)
    if subscription.retry_not_before is not None and subscription.retry_not_before > now:
        # The endpoint is backing off after another delivery failed: no request before then.
        wait = (subscription.retry_not_before - now).total_seconds() + random.uniform(0, 1)
        _defer(delivery.pk, wait, now=now)
        return AttemptResult(str(delivery.pk), delivery.status, attempted=False, retry_in_seconds=wait)
    slot = _agent_slot_acquire(subscription.agent_id)
    if slot is None:
        # The firm's endpoints already hold all its slots: come back shortly, without a request,
        # so the worker moves on to other firms' deliveries.
        wait = settings.WEBHOOK_AGENT_BUSY_RETRY_SECONDS * random.uniform(1.0, 2.0)
        _defer(delivery.pk, wait, now=now)
        return AttemptResult(str(delivery.pk), delivery.status, attempted=False, retry_in_seconds=wait)
    try:
        status_code, error_text = _attempt_request(delivery, subscription, now)
    finally:
        cache.delete(slot)
    return _record(delivery, subscription, now=now, status_code=status_code, error_text=error_text)


def _attempt_request(delivery: WebhookDelivery, subscription: WebhookSubscription,
                     now: dt.datetime) -> tuple[int | None, str]:
    body = delivery.body.encode()
    # The receiver checks freshness against its own wall clock, so the signature carries the real
    # time, never the domain clock (a sandbox trainer may have moved that by days).
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Forodha-Webhooks/1",
        "Forodha-Delivery": str(delivery.pk),
        "Forodha-Event": delivery.kind,
        SIGNATURE_HEADER: signature_header(secret=subscription.secret, timestamp=timestamp, body=body),
    }
    try:
        # Resolved and checked at every attempt: the name may point inside since subscription.
        target = webhook_target_resolve(subscription.url)
        status_code = _post(target, body, headers)
    except WebhookTargetRefused as exc:
        return None, f"refused: {exc.item.detail}"[:500]
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:  # refused, timeout, TLS, bad answer
        return None, repr(exc)[:500]
    if 300 <= status_code < 400:
        return status_code, f"HTTP {status_code}: redirects are not followed"
    return status_code, "" if 200 <= status_code < 300 else f"HTTP {status_code}"


def _record(delivery: WebhookDelivery, subscription: WebhookSubscription, *, now: dt.datetime,
            status_code: int | None, error_text: str) -> AttemptResult:
    attempts = delivery.attempts + 1
    ok = status_code is not None and 200 <= status_code < 300
    log = [*delivery.attempts_log, {"at": now.isoformat(), "status_code": status_code, "error": error_text}]
    retry_in: float | None = None
    if ok:
        WebhookSubscription.objects.filter(pk=subscription.pk).exclude(
            consecutive_failures=0, retry_not_before__isnull=True
        ).update(consecutive_failures=0, retry_not_before=None)
        status, next_at, delivered_at = WebhookDelivery.Status.DELIVERED, None, clock.now()
    else:
        # Per endpoint: one more failure in a row (atomic increment: concurrent attempts count).
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        failures = WebhookSubscription.objects.values_list("consecutive_failures", flat=True).get(pk=subscription.pk)
        endpoint_wait = backoff_seconds(failures)
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            retry_not_before=now + dt.timedelta(seconds=endpoint_wait)
        )
        if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            status, next_at, delivered_at = WebhookDelivery.Status.FAILED, None, None
        else:
            retry_in = max(backoff_seconds(attempts), endpoint_wait)
            status, next_at, delivered_at = WebhookDelivery.Status.PENDING, now + dt.timedelta(seconds=retry_in), None
        if failures >= settings.WEBHOOK_BREAKER_THRESHOLD and _suspend(
            subscription_id=subscription.pk, last_error=error_text
        ) and status == WebhookDelivery.Status.PENDING:
            next_at, retry_in = None, None  # parked with the others until re-enabled
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=attempts,
        attempts_log=log,
        last_status_code=status_code,
        last_error=error_text,
        next_attempt_at=next_at,
        delivered_at=delivered_at,
    )
    return AttemptResult(str(delivery.pk), str(status), attempted=True, retry_in_seconds=retry_in)


def webhook_deliveries_due(*, grace_seconds: int = 60, limit: int = 500) -> list[str]:
    """Pending deliveries whose retry is overdue (its message was lost): for the sweeper. Parked
    deliveries (suspended subscription: next_attempt_at NULL) are not due."""
    cutoff = clock.now() - dt.timedelta(seconds=grace_seconds)
    return [
        str(pk)
        for pk in WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff,
                                                 subscription__status=Status.ACTIVE)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]
