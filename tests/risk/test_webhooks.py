"""Webhook subscriptions API (agent-scoped) and signed deliveries with retries, against a real
local HTTP server in a thread."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core import clock
from notifications.services import notification_create
from risk.models import WebhookDelivery, WebhookSubscription
from risk.webhooks import webhook_deliveries_enqueue
from risk.webhooks.services import backoff_seconds, webhook_delivery_attempt
from risk.webhooks.signing import signature_verify
from tests.factories.traders import agent_with_token

pytestmark = pytest.mark.django_db


class Receiver:
    """A local endpoint answering with the next status of `statuses` (then the last one)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                index = min(len(receiver.requests) - 1, len(receiver.statuses) - 1)
                self.send_response(receiver.statuses[index])
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(statuses: list[int]) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


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
    assert signature_verify(secret=subscription.secret, header=header, body=request["body"], now=int(time.time()))
    assert not signature_verify(secret="wrong", header=header, body=request["body"], now=int(time.time()))
    assert not signature_verify(
        secret=subscription.secret, header=header, body=request["body"] + b" ", now=int(time.time())
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
    assert (first.status, first.retry_in_seconds) == ("pending", 30)
    assert webhook_delivery_attempt(delivery_id=delivery.pk).attempted is False
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=clock.now())
    second = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert (second.status, second.retry_in_seconds) == ("pending", 60)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=clock.now())
    third = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert third.status == "delivered"
    assert [a["status_code"] for a in delivery.attempts_log] == [500, 503, 204]
    assert delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_attempts_are_bounded(receiver_factory, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver = receiver_factory([500])
    staff, _ = agent_with_token()
    _subscription(staff.agent, receiver.url)
    webhook_deliveries_enqueue(notification_create(agent=staff.agent, kind="paid", subject="paid"))
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=clock.now())
    last = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (last.status, last.retry_in_seconds, delivery.status, delivery.next_attempt_at) == (
        "failed",
        None,
        "failed",
        None,
    )


def test_backoff_is_capped():
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff_seconds(20) == 1800


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
    from risk.webhooks.services import webhook_deliveries_due

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
