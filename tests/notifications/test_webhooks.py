"""Webhook subscriptions API (agent-scoped) and signed deliveries with retries, against a real
local HTTP server in a thread."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from core import clock
from core.models import OutboxMessage
from notifications.models import Notification, WebhookDelivery, WebhookSubscription, WebhookSubscriptionEvent
from notifications.services import notification_create
from notifications.webhooks import services as webhook_services
from notifications.webhooks import webhook_deliveries_enqueue
from notifications.webhooks.services import (
    address_is_public,
    backoff_seconds,
    webhook_deliveries_due,
    webhook_delivery_attempt,
)
from notifications.webhooks.signing import signature_verify
from tests.factories.traders import agent_with_token

pytestmark = pytest.mark.django_db


class Receiver:
    """A local endpoint answering with the next status of `statuses` (then the last one)."""

    def __init__(self, statuses: list[int], host: str = "127.0.0.1", location: str | None = None) -> None:
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                index = min(len(receiver.requests) - 1, len(receiver.statuses) - 1)
                self.send_response(receiver.statuses[index])
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(statuses: list[int], **kwargs: Any) -> Receiver:
        made.append(Receiver(statuses, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    server.close()


def _auth(client: Any, token: str) -> Any:
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_subscription_create_list_get_delete(api_client):
    # given
    _staff, token = agent_with_token()
    _auth(api_client, token)
    # when
    created = api_client.post(
        "/api/v1/webhooks", {"url": "https://agent.example/hooks", "kinds": ["released"]}, format="json"
    )
    listed = api_client.get("/api/v1/webhooks")
    one = api_client.get(f"/api/v1/webhooks/{created.data['id']}")
    deleted = api_client.delete(f"/api/v1/webhooks/{created.data['id']}")
    # then
    assert created.status_code == 201
    assert len(created.data["secret"]) == 64
    assert created.data["kinds"] == ["released"]
    assert listed.status_code == 200
    assert [r["id"] for r in listed.data["results"]] == [created.data["id"]]
    assert "secret" not in listed.data["results"][0]
    assert one.status_code == 200
    assert "secret" not in one.data
    assert deleted.status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_another_agents_subscription_is_404(api_client):
    _owner, owner_token = agent_with_token()
    _other, other_token = agent_with_token()
    sub_id = (
        _auth(api_client, owner_token)
        .post("/api/v1/webhooks", {"url": "https://a.example/h"}, format="json")
        .data["id"]
    )
    _auth(api_client, other_token)
    assert api_client.get(f"/api/v1/webhooks/{sub_id}").status_code == 404
    assert api_client.delete(f"/api/v1/webhooks/{sub_id}").status_code == 404
    assert api_client.get(f"/api/v1/webhooks/{sub_id}/deliveries").status_code == 404
    assert api_client.get("/api/v1/webhooks").data["results"] == []
    assert WebhookSubscription.objects.filter(pk=sub_id).exists()


def test_bad_input_is_problem_json_with_pointers_and_nothing_saved(api_client):
    _staff, token = agent_with_token()
    response = _auth(api_client, token).post(
        "/api/v1/webhooks", {"url": "not a url", "kinds": ["nope"], "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    pointers = sorted(e["pointer"] for e in response.json()["errors"])
    assert pointers == ["/colour", "/kinds/0", "/url"]
    assert not WebhookSubscription.objects.exists()


def test_unauthenticated_is_401(api_client):
    assert api_client.get("/api/v1/webhooks").status_code == 401


def _due_now(delivery: WebhookDelivery) -> None:
    """Let time pass: the delivery and its endpoint are due again."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=clock.now())
    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(retry_not_before=None)


def _subscription(agent: Any, url: str, kinds: list[str] | None = None) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        agent=agent, url=url, secret="s3cret" * 4, kinds=kinds or [], created_at=clock.now()
    )


