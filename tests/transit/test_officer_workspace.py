"""The transit workspace in the officer admin: the transit officer works alerts (acknowledge,
investigate, resolve with a reason) and accepts exits; the supervisor also demands on a bond;
trainers read everything and change nothing; other officers and agents do not see transit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from officers.groups import GROUP_PERMISSIONS
from tests.factories.officers import officer_create
from tests.factories.transit import partner_message_bytes
from tests.transit.conftest import arrive, lodge, release, seals_of
from tests.transit.test_partner_exchange import send
from transit.models import BondLedger, RegionalBond, TransitAlert, TransitMovement
from transit.services import tracking_event_record

pytestmark = pytest.mark.django_db

ALERTS = reverse("admin:transit_transitalert_changelist")
MOVEMENTS = reverse("admin:transit_transitmovement_changelist")
LEDGER = reverse("admin:transit_bondledger_changelist")
BONDS = reverse("admin:transit_regionalbond_changelist")


@pytest.fixture
def tampered(world, bond, frozen):
    """A movement at Malaba with URA's confirmation in, held by a tamper alert from Mariakani."""
    movement = release(lodge(world))
    tracking_event_record(event_id="EV-TAMPER-1", seal_number=seals_of(movement)[0], kind="tamper_alert",
                          occurred_at=frozen.value, location_name="Mariakani", actor=None)
    arrive(movement, frozen)
    assert send(partner_message_bytes(movement_id=movement.pk)).status_code == 201
    return TransitMovement.objects.get(pk=movement.pk)


