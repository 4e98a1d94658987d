"""Trainer pages in the officer admin: the outage drill run step by step, and trainee reports."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from core import clock
from maintenance.models import MaintenanceWindow, Outage
from sandbox import clock as sandbox_clock
from sandbox.drills import WINDOW_START
from sandbox.models import ClockState, Drill
from tests.factories.officers import officer_create

pytestmark = pytest.mark.django_db

DRILL = "/admin/sandbox/drill/"
REPORTS = "/admin/sandbox/reports/"


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _row(page: str, step: int) -> str:
    match = re.search(rf'<tr class="drill-step [^"]*" id="drill-step-{step}">(.*?)</tr>', page, re.S)
    assert match, f"no row for step {step}"
    return re.sub(r"\s+", " ", match.group(1))


def test_trainer_runs_the_drill_step_by_step_from_the_admin(drill_world):
    # given
    amina = officer_create("trainer", username="amina")
    trainer = client_for(amina)
    # when: the page before any step
    before = trainer.get(DRILL).content.decode()
    # then: six steps, only the first offered
    assert ("<strong>step 0 of 6</strong>, not started. The sandbox clock reads 18 Nov 2024 08:00 EAT.") in before
    assert re.findall(r'id="run-step-(\d)"', before) == ["1"]
    assert '<td class="state">next</td>' in _row(before, 1)
    assert '<td class="state">waiting</td>' in _row(before, 6)
    # when: step 1, then step 3 out of order
    one = trainer.post(DRILL, {"step": "1"})
    skipped = trainer.post(DRILL, {"step": "3"})
    # then: step 1 done and recorded with the trainer; step 3 refused and nothing run
    assert one.status_code == 302
    assert skipped.status_code == 409
    assert ('<li class="error" id="drill-error">The drill is at step 1; the next step is 2.</li>'
            in skipped.content.decode())
    drill = Drill.objects.get()
    assert (drill.step, drill.updated_by) == (1, "admin:amina")
    window = MaintenanceWindow.objects.get(starts_at=WINDOW_START)
    assert window.created_by == amina
    assert list(window.events.values_list("kind", "actor__username")) == [("scheduled", "amina")]
    assert not Outage.objects.exists()
    # when: steps 2 and 3
    assert trainer.post(DRILL, {"step": "2"}).status_code == 302
    assert trainer.post(DRILL, {"step": "3"}).status_code == 302
    page = trainer.get(DRILL).content.decode()
    # then: what happened at each step, when (sandbox time, EAT) and by whom
    outage = Outage.objects.get()
    assert (outage.status, outage.started_by) == ("active", amina)
    assert ClockState.objects.get(pk=1).updated_by == "admin:amina"
    assert _row(page, 1) == (
        ' <td>1</td> <td><strong>scheduled window announced</strong><div class="help">Schedule a buffer-mode window'
        ' Tue 19 Nov 2024 20:00-23:00 EAT and notify every agent.</div></td> <td class="state">done</td>'
        ' <td class="when">18 Nov 2024 08:00 EAT</td> <td class="by">admin:amina</td> <td class="happened"><p>'
        'Buffer-mode window 19 Nov 2024 20:00 EAT to 19 Nov 2024 23:00 EAT scheduled; every agent notified.</p></td>'
        ' <td></td> ')
    assert ('<td class="when">19 Nov 2024 20:05 EAT</td> <td class="by">admin:amina</td> <td class="happened"><p>'
            'Window status moved: iCMS database maintenance (press notice, drill): active.</p></td>') in _row(page, 2)
    assert ('<td class="when">19 Nov 2024 22:45 EAT</td> <td class="by">admin:amina</td> <td class="happened">'
            '<p>Unplanned outage declared.</p><p>The API is cut off from its primary database: lodgings get receipts '
            'from the intake store, other requests 503 database_unavailable.</p></td>') in _row(page, 3)
    assert '<td class="state">next</td>' in _row(page, 4)
    assert re.findall(r'id="run-step-(\d)"', page) == ["4"]
    assert "<strong>step 3 of 6</strong>, started 18 Nov 2024 08:00 EAT." in page
    # the drill's own log says the same (the command's `drill status` reads it)
    assert [(e["step"], e["by"]) for e in Drill.objects.get().state["log"]] == [
        (1, "admin:amina"), (2, "admin:amina"), (3, "admin:amina")]
    from intake.breaker import primary_cutoff_lift

    primary_cutoff_lift()


def test_drill_page_refuses_non_trainers_outside_sandboxes_and_without_a_drill(sandbox, settings):
    # given: no drill seeded
    trainer = client_for(officer_create("trainer"))
    officer = client_for(officer_create("officer"))
    # when / then
    empty = trainer.get(DRILL)
    assert empty.status_code == 200
    assert ('<p id="drill-missing">No outage drill in this sandbox: seed the <code>outage-drill</code> scenario first'
            in empty.content.decode())
    missing = trainer.post(DRILL, {"step": "1"})
    assert missing.status_code == 404
    assert ("No outage drill: seed the outage-drill scenario first." in missing.content.decode())
    assert trainer.post(DRILL, {"step": "nine"}).status_code == 400
    assert officer.get(DRILL).status_code == 403
    assert officer.post(DRILL, {"step": "1"}).status_code == 403
    assert officer.get(REPORTS).status_code == 403
    settings.FORODHA_SANDBOX = False
    assert trainer.get(DRILL).status_code == 404
    assert trainer.get(REPORTS).status_code == 404
    assert not Drill.objects.exists()
    assert clock.offset().total_seconds() == 0


def test_trainer_reads_agent_and_officer_reports_in_east_africa_time(sandbox, api_client):
    from django.contrib.auth import get_user_model

    from clearance.models import OfficerTask
    from clearance.services import declaration_release, officer_task_assign
    from tests.factories.sandbox import lodge_pay_score_advance, outcome_body, sandbox_world

    # given: an agent firm lodges two declarations and makes one API mistake; an inspector releases one
    trainer = client_for(officer_create("trainer"))
    inspector = get_user_model().objects.create_user("inspector9", is_staff=True)
    world = sandbox_world()
    lodge_pay_score_advance(world, "GAGT-1")
    yellow = lodge_pay_score_advance(world, "YAGT-2")
    api_client.post("/api/v1/declarations", outcome_body(world, "XAGT-3"), format="json", **world.auth)
    task = OfficerTask.objects.get(declaration=yellow)
    officer_task_assign(task_id=task.pk, officer=inspector, actor=inspector)
    sandbox_clock.set_offset(30 * 60)
    declaration_release(declaration_id=yellow.pk, actor=inspector, reason="Documents in order")
    # when
    index = trainer.get(REPORTS).content.decode()
    agent_page = trainer.get(f"{REPORTS}agent/{world.agent.pk}/").content.decode()
    officer_page = trainer.get(f"{REPORTS}officer/inspector9/").content.decode()
    # then: the class list links to each report
    assert (f'<tr class="firm-report"><td><a href="{REPORTS}agent/{world.agent.pk}/">{world.agent.name}</a></td>'
            '<td class="num">2</td><td>released 2</td><td class="num">1</td><td class="num">1</td>') in index
    assert f'<li><a href="{REPORTS}officer/inspector9/">' not in index  # not in an officer group
    # ... the agent's report
    assert "<tr><th>Declarations lodged</th><td>2 (drafts 0)</td></tr>" in agent_page
    assert "<tr><th>By lane</th><td>green 1, yellow 1</td></tr>" in agent_page
    assert ("<tr><th>Errors</th><td>1 API errors, 1 refused lodgings; by code: sandbox_outcome_rejected 1</td></tr>"
            in agent_page)
    assert "<tr><th>First action</th><td>25 Nov 2026 10:00 EAT</td></tr>" in agent_page
    assert ("<tr><td>25 Nov 2026 10:00 EAT</td><td>POST /api/v1/declarations</td><td>400</td>"
            "<td>validation_error</td><td>XAGT-3</td></tr>") in agent_page
    assert f"<td>YAGT-2</td><td>{yellow.entry_number}</td><td>released</td><td>yellow</td>" in agent_page
    assert "+00:00" not in agent_page
    # ... the officer's report
    assert "<tr><th>Decisions</th><td>1: under_control-&gt;released 1</td></tr>" in officer_page
    assert "<tr><th>Tasks</th><td>1 assigned, 1 done; outcomes: released 1</td></tr>" in officer_page
    assert "<tr><th>Mean task handling time</th><td>30.0 min</td></tr>" in officer_page
    assert (f"<tr><td>25 Nov 2026 10:30 EAT</td><td>{yellow.entry_number}</td><td>under_control</td>"
            "<td>released</td><td>Documents in order</td></tr>") in officer_page
    # unknown trainees are 404s
    assert trainer.get(f"{REPORTS}officer/nobody/").status_code == 404
    assert trainer.get(f"{REPORTS}agent/00000000-0000-0000-0000-000000000000/").status_code == 404