def test_delivery_is_signed_with_hmac_sha256(receiver_factory):
    # given
    receiver = receiver_factory([200])
    staff, _ = agent_with_token()
    subscription = _subscription(staff.agent, receiver.url)
    notification = notification_create(
        agent=staff.agent,
        kind="released",
        subject="26MBAIM000000001: released",
        payload={"entry_number": "26MBAIM000000001"},
    )
    # when
    assert webhook_deliveries_enqueue(notification) == 1
    delivery = WebhookDelivery.objects.get()
    result = webhook_delivery_attempt(delivery_id=delivery.pk)
    # then
    delivery.refresh_from_db()
    assert (result.status, delivery.status, delivery.attempts, delivery.last_status_code) == (
        "delivered",
        "delivered",
        1,
        200,
    )
    [request] = receiver.requests
    header = request["headers"]["Forodha-Signature"]
    now = int(time.time())  # the receiver's wall clock: signatures carry the real time
    assert signature_verify(secret=subscription.secret, header=header, body=request["body"], now=now)
    assert not signature_verify(secret="wrong", header=header, body=request["body"], now=now)
    assert not signature_verify(
        secret=subscription.secret, header=header, body=request["body"] + b" ", now=now
    )
    body = json.loads(request["body"])
    assert (body["id"], body["kind"], body["payload"]) == (
        str(notification.id),
        "released",
        {"entry_number": "26MBAIM000000001"},
    )
    assert request["headers"]["Forodha-Event"] == "released"
    # a second attempt of a delivered delivery does nothing
    assert webhook_delivery_attempt(delivery_id=delivery.pk).attempted is False
    assert len(receiver.requests) == 1


def test_failures_back_off_exponentially_then_succeed(receiver_factory, settings):
    # given: the endpoint fails twice (500, 503) then accepts
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    receiver = receiver_factory([500, 503, 204])
    staff, _ = agent_with_token()
    _subscription(staff.agent, receiver.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    delivery = WebhookDelivery.objects.get()
    # when / then: first failure -> retry in 30 s; the retry may not run before it is due
    first = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert first.status == "pending"
    assert first.retry_in_seconds is not None
    assert 15 <= first.retry_in_seconds <= 30
    assert webhook_delivery_attempt(delivery_id=delivery.pk).attempted is False
    _due_now(delivery)
    second = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert second.status == "pending"
    assert second.retry_in_seconds is not None
    assert 30 <= second.retry_in_seconds <= 60
    assert WebhookSubscription.objects.get().consecutive_failures == 2
    _due_now(delivery)
    third = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert third.status == "delivered"
    assert [a["status_code"] for a in delivery.attempts_log] == [500, 503, 204]
    assert delivery.attempts == 3
    assert len(receiver.requests) == 3
    # a success resets the endpoint's failure count and back-off
    assert WebhookSubscription.objects.values_list("consecutive_failures", "retry_not_before").get() == (0, None)


def test_attempts_are_bounded(receiver_factory, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver = receiver_factory([500])
    staff, _ = agent_with_token()
    _subscription(staff.agent, receiver.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    _due_now(delivery)
    last = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (last.status, last.retry_in_seconds, delivery.status, delivery.next_attempt_at) == (
        "failed",
        None,
        "failed",
        None,
    )


def test_backoff_is_exponential_jittered_and_bounded(settings):
    # given
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    rng = random.Random(7)
    # when
    draws = {n: [backoff_seconds(n, rng=rng) for _ in range(200)] for n in (1, 2, 3, 20, 10_000)}
    # then: each wait lies in [half, full] of base x 2^(n-1), capped at 30 minutes, and varies
    for n, (low, high) in {1: (15, 30), 2: (30, 60), 3: (60, 120), 20: (900, 1800), 10_000: (900, 1800)}.items():
        assert low <= min(draws[n]) <= max(draws[n]) <= high
        assert len(set(draws[n])) > 100


def test_a_dead_endpoint_does_not_block_another_subscription(receiver_factory):
    # given: two subscriptions of the same agent; one points at a closed port
    good = receiver_factory([200])
    staff, _ = agent_with_token()
    _subscription(staff.agent, "http://127.0.0.1:9/dead")
    _subscription(staff.agent, good.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="released", subject="x"))
    # when: each delivery is its own task
    results = {
        d.subscription.url: webhook_delivery_attempt(delivery_id=d.pk).status
        for d in WebhookDelivery.objects.select_related("subscription")
    }
    # then
    assert results == {"http://127.0.0.1:9/dead": "pending", good.url: "delivered"}
    dead = WebhookDelivery.objects.get(subscription__url="http://127.0.0.1:9/dead")
    assert "Connection refused" in dead.last_error or "Errno" in dead.last_error


def test_kind_filter_other_agents_and_idempotent_enqueue():
    staff, _ = agent_with_token()
    other, _ = agent_with_token()
    _subscription(staff.agent, "https://a.example/released", kinds=["released"])
    _subscription(staff.agent, "https://a.example/all")
    _subscription(other.agent, "https://b.example/all")
    paid = notification_create(agent=staff.agent, kind="paid", subject="paid")
    released = notification_create(agent=staff.agent, kind="released", subject="released")
    assert webhook_deliveries_enqueue(paid) == 1
    assert webhook_deliveries_enqueue(released) == 2
    assert webhook_deliveries_enqueue(released) == 0  # fan-out redelivered: no duplicates
    assert WebhookDelivery.objects.count() == 3
    assert not WebhookDelivery.objects.filter(subscription__agent=other.agent).exists()


def test_delivery_log_api(api_client, receiver_factory):
    receiver = receiver_factory([200])
    staff, token = agent_with_token()
    sub = _subscription(staff.agent, receiver.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="released", subject="x"))
    webhook_delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    response = _auth(api_client, token).get(f"/api/v1/webhooks/{sub.pk}/deliveries")
    assert response.status_code == 200
    [row] = response.data["results"]
    assert (row["status"], row["attempts"], row["last_status_code"], row["kind"]) == ("delivered", 1, 200, "released")


def test_sweeper_finds_overdue_pending_deliveries():
    staff, _ = agent_with_token()
    _subscription(staff.agent, "https://a.example/h")
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliveries_due() == []
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=clock.now() - dt.timedelta(minutes=5))
    assert webhook_deliveries_due() == [str(delivery.pk)]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8000/hooks", "webhook_url_not_public"),
        ("http://localhost/hooks", "webhook_url_not_public"),
        ("https://10.1.2.3/hooks", "webhook_url_not_public"),
        ("https://192.168.0.10/hooks", "webhook_url_not_public"),
        ("http://169.254.169.254/latest/meta-data", "webhook_url_not_public"),
        ("https://[::1]/hooks", "webhook_url_not_public"),
        ("http://100.64.0.7/hooks", "webhook_url_not_public"),
        ("http://[fd00::7]/hooks", "webhook_url_not_public"),
        ("http://[fe80::1]/hooks", "webhook_url_not_public"),
        ("http://[::ffff:169.254.169.254]/latest", "webhook_url_not_public"),
        ("http://224.0.0.1/hooks", "webhook_url_not_public"),
        ("http://0.0.0.0:8000/hooks", "webhook_url_not_public"),
        ("http://user:pw@93.184.216.34/hooks", "invalid"),
    ],
)
def test_webhook_urls_inside_the_network_are_refused(api_client, settings, url, code):
    # given the production setting: deliveries may only leave for public addresses
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    _auth(api_client, agent_with_token()[1])
    # when
    response = api_client.post("/api/v1/webhooks", {"url": url}, format="json")
    # then
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in response.json()["errors"]] == [("/url", code)]
    assert WebhookSubscription.objects.count() == 0


