"""Queries as a conversation: the officer asks, the agent answers through the API with uploaded
documents and no fee, the SLA clock stops while the query waits, the officer sees the answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from clearance.models import AgentQuery, OfficerTask
from clearance.services import clearance_advance, declaration_query_agent
from core import clock
from declarations.models import Assessment, Declaration, DeclarationEvent, DeclarationVersion, ESlip
from notifications.models import Notification
from officers.selectors import task_sla
from risk.services import risk_assessment_create
from tests.factories.declarations import world_create
from tests.factories.officers import officer_create
from tests.factories.risk import declaration_make

from .conftest import LANE_HS

pytestmark = pytest.mark.django_db

def _about(value: dt.datetime | dt.timedelta, expected: dt.datetime | dt.timedelta) -> bool:
    """The pinned clock runs at real speed from where it was put: allow the seconds a test takes."""
    return abs(value - expected) < dt.timedelta(seconds=30)  # type: ignore[operator]


PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def queried(lane_rules, pinned_clock) -> dict[str, Any]:
    """A yellow declaration of the world's agent, queried by an officer 3 hours ago."""
    world = world_create()
    declaration = declaration_make(status="paid", agent=world.agent, trader=world.trader,
                                   items=[{"hs_code": LANE_HS["yellow"]}])
    risk_assessment_create(declaration_id=declaration.pk)
    assert clearance_advance(declaration_id=declaration.pk).action == "under_control"
    officer = officer_create("officer")
    pinned_clock.advance(dt.timedelta(hours=1))
    declaration_query_agent(declaration_id=declaration.pk, documents=["INV", "PKL"],
                            reason="Commercial invoice and packing list", actor=officer)
    pinned_clock.advance(dt.timedelta(hours=3))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    return {"world": world, "declaration": declaration, "officer": officer, "client": client}


def _upload(client: APIClient, declaration_id: Any) -> str:
    response = client.post(f"/api/v1/declarations/{declaration_id}/documents",
                           {"file": SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf"),
                            "kind": "INV", "reference": "INV-7781"}, format="multipart")
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def test_the_sla_clock_stops_while_the_query_waits_for_the_agent(queried):
    task = OfficerTask.objects.get(declaration=queried["declaration"])
    # 1 h of work before the query; 3 h of waiting since do not count
    assert _about(task.waiting_since, clock.now() - dt.timedelta(hours=3))
    assert _about(task_sla(task).age, dt.timedelta(hours=1))
    assert AgentQuery.objects.get().documents_required == ["INV", "PKL"]
    assert Notification.objects.filter(declaration_id=queried["declaration"].pk,
                                       kind="documents_required").exists()


def test_the_agent_answers_with_a_document_and_no_fee_and_the_officer_has_it_back(queried, pinned_clock):
    # given
    client, declaration = queried["client"], queried["declaration"]
    document_id = _upload(client, declaration.pk)
    fees_before = (Assessment.objects.count(), ESlip.objects.count(), DeclarationVersion.objects.count())
    # when
    response = client.post(f"/api/v1/declarations/{declaration.pk}/query-responses",
                           {"message": "Invoice attached;\npacking list follows by courier.",
                            "documents": [document_id]}, format="json")
    # then: the answer is recorded and the declaration is back under control
    assert response.status_code == 201, response.json()
    query = AgentQuery.objects.get()
    assert response.json() == {
        "id": str(query.pk), "documents_required": ["INV", "PKL"], "reason": "Commercial invoice and packing list",
        "asked_at": response.json()["asked_at"],
        "answer_message": "Invoice attached;\npacking list follows by courier.",
        "answer_documents": [document_id], "answered_at": response.json()["answered_at"],
        "closed_at": response.json()["closed_at"]}
    assert Declaration.objects.get(pk=declaration.pk).status == "under_control"
    # no fee: no new assessment, e-slip or version
    assert (Assessment.objects.count(), ESlip.objects.count(), DeclarationVersion.objects.count()) == fees_before
    # the SLA clock runs again, without the 3 hours of waiting
    task = OfficerTask.objects.get(declaration=declaration)
    assert (task.waiting_since, task.outcome) == (None, "answered")
    assert _about(task.sla_paused, dt.timedelta(hours=3))
    pinned_clock.advance(dt.timedelta(minutes=30))
    assert _about(task_sla(task).age, dt.timedelta(hours=1, minutes=30))
    # events and notifications, with the agent as actor
    events = list(DeclarationEvent.objects.filter(declaration=declaration).order_by("id")
                  .values_list("kind", "from_status", "to_status", "actor_id"))
    user_id = queried["world"].user.pk
    assert events[-2:] == [("query_answered", "queried", "queried", user_id),
                           ("transition", "queried", "under_control", user_id)]
    assert Notification.objects.filter(declaration_id=declaration.pk, kind="query_answered").count() == 1
    # when: answering again, nothing is open
    again = client.post(f"/api/v1/declarations/{declaration.pk}/query-responses", {"message": "again"},
                        format="json")
    assert (again.status_code, again.json()["code"]) == (409, "not_queried")
    # and the conversation reads back
    conversation = client.get(f"/api/v1/declarations/{declaration.pk}/queries").json()
    assert [(q["id"], q["answer_documents"]) for q in conversation] == [(str(query.pk), [document_id])]


