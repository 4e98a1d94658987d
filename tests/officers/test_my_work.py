"""The "My work" landing page: counts per queue, "take next", my open tasks with SLA time left;
queue filters trimmed to what applies to the officer."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from clearance.models import OfficerTask
from clearance.services import declaration_query_agent, officer_task_assign
from core import clock
from tests.factories.officers import declaration_in_queue, live_task, officer_create

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def take_next(queue: str) -> str:
    return reverse("admin:officers_take_next", args=[queue])


def cells(html: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr class="queue-row" id="{row_id}">(.*?)</tr>', html, re.S)
    assert row is not None, row_id
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_counts_per_queue_for_the_officers_office_and_role(officer_client):
    # given: at Mombasa two documentary checks (one over the 4 h SLA), one queried, one red;
    # at Nairobi one more documentary check
    officer = officer_create("officer", office="MBA")
    declaration_in_queue("yellow", age=dt.timedelta(hours=5))
    declaration_in_queue("yellow", age=dt.timedelta(minutes=20))
    queried = declaration_in_queue("yellow", age=dt.timedelta(hours=9))
    declaration_query_agent(declaration_id=queried.pk, documents=["INV"], reason="r", actor=officer)
    declaration_in_queue("red")
    declaration_in_queue("yellow", office="NBO", age=dt.timedelta(hours=6))
    # when
    html = officer_client(officer).get(INDEX).content.decode()
    # then: only the officer's queues (no inspection, no escalated), office-scoped, integers
    assert re.findall(r'<tr class="queue-row" id="(queue-[a-z_]+)">', html) == [
        "queue-documentary_check", "queue-assigned_to_me", "queue-queried"]
    assert cells(html, "queue-documentary_check") == ["Documentary check", "2", "1", ""]
    assert cells(html, "queue-assigned_to_me") == ["Assigned to me", "0", "0", ""]
    assert cells(html, "queue-queried") == ["Queried (waiting for the agent)", "1", "0", ""]  # clock stopped
    assert 'id="take-next-documentary_check"' in html
    assert 'id="take-next-inspection"' not in html
    assert "No task assigned to you. Use “Take next”." in html


def test_take_next_assigns_the_oldest_open_task_and_opens_it(officer_client):
    # given
    first_officer = officer_create("officer")
    second_officer = officer_create("officer")
    oldest = declaration_in_queue("yellow", age=dt.timedelta(hours=3))
    newer = declaration_in_queue("yellow", age=dt.timedelta(hours=1))
    elsewhere = declaration_in_queue("yellow", office="NBO", age=dt.timedelta(hours=8))
    # when
    first = officer_client(first_officer).post(take_next("documentary_check"))
    second = officer_client(second_officer).post(take_next("documentary_check"))
    third = officer_client(second_officer).post(take_next("documentary_check"))
    # then
    assert first.url == reverse("admin:declarations_declaration_change", args=[oldest.pk])
    assert second.url == reverse("admin:declarations_declaration_change", args=[newer.pk])
    assert third.url == INDEX
    assert [str(m) for m in third.wsgi_request._messages] == ["Nothing waiting in this queue."]
    assert (live_task(oldest).status, live_task(oldest).assigned_to) == ("assigned", first_officer)
    assert (live_task(newer).status, live_task(newer).assigned_to) == ("assigned", second_officer)
    assert (live_task(elsewhere).status, live_task(elsewhere).assigned_to) == ("open", None)


def test_take_next_is_post_only_and_role_bound(officer_client):
    # given
    officer = officer_create("officer")
    red = declaration_in_queue("red")
    client = officer_client(officer)
    # when
    get = client.get(take_next("documentary_check"))
    other_role = client.post(take_next("inspection"))
    unknown = client.post(take_next("escalated"))
    # then
    assert (get.status_code, other_role.status_code, unknown.status_code) == (405, 403, 404)
    assert live_task(red).status == "open"


def test_my_open_tasks_show_the_time_left(officer_client, pinned_clock):
    # given
    officer = officer_create("officer")
    urgent = declaration_in_queue("yellow")
    relaxed = declaration_in_queue("yellow")
    for declaration in (urgent, relaxed):
        officer_task_assign(task_id=live_task(declaration).pk, officer=officer, actor=officer)
    pinned_clock.move_to(clock.now())
    now = clock.now()
    OfficerTask.objects.filter(declaration=urgent).update(created_at=now - dt.timedelta(hours=3, minutes=30,
                                                                                          seconds=30))
    OfficerTask.objects.filter(declaration=relaxed).update(created_at=now - dt.timedelta(hours=1, minutes=17,
                                                                                          seconds=30))
    # when
    html = officer_client(officer).get(INDEX).content.decode()
    # then: most urgent first, with the time left against the queue's SLA
    rows = re.findall(r'<tr class="my-task"><td><a href="[^"]+">([^<]+)</a></td><td>([^<]+)</td>.*?'
                      r'<span class="sla ([a-z-]+)">([^<]+)</span></td><td class="left">([^<]+)</td>', html, re.S)
    assert rows == [
        (urgent.entry_number, "Documentary check", "sla-warning", "3h 30m / 4h 00m", "0h 29m left"),
        (relaxed.entry_number, "Documentary check", "sla-ok", "1h 17m / 4h 00m", "2h 42m left"),
    ]
    assert cells(html, "queue-assigned_to_me") == ["Assigned to me", "2", "0", ""]


def test_queue_filters_fit_the_officer(officer_client):
    # given
    officer = officer_create("officer", office="MBA")
    supervisor = officer_create("supervisor", office="MBA")
    declaration_in_queue("yellow")
    url = reverse("admin:officers_documentarycheckqueue_changelist")
    # when
    officer_html = officer_client(officer).get(url).content.decode()
    supervisor_html = officer_client(supervisor).get(url).content.decode()
    # then: lanes and statuses an officer task can have; no office list for a one-office officer
    for html in (officer_html, supervisor_html):
        assert "?lane=yellow" in html
        assert "?lane=red" in html
        assert "lane=green" not in html
        assert "lane__exact" not in html
        assert "?status=queried" in html
        assert "status=released" not in html
    assert "?office=" not in officer_html
    assert "?office=MBA" in supervisor_html