def test_a_public_address_is_accepted(api_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    _auth(api_client, agent_with_token()[1])
    response = api_client.post("/api/v1/webhooks", {"url": "https://93.184.216.34/hooks"}, format="json")
    assert response.status_code == 201
    assert WebhookSubscription.objects.get().url == "https://93.184.216.34/hooks"


def test_delivery_to_an_address_that_became_private_is_refused_without_a_request(receiver_factory, settings):
    # given a subscription made while allowed, to a receiver on this machine
    receiver = receiver_factory([200])
    staff, _ = agent_with_token()
    _subscription(staff.agent, receiver.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    delivery = WebhookDelivery.objects.get()
    # when the guard is on at delivery time
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    result = webhook_delivery_attempt(delivery_id=delivery.pk)
    # then nothing was sent and the attempt is logged as refused, to be retried later
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert (result.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "not a public address" in delivery.attempts_log[0]["error"]
    assert delivery.attempts_log[0]["error"].startswith("refused: ")


# --- Address policy, pinning, redirects (WEBHOOK_ALLOW_PRIVATE_ADDRESSES off) --------------------

@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("224.0.0.251", False),
        ("233.252.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),
        ("192.0.2.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.1.2.3", False),
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::", False),
        ("2002:a00:1::", False),
        ("2001:db8::1", False),
    ],
)
def test_address_policy(address, public):
    assert address_is_public(ipaddress.ip_address(address)) is public


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A patched DNS: host -> addresses; every call is counted under '#calls'."""
    table: dict[str, list[str]] = {"#calls": []}

    def resolve(host: str, port: int) -> list[str]:
        table["#calls"].append(host)
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    monkeypatch.setattr(webhook_services, "resolve_host", resolve)
    return table


def test_a_name_resolving_to_a_private_address_is_refused_at_subscription(api_client, settings, resolver):
    # given: production policy; one name resolves inside, one to a public and a private address
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    resolver["hooks.agent.test"] = ["10.20.30.40"]
    resolver["mixed.agent.test"] = ["93.184.216.34", "169.254.169.254"]
    resolver["public.agent.test"] = ["93.184.216.34"]
    _auth(api_client, agent_with_token()[1])
    # when
    inside = api_client.post("/api/v1/webhooks", {"url": "https://hooks.agent.test/h"}, format="json")
    mixed = api_client.post("/api/v1/webhooks", {"url": "https://mixed.agent.test/h"}, format="json")
    unknown = api_client.post("/api/v1/webhooks", {"url": "https://nowhere.agent.test/h"}, format="json")
    public = api_client.post("/api/v1/webhooks", {"url": "https://public.agent.test/h"}, format="json")
    # then
    assert [(e["pointer"], e["code"]) for e in inside.json()["errors"]] == [("/url", "webhook_url_not_public")]
    assert "10.20.30.40" in inside.json()["errors"][0]["detail"]
    assert [(e["pointer"], e["code"]) for e in mixed.json()["errors"]] == [("/url", "webhook_url_not_public")]
    assert [(e["pointer"], e["code"]) for e in unknown.json()["errors"]] == [("/url", "webhook_url_unresolvable")]
    assert (inside.status_code, mixed.status_code, unknown.status_code, public.status_code) == (400, 400, 400, 201)
    assert list(WebhookSubscription.objects.values_list("url", flat=True)) == ["https://public.agent.test/h"]


def test_a_name_re_pointed_inside_after_subscription_gets_no_request(receiver_factory, settings, resolver):
    # given: subscribed while the name was public; it now resolves to this machine (DNS rebinding)
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    receiver = receiver_factory([200])
    port = receiver.server.server_address[1]
    resolver["hooks.agent.test"] = ["127.0.0.1"]
    staff, _ = agent_with_token()
    _subscription(staff.agent, f"http://hooks.agent.test:{port}/hook")
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    delivery = WebhookDelivery.objects.get()
    # when
    result = webhook_delivery_attempt(delivery_id=delivery.pk)
    # then
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert (result.attempted, result.status, delivery.last_status_code) == (True, "pending", None)
    assert delivery.last_error == (
        "refused: The host 'hooks.agent.test' resolves to 127.0.0.1, which is not a public address."
    )


def test_the_request_goes_to_the_address_resolved_once_with_the_name_as_host(receiver_factory, resolver):
    # given: a name that resolves to the receiver (private receivers allowed, as in the test settings)
    receiver = receiver_factory([204])
    port = receiver.server.server_address[1]
    resolver["hooks.agent.test"] = ["127.0.0.1"]
    staff, _ = agent_with_token()
    _subscription(staff.agent, f"http://hooks.agent.test:{port}/hook?firm=1")
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    resolver["#calls"].clear()
    # when
    result = webhook_delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    # then: one resolution, the connection to its address, the name in Host only
    assert result.status == "delivered"
    assert resolver["#calls"] == ["hooks.agent.test"]
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"hooks.agent.test:{port}"
    assert request["path"] == "/hook?firm=1"


def test_webhook_target_keeps_the_name_for_tls_and_host(resolver):
    resolver["hooks.agent.test"] = ["93.184.216.34", "93.184.216.35"]
    target = webhook_services.webhook_target_resolve("https://hooks.agent.test/a/b?c=1")
    assert target == webhook_services.WebhookTarget(
        scheme="https", host="hooks.agent.test", port=443, address="93.184.216.34", path="/a/b?c=1"
    )
    assert target.host_header == "hooks.agent.test"


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_redirect_is_a_failed_delivery_and_is_never_followed(receiver_factory, settings, monkeypatch,
                                                                  allow_private):
    # given: the endpoint answers 302 to a receiver on 127.0.0.1. With the guard on, the first hop
    # (on 127.0.0.2) stands for a public host: only that address is declared public.
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = allow_private
    inside = receiver_factory([200])
    redirector = receiver_factory([302], host="127.0.0.2", location=inside.url)
    policy = webhook_services.address_is_public
    monkeypatch.setattr(webhook_services, "address_is_public",
                        lambda a: str(a) == "127.0.0.2" or policy(a))
    staff, _ = agent_with_token()
    _subscription(staff.agent, redirector.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    delivery = WebhookDelivery.objects.get()
    # when
    result = webhook_delivery_attempt(delivery_id=delivery.pk)
    # then
    delivery.refresh_from_db()
    assert len(redirector.requests) == 1
    assert inside.requests == []
    assert (result.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 302)
    assert delivery.last_error == "HTTP 302: redirects are not followed"


def test_an_attempt_is_bounded_by_the_timeouts(settings, blackhole):
    # given: an endpoint that accepts the connection and never answers
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    staff, _ = agent_with_token()
    _subscription(staff.agent, blackhole)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    # when
    started = time.monotonic()
    result = webhook_delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    elapsed = time.monotonic() - started
    # then
    assert result.status == "pending"
    assert elapsed < 2.0
    assert "timed out" in WebhookDelivery.objects.get().last_error.lower()


# --- Fairness: cap, queue, per-endpoint back-off, per-firm slots, circuit breaker ---------------

def test_subscriptions_per_agent_are_capped(api_client, settings):
    # given
    settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_AGENT = 2
    staff, token = agent_with_token()
    _other, other_token = agent_with_token()
    _auth(api_client, token)
    made = [api_client.post("/api/v1/webhooks", {"url": f"https://a.example/{i}"}, format="json") for i in range(3)]
    # when / then: the third is refused, nothing saved; another firm is not affected
    assert [r.status_code for r in made] == [201, 201, 409]
    problem = made[2].json()
    assert made[2]["Content-Type"].startswith("application/problem+json")
    assert problem["code"] == "webhook_limit_reached"
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [("/url", "webhook_limit_reached")]
    assert WebhookSubscription.objects.filter(agent=staff.agent).count() == 2
    assert WebhookSubscriptionEvent.objects.filter(agent=staff.agent, action="created").count() == 2
    assert _auth(api_client, other_token).post(
        "/api/v1/webhooks", {"url": "https://b.example/h"}, format="json").status_code == 201


def test_deliveries_have_their_own_queue():
    from config.celery import app

    def queue_of(name: str) -> str:
        return str(app.amqp.router.route({}, name)["queue"].name)

    assert queue_of("notifications.dispatch_webhooks") == "webhooks"
    assert queue_of("notifications.sweep_webhooks") == "webhooks"
    assert queue_of("risk.deliver_webhook") == "webhooks"  # the name messages had before the dispatcher
    assert queue_of("notifications.fan_out") == "notifications"


def test_an_endpoint_backing_off_gets_no_request_from_other_deliveries(receiver_factory):
    # given: two notifications for one failing endpoint
    receiver = receiver_factory([503])
    staff, _ = agent_with_token()
    subscription = _subscription(staff.agent, receiver.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="one"))
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="two"))
    first, second = WebhookDelivery.objects.order_by("created_at", "notification_id")
    # when
    failed = webhook_delivery_attempt(delivery_id=first.pk)
    waiting = webhook_delivery_attempt(delivery_id=second.pk)
    # then: the second waits for the endpoint's back-off, without a request or an attempt
    subscription.refresh_from_db()
    second.refresh_from_db()
    assert len(receiver.requests) == 1
    assert (failed.attempted, waiting.attempted, second.attempts) == (True, False, 0)
    assert subscription.retry_not_before is not None
    assert waiting.retry_in_seconds is not None
    assert second.next_attempt_at is not None
    assert second.next_attempt_at >= subscription.retry_not_before


def _dead_firm_and_live_firm(receiver_url: str, dead: int) -> tuple[Any, Any]:
    """Firm A with `dead` subscriptions whose deliveries were created first, then firm B's one."""
    firm_a, _ = agent_with_token()
    firm_b, _ = agent_with_token()
    for index in range(dead):
        _subscription(firm_a.agent, f"https://dead-{index}.example/h")
    _subscription(firm_b.agent, receiver_url)
    webhook_deliveries_enqueue(notification_create(agent=firm_a.agent, kind="maintenance", subject="A"))
    webhook_deliveries_enqueue(notification_create(agent=firm_b.agent, kind="maintenance", subject="B"))
    # A's are older: a FIFO would hand out all of them before B's
    WebhookDelivery.objects.filter(subscription__agent=firm_a.agent).update(
        next_attempt_at=clock.now() - dt.timedelta(seconds=5))
    return firm_a, firm_b


def test_claims_go_round_robin_across_firms_and_a_firm_at_its_cap_holds_nothing(settings):
    # given: firm A's 10 deliveries queued before firm B's one, A may hold 2 attempts at once
    settings.WEBHOOK_AGENT_CONCURRENCY = 2
    firm_a, firm_b = _dead_firm_and_live_firm("https://b.example/h", dead=10)
    owner = dict(WebhookDelivery.objects.values_list("pk", "subscription__agent_id"))
    # when: workers claim without finishing (the attempts stay in flight)
    claims = [webhook_services.webhook_delivery_claim() for _ in range(4)]
    # then: A, then B at once (A was served last), then A's second; then nothing -- A is at its cap
    # and nothing else is due, so no worker is held waiting for A
    assert [owner[UUID(c)] if c else None for c in claims] == [firm_a.agent.pk, firm_b.agent.pk, firm_a.agent.pk, None]
    assert WebhookDelivery.objects.filter(in_flight_until__isnull=False).count() == 3
    assert WebhookDelivery.objects.filter(attempts__gt=0).count() == 0
    # and when one of A's attempts ends, A's next is handed out
    webhook_services.webhook_delivery_attempt_leased(delivery_id=claims[0])
    assert owner[UUID(webhook_services.webhook_delivery_claim())] == firm_a.agent.pk


def test_an_endpoint_backing_off_or_suspended_is_skipped_at_claim_time():
    # given: a firm whose one endpoint backs off and another is suspended, and a healthy firm
    staff, _ = agent_with_token()
    other, _ = agent_with_token()
    backing_off = _subscription(staff.agent, "https://slow.example/h")
    suspended = _subscription(staff.agent, "https://gone.example/h")
    healthy = _subscription(other.agent, "https://ok.example/h")
    for agent in (staff.agent, other.agent):
        webhook_deliveries_enqueue(notification_create(agent=agent, kind="paid", subject="x"))
    WebhookSubscription.objects.filter(pk=backing_off.pk).update(retry_not_before=clock.now() + dt.timedelta(minutes=1))
    WebhookSubscription.objects.filter(pk=suspended.pk).update(status="suspended", suspended_at=clock.now())
    # when
    first = webhook_services.webhook_delivery_claim()
    second = webhook_services.webhook_delivery_claim()
    # then: only the healthy firm's delivery is handed out; the others wait without a lease
    assert WebhookDelivery.objects.get(pk=first).subscription_id == healthy.pk
    assert second is None
    assert list(WebhookDelivery.objects.filter(in_flight_until__isnull=False).values_list("pk", flat=True)) == [
        UUID(first)]
    # and the dispatcher's wake-up is the back-off's end
    assert webhook_services.webhook_next_due_at() == WebhookSubscription.objects.get(pk=backing_off.pk).retry_not_before


def test_the_dispatcher_delivers_a_live_firm_before_a_dead_firms_backlog(receiver_factory, settings, monkeypatch):
    # given: firm A's 6 deliveries to endpoints that fail, queued before firm B's one
    settings.WEBHOOK_AGENT_CONCURRENCY = 2
    receiver = receiver_factory([200])
    firm_a, firm_b = _dead_firm_and_live_firm(receiver.url, dead=6)
    order: list[str] = []

    def fail_or_deliver(delivery: Any, subscription: Any, now: Any) -> tuple[int | None, str]:
        order.append("B" if subscription.agent_id == firm_b.agent.pk else "A")
        return (200, "") if order[-1] == "B" else (None, "ConnectionRefusedError()")

    monkeypatch.setattr(webhook_services, "_attempt_request", fail_or_deliver)
    sent: list[Any] = []
    monkeypatch.setattr(webhook_services, "_send_dispatch", lambda *, countdown: sent.append(countdown))
    # when: one dispatcher runs until nothing is due
    attempts = webhook_services.webhook_dispatch(budget_seconds=60)
    # then: B second, right after A's first; every A endpoint tried once, each now backing off
    assert order == ["A", "B", "A", "A", "A", "A", "A"]
    assert attempts == 7
    assert WebhookDelivery.objects.get(subscription__agent=firm_b.agent).status == "delivered"
    assert WebhookDelivery.objects.filter(subscription__agent=firm_a.agent, attempts=1, status="pending",
                                          in_flight_until__isnull=True).count() == 6
    # and one wake-up is scheduled for the first retry (15-30 s: WEBHOOK_BACKOFF_SECONDS 30, jittered)
    [countdown] = sent
    assert 15 <= countdown <= 31


def test_a_dispatcher_out_of_budget_hands_over_to_a_fresh_message(monkeypatch):
    staff, _ = agent_with_token()
    _subscription(staff.agent, "https://a.example/h")
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="x"))
    sent: list[Any] = []
    monkeypatch.setattr(webhook_services, "_send_dispatch", lambda *, countdown: sent.append(countdown))
    # when: no time left
    assert webhook_services.webhook_dispatch(budget_seconds=0) == 0
    # then: nothing attempted, and the work is handed to a new message at once
    assert sent == [None]
    assert WebhookDelivery.objects.get().attempts == 0


