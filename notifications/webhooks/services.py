"""Webhook subscriptions (agent-scoped) and signed delivery: SSRF-safe, fair and self-limiting.

Safety: a URL is resolved once per attempt; every address must be public (unless
`WEBHOOK_ALLOW_PRIVATE_ADDRESSES`); the request goes to the checked address (the name is only
sent as Host / TLS SNI, and the certificate is checked against it), and a 3xx is a failed
delivery, never followed. So DNS rebinding and redirects cannot reach inside.

Fairness: the delivery rows are the queue. A dispatcher task (`notifications.dispatch_webhooks`,
queue `webhooks`) claims the next due delivery round-robin across agent firms -- the firm served
longest ago first -- attempts it, and claims the next, until nothing is due. A firm already holding
`WEBHOOK_AGENT_CONCURRENCY` attempts in flight, an endpoint backing off and a suspended endpoint
(open circuit) are skipped at claim time, so they never occupy a worker thread or a broker
message. A fan-out sends a handful of dispatcher messages, not one per delivery, so one firm's 50
deliveries do not stand in the queue in front of another firm's one. An endpoint that failed is not
tried again before its back-off (exponential, jittered, bounded); after
`WEBHOOK_BREAKER_THRESHOLD` failures in a row the subscription is suspended (circuit breaker), its
deliveries are parked, and the agent is notified and may re-enable it.
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
from dataclasses import dataclass
from typing import Any

import urllib3
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q, QuerySet

from core import celery_app, clock
from core.actors import actor_user
from core.exceptions import Conflict, ErrorItem, NotFound, ValidationFailed, error
from core.outbox import outbox_enqueue
from traders.models import ClearingAgent

from ..enums import NotificationKind
from ..services import notification_create
from .lifecycle import SUBSCRIPTION
from .models import (
    WebhookDelivery,
    WebhookDispatchTurn,
    WebhookSubscription,
    WebhookSubscriptionEvent,
    WebhookSubscriptionStatus,
)
from .signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger("forodha.webhooks")

DISPATCH_TASK = "notifications.dispatch_webhooks"
# Longest wait between two attempts. Kept below the Redis visibility timeout (3600 s) so a
# countdown message is never redelivered while it waits.
MAX_BACKOFF_SECONDS = 1800
# Bytes of a receiver's answer read at most (only the status matters).
MAX_RESPONSE_BYTES = 4096

Status = WebhookSubscriptionStatus


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
    return WebhookSubscriptionEvent.objects.create(
        subscription_id=subscription.pk, agent_id=subscription.agent_id, actor=actor_user(actor), action=action,
        from_status=from_status, to_status=to_status, reason=reason, payload=payload or {},
        created_at=clock.now(),
    )


@transaction.atomic
def webhook_subscription_create(
    *, agent: Any, url: str, kinds: list[str] | None = None, description: str = "", actor: Any
) -> WebhookSubscription:
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


def webhook_subscription_of(*, agent: Any, subscription_id: Any, lock: bool = False) -> WebhookSubscription:
    """One of the agent's own subscriptions (row-locked when `lock`, inside the caller's
    transaction); another firm's, or none, is 404: existence is never revealed."""
    rows = WebhookSubscription.objects.filter(agent=agent, pk=subscription_id)
    subscription = (rows.select_for_update(of=("self",)) if lock else rows).first()
    if subscription is None:
        raise NotFound(detail="Webhook subscription not found.", code="webhook_not_found")
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, agent: Any, subscription_id: Any, actor: Any) -> None:
    """Delete one of the agent's subscriptions; someone else's is 404 (never revealed)."""
    subscription = webhook_subscription_of(agent=agent, subscription_id=subscription_id, lock=True)
    _event(subscription=subscription, action=WebhookSubscriptionEvent.Action.DELETED,
           from_status=subscription.status, to_status="", actor=actor, payload={"url": subscription.url})
    subscription.delete()


