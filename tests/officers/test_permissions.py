"""Who may enter the officer workspace and see what: groups, agents kept out, office scoping,
login throttling."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clearance.models import OfficerTask
from officers.groups import GROUP_PERMISSIONS
from tests.factories.officers import PASSWORD, declaration_in_queue, officer_create
from tests.factories.traders import AgentStaffFactory

pytestmark = pytest.mark.django_db

DOC_QUEUE = reverse("admin:officers_documentarycheckqueue_changelist")
INSPECTION_QUEUE = reverse("admin:officers_inspectionqueue_changelist")
ESCALATED_QUEUE = reverse("admin:officers_escalatedqueue_changelist")
DECLARATIONS = reverse("admin:declarations_declaration_changelist")
RULES = reverse("admin:risk_riskrule_changelist")
WINDOWS = reverse("admin:maintenance_maintenancewindow_changelist")
DASHBOARD = reverse("admin:officers_dashboard")


def test_groups_hold_exactly_the_listed_permissions():
    # when
    granted = {
        group.name: {f"{p.content_type.app_label}.{p.codename}"
                     for p in group.permissions.select_related("content_type")}
        for group in Group.objects.filter(name__in=GROUP_PERMISSIONS)
    }
    # then: every group exists and holds its table (maintenance admin may hold its app's extras)
    assert set(granted) == {"officer", "inspector", "supervisor", "risk analyst", "maintenance admin", "trainer",
                            "transit officer"}
    for name, perms in GROUP_PERMISSIONS.items():
        assert set(perms) <= granted[name], name
    assert granted["officer"] == set(GROUP_PERMISSIONS["officer"])
    assert "officers.release_declaration" not in granted["trainer"]
    assert "officers.reject_declaration" not in granted["officer"]
    assert "officers.view_all_offices" in granted["supervisor"]


def test_sync_is_idempotent():
    from officers.groups import groups_sync

    # given
    before = {g.name: g.permissions.count() for g in Group.objects.all()}
    # when
    groups_sync(create_missing_permissions=True)
    groups_sync()
    # then
    assert {g.name: g.permissions.count() for g in Group.objects.all()} == before


@pytest.mark.parametrize(
    ("group", "allowed", "forbidden"),
    [
        ("officer", [DOC_QUEUE, DECLARATIONS, DASHBOARD], [INSPECTION_QUEUE, ESCALATED_QUEUE, RULES, WINDOWS]),
        ("inspector", [INSPECTION_QUEUE, DECLARATIONS, DASHBOARD], [DOC_QUEUE, ESCALATED_QUEUE, RULES, WINDOWS]),
        ("supervisor", [DOC_QUEUE, INSPECTION_QUEUE, ESCALATED_QUEUE, DECLARATIONS, DASHBOARD], [RULES, WINDOWS]),
        ("risk analyst", [RULES, DECLARATIONS, DASHBOARD], [DOC_QUEUE, INSPECTION_QUEUE, WINDOWS]),
        ("maintenance admin", [WINDOWS, DASHBOARD], [DOC_QUEUE, DECLARATIONS, RULES]),
        ("trainer", [DOC_QUEUE, INSPECTION_QUEUE, ESCALATED_QUEUE, DECLARATIONS, DASHBOARD], [RULES + "add/", WINDOWS]),
    ],
)
def test_each_group_reaches_its_pages_only(group, allowed, forbidden, officer_client):
    # given
    client = officer_client(officer_create(group))
    # when / then
    assert {url: client.get(url).status_code for url in allowed} == dict.fromkeys(allowed, 200)
    assert {url: client.get(url).status_code for url in forbidden} == dict.fromkeys(forbidden, 403)


def test_trainer_sees_no_decision_buttons_and_cannot_post_one(officer_client):
    # given
    trainer = officer_create("trainer")
    declaration = declaration_in_queue("yellow")
    client = officer_client(trainer)
    detail = reverse("admin:declarations_declaration_change", args=[declaration.pk])
    # when
    page = client.get(detail)
    response = client.post(reverse("admin:declarations_declaration_decide", args=[declaration.pk, "release"]),
                           {"reason": "try", "confirm": "1"})
    # then
    assert page.status_code == 200
    assert b'id="decide-' not in page.content
    assert response.status_code == 403
    declaration.refresh_from_db()
    assert declaration.status == "under_control"


def test_agent_staff_cannot_log_into_the_admin(client):
    # given: an agent's staff user, even one wrongly marked is_staff
    staff = AgentStaffFactory(user__username="agentuser")
    staff.user.set_password(PASSWORD)
    staff.user.is_staff = True
    staff.user.save()
    # when
    response = client.post(reverse("admin:login"), {"username": "agentuser", "password": PASSWORD,
                                                    "next": "/admin/"})
    # then
    assert response.status_code == 200
    assert b"Clearing-agent accounts cannot use the officer workspace" in response.content
    assert "_auth_user_id" not in client.session


def test_agent_session_is_refused_by_the_admin_site(client):
    # given: a session obtained elsewhere (e.g. the browsable API)
    staff = AgentStaffFactory(user__username="agentuser2")
    staff.user.is_staff = True
    staff.user.save()
    client.force_login(staff.user)
    # when
    response = client.get(DECLARATIONS)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_officer_sees_only_own_office_supervisor_sees_all(officer_client):
    # given
    mombasa = declaration_in_queue("yellow", office="MBA")
    nairobi = declaration_in_queue("yellow", office="NBO")
    officer = officer_create("officer", office="MBA")
    supervisor = officer_create("supervisor", office="MBA")
    # when
    officer_rows = officer_client(officer).get(DOC_QUEUE).context["cl"].result_list
    supervisor_rows = officer_client(supervisor).get(DOC_QUEUE).context["cl"].result_list
    other_office = officer_client(officer).get(reverse("admin:declarations_declaration_change", args=[nairobi.pk]))
    decide_other = officer_client(officer).post(
        reverse("admin:declarations_declaration_decide", args=[nairobi.pk, "release"]), {"reason": "x"})
    # then
    assert [t.declaration_id for t in officer_rows] == [mombasa.pk]
    assert {t.declaration_id for t in supervisor_rows} == {mombasa.pk, nairobi.pk}
    assert other_office.status_code == 302  # "does not exist" redirect, like any unknown id
    assert decide_other.status_code == 404
    nairobi.refresh_from_db()
    assert nairobi.status == "under_control"


def test_officer_without_office_assignment_sees_no_declarations(officer_client):
    # given
    declaration_in_queue("yellow")
    officer = officer_create("officer", with_profile=False)
    # when
    response = officer_client(officer).get(DOC_QUEUE)
    # then
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert OfficerTask.objects.count() == 1


def test_login_is_throttled_after_repeated_failures(client):
    # given
    officer_create("officer", username="throttled")
    login = reverse("admin:login")
    # when: five wrong passwords, then the right one
    failures = [client.post(login, {"username": "throttled", "password": "wrong", "next": "/admin/"}).status_code
                for _ in range(5)]
    locked = client.post(login, {"username": "throttled", "password": PASSWORD, "next": "/admin/"})
    # then
    assert failures[:4] == [200, 200, 200, 200]
    assert failures[4] == 429
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_one_password_sprayed_across_usernames_locks_the_address_out(client):
    # given a real officer, and an attacker on one address trying one password on many usernames
    officer_create("officer", username="sprayed-real")
    login = reverse("admin:login")
    spray = [client.post(login, {"username": f"guess{n}", "password": "Summer2026!", "next": "/admin/"},
                         REMOTE_ADDR="203.0.113.7").status_code for n in range(5)]
    # when the same address then tries yet another username, even with the right password
    locked = client.post(login, {"username": "sprayed-real", "password": PASSWORD, "next": "/admin/"},
                         REMOTE_ADDR="203.0.113.7")
    # then the address is locked out, while another address can still sign in
    assert spray == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    elsewhere = client.post(login, {"username": "sprayed-real", "password": PASSWORD, "next": "/admin/"},
                            REMOTE_ADDR="198.51.100.20")
    assert elsewhere.status_code == 302
    assert client.session["_auth_user_id"]


def test_login_succeeds_for_an_officer_and_sets_secure_session_cookie(client):
    # given
    officer_create("officer", username="goodlogin")
    # when
    response = client.post(reverse("admin:login"), {"username": "goodlogin", "password": PASSWORD,
                                                    "next": "/admin/"})
    # then
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == ""  # expires with the browser (SESSION_EXPIRE_AT_BROWSER_CLOSE)


def test_admin_forms_require_csrf():
    from django.test import Client

    # given
    officer = officer_create("officer")
    declaration = declaration_in_queue("yellow")
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    # when
    response = client.post(reverse("admin:declarations_declaration_decide", args=[declaration.pk, "release"]),
                           {"reason": "no token", "confirm": "1"})
    # then
    assert response.status_code == 403
    declaration.refresh_from_db()
    assert declaration.status == "under_control"


def test_sync_command_recreates_a_deleted_group():
    from io import StringIO

    from django.core.management import call_command

    # given
    Group.objects.filter(name="inspector").delete()
    out = StringIO()
    # when
    call_command("officers_sync_groups", stdout=out)
    # then
    inspector = Group.objects.get(name="inspector")
    assert inspector.permissions.count() == len(GROUP_PERMISSIONS["inspector"])
    assert f"inspector: {len(GROUP_PERMISSIONS['inspector'])} permissions" in out.getvalue()