def test_the_breaker_suspends_notifies_and_the_agent_re_enables(api_client, settings, receiver_factory):
    # given: a threshold of 3 and an endpoint that refuses every delivery
    settings.WEBHOOK_BREAKER_THRESHOLD = 3
    receiver = receiver_factory([500, 500, 500, 200])
    staff, token = agent_with_token()
    subscription = _subscription(staff.agent, receiver.url)
    watcher = _subscription(staff.agent, "https://watcher.example/h", kinds=["webhook_suspended"])
    for subject in ("one", "two"):
        webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject=subject))
    first, second = WebhookDelivery.objects.filter(subscription=subscription).order_by("created_at", "notification_id")
    # when: three failures in a row
    results = []
    for _ in range(3):
        _due_now(first)
        results.append(webhook_delivery_attempt(delivery_id=first.pk))
    # then: suspended, both deliveries parked, the agent told, one event by the system
    subscription.refresh_from_db()
    assert (subscription.status, subscription.consecutive_failures) == ("suspended", 3)
    assert [r.retry_in_seconds is None for r in results] == [False, False, True]
    assert list(WebhookDelivery.objects.filter(subscription=subscription).values_list("status", "next_attempt_at")
                ) == [("pending", None), ("pending", None)]
    [notice] = Notification.objects.filter(agent=staff.agent, kind="webhook_suspended")
    assert notice.payload["webhook_id"] == str(subscription.pk)
    assert notice.payload["consecutive_failures"] == 3
    assert webhook_deliveries_enqueue(notice) == 1  # pushed to the firm's other, active endpoint
    assert WebhookDelivery.objects.filter(kind="webhook_suspended").get().subscription_id == watcher.pk
    [suspended] = WebhookSubscriptionEvent.objects.filter(subscription_id=subscription.pk, action="suspended")
    assert (suspended.actor_id, suspended.from_status, suspended.to_status) == (None, "active", "suspended")
    # nothing new reaches a suspended endpoint; the sweeper leaves parked deliveries alone
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="three"))
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 2
    assert webhook_delivery_attempt(delivery_id=second.pk).attempted is False
    WebhookDelivery.objects.filter(subscription=subscription).update(created_at=clock.now() - dt.timedelta(hours=1))
    assert webhook_deliveries_due() == []
    assert len(receiver.requests) == 3
    # when: the agent re-enables it
    kicks_before = OutboxMessage.objects.filter(task_name="notifications.dispatch_webhooks").count()
    enabled = _auth(api_client, token).post(f"/api/v1/webhooks/{subscription.pk}/enable")
    again = api_client.post(f"/api/v1/webhooks/{subscription.pk}/enable")
    # then: active, breaker reset, parked deliveries resent through the outbox, event with actor
    assert enabled.status_code == 200
    assert (enabled.data["status"], enabled.data["active"], enabled.data["consecutive_failures"]) == (
        "active", True, 0)
    assert again.status_code == 409
    assert again.json()["code"] == "webhook_not_suspended"
    [event] = WebhookSubscriptionEvent.objects.filter(subscription_id=subscription.pk, action="enabled")
    assert (event.actor_id, event.payload["deliveries_resumed"]) == (staff.user_id, 2)
    # the two parked deliveries are due again and the dispatcher is woken (2 = the firm's cap)
    assert OutboxMessage.objects.filter(task_name="notifications.dispatch_webhooks").count() == kicks_before + 2
    assert set(webhook_deliveries_due(grace_seconds=0)) >= {str(first.pk), str(second.pk)}
    assert webhook_delivery_attempt(delivery_id=first.pk).status == "delivered"