@transaction.atomic
def webhook_subscription_enable(*, agent: Any, subscription_id: Any, actor: Any) -> WebhookSubscription:
    """The agent re-enables a suspended subscription: the breaker is reset and the deliveries
    parked while it was suspended are due again (the dispatcher is woken through the outbox)."""
    subscription = webhook_subscription_of(agent=agent, subscription_id=subscription_id, lock=True)
    SUBSCRIPTION.transition_check(subscription.status, Status.ACTIVE)
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
    WebhookDelivery.objects.filter(pk__in=parked).update(next_attempt_at=now, in_flight_until=None)
    _dispatch_kicks(len(parked))
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
        SUBSCRIPTION.transition_check(subscription.status, Status.SUSPENDED)
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
    """Create one delivery per matching active subscription of the notification's agent and wake
    the dispatcher: at most WEBHOOK_AGENT_CONCURRENCY messages (what the firm may use at once),
    through the outbox so a broker outage loses nothing.
    Idempotent: a notification is delivered at most once per subscription. A suspended
    subscription gets nothing (the agent was told; what happens meanwhile is in the pull feed)."""
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
                WebhookDelivery.objects.create(
                    subscription=subscription,
                    notification_id=notification_id,
                    kind=notification.kind,
                    body=body,
                    next_attempt_at=now,
                    created_at=now,
                )
        except IntegrityError:
            continue  # already created by an earlier run of the fan-out
        created += 1
    if created:
        with transaction.atomic():
            _dispatch_kicks(created)
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


def _lease_seconds() -> int:
    # One attempt takes at most the connect + read timeouts (the task's time limit stops a
    # trickling receiver); a lease outlives it so it never expires under a live attempt.
    return math.ceil(settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS) + 35


def _dispatch_kicks(deliveries: int) -> None:
    """Wake the dispatcher for `deliveries` new due deliveries of one firm: as many messages as
    the firm may use workers at once (more would only find nothing to claim), through the
    outbox (in the caller's transaction: sent after commit, re-sent if the broker is down)."""
    for _ in range(min(deliveries, settings.WEBHOOK_AGENT_CONCURRENCY)):
        outbox_enqueue(task_name=DISPATCH_TASK, kwargs={})


def _due(now: dt.datetime) -> QuerySet[WebhookDelivery]:
    """Deliveries a worker may attempt now: pending and due, not leased by an attempt in progress,
    on an active subscription (open circuit: parked) whose endpoint is not backing off."""
    return WebhookDelivery.objects.filter(
        Q(in_flight_until__isnull=True) | Q(in_flight_until__lte=now),
        Q(subscription__retry_not_before__isnull=True) | Q(subscription__retry_not_before__lte=now),
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
        subscription__status=Status.ACTIVE,
    )


def _in_flight(now: dt.datetime, agent_ids: list[Any]) -> dict[Any, int]:
    return dict(
        WebhookDelivery.objects.filter(in_flight_until__gt=now, subscription__agent_id__in=agent_ids)
        .values("subscription__agent_id").annotate(n=Count("pk")).values_list("subscription__agent_id", "n")
    )


def webhook_delivery_claim(*, now: dt.datetime | None = None) -> str | None:
    """The id of the next delivery a worker should attempt, leased to it (in_flight_until), or None
    when nothing is due. Fair: firms are served round-robin (least recently served first, then
    the one waiting longest); a firm with WEBHOOK_AGENT_CONCURRENCY attempts in flight is skipped,
    and so are endpoints backing off and suspended ones (`_due`), without holding anything.

    Safe with several workers and processes: the firm's turn row is locked while its in-flight
    attempts are counted and one delivery is leased (compare-and-set), so a firm never exceeds its
    cap and no delivery is leased twice (PostgreSQL row lock; SQLite runs IMMEDIATE transactions,
    one writer at a time)."""
    now = now or clock.now()
    # A turn taken by another worker between the first look and the firm's lock changes the order:
    # look again (bounded; the last round takes what it finds).
    for round_ in range(3):
        delivery_id = _claim_fairest(now, strict=round_ < 2)
        if delivery_id is not _STALE:
            return delivery_id  # type: ignore[return-value]
    return None


