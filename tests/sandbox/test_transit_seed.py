"""The sandbox's transit world: `demo` and `outage-drill` seed the cargo tracking client, regional
bonds and partner credentials (written to the credentials file) and an IM8 on the Northern Corridor,
released on its bond without payment, with an open tamper alert for officers to work."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core import clock
from declarations.models import Declaration, Payment
from transit.models import BondLedger, RegionalBond, TransitAlert, TransitMovement

pytestmark = pytest.mark.django_db


def _seed(scenario: str, tmp_path) -> dict:
    out = tmp_path / f"{scenario}.json"
    call_command("sandbox", "seed", "--scenario", scenario, "--seed", "7", "--credentials-out", str(out),
                 "--no-progress")
    return json.loads(out.read_text())


@pytest.mark.parametrize("scenario", ["demo", "outage-drill"])
def test_the_scenario_seeds_a_tamper_alert_on_the_northern_corridor(sandbox, tmp_path, scenario):
    # when the scenario is seeded
    creds = _seed(scenario, tmp_path)

    # then one IM8 Mombasa -> Malaba -> Uganda is in transit on its bond, unpaid, with a live tamper alert
    movement = TransitMovement.objects.get()
    declaration = Declaration.objects.get(pk=movement.declaration_id)
    assert (declaration.regime, declaration.status) == ("IM8", "released")
    assert not Payment.objects.filter(declaration=declaration).exists()
    assert (movement.status, movement.office_of_entry_id, movement.office_of_exit_id,
            movement.destination_country) == ("in_transit", "MBA", "MAL", "UG")
    assert movement.seals.count() == 2
    alert = TransitAlert.objects.get(movement=movement)
    assert (alert.kind, alert.status) == ("tamper", "open")
    assert "Emali" in alert.detail
    assert list(BondLedger.objects.filter(movement=movement).values_list("kind", flat=True)) == ["reserve"]
    bond = RegionalBond.objects.get()
    assert bond.balance == bond.amount - movement.amount_secured

    # and the credentials file has the tracking client and each simulated partner's signing material
    assert [c["username"] for c in creds["tracking_clients"]] == ["rects-tracking"]
    partners = {p["partner"]: p for p in creds["partners"]}
    assert set(partners) == {"UG", "RW", "SS", "CD", "BI", "TZ"}
    assert partners["UG"]["scheme"] == "hmac"
    assert partners["RW"]["scheme"] == "ed25519"
    assert "ed25519_private_key_base64" in partners["RW"]
    assert any(o["groups"] == ["transit officer"] for o in creds["officers"])
    assert any(creds_note.startswith(f"Transit {declaration.entry_number}") for creds_note in creds["notes"])


def test_the_seeded_credentials_work_for_the_tracking_system_and_a_partner(sandbox, tmp_path):
    creds = _seed("demo", tmp_path)
    movement = TransitMovement.objects.get()
    seal = movement.seals.order_by("seal_number").first().seal_number

    # when the tracking client posts an event with its token
    tracking = APIClient()
    tracking.credentials(HTTP_AUTHORIZATION=f"Token {creds['tracking_clients'][0]['token']}")
    event = tracking.post("/api/v1/transit/tracking-events", {
        "event_id": f"EV-{uuid.uuid4().hex[:12]}", "seal_number": seal, "kind": "checkpoint_passed",
        "occurred_at": clock.now().isoformat()}, format="json")

    # and URA signs an exit confirmation with the seeded secret (real time; the sandbox clock is moved)
    ug = next(p for p in creds["partners"] if p["partner"] == "UG")
    body = json.dumps({"message_id": "URA-SBX-1", "kind": "exit_confirmation", "movement_id": str(movement.pk),
                       "occurred_at": clock.now().isoformat(), "office": "UGMAL"}).encode()
    t = int(clock.unmoved_now().timestamp())  # not the sandbox's moved clock
    signature = hmac.new(bytes.fromhex(ug["hmac_secret_hex"]), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    confirmation = APIClient().post("/api/v1/transit/partner-messages", data=body, content_type="application/json",
                                    HTTP_X_PARTNER_STATE="UG", HTTP_X_FORODHA_SIGNATURE=f"t={t},v1={signature}")

    # then both are accepted; the exit is held (seals not at Malaba, tamper alert open)
    assert event.status_code == 201, event.json()
    assert confirmation.status_code == 201, confirmation.json()
    assert confirmation.json()["effects"] == ["exit_confirmed", "exit_held", "seals_missing:2", "alert_open:tamper"]
    assert TransitMovement.objects.get(pk=movement.pk).status == "in_transit"