def test_subscription_events_record_the_actor(api_client):
    # given
    staff, token = agent_with_token()
    _auth(api_client, token)
    # when
    created = api_client.post("/api/v1/webhooks", {"url": "https://a.example/h"}, format="json")
    api_client.delete(f"/api/v1/webhooks/{created.data['id']}")
    # then: the history outlives the subscription
    events = list(WebhookSubscriptionEvent.objects.filter(subscription_id=created.data["id"])
                  .values_list("action", "from_status", "to_status", "actor_id"))
    assert events == [("created", "", "active", staff.user_id), ("deleted", "active", "", staff.user_id)]
    assert not WebhookSubscription.objects.exists()


def test_https_connects_to_the_checked_address_with_the_name_for_sni_and_certificate(monkeypatch, resolver):
    # given: a public name; the TLS pool is recorded instead of opening a connection
    resolver["hooks.agent.test"] = ["93.184.216.34"]
    made: list[dict[str, Any]] = []

    class Pool:
        def __init__(self, host: str, port: int, **kwargs: Any) -> None:
            made.append({"host": host, "port": port, **kwargs})

        def urlopen(self, method: str, path: str, **kwargs: Any) -> Any:
            made[-1].update(method=method, path=path, **{f"req_{k}": v for k, v in kwargs.items()})

            class Answer:
                status = 301

                def read(self, amount: int) -> bytes:
                    return b""

                def release_conn(self) -> None:
                    pass

            return Answer()

        def close(self) -> None:
            made[-1]["closed"] = True

    monkeypatch.setattr(webhook_services.urllib3, "HTTPSConnectionPool", Pool)
    target = webhook_services.webhook_target_resolve("https://hooks.agent.test:8443/in")
    # when
    status = webhook_services._post(target, b"{}", {"Content-Type": "application/json"})
    # then
    [pool] = made
    assert status == 301
    assert (pool["host"], pool["port"], pool["server_hostname"], pool["assert_hostname"]) == (
        "93.184.216.34", 8443, "hooks.agent.test", "hooks.agent.test")
    assert (pool["cert_reqs"], pool["retries"]) == ("CERT_REQUIRED", False)
    assert (pool["method"], pool["path"], pool["req_redirect"], pool["req_retries"]) == ("POST", "/in", False, False)
    assert pool["req_headers"]["Host"] == "hooks.agent.test:8443"
    assert pool["closed"] is True


