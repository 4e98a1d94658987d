"""E-seal event intake: authentication, idempotency by event id, out-of-order tolerance, unknown
seals, tamper alerts (officer task + agent notification) and the officer queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.factories.transit import tracking_event_body
from tests.transit.conftest import lodge, release, seals_of
from transit.models import TrackingEvent, TransitAlert, TransitMovement
from transit.selectors import transit_officer_queue
from transit.services import alert_resolve

URL = "/api/v1/transit/tracking-events"
pytestmark = pytest.mark.django_db


@pytest.fixture
def moving(world, bond, frozen):
    return release(lodge(world))


def post(client, body):
    return client.post(URL, body, format="json")


def snapshot(movement):
    m = TransitMovement.objects.get(pk=movement.pk)
    return (m.status, m.tracking_state, m.last_event_at, m.last_event_id, m.last_position_name, m.last_latitude)


def test_only_the_tracking_system_may_post(moving, agent_client, frozen):
    body = tracking_event_body(seals_of(moving)[0], "checkpoint_passed", frozen.value)

    anonymous = APIClient().post(URL, body, format="json")
    agent = agent_client.post(URL, body, format="json")

    assert anonymous.status_code == 401
    assert agent.status_code == 403
    assert agent["Content-Type"] == "application/problem+json"
    assert TrackingEvent.objects.count() == 0


def test_duplicate_event_returns_the_stored_result_without_new_effect(moving, tracking_client, frozen):
    # given a tamper event already received
    body = tracking_event_body(seals_of(moving)[0], "tamper_alert", frozen.value - dt.timedelta(minutes=3),
                               place="Voi", lat="-3.396", lon="38.556")
    first = post(tracking_client, body)
    notifications = Notification.objects.count()
    frozen.advance(minutes=10)

    # when the tracking system sends it again
    again = post(tracking_client, body)

    # then 200 with the stored result, and nothing new happened
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert first.json()["duplicate"] is False
    assert TrackingEvent.objects.count() == 1
    assert TransitAlert.objects.get().occurrences == 1
    assert Notification.objects.count() == notifications


def test_same_event_id_with_different_content_is_a_conflict(moving, tracking_client, frozen):
    seal = seals_of(moving)[0]
    body = tracking_event_body(seal, "checkpoint_passed", frozen.value, event_id="EV-1")
    assert post(tracking_client, body).status_code == 201
    before = snapshot(moving)

    response = post(tracking_client, {**body, "kind": "arrival_at_exit"})

    assert response.status_code == 409
    assert response.json()["code"] == "event_id_reused"
    assert response.json()["errors"] == [{"code": "event_id_reused", "detail": "Same event id, different content.",
                                          "pointer": "/event_id"}]
    assert snapshot(moving) == before
    assert TrackingEvent.objects.count() == 1


def test_an_older_event_never_rolls_the_state_back(moving, tracking_client, frozen):
    # given the seal reported arrival at Malaba at t+20h
    seal = seals_of(moving)[0]
    t0 = frozen.value
    frozen.advance(hours=21)
    arrival = post(tracking_client, tracking_event_body(seal, "arrival_at_exit", t0 + dt.timedelta(hours=20),
                                                         place="Malaba OSBP", lat="0.6345", lon="34.2764"))
    # (and the other container's seal a minute earlier: the whole consignment is at the exit)
    post(tracking_client, tracking_event_body(seals_of(moving)[1], "arrival_at_exit",
                                              t0 + dt.timedelta(hours=19, minutes=59)))
    state = snapshot(moving)

    # when a checkpoint event from t+9h arrives late
    late = post(tracking_client, tracking_event_body(seal, "checkpoint_passed", t0 + dt.timedelta(hours=9),
                                                      place="Nakuru", lat="-0.3031", lon="36.0800"))

    # then it is stored, flagged out of order, and the movement keeps its later state
    assert (arrival.status_code, late.status_code) == (201, 201)
    assert (late.json()["applied"], late.json()["effects"]) == (False, ["stored_out_of_order"])
    assert late.json()["tracking_state"] == "arrival_at_exit"
    assert snapshot(moving) == state
    assert state[:2] == ("arrived_at_exit", "arrival_at_exit")
    assert TrackingEvent.objects.filter(movement=moving).count() == 3


def test_events_arriving_in_any_order_give_the_same_state(world, bond, frozen, tracking_client):
    # given two movements and the same journey, delivered in opposite orders
    results = []
    for order in (slice(None), slice(None, None, -1)):
        movement = release(lodge(world, total=Decimal("100000.00")))
        seal = seals_of(movement)[0]
        t0 = frozen.value
        journey = [("departure", 1, "Mombasa"), ("checkpoint_passed", 5, "Mtito Andei"),
                   ("checkpoint_passed", 9, "Nakuru")]
        frozen.advance(hours=10)
        for kind, hours, place in journey[order]:
            assert post(tracking_client, tracking_event_body(seal, kind, t0 + dt.timedelta(hours=hours),
                                                             place=place, lat="0", lon="0")).status_code == 201
        movement.refresh_from_db()
        results.append((movement.tracking_state, movement.last_position_name,
                        movement.last_event_at - movement.departed_at))
        movement.seals.update(is_active=False)

    # then the state follows event time, not arrival order
    assert results[0] == results[1] == ("checkpoint_passed", "Nakuru", dt.timedelta(hours=9))


def test_unknown_seal_is_refused_and_nothing_is_stored(moving, tracking_client, frozen):
    before = snapshot(moving)

    response = post(tracking_client, tracking_event_body("KE-ES-NOSUCH", "tamper_alert", frozen.value))

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_seal"
    assert [e["pointer"] for e in response.json()["errors"]] == ["/seal_number"]
    assert (TrackingEvent.objects.count(), TransitAlert.objects.count()) == (0, 0)
    assert snapshot(moving) == before


def test_bad_event_bodies_are_refused_with_pointers(moving, tracking_client, frozen):
    seal = seals_of(moving)[0]
    future = post(tracking_client, tracking_event_body(seal, "checkpoint_passed", frozen.value + dt.timedelta(hours=1)))
    bad = post(tracking_client, {"event_id": "EV 1", "seal_number": seal, "kind": "teleported",
                                 "occurred_at": "yesterday", "colour": "red"})

    assert future.status_code == 400
    assert future.json()["errors"][0]["pointer"] == "/occurred_at"
    assert bad.status_code == 400
    assert sorted(e["pointer"] for e in bad.json()["errors"]) == ["/colour", "/event_id", "/kind", "/occurred_at"]
    assert TrackingEvent.objects.count() == 0


def test_tamper_alert_opens_an_officer_task_and_notifies_the_agent(world, moving, tracking_client, frozen):
    # given a movement en route
    seal = seals_of(moving)[0]
    feed = Notification.objects.filter(agent=world.agent, kind="transit")
    before = feed.count()

    # when its e-seal reports tampering near Voi
    response = post(tracking_client, tracking_event_body(seal, "tamper_alert", frozen.value - dt.timedelta(minutes=2),
                                                         place="Voi", lat="-3.396000", lon="38.556000"))

    # then one officer task (alert) is open, linked to the declaration, and the agent is told
    assert response.status_code == 201
    assert response.json()["effects"] == ["state_advanced", "alert_opened"]
    alert = TransitAlert.objects.get()
    assert (alert.kind, alert.status, alert.declaration_id, alert.occurrences) == (
        "tamper", "open", moving.declaration_id, 1)
    assert alert.tracking_event == TrackingEvent.objects.get()
    assert feed.count() == before + 1
    assert "tamper alert" in feed.last().subject
    assert feed.last().payload["alert_id"] == str(alert.pk)

    # when a second tamper event follows: the same task counts it, no second notification
    again = post(tracking_client, tracking_event_body(seals_of(moving)[1], "tamper_alert", frozen.value))
    assert again.json()["effects"] == ["state_advanced", "alert_updated"]
    alert.refresh_from_db()
    assert (TransitAlert.objects.count(), alert.occurrences, feed.count()) == (1, 2, before + 1)

    # and the officer queue shows the movement with its alert and last position
    row = next(r for r in transit_officer_queue(alerts_only=True))
    assert (row.movement_id, row.open_alerts, row.tracking_state) == (moving.pk, 1, "tamper_alert")
    assert row.last_position == {"name": "Voi", "latitude": "-3.396000", "longitude": "38.556000"}

    # and once resolved, it leaves the alerts queue
    alert_resolve(alert_id=alert.pk, resolution="seal intact on inspection at Mariakani", actor=None)
    assert transit_officer_queue(alerts_only=True) == []


def test_low_battery_notifies_the_agent_without_an_officer_task(world, moving, tracking_client, frozen):
    response = post(tracking_client, tracking_event_body(seals_of(moving)[0], "low_battery", frozen.value,
                                                         battery_percent=9))

    assert response.json()["effects"] == ["state_advanced", "agent_notified"]
    assert TransitAlert.objects.count() == 0
    assert "battery low (9 %)" in Notification.objects.filter(agent=world.agent).last().subject


def test_late_event_for_a_closed_movement_is_stored_without_effect(moving, tracking_client, frozen, simulator):
    from transit.models import PartnerMessage
    from transit.services import partner_message_deliver
    from transit.simulator import simulator_tick

    seal = seals_of(moving)[0]
    partner_message_deliver(message_id=PartnerMessage.objects.get(direction="outbound").pk)
    frozen.advance(hours=20)
    for each in seals_of(moving):
        post(tracking_client, tracking_event_body(each, "arrival_at_exit", frozen.value))
    assert simulator_tick() == 1
    before = snapshot(moving)

    late = post(tracking_client, tracking_event_body(seal, "tamper_alert", frozen.value - dt.timedelta(hours=2)))

    assert late.status_code == 201
    assert late.json()["effects"] == ["stored_movement_finished"]
    assert (snapshot(moving), TransitAlert.objects.count()) == (before, 0)


def test_tracking_client_create_gives_a_working_token(moving, frozen):
    from transit.services import tracking_client_create

    _user, key = tracking_client_create(username="rects-kra", actor=None)
    _same, again = tracking_client_create(username="rects-kra", actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = post(client, tracking_event_body(seals_of(moving)[0], "armed", frozen.value))

    assert key == again
    assert response.status_code == 201
