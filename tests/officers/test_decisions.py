"""Each officer decision through the admin (test client): confirmation page, reason form, the
service's state change, the event row and the agent's notification."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from clearance.models import OfficerTask, ReleaseOrder
from declarations.models import AmendmentRequest, Assessment, Declaration, DeclarationEvent
from notifications.models import Notification
from tests.factories.officers import declaration_in_queue, live_task, lodged_under_control, officer_create

pytestmark = pytest.mark.django_db


def decide_url(declaration: Declaration, key: str) -> str:
    return reverse("admin:declarations_declaration_decide", args=[declaration.pk, key])


def counts(declaration: Declaration) -> tuple[int, int]:
    return (DeclarationEvent.objects.filter(declaration=declaration).count(),
            Notification.objects.filter(declaration_id=declaration.pk).count())


def last_event(declaration: Declaration) -> DeclarationEvent:
    return DeclarationEvent.objects.filter(declaration=declaration).latest("created_at", "id")


def last_notification(declaration: Declaration) -> Notification:
    return Notification.objects.filter(declaration_id=declaration.pk).latest("seq")


def test_confirmation_page_changes_nothing(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    before = counts(declaration)
    # when
    response = officer_client(officer).get(decide_url(declaration, "release"))
    # then
    assert response.status_code == 200
    assert b"Please confirm" in response.content
    assert b'name="reason"' in response.content
    declaration.refresh_from_db()
    assert declaration.status == "under_control"
    assert counts(declaration) == before


def test_release_without_reason_is_refused(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    before = counts(declaration)
    # when
    response = officer_client(officer).post(decide_url(declaration, "release"), {"reason": "", "confirm": "1"})
    # then
    assert response.status_code == 400
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    declaration.refresh_from_db()
    assert (declaration.status, counts(declaration)) == ("under_control", before)
    assert not ReleaseOrder.objects.filter(declaration=declaration).exists()


def test_assign_to_me(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    before = counts(declaration)
    # when
    response = officer_client(officer).post(decide_url(declaration, "assign"), {"confirm": "1"})
    # then
    assert response.status_code == 302
    task = live_task(declaration)
    assert (task.status, task.assigned_to_id) == ("assigned", officer.pk)
    assert counts(declaration) == before  # internal: no status event, nothing sent to the agent


def test_release(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    # when
    response = officer_client(officer).post(decide_url(declaration, "release"),
                                            {"reason": "Invoice and packing list in order", "confirm": "1"})
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:declarations_declaration_change", args=[declaration.pk])
    declaration.refresh_from_db()
    assert declaration.status == "released"
    event = last_event(declaration)
    assert (event.from_status, event.to_status, event.actor_id, event.reason) == (
        "under_control", "released", officer.pk, "Invoice and packing list in order")
    order = ReleaseOrder.objects.get(declaration=declaration)
    assert (order.issued_by_id, order.automatic, order.lane) == (officer.pk, False, "yellow")
    notification = last_notification(declaration)
    assert (notification.kind, notification.created_by_id) == ("released", officer.pk)
    assert OfficerTask.objects.get(declaration=declaration).status == "done"


def test_query_agent_then_documents_received(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    client = officer_client(officer)
    # when
    queried = client.post(decide_url(declaration, "query"), {
        "documents": ["INV", "COO"], "other_documents": "Supplier's price list", "reason": "Value looks low",
        "confirm": "1"})
    declaration.refresh_from_db()
    status_after_query = declaration.status
    query_event = last_event(declaration)
    query_notification = last_notification(declaration)
    resumed = client.post(decide_url(declaration, "resume"), {"reason": "Documents presented", "confirm": "1"})
    # then
    assert (queried.status_code, resumed.status_code) == (302, 302)
    assert status_after_query == "queried"
    assert (query_event.from_status, query_event.to_status, query_event.actor_id) == ("under_control", "queried",
                                                                                      officer.pk)
    assert query_event.payload == {"documents_required": ["INV", "COO", "Supplier's price list"]}
    assert query_notification.kind == "documents_required"
    assert query_notification.payload["documents_required"] == ["INV", "COO", "Supplier's price list"]
    declaration.refresh_from_db()
    assert declaration.status == "under_control"
    assert (last_event(declaration).from_status, last_event(declaration).reason) == ("queried", "Documents presented")


def test_query_requires_a_document(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    # when
    response = officer_client(officer).post(decide_url(declaration, "query"), {"reason": "x", "confirm": "1"})
    # then
    assert response.status_code == 400
    assert response.context["form"].errors["documents"] == ["Name at least one document the agent must present."]
    declaration.refresh_from_db()
    assert declaration.status == "under_control"


def test_request_inspection(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    events_before = DeclarationEvent.objects.filter(declaration=declaration).count()
    # when
    response = officer_client(officer).post(decide_url(declaration, "inspect"),
                                            {"reason": "Seal number differs from the manifest", "confirm": "1"})
    # then
    assert response.status_code == 302
    declaration.refresh_from_db()
    task = live_task(declaration)
    assert (declaration.status, declaration.channel, task.queue, task.lane) == (
        "under_control", "red", "inspection", "red")
    assert task.inspection_requested_at is not None
    notification = last_notification(declaration)
    assert (notification.kind, notification.payload["channel"]) == ("physical_control", "red")
    # the lane change is on the declaration's timeline, with the officer and the reason
    event = DeclarationEvent.objects.filter(declaration=declaration).order_by("-pk").first()
    assert DeclarationEvent.objects.filter(declaration=declaration).count() == events_before + 1
    assert (event.kind, event.actor, event.reason, event.payload["channel"]) == (
        "channel", officer, "Seal number differs from the manifest", {"from": "yellow", "to": "red"})


def test_record_findings_non_compliant_counts_an_offence(officer_client):
    # given
    inspector = officer_create("inspector")
    declaration = declaration_in_queue("red")
    offences_before = declaration.trader.offences_count
    # when
    response = officer_client(inspector).post(decide_url(declaration, "findings"), {
        "findings": "12 cartons undeclared mobile phones behind the declared furniture", "compliant": "no",
        "confirm": "1"})
    # then
    assert response.status_code == 302
    task = live_task(declaration)
    assert (task.findings, task.outcome) == ("12 cartons undeclared mobile phones behind the declared furniture",
                                             "non_compliant")
    declaration.trader.refresh_from_db()
    assert declaration.trader.offences_count == offences_before + 1
    declaration.refresh_from_db()
    assert declaration.status == "under_control"


def test_officer_cannot_record_findings(officer_client):
    # given: documentary-check officers do not examine goods
    officer = officer_create("officer")
    declaration = declaration_in_queue("red")
    # when
    response = officer_client(officer).post(decide_url(declaration, "findings"),
                                            {"findings": "x", "compliant": "yes", "confirm": "1"})
    # then
    assert response.status_code == 403
    assert live_task(declaration).findings == ""


def test_reject_and_seize(officer_client):
    # given
    inspector = officer_create("inspector")
    declaration = declaration_in_queue("red")
    # when
    response = officer_client(inspector).post(decide_url(declaration, "reject"), {
        "reason": "Prohibited goods (EACCMA Second Schedule)", "seize": "on", "confirm": "1"})
    # then
    assert response.status_code == 302
    declaration.refresh_from_db()
    assert declaration.status == "rejected"
    event = last_event(declaration)
    assert (event.from_status, event.to_status, event.actor_id, event.payload) == (
        "under_control", "rejected", inspector.pk, {"seized": True})
    assert last_notification(declaration).kind == "rejected"
    task = OfficerTask.objects.get(declaration=declaration)
    assert (task.status, task.outcome, task.assigned_to_id) == ("done", "seized", inspector.pk)


def test_amend_assessment_creates_a_new_version_the_agent_is_told_about(officer_client):
    # given: a really lodged, assessed, paid declaration under documentary check
    officer = officer_create("officer")
    declaration, _world = lodged_under_control("yellow")
    first = Assessment.objects.get(declaration=declaration)
    body = json.loads(json.dumps(declaration.body))
    body["items"][0]["customs_value"] = "1500.00"  # the officer's valuation (was 1000.00)
    client = officer_client(officer)
    # when
    page = client.get(decide_url(declaration, "amend"))
    response = client.post(decide_url(declaration, "amend"), {
        "body": json.dumps(body), "reason": "Value uplifted to the transaction value of identical goods",
        "confirm": "1"})
    detail = client.get(reverse("admin:declarations_declaration_change", args=[declaration.pk]))
    # then
    assert page.status_code == 200
    assert b"&quot;customs_value&quot;: &quot;1000.00&quot;" in page.content  # prefilled with the current body
    assert response.status_code == 302
    declaration.refresh_from_db()
    assert (declaration.version, declaration.status) == (2, "under_control")
    second = Assessment.objects.filter(declaration=declaration).latest("version")
    assert second.version == first.version + 1
    assert second.total > first.total
    event = last_event(declaration)
    assert (event.kind, event.actor_id, event.reason) == (
        "amendment_accepted", officer.pk, "Value uplifted to the transaction value of identical goods")
    assert event.payload["officer_initiated"] is True
    assert event.payload["difference_kes"] == str(second.total - first.total)
    notification = last_notification(declaration)
    assert (notification.kind, notification.created_by_id) == ("amended", officer.pk)
    html = detail.content.decode()
    assert "<code>/items/0/customs_value</code>" in html
    assert '<td class="before">1000.00</td>' in html
    assert '<td class="after">1500.00</td>' in html


def test_amend_assessment_refused_by_the_service_changes_nothing(officer_client):
    # given: the body does not validate (no items)
    officer = officer_create("officer")
    declaration, _world = lodged_under_control("yellow")
    before = (counts(declaration), declaration.version)
    # when
    response = officer_client(officer).post(decide_url(declaration, "amend"), {
        "body": json.dumps({**declaration.body, "items": []}), "reason": "r", "confirm": "1"})
    # then
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "The request has validation errors. (/items: This list may not be empty.)"]
    declaration.refresh_from_db()
    assert (counts(declaration), declaration.version) == before


def test_amend_rejects_invalid_json(officer_client):
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    response = officer_client(officer).post(decide_url(declaration, "amend"),
                                            {"body": "{not json", "reason": "r", "confirm": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors["body"][0].startswith("Not valid JSON")


def _pending_amendment(declaration: Declaration) -> AmendmentRequest:
    return AmendmentRequest.objects.create(
        declaration=declaration, base_version=declaration.version, body={**declaration.body, "cpc": "4000000"},
        changed_fields=["/items/0/hs_code"], created_at=timezone.now())


def test_reject_amendment_request(officer_client):
    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    request = _pending_amendment(declaration)
    # when
    response = officer_client(officer).post(decide_url(declaration, "reject_amendment"),
                                            {"reason": "HS code claimed does not fit the goods", "confirm": "1"})
    # then
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.decided_by_id, request.decision_reason) == (
        "rejected", officer.pk, "HS code claimed does not fit the goods")
    event = last_event(declaration)
    assert (event.kind, event.actor_id, event.payload) == ("amendment_rejected", officer.pk,
                                                           {"request_id": str(request.pk)})
    assert last_notification(declaration).kind == "amended"


def test_accept_amendment_request_reports_the_service_refusal_after_payment(officer_client):
    # given: a paid declaration under control can no longer take a tax amendment (iCMS rule)
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    request = _pending_amendment(declaration)
    before = counts(declaration)
    # when
    response = officer_client(officer).post(decide_url(declaration, "accept_amendment"), {"confirm": "1"})
    # then
    assert response.status_code == 409
    assert "can no longer be amended" in response.context["form"].non_field_errors()[0]
    request.refresh_from_db()
    assert request.status == "pending"
    assert counts(declaration) == before


def test_cancel_on_agents_request_needs_supervisor(officer_client):
    # given
    officer = officer_create("officer")
    supervisor = officer_create("supervisor")
    declaration = declaration_in_queue("yellow")
    # when
    refused = officer_client(officer).post(decide_url(declaration, "cancel"), {"reason": "x", "confirm": "1"})
    done = officer_client(supervisor).post(decide_url(declaration, "cancel"),
                                           {"reason": "Agent's letter ref. CA/22/118: duplicate entry",
                                            "confirm": "1"})
    # then
    assert (refused.status_code, done.status_code) == (403, 302)
    declaration.refresh_from_db()
    assert declaration.status == "cancelled"
    event = last_event(declaration)
    assert (event.to_status, event.actor_id, event.reason) == (
        "cancelled", supervisor.pk, "Agent's letter ref. CA/22/118: duplicate entry")
    assert last_notification(declaration).kind == "cancelled"
    # and its task left the work queues
    task = OfficerTask.objects.get(declaration=declaration)
    assert (task.status, task.outcome) == ("done", "cancelled")


def test_decision_that_does_not_apply_is_refused_with_a_message(officer_client):
    # given: a released declaration
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    client = officer_client(officer)
    client.post(decide_url(declaration, "release"), {"reason": "ok", "confirm": "1"})
    before = counts(declaration)
    # when
    response = client.post(decide_url(declaration, "release"), {"reason": "again", "confirm": "1"})
    # then: a stale decision page is a conflict, whatever the timing against the winner
    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        f"“Release” does not apply to {declaration.entry_number} (status released)."]
    assert counts(declaration) == before
    assert ReleaseOrder.objects.filter(declaration=declaration).count() == 1


def test_bulk_release_from_the_queue_with_confirmation(officer_client):
    # given
    officer = officer_create("officer")
    first, second = declaration_in_queue("yellow"), declaration_in_queue("yellow")
    selected = [str(live_task(first).pk), str(live_task(second).pk)]
    queue = reverse("admin:officers_documentarycheckqueue_changelist")
    client = officer_client(officer)
    # when: the action shows the confirmation page, then the confirmed form runs it
    confirm_page = client.post(queue, {"action": "decide_release", "_selected_action": selected})
    unchanged = sorted(Declaration.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    done = client.post(queue, {"action": "decide_release", "_selected_action": selected,
                               "reason": "Batch: documents verified", "confirm": "1"})
    # then
    assert confirm_page.status_code == 200
    assert b"Please confirm" not in confirm_page.content  # bulk page
    assert f"{first.entry_number}".encode() in confirm_page.content
    assert unchanged == ["under_control", "under_control"]
    assert done.status_code == 302
    assert sorted(Declaration.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == [
        "released", "released"]
    assert set(Notification.objects.filter(declaration_id__in=[first.pk, second.pk], kind="released")
               .values_list("created_by_id", flat=True)) == {officer.pk}


def test_bulk_action_reports_failures_per_declaration(officer_client):
    # given: one of the two was queried meanwhile
    officer = officer_create("officer")
    ok, queried = declaration_in_queue("yellow"), declaration_in_queue("yellow")
    from clearance.services import declaration_query_agent

    declaration_query_agent(declaration_id=queried.pk, documents=["INV"], reason="r", actor=officer)
    client = officer_client(officer)
    queue = reverse("admin:officers_assignedtomequeue_changelist")
    for d in (ok, queried):
        client.post(decide_url(d, "assign"), {"confirm": "1"})
    selected = [str(live_task(ok).pk), str(live_task(queried).pk)]
    # when
    response = client.post(queue, {"action": "decide_release", "_selected_action": selected, "reason": "go",
                                   "confirm": "1"}, follow=True)
    # then
    messages = [str(m) for m in response.context["messages"]][-2:]  # after the two "assigned" ones
    assert messages[0] == "Release: 1 declaration(s) done."
    assert messages[1].startswith(f"{queried.entry_number}: A declaration in status 'queried' cannot be released")
    ok.refresh_from_db()
    queried.refresh_from_db()
    assert (ok.status, queried.status) == ("released", "queried")


def test_bulk_actions_offered_follow_the_group(officer_client):
    # given
    declaration_in_queue("yellow")
    queue = reverse("admin:officers_documentarycheckqueue_changelist")
    # when
    officer_actions = {name for name, _ in officer_client(officer_create("officer")).get(queue)
                       .context["action_form"].fields["action"].choices if name}
    trainer_page = officer_client(officer_create("trainer")).get(queue)
    # then
    assert officer_actions == {"decide_assign", "decide_release", "decide_query", "decide_inspect"}
    assert trainer_page.context["action_form"] is None or not [
        n for n, _ in trainer_page.context["action_form"].fields["action"].choices if n]