def _admin(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_a_transit_officer_works_a_tamper_alert_in_the_admin(tampered, bond):
    officer = officer_create("transit officer")
    client = _admin(officer)
    alert = TransitAlert.objects.get(movement=tampered)

    # when the officer opens the queue and the alerts, then acknowledges the alert
    assert client.get(MOVEMENTS).status_code == 200
    assert client.get(ALERTS).status_code == 200
    client.post(ALERTS, {"action": "acknowledge_alerts", "_selected_action": [str(alert.pk)]})
    alert.refresh_from_db()
    assert (alert.status, alert.assigned_to_id) == ("acknowledged", officer.pk)

    # when resolving, the admin first asks for the reason; nothing changes until it is given
    asked = client.post(ALERTS, {"action": "resolve_alerts", "_selected_action": [str(alert.pk)]})
    assert asked.status_code == 200
    assert "Resolve (reason): give the reason" in asked.content.decode()
    client.post(ALERTS, {"action": "resolve_alerts", "_selected_action": [str(alert.pk)], "confirm": "1",
                         "reason": ""})
    assert TransitAlert.objects.get(pk=alert.pk).status == "acknowledged"
    client.post(ALERTS, {"action": "resolve_alerts", "_selected_action": [str(alert.pk)], "confirm": "1",
                         "reason": "seals intact on inspection at Malaba"})

    # then the alert is resolved by the officer and the held movement closes, bond whole
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == ("resolved", "seals intact on inspection at Malaba")
    assert TransitMovement.objects.get(pk=tampered.pk).status == "closed"
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")
    event = tampered.events.get(reason="alert tamper resolved: seals intact on inspection at Malaba")
    assert (event.actor_id, event.actor_label) == (officer.pk, officer.username)


def test_a_trainer_reads_the_transit_workspace_and_changes_nothing(tampered, bond):
    trainer = officer_create("trainer")
    client = _admin(trainer)
    alert = TransitAlert.objects.get(movement=tampered)

    pages = [client.get(url).status_code for url in (MOVEMENTS, ALERTS, LEDGER, BONDS)]
    client.post(ALERTS, {"action": "acknowledge_alerts", "_selected_action": [str(alert.pk)]})
    client.post(ALERTS, {"action": "resolve_alerts", "_selected_action": [str(alert.pk)], "confirm": "1",
                         "reason": "trainer tries"})
    client.post(MOVEMENTS, {"action": "demand_bond", "_selected_action": [str(tampered.pk)], "confirm": "1",
                            "reason": "trainer tries"})
    api = APIClient()
    api.force_authenticate(trainer)

    assert pages == [200, 200, 200, 200]
    assert TransitAlert.objects.get(pk=alert.pk).status == "open"
    assert TransitMovement.objects.get(pk=tampered.pk).status == "arrived_at_exit"
    assert not BondLedger.objects.filter(kind="demand").exists()
    assert api.get("/api/v1/transit/queue").status_code == 200
    assert "transit.work_alert" not in GROUP_PERMISSIONS["trainer"]


def test_only_a_supervisor_demands_on_the_bond(tampered, bond):
    transit_officer = officer_create("transit officer")
    supervisor = officer_create("supervisor")

    _admin(transit_officer).post(MOVEMENTS, {"action": "demand_bond", "_selected_action": [str(tampered.pk)],
                                             "confirm": "1", "reason": "diverted"})
    assert TransitMovement.objects.get(pk=tampered.pk).status == "arrived_at_exit"

    _admin(supervisor).post(MOVEMENTS, {"action": "demand_bond", "_selected_action": [str(tampered.pk)],
                                        "confirm": "1", "reason": "goods diverted, seal cut"})

    assert TransitMovement.objects.get(pk=tampered.pk).status == "failed"
    demand = BondLedger.objects.get(kind="demand")
    assert (demand.amount, demand.actor_id) == (Decimal("683000.00"), supervisor.pk)


def test_officers_without_transit_rights_and_agents_do_not_see_transit(tampered, world):
    documentary = officer_create("officer")
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    api = APIClient()
    api.force_authenticate(documentary)

    assert _admin(documentary).get(ALERTS).status_code == 403
    assert api.get("/api/v1/transit/queue").status_code == 403
    assert agent.get("/api/v1/transit/queue").status_code == 403
    transit_api = APIClient()
    transit_api.force_authenticate(officer_create("transit officer"))
    rows = transit_api.get("/api/v1/transit/queue").json()["results"]
    assert [(r["movement_id"], r["open_alerts"]) for r in rows] == [(str(tampered.pk), 1)]


def test_officers_work_alerts_and_demand_through_the_api(tampered, bond):
    officer = APIClient()
    officer.force_authenticate(officer_create("transit officer"))
    supervisor = APIClient()
    supervisor.force_authenticate(officer_create("supervisor"))
    trainer = APIClient()
    trainer.force_authenticate(officer_create("trainer"))
    alert = TransitAlert.objects.get(movement=tampered)
    base = f"/api/v1/transit/alerts/{alert.pk}"

    # when a trainer tries, then 403 and nothing changes; the trainer still reads the list
    assert trainer.post(f"{base}/acknowledge").status_code == 403
    listed = trainer.get("/api/v1/transit/alerts").json()["results"]
    assert [(a["alert_id"], a["kind"], a["status"]) for a in listed] == [(str(alert.pk), "tamper", "open")]

    # when the transit officer acknowledges, investigates, then resolves without and with a reason
    assert officer.post(f"{base}/acknowledge").json()["status"] == "acknowledged"
    assert officer.post(f"{base}/investigate", {"note": "truck held at Malaba"},
                        format="json").json()["status"] == "investigating"
    blank = officer.post(f"{base}/resolve", {"reason": ""}, format="json")
    unknown = officer.post(f"{base}/resolve", {"reason": "ok", "extra": 1}, format="json")
    assert (blank.status_code, blank.json()["errors"][0]["pointer"]) == (400, "/reason")
    assert unknown.status_code == 400
    assert TransitAlert.objects.get(pk=alert.pk).status == "investigating"
    resolved = officer.post(f"{base}/resolve", {"reason": "seals intact"}, format="json")

    # then resolved, the held movement closes; a second resolve is a conflict
    assert (resolved.status_code, resolved.json()["resolution"]) == (200, "seals intact")
    assert TransitMovement.objects.get(pk=tampered.pk).status == "closed"
    assert officer.post(f"{base}/resolve", {"reason": "again"}, format="json").status_code == 409
    assert officer.post("/api/v1/transit/alerts/00000000-0000-0000-0000-000000000000/acknowledge"
                        ).status_code == 404
    # and the demand endpoint is the supervisor's only; a closed movement cannot be demanded
    assert officer.post(f"/api/v1/transit/movements/{tampered.pk}/demand", {"reason": "x"},
                        format="json").status_code == 403
    refused = supervisor.post(f"/api/v1/transit/movements/{tampered.pk}/demand", {"reason": "diverted"},
                              format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "movement_not_en_route")
    assert not BondLedger.objects.filter(kind="demand").exists()


def test_demand_and_exit_override_through_the_api(world, bond, frozen):
    supervisor = APIClient()
    supervisor.force_authenticate(officer_create("supervisor"))
    officer = APIClient()
    officer.force_authenticate(officer_create("transit officer"))
    first = release(lodge(world))
    arrive(first, frozen, seals=seals_of(first)[:1])

    overridden = officer.post(f"/api/v1/transit/movements/{first.pk}/exit-override",
                              {"reason": "second seal battery dead; container sighted at Malaba"}, format="json")
    demanded = supervisor.post(f"/api/v1/transit/movements/{first.pk}/demand",
                               {"reason": "goods never left Kenya"}, format="json")

    assert (overridden.status_code, overridden.json()["status"]) == (200, "arrived_at_exit")
    assert demanded.status_code == 200
    assert demanded.json() == {"movement_id": str(first.pk), "bond_number": bond.number,
                               "amount_demanded": "683000.00", "currency": "KES",
                               "bond_amount_after": "317000.00", "balance_after": "317000.00"}
    assert TransitMovement.objects.get(pk=first.pk).status == "failed"