_STALE = object()


def _claim_fairest(now: dt.datetime, *, strict: bool) -> object:
    waiting = list(_due(now).values("subscription__agent_id").annotate(oldest=Min("next_attempt_at"))
                   .values_list("subscription__agent_id", "oldest"))
    if not waiting:
        return None
    agent_ids = [agent_id for agent_id, _oldest in waiting]
    turns = dict(WebhookDispatchTurn.objects.filter(agent_id__in=agent_ids).values_list("agent_id", "last_served_at"))
    missing = [agent_id for agent_id in agent_ids if agent_id not in turns]
    if missing:
        WebhookDispatchTurn.objects.bulk_create([WebhookDispatchTurn(agent_id=a) for a in missing],
                                                ignore_conflicts=True)
    busy = _in_flight(now, agent_ids)
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    limit = settings.WEBHOOK_AGENT_CONCURRENCY
    for agent_id, _oldest in sorted(waiting, key=lambda row: (turns.get(row[0]) or never, row[1])):
        if busy.get(agent_id, 0) >= limit:
            continue  # the firm's endpoints already hold all it may use
        seen = turns.get(agent_id) if strict else _STALE
        delivery_id = _claim_for_firm(agent_id, now=now, limit=limit, seen=seen)
        if delivery_id is not None:
            return delivery_id
    return None


def _claim_for_firm(agent_id: Any, *, now: dt.datetime, limit: int, seen: object) -> object:
    with transaction.atomic():
        turn = WebhookDispatchTurn.objects.select_for_update().filter(agent_id=agent_id).first()
        if turn is None:
            return None
        if seen is not _STALE and turn.last_served_at != seen:
            return _STALE  # served by another worker meanwhile: it may no longer be this firm's turn
        # Re-counted under the firm's lock: another worker may have claimed since the first look.
        if _in_flight(now, [agent_id]).get(agent_id, 0) >= limit:
            return None
        candidates = (_due(now).filter(subscription__agent_id=agent_id)
                      .order_by("next_attempt_at", "created_at", "id").values_list("pk", flat=True)[:3])
        for pk in candidates:
            leased = WebhookDelivery.objects.filter(
                Q(in_flight_until__isnull=True) | Q(in_flight_until__lte=now),
                pk=pk, status=WebhookDelivery.Status.PENDING,
            ).update(in_flight_until=now + dt.timedelta(seconds=_lease_seconds()))
            if leased:
                turn.last_served_at = now
                turn.save(update_fields=["last_served_at"])
                return str(pk)
    return None


def webhook_dispatch(*, budget_seconds: float | None = None) -> int:
    """The dispatcher's loop (one worker thread): claim the fairest due delivery, attempt it, and
    go on until nothing is due or the time budget is spent. Returns the attempts made.

    Whatever way it ends, the work left has a message: budget spent -> a fresh dispatcher message
    right away (so the thread is handed back now and then); nothing due -> one wake-up message
    at the earliest time something becomes due (a retry or an endpoint's back-off), shared by
    every dispatcher that ends at the same time. The beat sweeper covers a lost message."""
    budget = settings.WEBHOOK_DISPATCH_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    attempts = 0
    while True:
        if time.monotonic() - started >= budget:
            _send_dispatch(countdown=None)
            return attempts
        delivery_id = webhook_delivery_claim()
        if delivery_id is None:
            break
        webhook_delivery_attempt_leased(delivery_id=delivery_id)
        attempts += 1
    _schedule_wake_up()
    return attempts


def _send_dispatch(*, countdown: float | None) -> None:
    celery_app.app().send_task(DISPATCH_TASK, kwargs={}, countdown=countdown)


