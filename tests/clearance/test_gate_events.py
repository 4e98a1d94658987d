"""Terminals report gate-out (imports) and loading on board (exports): POST /api/v1/gate-events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clearance.models import GateEvent, ReleaseOrder
from clearance.services import clearance_advance
from core import clock
from declarations.models import Declaration, DeclarationEvent
from manifests.models import Terminal, TerminalStaff
from notifications.models import Notification
from risk.services import risk_assessment_create
from tests.factories.manifests import BillOfLadingFactory, ContainerFactory
from tests.factories.reference import CustomsOfficeFactory
from tests.factories.risk import declaration_make
from tests.factories.traders import agent_with_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def terminal() -> tuple[Terminal, Any, APIClient]:
    office = CustomsOfficeFactory(code="MBA")
    terminal = Terminal.objects.create(code="KPA-CT2", name="KPA Container Terminal 2", office=office)
    user = get_user_model().objects.create_user(username="kpa-ct2-gate")
    TerminalStaff.objects.create(user=user, terminal=terminal)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return terminal, user, client


def _released(bill_of_lading: Any = None, **fields: Any) -> Declaration:
    declaration = declaration_make(status="paid", bill_of_lading=bill_of_lading)
    if fields:
        Declaration.objects.filter(pk=declaration.pk).update(**fields)
    risk_assessment_create(declaration_id=declaration.pk)
    assert clearance_advance(declaration_id=declaration.pk).action == "released"
    declaration.refresh_from_db()
    return declaration


def test_gate_out_moves_a_released_import_to_exited_and_a_repeat_is_idempotent(terminal):
    # given
    _, user, client = terminal
    declaration = _released()
    # when
    first = client.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number},
                        format="json")
    again = client.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number},
                        format="json")
    # then
    assert first.status_code == 201, first.json()
    event = GateEvent.objects.get()
    assert first.json() == {
        "id": str(event.pk), "kind": "gate_out", "declaration_id": str(declaration.pk),
        "entry_number": declaration.entry_number, "status": "exited", "terminal": "KPA-CT2", "container": "",
        "occurred_at": first.json()["occurred_at"], "recorded_at": first.json()["recorded_at"]}
    assert (again.status_code, again.json()["id"]) == (200, str(event.pk))
    assert Declaration.objects.get(pk=declaration.pk).status == "exited"
    assert ReleaseOrder.objects.get(declaration=declaration).gate_out_at == event.occurred_at
    exits = DeclarationEvent.objects.filter(declaration=declaration, to_status="exited")
    assert [(e.from_status, e.actor_id, e.reason, e.payload["terminal"]) for e in exits] == [
        ("released", user.pk, "Gate out", "KPA-CT2")]
    assert Notification.objects.filter(declaration_id=declaration.pk, kind="cleared").count() == 1


def test_before_release_it_is_409_and_nothing_changes(terminal):
    _, _, client = terminal
    declaration = declaration_make(status="paid")
    response = client.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number},
                           format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_released"
    assert Declaration.objects.get(pk=declaration.pk).status == "paid"
    assert not GateEvent.objects.exists()


def test_a_container_identifies_the_declaration(terminal):
    _, _, client = terminal
    bl = BillOfLadingFactory(manifest__ata=clock.now() - dt.timedelta(hours=5))  # arrived: release allowed
    ContainerFactory(bill_of_lading=bl, number="MSCU1234565")
    declaration = _released(bill_of_lading=bl)
    response = client.post("/api/v1/gate-events", {"kind": "gate_out", "container": "MSCU1234565"}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["entry_number"], response.json()["container"]) == (declaration.entry_number,
                                                                                 "MSCU1234565")
    unknown = client.post("/api/v1/gate-events", {"kind": "gate_out", "container": "MSCU7654321"}, format="json")
    assert (unknown.status_code, unknown.json()["errors"][0]["pointer"]) == (404, "/container")


def test_exports_are_confirmed_by_loading_not_by_gate_out(terminal):
    _, _, client = terminal
    export = _released(regime="EX1", cpc="1000100", importer_pin="", exporter_pin="P051000001A")
    wrong = client.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": export.entry_number},
                        format="json")
    loaded_at = (clock.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    loaded = client.post("/api/v1/gate-events", {"kind": "loaded_on_board", "entry_number": export.entry_number,
                                                 "occurred_at": loaded_at.isoformat()}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (409, "gate_event_not_for_regime")
    assert loaded.status_code == 201, loaded.json()
    assert Declaration.objects.get(pk=export.pk).status == "exited"
    assert GateEvent.objects.get().occurred_at == loaded_at
    assert ReleaseOrder.objects.get(declaration=export).gate_out_at == loaded_at


def test_only_terminal_staff_report_and_bad_input_is_400(terminal):
    _, _, client = terminal
    declaration = _released()
    _staff, token = agent_with_token()
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    refused = agent.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number},
                         format="json")
    missing = client.post("/api/v1/gate-events", {"kind": "gate_out"}, format="json")
    bad_kind = client.post("/api/v1/gate-events", {"kind": "gate_in", "entry_number": declaration.entry_number},
                           format="json")
    future = client.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number,
                                                 "occurred_at": (clock.now() + dt.timedelta(hours=2)).isoformat()},
                         format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "not_a_terminal")
    assert [(e["code"], e["pointer"]) for e in missing.json()["errors"]] == [("required", "/entry_number")]
    assert [(e["code"], e["pointer"]) for e in bad_kind.json()["errors"]] == [("invalid_choice", "/kind")]
    assert [(e["code"], e["pointer"]) for e in future.json()["errors"]] == [("future_time", "/occurred_at")]
    assert Declaration.objects.get(pk=declaration.pk).status == "released"
    assert not GateEvent.objects.exists()


def test_a_terminal_of_another_office_is_refused(terminal):
    _, _, client = terminal
    declaration = _released()
    Declaration.objects.filter(pk=declaration.pk).update(office=CustomsOfficeFactory(code="JKA"))
    response = client.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number},
                           format="json")
    assert (response.status_code, response.json()["code"]) == (409, "office_mismatch")
    assert Declaration.objects.get(pk=declaration.pk).status == "released"
