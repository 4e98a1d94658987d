"""Webhook subscriptions (agent-scoped) and signed delivery with exponential back-off."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from core import clock
from core.exceptions import ErrorItem, NotFound, ValidationFailed, error

from .models import WebhookDelivery, WebhookSubscription
from .signing import SIGNATURE_HEADER, signature_header

DELIVER_TASK = "risk.deliver_webhook"
# Longest wait between two attempts. Kept below the Redis visibility timeout (3600 s) so a
# countdown message is never redelivered while it waits.
MAX_BACKOFF_SECONDS = 1800


def webhook_url_problems(url: str) -> list[ErrorItem]:
    """Deliveries leave Forodha's network: refuse URLs that point inside it (SSRF). The host must
    resolve, and every address it resolves to must be public (not loopback, private, link-local,
    multicast, reserved or unspecified). `WEBHOOK_ALLOW_PRIVATE_ADDRESSES` lifts this for local
    development, tests and sandboxes whose receivers run on the same machine."""
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return []
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return [error("invalid", "Use an http(s) URL with a host name.", "/url")]
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return [error("webhook_url_unresolvable", f"The host {host!r} does not resolve.", "/url")]
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return [error("webhook_url_not_public",
                          f"The host {host!r} resolves to {address}, which is not a public address.", "/url")]
    return []


def webhook_subscription_create(
    *, agent: Any, url: str, kinds: list[str] | None = None, description: str = "", actor: Any
) -> WebhookSubscription:
    problems = webhook_url_problems(url)
    if problems:
        raise ValidationFailed(errors=problems)
    return WebhookSubscription.objects.create(
        agent=agent,
        url=url,
        secret=secrets.token_hex(32),
        kinds=sorted(set(kinds or [])),
        description=description,
        created_at=clock.now(),
    )


def webhook_subscription_delete(*, agent: Any, subscription_id: Any, actor: Any) -> None:
    """Delete one of the agent's subscriptions; someone else's is 404 (never revealed)."""
    deleted, _ = WebhookSubscription.objects.filter(agent=agent, pk=subscription_id).delete()
    if not deleted:
        raise NotFound(detail="Webhook subscription not found.", code="webhook_not_found")


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
    Idempotent: a notification is delivered at most once per subscription."""
    from core.outbox import outbox_enqueue

    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(agent_id=notification.agent_id, active=True)
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
                outbox_enqueue(task_name=DELIVER_TASK, kwargs={"delivery_id": str(delivery.pk)})
        except IntegrityError:
            continue  # already created by an earlier run of the fan-out
        created += 1
    return created


@dataclass(frozen=True)
class AttemptResult:
    delivery_id: str
    status: str
    attempted: bool
    retry_in_seconds: int | None = None


def backoff_seconds(attempts: int) -> int:
    """Wait after the n-th failed attempt: base x 2^(n-1), capped (30 s, 60 s, 120 s, ...)."""
    return min(settings.WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def webhook_delivery_attempt(*, delivery_id: Any) -> AttemptResult:
    """One delivery attempt. A lease (next_attempt_at pushed forward by compare-and-set) makes
    sure two copies of the task never post the same delivery at the same time."""
    now = clock.now()
    lease_until = now + dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now + dt.timedelta(seconds=2)
    ).update(next_attempt_at=lease_until)
    if not claimed:
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).only("status").first()
        return AttemptResult(str(delivery_id), delivery.status if delivery else "missing", attempted=False)
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    body = delivery.body.encode()
    # The receiver checks freshness against its own wall clock, so the signature carries the real
    # time, never the domain clock (a sandbox trainer may have moved that by days).
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Forodha-Webhooks/1",
        "Forodha-Delivery": str(delivery.pk),
        "Forodha-Event": delivery.kind,
        SIGNATURE_HEADER: signature_header(secret=delivery.subscription.secret, timestamp=timestamp, body=body),
    }
    status_code: int | None = None
    error_text = ""
    # Re-checked at every attempt: the name may have been re-pointed inside since subscription.
    refused = webhook_url_problems(delivery.subscription.url)
    try:
        if refused:
            raise ValueError(refused[0].detail)
        status_code = _post(delivery.subscription.url, body, headers)
    except (OSError, ValueError) as exc:  # refused, timeout, DNS, bad URL, not a public address
        error_text = repr(exc)[:500]
    attempts = delivery.attempts + 1
    ok = status_code is not None and 200 <= status_code < 300
    log = [*delivery.attempts_log, {"at": now.isoformat(), "status_code": status_code, "error": error_text}]
    retry_in: int | None = None
    if ok:
        status, next_at, delivered_at = WebhookDelivery.Status.DELIVERED, None, clock.now()
    elif attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        status, next_at, delivered_at = WebhookDelivery.Status.FAILED, None, None
    else:
        retry_in = backoff_seconds(attempts)
        status, next_at, delivered_at = WebhookDelivery.Status.PENDING, now + dt.timedelta(seconds=retry_in), None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=attempts,
        attempts_log=log,
        last_status_code=status_code,
        last_error=error_text or ("" if ok else f"HTTP {status_code}"),
        next_attempt_at=next_at,
        delivered_at=delivered_at,
    )
    return AttemptResult(str(delivery.pk), str(status), attempted=True, retry_in_seconds=retry_in)


def webhook_deliveries_due(*, grace_seconds: int = 60, limit: int = 500) -> list[str]:
    """Pending deliveries whose retry is overdue (its message was lost): for the sweeper."""
    cutoff = clock.now() - dt.timedelta(seconds=grace_seconds)
    return [
        str(pk)
        for pk in WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]