def test_the_legacy_delivery_task_runs_the_dispatcher(monkeypatch):
    # given: a message of the per-delivery task, written before the dispatcher existed
    from notifications import tasks

    ran: list[int] = []

    def dispatch() -> int:
        ran.append(1)
        return 0

    monkeypatch.setattr(tasks, "webhook_dispatch", dispatch)
    # when
    tasks.deliver_webhook_legacy(delivery_id="d-1", agent_id="a-1")
    # then
    assert ran == [1]


def test_a_fan_out_wakes_the_dispatcher_at_most_as_often_as_the_firm_may_deliver_at_once(settings):
    settings.WEBHOOK_AGENT_CONCURRENCY = 2
    staff, _ = agent_with_token()
    for index in range(5):
        _subscription(staff.agent, f"https://a{index}.example/h")
    assert webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid")) == 5
    assert WebhookDelivery.objects.count() == 5
    assert list(OutboxMessage.objects.filter(task_name__contains="webhook").values_list("task_name", "kwargs")) == [
        ("notifications.dispatch_webhooks", {}), ("notifications.dispatch_webhooks", {})]
    # and a repeated fan-out creates nothing and wakes nothing
    notification = Notification.objects.get(kind="paid")
    assert webhook_deliveries_enqueue(notification) == 0
    assert OutboxMessage.objects.filter(task_name__contains="webhook").count() == 2
