"""The transactional outbox: sent after commit, coalesced, never for rolled-back work, relayed
after a broker outage."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from core import outbox
from core.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The broker boundary: records what would be published."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def send(task_name: str, kwargs: dict[str, Any], producer: Any = None) -> None:
        sent.append((task_name, kwargs))

    monkeypatch.setattr(outbox, "_send", send)
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    return sent


def test_nothing_is_sent_before_commit_and_one_transaction_is_one_batch(
        broker, django_capture_on_commit_callbacks):
    # given three score hand-offs and one other task in one transaction
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(3):
            outbox.outbox_enqueue(task_name="risk.score_declaration", kwargs={"declaration_id": f"d{n}"})
        outbox.outbox_enqueue(task_name="risk.advance_clearance", kwargs={"declaration_id": "d9"})
        assert broker == []  # still inside the transaction
    # then the score messages went as one batch task and the other as written
    assert broker == [
        ("risk.advance_clearance", {"declaration_id": "d9"}),
        ("risk.score_declarations_batch", {"declaration_ids": ["d0", "d1", "d2"]}),
    ]
    assert OutboxMessage.objects.filter(dispatched_at__isnull=True).count() == 0
    assert list(OutboxMessage.objects.values_list("attempts", flat=True)) == [1, 1, 1, 1]


def test_a_message_of_a_rolled_back_savepoint_is_never_sent(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.outbox_enqueue(task_name="risk.score_declaration", kwargs={"declaration_id": "kept"})
        try:
            with transaction.atomic():
                outbox.outbox_enqueue(task_name="risk.score_declaration", kwargs={"declaration_id": "gone"})
                raise RuntimeError("validation failed after the hand-off")
        except RuntimeError:
            pass
    assert broker == [("risk.score_declaration", {"declaration_id": "kept"})]
    assert list(OutboxMessage.objects.values_list("kwargs", flat=True)) == [{"declaration_id": "kept"}]


def test_broker_outage_leaves_messages_pending_and_the_relay_sends_them_coalesced(
        monkeypatch, django_capture_on_commit_callbacks):
    # given a broker that refuses connections
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(outbox, "_send", refuse)
    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(2):
            outbox.outbox_enqueue(task_name="risk.score_declaration", kwargs={"declaration_id": f"d{n}"})
    # then nothing is lost: both rows are pending, unclaimed, with the error recorded
    rows = list(OutboxMessage.objects.values("dispatched_at", "claimed_until", "attempts", "last_error"))
    assert [(r["dispatched_at"], r["claimed_until"], r["attempts"]) for r in rows] == [(None, None, 1)] * 2
    assert all("broker down" in r["last_error"] for r in rows)
    # when the broker is back, beat's relay sends them (as one batch)
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(outbox, "_send", lambda task, kwargs, producer=None: sent.append((task, kwargs)))
    assert outbox.relay_pending(older_than_seconds=0) == 2
    assert sent == [("risk.score_declarations_batch", {"declaration_ids": ["d0", "d1"]})]
    assert OutboxMessage.objects.filter(dispatched_at__isnull=True).count() == 0
    # and a second relay pass sends nothing again
    assert outbox.relay_pending(older_than_seconds=0) == 0
