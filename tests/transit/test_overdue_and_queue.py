"""Overdue movements via the (patched) clock, the beat task, status look-up, cancellation, the
agent and officer read APIs and the admin queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.factories.traders import agent_with_token
from tests.factories.transit import partner_message_bytes
from tests.transit.conftest import arrive, lodge, release
from tests.transit.test_partner_exchange import send
from transit.models import BondLedger, RegionalBond, TransitAlert, TransitMovement
from transit.services import transit_on_cancelled, transit_status_for
from transit.tasks import flag_overdue

pytestmark = pytest.mark.django_db


def test_overdue_path_via_the_clock(world, bond, frozen):
    # given a movement released now (due in 7 days)
    movement = release(lodge(world))
    feed = Notification.objects.filter(agent=world.agent, kind="transit")
    before = feed.count()

    # when the beat runs one minute before the deadline: nothing
    frozen.value = movement.due_at - dt.timedelta(minutes=1)
    assert flag_overdue() == 0
    assert transit_status_for(movement.declaration_id)["overdue"] is False

    # when it runs after the deadline: one officer task, the agent is told once
    frozen.value = movement.due_at + dt.timedelta(hours=1)
    assert flag_overdue() == 1
    assert flag_overdue() == 0
    alert = TransitAlert.objects.get()
    assert (alert.kind, alert.status, alert.declaration_id) == ("overdue", "open", movement.declaration_id)
    assert feed.count() == before + 1
    assert "transit period exceeded" in feed.last().subject
    assert transit_status_for(movement.declaration_id)["overdue"] is True

    # when both seals finally report at Malaba and the partner confirms the exit: closed, bond
    # released, overdue task resolved
    arrive(movement, frozen)
    assert send(partner_message_bytes(movement_id=movement.pk)).status_code == 201
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == ("resolved", "closed: exit_confirmation from UG")
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")
    assert flag_overdue() == 0


def test_the_overdue_sweep_follows_the_sandbox_clock_offset(world, bond, settings):
    from sandbox import clock as sandbox_clock

    settings.FORODHA_SANDBOX = True
    movement = release(lodge(world))
    try:
        sandbox_clock.set_offset(8 * 24 * 3600, actor_label="trainer")
        assert flag_overdue() == 1
    finally:
        sandbox_clock.set_offset(0, actor_label="trainer")
    assert TransitAlert.objects.get().movement_id == movement.pk


def test_cancellation_before_release_frees_the_bond(world, bond, frozen):
    movement = lodge(world)

    transit_on_cancelled(declaration=movement.declaration, actor=None)

    movement.refresh_from_db()
    assert movement.status == "cancelled"
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("1000000.00")
    assert list(BondLedger.objects.filter(bond=bond).values_list("kind", "balance_after")) == [
        ("reserve", Decimal("317000.00")), ("release", Decimal("1000000.00"))]
    assert not movement.seals.filter(is_active=True).exists()


def test_hooks_ignore_declarations_without_a_movement(world, bond):
    from tests.factories.transit import transit_declaration, transit_payload
    from transit.services import transit_on_released

    declaration = transit_declaration(world, transit_payload(world))

    assert transit_on_released(declaration=declaration, actor=None) is None
    assert transit_status_for(declaration.pk) is None


def test_lodging_and_release_hooks_are_idempotent(world, bond, frozen):
    from django.db import transaction

    from transit.services import transit_on_lodged, transit_on_released

    movement = release(lodge(world))
    with transaction.atomic():
        again = transit_on_lodged(declaration=movement.declaration, payload=movement.declaration.body, actor=None)
        released_again = transit_on_released(declaration=movement.declaration, actor=None)

    assert again.pk == released_again.pk == movement.pk
    assert BondLedger.objects.filter(movement=movement).count() == 1
    assert movement.partner_messages.count() == 1


def test_agent_reads_its_movements_and_bonds_only(world, bond, frozen, agent_client):
    movement = lodge(world)
    _stranger_staff, stranger_token = agent_with_token()
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {stranger_token}")

    listing = agent_client.get("/api/v1/transit/movements")
    detail = agent_client.get(f"/api/v1/transit/movements/{movement.pk}")
    bonds = agent_client.get("/api/v1/transit/bonds")
    foreign = stranger.get(f"/api/v1/transit/movements/{movement.pk}")

    assert listing.status_code == 200
    assert [m["movement_id"] for m in listing.json()["results"]] == [str(movement.pk)]
    assert detail.json()["bond"] == {"number": bond.number, "amount_secured": "683000.00", "currency": "KES",
                                     "released": False, "demanded": False}
    assert detail.json()["status"] == "lodged"
    assert len(detail.json()["seals"]) == 2
    assert bonds.json()["results"][0]["balance"] == "317000.00"
    assert foreign.status_code == 404
    assert stranger.get("/api/v1/transit/movements").json()["results"] == []
    assert agent_client.get("/api/v1/transit/movements?status=flying").status_code == 400


def test_officer_queue_api_and_admin_list(world, bond, frozen):
    movement = release(lodge(world))
    frozen.advance(hours=5)
    officer = get_user_model().objects.create_superuser("officer", "officer@kra.test", "pw-officer-1")
    client = APIClient()
    client.force_authenticate(officer)

    queue = client.get("/api/v1/transit/queue")
    admin_page = APIClient()
    admin_page.force_login(officer)
    changelist = admin_page.get("/admin/transit/transitmovement/")
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")

    assert queue.status_code == 200
    row = queue.json()["results"][0]
    assert (row["movement_id"], row["age_seconds"], row["status"]) == (str(movement.pk), 5 * 3600, "in_transit")
    assert changelist.status_code == 200
    assert movement.declaration.entry_number in changelist.content.decode()
    assert agent.get("/api/v1/transit/queue").status_code == 403
    assert TransitMovement.objects.count() == 1


def test_a_resolved_overdue_task_is_not_reopened_by_the_beat(world, bond, frozen):
    from transit.services import alert_resolve

    movement = release(lodge(world))
    frozen.value = movement.due_at + dt.timedelta(hours=1)
    assert flag_overdue() == 1
    alert_resolve(alert_id=TransitAlert.objects.get().pk, resolution="truck breakdown at Eldoret, carrier reported",
                  actor=None)

    frozen.advance(hours=6)

    assert flag_overdue() == 0
    assert TransitAlert.objects.count() == 1


def test_officer_executes_a_bond_in_the_admin(world):
    officer = get_user_model().objects.create_superuser("bonds", "bonds@kra.test", "pw-officer-2")
    client = APIClient()
    client.force_login(officer)

    response = client.post("/admin/transit/regionalbond/add/", {
        "number": "RB/2026/900001", "principal_agent": str(world.agent.pk), "surety": "Equity Bank",
        "amount": "2500000.00", "currency": "KES", "status": "active", "valid_from": "2026-01-01",
        "valid_to": "2027-12-31",
        "ledger-TOTAL_FORMS": "0", "ledger-INITIAL_FORMS": "0", "ledger-MIN_NUM_FORMS": "0",
        "ledger-MAX_NUM_FORMS": "1000",
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    bond = RegionalBond.objects.get(number="RB/2026/900001")
    assert (bond.amount, bond.balance, bond.principal_agent_id) == (Decimal("2500000.00"), Decimal("2500000.00"),
                                                                    world.agent.pk)
    assert list(BondLedger.objects.filter(bond=bond).values_list("kind", "balance_after")) == [
        ("top_up", Decimal("2500000.00"))]
