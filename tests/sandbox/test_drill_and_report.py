"""The outage drill run step by step with the clock, and trainee reports from the event log."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import clock
from declarations.models import Declaration
from maintenance.models import BufferedSubmission, MaintenanceWindow, Outage
from sandbox import clock as sandbox_clock
from sandbox.drills import OUTAGE_DECLARED, RESTORED, WINDOW_START
from sandbox.models import Drill
from sandbox.report import agent_report, officer_report

pytestmark = pytest.mark.django_db


def _step(capsys, *args: str) -> dict:
    capsys.readouterr()
    call_command("sandbox", "drill", *args, "--format", "json")
    return json.loads(capsys.readouterr().out)


def test_outage_drill_step_by_step(drill_world, capsys):
    tea_before = Declaration.objects.filter(regime="EX1").count()
    # 1: the window is announced (agents notified)
    one = _step(capsys, "next")
    assert one["step"] == 1
    window = MaintenanceWindow.objects.get(starts_at=WINDOW_START)
    assert (window.status, window.mode) == ("scheduled", "buffer")
    # steps must be run in order
    with pytest.raises(CommandError, match="drill_out_of_order"):
        call_command("sandbox", "drill", "outage", "--step", "3")
    # 2: the clock moves into the window; the stored status follows
    two = _step(capsys, "outage", "--step", "2")
    assert two["step"] == 2
    window.refresh_from_db()
    assert window.status == "active"
    assert abs((clock.now() - WINDOW_START).total_seconds() - 300) < 5
    # 3: unplanned outage
    _step(capsys, "next")
    outage = Outage.objects.get()
    assert outage.status == "active"
    assert abs((outage.started_at - OUTAGE_DECLARED).total_seconds()) < 5
    # ... and the sandbox API is really cut off from its primary database: reads get 503
    token = Token.objects.get(user__username=Drill.objects.get().state["agent_username"]).key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    refused = api.get("/api/v1/declarations")
    assert (refused.status_code, refused.json()["code"]) == (503, "database_unavailable")
    # 4: the waiting tea exports go through the real intake and are buffered with receipts
    four = _step(capsys, "next")
    assert four["statuses"] == [202] * 8
    assert BufferedSubmission.objects.filter(status="pending").count() == 8
    assert Declaration.objects.filter(regime="EX1").count() == tea_before
    # 5: service restored five days later
    five = _step(capsys, "next")
    outage.refresh_from_db()
    assert outage.status == "ended"
    assert api.get("/api/v1/declarations").status_code == 200
    assert five["length_hours"] == pytest.approx((RESTORED - OUTAGE_DECLARED).total_seconds() / 3600, abs=0.1)
    # 6: replay lodges every buffered export, receipt time as lodgement time
    six = _step(capsys, "next")
    assert (six["lodged"], six["rejected"], six["remaining"]) == (8, 0, 0)
    replayed = Declaration.objects.filter(regime="EX1").exclude(lodged_at__lt=OUTAGE_DECLARED)
    assert replayed.count() == 8
    assert all(d.lodged_at < RESTORED for d in replayed)
    assert all(hasattr(d, "risk_assessment") for d in replayed)
    # status shows the whole run
    capsys.readouterr()
    call_command("sandbox", "drill", "status")
    out = capsys.readouterr().out
    assert "step 6 of 6 (replay); complete" in out
    assert Drill.objects.get().step == 6
    with pytest.raises(CommandError, match="drill_out_of_order"):
        call_command("sandbox", "drill", "next")


def test_drill_needs_a_seeded_drill(sandbox):
    with pytest.raises(CommandError, match="drill_not_found"):
        call_command("sandbox", "drill", "status")


def test_agent_report_counts_lodgings_errors_and_time(sandbox, api_client, capsys):
    from tests.factories.sandbox import lodge_pay_score_advance, outcome_body, sandbox_world

    world = sandbox_world()
    lodge_pay_score_advance(world, "GAGT-1")
    sandbox_clock.set_offset(600)
    lodge_pay_score_advance(world, "RAGT-2")
    # two mistakes through the API: an X reference, and an unknown HS code
    api_client.post("/api/v1/declarations", outcome_body(world, "XAGT-3"), format="json", **world.auth)
    bad = outcome_body(world, "AGT-4")
    bad["items"][0]["hs_code"] = "9999.99.99"
    del bad["items"][0]["vehicle"]
    api_client.post("/api/v1/declarations", bad, format="json", **world.auth)
    # when
    report = agent_report(agent=world.user.username)
    # then
    assert report["lodged"] == 2
    assert report["by_status"] == {"released": 1, "under_control": 1}
    assert report["by_channel"] == {"green": 1, "red": 1}
    assert report["errors"]["api_errors"] == 2
    assert report["errors"]["refused_lodgings"] == 2
    assert report["errors"]["by_code"]["sandbox_outcome_rejected"] == 1
    assert 9.9 <= report["time_taken_minutes"] <= 11
    # the command renders it as text and JSON
    call_command("sandbox", "report", "--agent", world.agent.name)
    assert "errors: 2 API errors, 2 refused lodgings" in capsys.readouterr().out
    call_command("sandbox", "report", "--agent", world.agent.licence_number, "--format", "json")
    assert json.loads(capsys.readouterr().out)["lodged"] == 2


def test_officer_report_lists_decisions_and_task_time(sandbox):
    from django.contrib.auth import get_user_model

    from clearance.models import OfficerTask
    from clearance.services import declaration_release, officer_task_assign
    from tests.factories.sandbox import lodge_pay_score_advance, sandbox_world

    officer = get_user_model().objects.create_user("inspector9", is_staff=True)
    world = sandbox_world()
    declaration = lodge_pay_score_advance(world, "YAGT-1")
    task = OfficerTask.objects.get(declaration=declaration)
    officer_task_assign(task_id=task.pk, officer=officer, actor=officer)
    sandbox_clock.set_offset(45 * 60)
    declaration_release(declaration_id=declaration.pk, actor=officer, reason="Documents in order")
    report = officer_report(username="inspector9")
    assert report["decisions"] == 1
    assert report["by_decision"] == {"under_control->released": 1}
    assert report["tasks_assigned"] == 1
    assert report["tasks_done"] == 1
    assert 44.5 <= report["mean_task_minutes"] <= 46
