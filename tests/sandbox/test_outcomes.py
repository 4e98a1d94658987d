"""Deterministic outcomes: the first letter of the local reference chooses the path (sandbox only)."""

from __future__ import annotations

import pytest

from clearance.models import OfficerTask
from core import policy
from declarations.models import Declaration
from risk.models import RiskAssessment
from sandbox.models import ApiErrorRecord
from sandbox.outcomes import REJECT_CODE, lodging_errors
from tests.factories.sandbox import lodge_pay_score_advance, outcome_body, sandbox_world

pytestmark = pytest.mark.django_db

SANDBOX_HIT = {"rule_id": 0, "kind": "sandbox", "weight": 0}


@pytest.mark.parametrize(
    ("letter", "channel", "status", "queue"),
    [
        ("G", "green", "released", None),
        ("B", "blue", "released", None),
        ("Y", "yellow", "under_control", "documentary_check"),
        ("R", "red", "under_control", "inspection"),
        ("Q", "yellow", "queried", "documentary_check"),
    ],
)
def test_letter_chooses_the_lane_and_the_path(sandbox, letter, channel, status, queue):
    # given a world whose manifest has arrived
    world = sandbox_world()
    # when a declaration with this letter is lodged, scored, paid and advanced
    declaration = lodge_pay_score_advance(world, f"{letter}AGT-2026-000001")
    # then
    assert declaration.channel == channel
    assert declaration.status == status
    assessment = RiskAssessment.objects.get(declaration=declaration)
    assert assessment.lane == channel
    assert assessment.hits[-1] == {**SANDBOX_HIT, "forced_lane": channel,
                                   "reason": f"sandbox deterministic outcome: {letter}"}
    tasks = list(OfficerTask.objects.filter(declaration=declaration).values_list("queue", "outcome"))
    if queue is None:
        assert tasks == []
    else:
        assert tasks == [(queue, "queried" if letter == "Q" else "")]


def test_q_path_notifies_documents_required(sandbox):
    from notifications.models import Notification

    world = sandbox_world()
    declaration = lodge_pay_score_advance(world, "QAGT-1")
    kinds = list(Notification.objects.filter(declaration_id=declaration.pk).order_by("seq")
                 .values_list("kind", flat=True))
    assert kinds[-1] == "documents_required"
    event = declaration.events.filter(to_status="queried").get()
    assert event.payload == {"documents_required": ["commercial invoice", "packing list"]}
    assert "sandbox deterministic outcome: Q" in event.reason


def test_other_letters_are_scored_normally(sandbox):
    world = sandbox_world()
    declaration = lodge_pay_score_advance(world, "AGT-2026-000002")
    assert all(hit["kind"] != "sandbox" for hit in RiskAssessment.objects.get(declaration=declaration).hits)


def test_lower_case_letters_are_not_outcomes(sandbox):
    world = sandbox_world()
    declaration = lodge_pay_score_advance(world, "rAGT-1")
    assert all(hit["kind"] != "sandbox" for hit in RiskAssessment.objects.get(declaration=declaration).hits)


def test_outside_sandbox_mode_letters_mean_nothing(settings):
    settings.FORODHA_SANDBOX = False
    world = sandbox_world()
    declaration = lodge_pay_score_advance(world, "RAGT-1")
    assert declaration.channel == "green"  # no rules in this test database: green by score
    assert RiskAssessment.objects.get(declaration=declaration).hits == []
    # the seam is neutral outside sandbox mode (sandbox.outcomes itself no longer asks the mode)
    assert policy.current() is policy.NEUTRAL
    assert policy.current().lodging_errors({"local_reference": "XAGT-1"}) == []
    assert [e.code for e in lodging_errors({"local_reference": "XAGT-1"})] == [REJECT_CODE]


def test_x_is_rejected_at_validation_through_the_api(sandbox, api_client):
    # given
    world = sandbox_world()
    body = outcome_body(world, "XAGT-2026-000009")
    # when
    response = api_client.post("/api/v1/declarations", body, format="json", **world.auth)
    # then
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [(e["code"], e["pointer"]) for e in problem["errors"]] == [(REJECT_CODE, "/local_reference")]
    assert response["Forodha-Sandbox"] == "true"
    assert not Declaration.objects.filter(local_reference="XAGT-2026-000009").exists()
    world.bl.refresh_from_db()
    # the trainee's error is on record for the report
    record = ApiErrorRecord.objects.get()
    assert (record.username, record.status, record.code, record.local_reference) == (
        world.user.username, 400, "validation_error", "XAGT-2026-000009")


def test_x_draft_is_saved_but_refused_when_lodged(sandbox, api_client):
    world = sandbox_world()
    saved = api_client.post("/api/v1/declarations", {**outcome_body(world, "XAGT-7"), "draft": True},
                            format="json", **world.auth)
    assert saved.status_code == 201, saved.content
    lodged = api_client.post(f"/api/v1/declarations/{saved.json()['id']}/lodge", {}, format="json", **world.auth)
    assert lodged.status_code == 400
    assert lodged.json()["errors"][0]["code"] == REJECT_CODE
    assert Declaration.objects.get(pk=saved.json()["id"]).status == "draft"


def test_x_outside_sandbox_mode_lodges_normally(settings, api_client):
    settings.FORODHA_SANDBOX = False
    world = sandbox_world()
    response = api_client.post("/api/v1/declarations", outcome_body(world, "XAGT-8"), format="json", **world.auth)
    assert response.status_code == 201, response.content
    assert ApiErrorRecord.objects.count() == 0


def test_x_through_the_service_once_wired(sandbox):
    """The lodging service reports X together with every other problem (declarations validation
    calls sandbox.outcomes.lodging_errors), so direct service calls and contingency replays get it too."""
    from core.exceptions import ValidationFailed
    from declarations.services import declaration_lodge

    world = sandbox_world()
    with pytest.raises(ValidationFailed) as excinfo:
        declaration_lodge(agent=world.agent, user=world.user,
                          payload=outcome_body(world, "XAGT-9", country_of_export="ZZ"), actor=world.user)
    codes = {(e.code, e.pointer) for e in excinfo.value.errors}
    assert (REJECT_CODE, "/local_reference") in codes
    assert ("unknown_country", "/country_of_export") in codes
    assert not Declaration.objects.filter(local_reference="XAGT-9").exists()
