"""Partner-state exchange: signed inbound confirmations (HMAC and Ed25519), forged or stale
signatures refused with nothing changed, idempotency, delivery retries with the delivery log, and
the simulator's drills (refuse, unreachable, delay)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from declarations.models import Declaration
from tests.factories.transit import partner_message_bytes, tracking_event_body, transit_payload
from tests.transit.conftest import arrive, lodge, release, seals_of
from transit.models import (
    BondLedger,
    PartnerDelivery,
    PartnerMessage,
    PartnerSimulatorControl,
    RegionalBond,
    TransitAlert,
    TransitMovement,
)
from transit.services import partner_message_deliver
from transit.signing import partner_config, sign_as_partner, sign_outbound, verify_inbound, wall_seconds
from transit.simulator import simulator_tick

URL = "/api/v1/transit/partner-messages"
pytestmark = pytest.mark.django_db


def send(body: bytes, *, partner: str = "UG", signature: str | None = None, sign: bool = True):
    headers = {"HTTP_X_PARTNER_STATE": partner} if partner else {}
    if signature is None and sign:
        signature = sign_as_partner(partner=partner_config(partner), body=body)
    if signature is not None:
        headers["HTTP_X_FORODHA_SIGNATURE"] = signature
    return APIClient().post(URL, data=body, content_type="application/json", **headers)


def state(movement, bond):
    m = TransitMovement.objects.get(pk=movement.pk)
    return (m.status, RegionalBond.objects.get(pk=bond.pk).balance, BondLedger.objects.filter(bond=bond).count(),
            PartnerMessage.objects.filter(direction="inbound").count(),
            Declaration.objects.get(pk=m.declaration_id).status)


@pytest.fixture
def moving(world, bond, frozen):
    return release(lodge(world))


def test_signed_exit_confirmation_closes_the_movement_and_releases_the_bond(moving, bond, frozen):
    arrive(moving, frozen)
    body = partner_message_bytes(movement_id=moving.pk, entry_number=moving.declaration.entry_number)

    response = send(body)

    assert response.status_code == 201
    assert response.json()["effects"] == ["exit_confirmed", "movement_closed", "bond_released"]
    assert response.json()["duplicate"] is False
    assert state(moving, bond) == ("closed", Decimal("1000000.00"), 2, 1, "exited")


def test_duplicate_confirmation_returns_the_stored_result(moving, bond, frozen):
    body = partner_message_bytes(movement_id=moving.pk, message_id="URA-0001")
    first = send(body)
    after_first = state(moving, bond)
    frozen.advance(minutes=1)

    again = send(body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert state(moving, bond) == after_first
    changed = partner_message_bytes(movement_id=moving.pk, message_id="URA-0001", remarks="different")
    reused = send(changed)
    assert (reused.status_code, reused.json()["code"]) == (409, "message_id_reused")


@pytest.mark.parametrize(("case", "status", "code"), [
    ("wrong_secret", 401, "signature_invalid"),
    ("body_tampered", 401, "signature_invalid"),
    ("missing", 401, "signature_missing"),
    ("stale", 401, "signature_expired"),
    ("garbage", 401, "signature_malformed"),
    ("unknown_partner", 403, "unknown_partner"),
    ("no_partner", 401, "partner_missing"),
])
def test_forged_or_stale_signatures_change_nothing(moving, bond, frozen, case, status, code):
    # given a movement en route and an exit confirmation for it
    body = partner_message_bytes(movement_id=moving.pk)
    before = state(moving, bond)
    partner = partner_config("UG")
    t = int(frozen.value.timestamp())
    forged = {
        "wrong_secret": f"t={t},v1={hmac.new(b'guessed', f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}",
        "body_tampered": sign_as_partner(partner=partner, body=body.replace(b"UGMAL", b"UGBUS")),
        "stale": sign_as_partner(partner=partner, body=body, timestamp=t - 3600),
        "garbage": "v1=deadbeef",
    }

    # when it arrives with a bad signature (or none, or from nobody we know)
    if case == "missing":
        response = send(body, sign=False)
    elif case == "unknown_partner":
        response = send(body, partner="ZZ", signature="t=1,v1=00")
    elif case == "no_partner":
        response = send(body, partner="", signature="t=1,v1=00")
    else:
        response = send(body, signature=forged[case])

    # then it is refused as problem+json and nothing changed
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert state(moving, bond) == before == ("in_transit", Decimal("317000.00"), 1, 0, "released")


def test_ed25519_partner_signature(world, bond, frozen):
    # given a movement to Rwanda (Rwanda Revenue Authority signs with Ed25519)
    movement = arrive(release(lodge(world, transit_payload(world, destination="RW"))), frozen)
    body = partner_message_bytes(movement_id=movement.pk, kind="arrival_confirmation")
    t = int(wall_seconds())  # signatures are timed on the real clock, not the (moved) domain clock
    impostor = Ed25519PrivateKey.generate().sign(f"{t}.".encode() + body)

    # when an impostor signs, then a refusal; when RRA signs, the movement closes
    forged = send(body, partner="RW", signature=f"t={t},ed25519={base64.b64encode(impostor).decode()}")
    assert (forged.status_code, forged.json()["code"]) == (401, "signature_invalid")
    assert TransitMovement.objects.get(pk=movement.pk).status == "arrived_at_exit"
    genuine = send(body, partner="RW")
    assert genuine.status_code == 201
    assert TransitMovement.objects.get(pk=movement.pk).status == "closed"


def test_a_partner_not_party_to_the_movement_is_refused(moving, bond, frozen):
    body = partner_message_bytes(movement_id=moving.pk)
    before = state(moving, bond)

    response = send(body, partner="TZ")

    assert (response.status_code, response.json()["code"]) == (403, "partner_not_party")
    assert state(moving, bond) == before


def test_confirmation_before_release_is_a_conflict(world, bond, frozen):
    movement = lodge(world)
    before = state(movement, bond)

    response = send(partner_message_bytes(movement_id=movement.pk))

    assert (response.status_code, response.json()["code"]) == (409, "movement_not_departed")
    assert state(movement, bond) == before == ("lodged", Decimal("317000.00"), 1, 0, "assessed")


def test_confirmation_for_an_unknown_movement_or_with_a_bad_body(moving, bond, frozen):
    import uuid

    unknown = send(partner_message_bytes(movement_id=uuid.uuid4()))
    bad = send(b'{"message_id": "x", "kind": "teleported", "extra": 1}')

    assert (unknown.status_code, unknown.json()["errors"][0]["pointer"]) == (400, "/movement_id")
    assert bad.status_code == 400
    assert sorted(e["pointer"] for e in bad.json()["errors"]) == ["/extra", "/kind", "/movement_id", "/occurred_at"]
    assert state(moving, bond)[0] == "in_transit"


def test_outbound_signature_verifies_for_hmac_and_ed25519_partners():
    body = b'{"a":1}'
    for code in ("UG", "RW"):
        header = sign_outbound(partner=partner_config(code), body=body)
        assert header.startswith("t=")
    # an inbound header signed with the partner's key verifies; Forodha's own outbound one does not
    assert verify_inbound(partner_code="UG", signature=sign_as_partner(partner=partner_config("UG"), body=body),
                          body=body).code == "UG"


def _deliver(movement):
    return partner_message_deliver(message_id=PartnerMessage.objects.get(movement=movement, direction="outbound").pk)


def test_unreachable_partner_is_retried_with_backoff_then_fails_with_an_alert(moving, frozen, simulator, settings):
    # given the simulated URA is unreachable (drill) and 3 attempts are allowed
    settings.TRANSIT_PARTNER_MAX_ATTEMPTS = 3
    PartnerSimulatorControl.objects.create(partner="UG", mode="unreachable")

    # when the worker tries three times
    results = [_deliver(moving) for _ in range(3)]

    # then back-off doubles, every attempt is logged, and the last one fails and opens an alert
    assert [r.retry_in_seconds for r in results] == [30, 60, None]
    assert [r.delivered for r in results] == [False, False, False]
    message = PartnerMessage.objects.get(direction="outbound")
    assert (message.status, message.attempts) == ("failed", 3)
    assert list(PartnerDelivery.objects.filter(message=message).values_list("attempt", "outcome")) == [
        (1, "failed"), (2, "failed"), (3, "failed")]
    assert "unreachable" in PartnerDelivery.objects.first().error
    alert = TransitAlert.objects.get()
    assert (alert.kind, alert.status) == ("delivery_failed", "open")
    assert _deliver(moving) is None


def test_no_endpoint_and_no_simulator_is_a_logged_failure(moving, frozen):
    result = _deliver(moving)

    assert (result.delivered, result.retry_in_seconds) == (False, 30)
    assert PartnerDelivery.objects.get().error == "no endpoint configured and the sandbox simulator is off"


def test_simulator_refuse_drill_opens_a_partner_refused_alert(moving, frozen, simulator, world):
    PartnerSimulatorControl.objects.create(partner="UG", mode="refuse")

    result = _deliver(moving)

    assert result.delivered is True
    inbound = PartnerMessage.objects.get(direction="inbound")
    assert (inbound.kind, inbound.result["effects"]) == ("rejection", ["alert_opened"])
    alert = TransitAlert.objects.get()
    assert (alert.kind, alert.declaration_id) == ("partner_refused", moving.declaration_id)
    assert TransitMovement.objects.get(pk=moving.pk).status == "in_transit"


def test_simulator_delay_drill_confirms_after_the_delay_on_the_sandbox_clock(moving, bond, frozen, simulator,
                                                                             tracking_client):
    # given URA confirms 90 minutes after arrival (drill)
    PartnerSimulatorControl.objects.create(partner="UG", mode="delay", delay_minutes=90)
    _deliver(moving)
    frozen.advance(hours=20)
    for seal in seals_of(moving):  # every container's seal at Malaba
        tracking_client.post("/api/v1/transit/tracking-events",
                             tracking_event_body(seal, "arrival_at_exit", frozen.value), format="json")

    # when the clock has not yet moved 90 minutes, nothing; after it has, the exit is confirmed
    frozen.advance(minutes=89)
    assert simulator_tick() == 0
    frozen.advance(minutes=2)
    assert simulator_tick() == 1
    assert state(moving, bond)[:2] == ("closed", Decimal("1000000.00"))


def test_simulator_silent_drill_never_confirms(moving, bond, frozen, simulator, tracking_client):
    PartnerSimulatorControl.objects.create(partner="UG", mode="silent")
    _deliver(moving)
    frozen.advance(hours=20)
    for seal in seals_of(moving):  # every container's seal at Malaba
        tracking_client.post("/api/v1/transit/tracking-events",
                             tracking_event_body(seal, "arrival_at_exit", frozen.value), format="json")

    frozen.advance(days=3)

    assert simulator_tick() == 0
    assert TransitMovement.objects.get(pk=moving.pk).simulator_confirm_due_at is None
    assert state(moving, bond)[:2] == ("arrived_at_exit", Decimal("317000.00"))


def test_simulator_confirms_on_delivery_when_the_goods_already_arrived(moving, bond, frozen, simulator,
                                                                       tracking_client):
    # given the arrival event came before the message was delivered (broker was down)
    frozen.advance(hours=20)
    for seal in seals_of(moving):  # every container's seal at Malaba
        tracking_client.post("/api/v1/transit/tracking-events",
                             tracking_event_body(seal, "arrival_at_exit", frozen.value), format="json")
    assert TransitMovement.objects.get(pk=moving.pk).simulator_confirm_due_at is None

    # when the message is finally delivered
    _deliver(moving)

    # then the confirmation is scheduled and sent
    assert TransitMovement.objects.get(pk=moving.pk).simulator_confirm_due_at == frozen.value
    assert simulator_tick() == 1
    assert state(moving, bond)[0] == "closed"


def test_late_arrival_confirmation_after_closure_is_accepted_without_effect(moving, bond, frozen):
    arrive(moving, frozen)
    send(partner_message_bytes(movement_id=moving.pk))
    closed = state(moving, bond)

    late = send(partner_message_bytes(movement_id=moving.pk, kind="arrival_confirmation",
                                      occurred_at=frozen.value - dt.timedelta(hours=1)))

    assert (late.status_code, late.json()["effects"]) == (201, ["already_closed"])
    assert state(moving, bond)[:3] == closed[:3]


def test_sweeper_picks_up_only_messages_whose_retry_was_lost(moving, frozen):
    from transit.services import partner_messages_due

    message = PartnerMessage.objects.get(direction="outbound")
    assert partner_messages_due() == []
    frozen.advance(minutes=6)
    assert partner_messages_due() == [str(message.pk)]
    message.status = "delivered"
    message.save(update_fields=["status"])
    assert partner_messages_due() == []


def test_worker_task_retries_until_attempts_are_exhausted(moving, frozen, simulator, settings):
    from transit.tasks import deliver_partner_message

    # given URA unreachable and 3 attempts allowed (eager apply runs Celery's retries inline)
    settings.TRANSIT_PARTNER_MAX_ATTEMPTS = 3
    message = PartnerMessage.objects.get(direction="outbound")
    PartnerSimulatorControl.objects.create(partner="UG", mode="unreachable")

    # when the worker runs the task
    result = deliver_partner_message.apply(kwargs={"message_id": str(message.pk)})
    again = deliver_partner_message.apply(kwargs={"message_id": str(message.pk)})

    # then it retried twice, failed on the third attempt, and a redelivery is skipped
    assert (result.state, result.result) == ("SUCCESS", "failed")
    assert (again.state, again.result) == ("SUCCESS", "skipped")
    assert list(PartnerDelivery.objects.filter(message=message).values_list("attempt", "outcome")) == [
        (1, "failed"), (2, "failed"), (3, "failed")]


def test_worker_task_delivers_once(moving, frozen, simulator):
    from transit.tasks import deliver_partner_message

    message = PartnerMessage.objects.get(direction="outbound")

    first = deliver_partner_message.apply(kwargs={"message_id": str(message.pk)})
    second = deliver_partner_message.apply(kwargs={"message_id": str(message.pk)})

    assert (first.result, second.result) == ("delivered", "skipped")
    assert PartnerDelivery.objects.filter(message=message).count() == 1


def test_the_signature_window_runs_on_real_time_not_the_sandbox_clock(settings):
    from core import clock
    from sandbox import clock as sandbox_clock
    from transit.signing import SignatureRejected

    # given a sandbox whose trainer moved the clock three days ahead
    settings.FORODHA_SANDBOX = True
    sandbox_clock.set_offset(3 * 24 * 3600, actor_label="trainer")
    try:
        partner = partner_config("UG")
        body = b'{"message_id": "URA-1"}'
        moved = int(clock.now().timestamp())
        # when URA signs with its own (real) clock, then it is accepted
        assert verify_inbound(partner_code="UG", signature=sign_as_partner(partner=partner, body=body),
                              body=body).code == "UG"
        # and a signature dated on the moved sandbox clock is outside the window
        with pytest.raises(SignatureRejected) as refused:
            verify_inbound(partner_code="UG", signature=sign_as_partner(partner=partner, body=body, timestamp=moved),
                           body=body)
        assert refused.value.code == "signature_expired"
    finally:
        sandbox_clock.set_offset(0, actor_label="trainer")
