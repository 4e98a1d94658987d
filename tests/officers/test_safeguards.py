"""Decision safeguards: no release after non-compliant findings without a recorded supervisor
override; notices to the agent say what happened and why; lists scoped to the officer's office."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clearance.models import OfficerTask, ReleaseOrder
from clearance.services import declaration_release, inspection_findings_override
from core.exceptions import Conflict
from declarations.models import Declaration, DeclarationEvent
from notifications.models import Notification
from tests.factories.officers import declaration_in_queue, live_task, officer_create

pytestmark = pytest.mark.django_db

FINDINGS = "Seal KRA0012345 broken; 12 cartons of undeclared phones"


def decide_url(declaration: Declaration, key: str) -> str:
    return reverse("admin:declarations_declaration_decide", args=[declaration.pk, key])


def detail_url(declaration: Declaration) -> str:
    return reverse("admin:declarations_declaration_change", args=[declaration.pk])


def non_compliant(client) -> Declaration:  # type: ignore[no-untyped-def]
    declaration = declaration_in_queue("red")
    response = client.post(decide_url(declaration, "findings"),
                           {"findings": FINDINGS, "compliant": "no", "confirm": "1"})
    assert response.status_code == 302
    return declaration


def test_release_is_neither_offered_nor_accepted_after_non_compliant_findings(officer_client):
    # given
    inspector = officer_create("inspector")
    client = officer_client(inspector)
    declaration = non_compliant(client)
    events_before = DeclarationEvent.objects.filter(declaration=declaration).count()
    # when
    page = client.get(detail_url(declaration)).content.decode()
    forced = client.post(decide_url(declaration, "release"), {"reason": "Looks fine", "confirm": "1"})
    # then: no button, the forged post is refused, nothing changed
    assert 'id="decide-release"' not in page
    assert 'id="decide-override"' not in page  # inspectors cannot override
    assert 'id="decide-reject"' in page
    assert forced.status_code == 409
    assert forced.context["form"].non_field_errors() == [
        f"“Release” does not apply to {declaration.entry_number} (status under control)."]
    declaration.refresh_from_db()
    assert declaration.status == "under_control"
    assert not ReleaseOrder.objects.filter(declaration=declaration).exists()
    assert DeclarationEvent.objects.filter(declaration=declaration).count() == events_before
    # and the service refuses too (API, bulk action, any caller)
    with pytest.raises(Conflict) as refused:
        declaration_release(declaration_id=declaration.pk, actor=inspector, reason="Looks fine")
    assert refused.value.code == "findings_not_compliant"
    assert not ReleaseOrder.objects.filter(declaration=declaration).exists()


def test_supervisor_override_is_recorded_then_release_is_possible(officer_client):
    # given
    inspector = officer_create("inspector")
    supervisor = officer_create("supervisor")
    declaration = non_compliant(officer_client(inspector))
    client = officer_client(supervisor)
    assert 'id="decide-override"' in client.get(detail_url(declaration)).content.decode()
    # when: without a reason nothing happens; with one, the override is an event
    empty = client.post(decide_url(declaration, "override"), {"reason": "", "confirm": "1"})
    assert empty.status_code == 400
    assert live_task(declaration).outcome == "non_compliant"
    response = client.post(decide_url(declaration, "override"),
                           {"reason": "Phones declared on the amended entry; duty paid", "confirm": "1"})
    # then
    assert response.status_code == 302
    task = live_task(declaration)
    assert (task.outcome, task.findings) == ("overridden", FINDINGS)
    event = DeclarationEvent.objects.filter(declaration=declaration).latest("created_at", "id")
    assert (event.kind, event.actor, event.reason, event.payload) == (
        "override", supervisor, "Phones declared on the amended entry; duty paid",
        {"task": str(task.pk), "findings": FINDINGS})
    page = client.get(detail_url(declaration)).content.decode()
    assert (f"{supervisor.username} overrode the non-compliant findings to allow release</span>. "
            '<span class="reason">Reason: “Phones declared on the amended entry; duty paid”</span>') in page
    assert 'id="decide-release"' in page
    assert 'id="decide-override"' not in page
    released = client.post(decide_url(declaration, "release"), {"reason": "Override recorded", "confirm": "1"})
    assert released.status_code == 302
    assert ReleaseOrder.objects.filter(declaration=declaration).count() == 1


def test_override_refused_without_non_compliant_findings():
    # given
    supervisor = officer_create("supervisor")
    declaration = declaration_in_queue("red")
    events_before = DeclarationEvent.objects.filter(declaration=declaration).count()
    # when / then
    with pytest.raises(Conflict) as refused:
        inspection_findings_override(declaration_id=declaration.pk, reason="why not", actor=supervisor)
    assert refused.value.code == "nothing_to_override"
    assert live_task(declaration).outcome == ""
    assert DeclarationEvent.objects.filter(declaration=declaration).count() == events_before


def test_rejection_notice_carries_the_reason(officer_client):
    # given
    inspector = officer_create("inspector")
    declaration = declaration_in_queue("red")
    # when
    officer_client(inspector).post(decide_url(declaration, "reject"), {
        "reason": "Prohibited goods (EACCMA Second Schedule)", "seize": "on", "confirm": "1"})
    # then: exactly one notice for the rejection, with the reason
    notices = list(Notification.objects.filter(declaration_id=declaration.pk, kind="rejected"))
    assert [(n.subject, n.payload["reason"], n.payload["seized"]) for n in notices] == [(
        f"{declaration.entry_number}: rejected and goods seized — Prohibited goods (EACCMA Second Schedule)",
        "Prohibited goods (EACCMA Second Schedule)", True)]


def test_documents_received_tells_the_agent_the_documentary_check_continues(officer_client):
    # given: a documentary check, queried
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    client = officer_client(officer)
    client.post(decide_url(declaration, "query"), {"documents": ["INV"], "reason": "Invoice unreadable",
                                                   "confirm": "1"})
    last_seq = Notification.objects.filter(declaration_id=declaration.pk).latest("seq").seq
    # when
    response = client.post(decide_url(declaration, "resume"), {"reason": "", "confirm": "1"})
    # then: one notice, saying what happened; never "physical control" on a documentary check
    assert response.status_code == 302
    new = list(Notification.objects.filter(declaration_id=declaration.pk, seq__gt=last_seq))
    assert [(n.kind, n.subject, n.payload["control"]) for n in new] == [(
        "documents_required",
        f"{declaration.entry_number}: documents received; the documentary check continues",
        "documentary_check")]
    assert not Notification.objects.filter(declaration_id=declaration.pk, kind="physical_control").exists()


def test_release_orders_and_tasks_are_scoped_to_the_officers_office(officer_client):
    # given: one release order at Mombasa, one at Nairobi
    officer = officer_create("officer", office="MBA")
    supervisor = officer_create("supervisor", office="MBA")
    mombasa = declaration_in_queue("yellow", office="MBA")
    nairobi = declaration_in_queue("yellow", office="NBO")
    for declaration in (mombasa, nairobi):
        declaration_release(declaration_id=declaration.pk, actor=supervisor, reason="Documents in order")
    url = reverse("admin:clearance_releaseorder_changelist")
    # when
    officer_rows = officer_client(officer).get(url).context["cl"].result_list
    supervisor_rows = officer_client(supervisor).get(url).context["cl"].result_list
    # then
    assert [o.declaration_id for o in officer_rows] == [mombasa.pk]
    assert {o.declaration_id for o in supervisor_rows} == {mombasa.pk, nairobi.pk}
    other = ReleaseOrder.objects.get(declaration=nairobi)
    change = officer_client(officer).get(reverse("admin:clearance_releaseorder_change", args=[other.pk]))
    assert change.status_code == 302  # "does not exist" redirect, not another office's order
    assert OfficerTask.objects.filter(declaration=nairobi).count() == 1