def test_the_officer_sees_the_answer_and_opens_the_document_in_the_admin(queried):
    # given
    client, declaration = queried["client"], queried["declaration"]
    document_id = _upload(client, declaration.pk)
    client.post(f"/api/v1/declarations/{declaration.pk}/query-responses",
                {"message": "Invoice INV-7781 attached", "documents": [document_id]}, format="json")
    admin = Client()
    admin.force_login(queried["officer"])
    # when
    page = admin.get(f"/admin/declarations/declaration/{declaration.pk}/change/")
    link = f"/admin/declarations/declaration/{declaration.pk}/documents/{document_id}/"
    download = admin.get(link)
    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert "Invoice INV-7781 attached" in html
    assert link in html
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"


def test_bad_answers_are_refused_and_change_nothing(queried):
    client, declaration = queried["client"], queried["declaration"]
    other = world_create()
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {other.token}")
    unknown_document = client.post(f"/api/v1/declarations/{declaration.pk}/query-responses",
                                   {"message": "see attached", "documents": ["8c7c6a8e-6b8e-4d50-9f0e-2f5f0f6b1c11"]},
                                   format="json")
    blank = client.post(f"/api/v1/declarations/{declaration.pk}/query-responses", {"message": "   "}, format="json")
    theirs = stranger.post(f"/api/v1/declarations/{declaration.pk}/query-responses", {"message": "hello"},
                           format="json")
    assert [(e["code"], e["pointer"]) for e in unknown_document.json()["errors"]] == [
        ("unknown_document", "/documents/0")]
    assert blank.status_code == 400
    assert (theirs.status_code, theirs.json()["code"]) == (404, "declaration_not_found")
    assert Declaration.objects.get(pk=declaration.pk).status == "queried"
    assert AgentQuery.objects.get().answered_at is None
    assert OfficerTask.objects.get(declaration=declaration).waiting_since is not None


def test_an_agents_day_through_the_api_upload_answer_release_gate_out_seen_by_the_officer(queried):
    """Issue 22's "done when": the agent uploads an invoice and answers the query with it, the
    officer releases, a terminal gates the cargo out, all through the API; the officer page shows
    every step."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from clearance.services import declaration_release
    from manifests.models import Terminal, TerminalStaff
    from tests.factories.reference import CustomsOfficeFactory

    # given
    client, declaration, officer = queried["client"], queried["declaration"], queried["officer"]
    terminal = Terminal.objects.create(code="KPA-CT2", name="KPA CT2", office=CustomsOfficeFactory(code="MBA"))
    gate_user = get_user_model().objects.create_user(username="kpa-gate")
    TerminalStaff.objects.create(user=gate_user, terminal=terminal)
    gate = APIClient()
    gate.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=gate_user).key}")
    # when: upload, answer, release by the officer, gate-out by the terminal
    document_id = _upload(client, declaration.pk)
    answered = client.post(f"/api/v1/declarations/{declaration.pk}/query-responses",
                           {"message": "Invoice INV-7781 attached", "documents": [document_id]}, format="json")
    too_early = gate.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number},
                          format="json")
    declaration_release(declaration_id=declaration.pk, actor=officer, reason="Invoice checked")
    gated = gate.post("/api/v1/gate-events", {"kind": "gate_out", "entry_number": declaration.entry_number},
                      format="json")
    # then
    assert answered.status_code == 201
    assert (too_early.status_code, too_early.json()["code"]) == (409, "not_released")
    assert (gated.status_code, gated.json()["status"]) == (201, "exited")
    statuses = list(DeclarationEvent.objects.filter(declaration=declaration, kind="transition")
                    .order_by("id").values_list("to_status", flat=True))
    assert statuses[-4:] == ["queried", "under_control", "released", "exited"]
    admin = Client()
    admin.force_login(officer)
    html = admin.get(f"/admin/declarations/declaration/{declaration.pk}/change/").content.decode()
    for needle in ("Invoice INV-7781 attached", "invoice.pdf", "Gate and loading", "KPA-CT2",
                   f"/admin/declarations/declaration/{declaration.pk}/documents/{document_id}/"):
        assert needle in html, needle