def webhook_next_due_at(*, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the next waiting delivery may become due: the earliest future retry time or endpoint
    back-off among pending deliveries of active subscriptions (parked ones have none)."""
    now = now or clock.now()
    pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, subscription__status=Status.ACTIVE,
                                             next_attempt_at__isnull=False)
    retry = pending.filter(next_attempt_at__gt=now).aggregate(at=Min("next_attempt_at"))["at"]
    backoff = pending.filter(subscription__retry_not_before__gt=now).aggregate(
        at=Min("subscription__retry_not_before"))["at"]
    times = [t for t in (retry, backoff) if t is not None]
    return min(times) if times else None


def _schedule_wake_up() -> None:
    now = clock.now()
    at = webhook_next_due_at(now=now)
    if at is None:
        return
    countdown = min(max((at - now).total_seconds(), 0.0) + 0.2, MAX_BACKOFF_SECONDS)
    # One wake-up per due instant, whatever the number of dispatchers ending together (they read
    # the same row, so the same instant).
    if cache.add(f"forodha:webhook-wake:{int(at.timestamp() * 1000)}", 1, timeout=int(countdown) + 60):
        _send_dispatch(countdown=countdown)


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
        next_attempt_at=now + dt.timedelta(seconds=seconds), in_flight_until=None
    )


def webhook_delivery_attempt(*, delivery_id: Any) -> AttemptResult:
    """One attempt at one named delivery if it is due (the dispatcher uses
    `webhook_delivery_claim`, which also applies the firm's cap and round-robin). The lease
    (in_flight_until, compare-and-set) makes sure two callers never post the same delivery at once."""
    now = clock.now()
    leased = WebhookDelivery.objects.filter(
        Q(in_flight_until__isnull=True) | Q(in_flight_until__lte=now),
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now + dt.timedelta(seconds=2),
    ).update(in_flight_until=now + dt.timedelta(seconds=_lease_seconds()))
    if not leased:
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).only("status").first()
        return AttemptResult(str(delivery_id), delivery.status if delivery else "missing", attempted=False)
    return webhook_delivery_attempt_leased(delivery_id=delivery_id)


def webhook_delivery_attempt_leased(*, delivery_id: Any) -> AttemptResult:
    """Attempt a delivery this worker holds the lease of, and record the outcome (lease released)."""
    now = clock.now()
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    if subscription.status == Status.SUSPENDED:
        # Parked (next_attempt_at NULL: never due) until the agent re-enables it.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None, in_flight_until=None)
        return AttemptResult(str(delivery.pk), delivery.status, attempted=False)
    if subscription.retry_not_before is not None and subscription.retry_not_before > now:
        # The endpoint is backing off after another delivery failed: no request before then.
        wait = (subscription.retry_not_before - now).total_seconds() + random.uniform(0, 1)
        _defer(delivery.pk, wait, now=now)
        return AttemptResult(str(delivery.pk), delivery.status, attempted=False, retry_in_seconds=wait)
    status_code, error_text = _attempt_request(delivery, subscription, now)
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
        in_flight_until=None,
        delivered_at=delivered_at,
    )
    return AttemptResult(str(delivery.pk), str(status), attempted=True, retry_in_seconds=retry_in)


def webhook_deliveries_due(*, grace_seconds: int = 60, limit: int = 500) -> list[str]:
    """Deliveries due for longer than `grace_seconds` and not in flight (no dispatcher took them:
    a lost message) -- for the sweeper. Parked deliveries (suspended subscription: next_attempt_at
    NULL) and endpoints backing off are not due."""
    cutoff = clock.now() - dt.timedelta(seconds=grace_seconds)
    return [str(pk) for pk in _due(clock.now()).filter(next_attempt_at__lte=cutoff)
            .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]]


def webhook_sweep() -> int:
    """Beat: wake the dispatcher when deliveries have waited past the grace period (their message
    was lost, or a worker died holding a lease that has now expired). Returns the messages sent."""
    due = webhook_deliveries_due(limit=1000)
    if not due:
        return 0
    firms = WebhookDelivery.objects.filter(pk__in=due).values("subscription__agent_id").distinct().count()
    kicks = min(firms * settings.WEBHOOK_AGENT_CONCURRENCY, settings.WEBHOOK_DISPATCH_MAX_SWEEP_KICKS)
    for _ in range(kicks):
        _send_dispatch(countdown=None)
    return kicks
