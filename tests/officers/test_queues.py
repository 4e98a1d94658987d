"""Queue contents, search, filters, SLA column, the detail page's sections, and query counts
that do not grow with the number of rows (no N+1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clearance.models import OfficerTask
from clearance.services import declaration_query_agent, officer_task_assign, officer_tasks_escalate
from core import clock
from declarations.models import AttachedDocument, Declaration, DeclarationVersion
from manifests.models import Container
from tests.factories.manifests import BillOfLadingFactory
from tests.factories.officers import declaration_in_queue, live_task, officer_create
from tests.factories.traders import AEOProfileFactory, TraderFactory

pytestmark = pytest.mark.django_db


def queue_url(name: str) -> str:
    return reverse(f"admin:officers_{name}queue_changelist")


def rows(client, url: str, **params) -> list[Declaration]:  # type: ignore[no-untyped-def]
    response = client.get(url, params)
    assert response.status_code == 200
    return [task.declaration for task in response.context["cl"].result_list]


def test_each_queue_holds_its_declarations(officer_client):
    # given
    supervisor = officer_create("supervisor")
    yellow, red, queried, escalated, mine = (declaration_in_queue(lane) for lane in
                                             ("yellow", "red", "yellow", "yellow", "red"))
    declaration_query_agent(declaration_id=queried.pk, documents=["INV"], reason="r", actor=supervisor)
    OfficerTask.objects.filter(declaration=escalated).update(created_at=clock.now() - dt.timedelta(hours=5))
    officer_tasks_escalate()
    officer_task_assign(task_id=live_task(mine).pk, officer=supervisor, actor=supervisor)
    client = officer_client(supervisor)
    # when
    found = {name: {d.pk for d in rows(client, queue_url(name))}
             for name in ("documentarycheck", "inspection", "queried", "escalated", "assignedtome")}
    # then
    assert found == {
        "documentarycheck": {yellow.pk, escalated.pk},
        "inspection": {red.pk, mine.pk},
        "queried": {queried.pk},
        "escalated": {escalated.pk},
        "assignedtome": {mine.pk},
    }


def test_queue_order_puts_aeo_priority_first_then_oldest(officer_client):
    # given
    officer = officer_create("officer")
    old = declaration_in_queue("yellow", age=dt.timedelta(hours=2))
    new = declaration_in_queue("yellow", age=dt.timedelta(minutes=5))
    aeo = declaration_in_queue("yellow", age=dt.timedelta(minutes=1))
    OfficerTask.objects.filter(declaration=aeo).update(priority=True)
    # when
    order = [d.pk for d in rows(officer_client(officer), queue_url("documentarycheck"))]
    # then
    assert order == [aeo.pk, old.pk, new.pk]


def test_search_by_entry_number_ucr_pin_bl_and_container(officer_client):
    # given
    officer = officer_create("officer")
    bl = BillOfLadingFactory()
    Container.objects.create(bill_of_lading=bl, number="CSQU3054383")
    target = declaration_in_queue("yellow", bill_of_lading=bl)
    other = declaration_in_queue("yellow")
    client = officer_client(officer)
    url = queue_url("documentarycheck")
    # when
    found = {
        term: [d.pk for d in rows(client, url, q=term)]
        for term in (target.entry_number, target.ucr.lower(), target.importer_pin, bl.number, "csqu3054383")
    }
    nothing = rows(client, url, q="NO-SUCH-THING")
    everything = rows(client, url, q="   ")
    # then
    assert found == {key: [target.pk] for key in found}
    assert nothing == []
    assert {d.pk for d in everything} == {target.pk, other.pk}


def test_filters_lane_office_regime_status_aeo_and_age(officer_client):
    # given
    supervisor = officer_create("supervisor")
    aeo_trader = TraderFactory()
    AEOProfileFactory(trader=aeo_trader)
    overdue = declaration_in_queue("yellow", age=dt.timedelta(hours=5))
    fresh_aeo = declaration_in_queue("yellow", trader=aeo_trader, age=dt.timedelta(minutes=10))
    nairobi = declaration_in_queue("red", office="NBO", age=dt.timedelta(hours=30))
    client = officer_client(supervisor)
    url = queue_url("escalated")
    OfficerTask.objects.update(escalated_at=clock.now())  # all three in one queue for the filters
    # when
    found = {
        "lane=red": rows(client, url, lane="red"),
        "office=NBO": rows(client, url, office="NBO"),
        "regime=IM4": rows(client, url, declaration__regime="IM4"),
        "status=under_control": rows(client, url, status="under_control"),
        "aeo=yes": rows(client, url, aeo="yes"),
        "aeo=no": rows(client, url, aeo="no"),
        "age=lt1h": rows(client, url, age="lt1h"),
        "age=4to24h": rows(client, url, age="4to24h"),
        "age=gt24h": rows(client, url, age="gt24h"),
        "age=overdue": rows(client, url, age="overdue"),
    }
    # then
    pks = {key: {d.pk for d in value} for key, value in found.items()}
    assert pks == {
        "lane=red": {nairobi.pk},
        "office=NBO": {nairobi.pk},
        "regime=IM4": {overdue.pk, fresh_aeo.pk, nairobi.pk},
        "status=under_control": {overdue.pk, fresh_aeo.pk, nairobi.pk},
        "aeo=yes": {fresh_aeo.pk},
        "aeo=no": {overdue.pk, nairobi.pk},
        "age=lt1h": {fresh_aeo.pk},
        "age=4to24h": {overdue.pk},
        "age=gt24h": {nairobi.pk},
        "age=overdue": {overdue.pk, nairobi.pk},  # yellow > 4 h, red > 24 h
    }


def test_sla_column_shows_age_against_the_limit(officer_client):
    # given
    officer = officer_create("officer")
    declaration_in_queue("yellow", age=dt.timedelta(hours=5, minutes=7))
    # when
    response = officer_client(officer).get(queue_url("documentarycheck"))
    # then
    assert b'<span class="sla sla-overdue">5h 07m / 4h 00m</span>' in response.content


def _list_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", [queue_url("documentarycheck"), reverse("admin:declarations_declaration_changelist")])
def test_list_pages_run_a_fixed_number_of_queries(url, officer_client, django_assert_max_num_queries):
    # given
    officer = officer_create("officer")
    client = officer_client(officer)
    aeo_trader = TraderFactory()
    AEOProfileFactory(trader=aeo_trader)
    for n in range(3):
        declaration_in_queue("yellow", trader=aeo_trader if n == 0 else None)
    client.get(url)  # warm the session
    few = _list_queries(client, url)
    for _ in range(27):
        declaration_in_queue("yellow")
    # when / then
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 30
    assert _list_queries(client, url) == few  # 30 rows cost what 3 rows cost


def test_detail_page_shows_every_section_in_a_fixed_number_of_queries(officer_client, django_assert_max_num_queries):
    # given
    officer = officer_create("officer")
    bl = BillOfLadingFactory()
    Container.objects.create(bill_of_lading=bl, number="MSCU1234565")
    declaration = declaration_in_queue("yellow", bill_of_lading=bl, hits=[
        {"rule_id": 7, "kind": "value_per_kg_low", "weight": 40, "forced_lane": None,
         "reason": "value per kg 12.00 KES is 8 % of the reference price"},
        {"rule_id": 9, "kind": "first_time_trader", "weight": 20, "forced_lane": "yellow",
         "reason": "trader has no declaration history"},
    ])
    AttachedDocument.objects.create(declaration=declaration, kind="INV", reference="INV-2026-0042")
    now = clock.now()
    DeclarationVersion.objects.create(declaration=declaration, number=1, snapshot={"body": {"cpc": "4000000"}},
                                      reason="lodged", created_at=now)
    DeclarationVersion.objects.create(declaration=declaration, number=2, snapshot={"body": {"cpc": "4000001"}},
                                      reason="alteration", created_at=now, created_by=officer)
    client = officer_client(officer)
    url = reverse("admin:declarations_declaration_change", args=[declaration.pk])
    client.get(url)
    # when
    # 23 + uploaded files, queries (+ their answer files when there are some) and gate events
    with django_assert_max_num_queries(26):
        response = client.get(url)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for needle in (
        "value per kg 12.00 KES is 8 % of the reference price", "trader has no declaration history",  # risk
        "8703.22.90", "Used motor car, 1490 cc petrol",  # items
        "INV-2026-0042",  # documents
        "MSCU1234565",  # containers
        'id="timeline"', "System put the declaration under control for a documentary check",  # events
        "<code>/cpc</code>", '<td class="before">4000000</td>', '<td class="after">4000001</td>',  # versions
        "Documents required",  # notification sent when put under control
        'id="decide-release"', 'id="decide-query"', 'id="decide-inspect"', 'id="decide-assign"',
    ):
        assert needle in html, needle
    assert 'id="decide-findings"' not in html  # inspection only
    assert 'id="decide-reject"' not in html  # officers do not reject


def test_detail_page_is_read_only(officer_client):
    # given
    supervisor = officer_create("supervisor")
    declaration = declaration_in_queue("yellow")
    url = reverse("admin:declarations_declaration_change", args=[declaration.pk])
    # when: a forged form post tries to change the financial fields
    response = officer_client(supervisor).post(url, {"invoice_amount": "1.00", "channel": "green"})
    # then
    assert response.status_code == 403
    declaration.refresh_from_db()
    assert (declaration.invoice_amount, declaration.channel) == (660000, "yellow")
