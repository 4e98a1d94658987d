"""The dashboard: lanes per day, time to release per lane, backlog, maintenance and contingency."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from clearance.services import declaration_release
from core import clock
from declarations.models import Declaration
from tests.factories.maintenance import BufferedSubmissionFactory, MaintenanceWindowFactory, OutageFactory
from tests.factories.officers import declaration_in_queue, officer_create
from tests.factories.risk import declaration_make

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:officers_dashboard")


def test_dashboard_figures_and_charts(officer_client):
    # given
    supervisor = officer_create("supervisor")
    now = clock.now()
    released = []
    for hours in (2, 4, 10):
        declaration = declaration_in_queue("yellow", lodged_at=now - dt.timedelta(hours=hours))
        declaration_release(declaration_id=declaration.pk, actor=supervisor, reason="ok")
        released.append(declaration)
    declaration_in_queue("red", lodged_at=now - dt.timedelta(minutes=30))
    declaration_make(status="assessed", channel="green", lodged_at=now - dt.timedelta(days=2))
    declaration_make(status="registered", lodged_at=now - dt.timedelta(days=20))  # outside the 14 days, no lane
    window = MaintenanceWindowFactory(starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1, hours=8),
                                      reason="iCMS database upgrade")
    MaintenanceWindowFactory(starts_at=now - dt.timedelta(days=3), ends_at=now - dt.timedelta(days=2),
                             status="completed", reason="old window")
    OutageFactory(reason="Data centre power failure", started_at=now - dt.timedelta(minutes=40))
    BufferedSubmissionFactory.create_batch(3)
    BufferedSubmissionFactory(status="lodged")
    # when
    response = officer_client(supervisor).get(DASHBOARD)
    # then
    assert response.status_code == 200
    figures = response.context["figures"]
    today = timezone.localtime(now).date()
    by_day = {d.day: d.counts for d in figures.days}
    assert len(figures.days) == 14
    assert max(by_day) == today
    assert by_day[timezone.localtime(now - dt.timedelta(minutes=30)).date()]["red"] == 1
    assert by_day[timezone.localtime(now - dt.timedelta(days=2)).date()]["green"] == 1
    totals = {lane: sum(c[lane] for c in by_day.values()) for lane in ("green", "blue", "yellow", "red")}
    assert totals == {"green": 1, "blue": 0, "yellow": 3, "red": 1}  # the 20-day-old one is outside
    yellow = figures.release_times["yellow"]
    assert yellow.count == 3
    assert round(yellow.median_seconds / 3600, 1) == 4.0
    assert round(yellow.p90_seconds / 3600, 1) == 10.0
    assert figures.backlog == {"registered": 1, "assessed": 1, "paid": 0, "under_control": 1, "queried": 0}
    assert [w.pk for w in figures.windows] == [window.pk]
    assert figures.active_outage.reason == "Data centre power failure"
    assert figures.buffered_pending == 3
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert "yellow (3)" in html
    assert "median 4.0 h" in html
    assert "p90 10.0 h" in html
    assert "Outage active since" in html
    assert "iCMS database upgrade" in html
    assert "Buffered submissions waiting for replay: <strong>3</strong>" in html
    assert "<script" not in html.split('id="content-main"')[1]  # charts are server-rendered SVG
    assert "cdn" not in html.lower()


def test_dashboard_is_scoped_to_the_officers_office(officer_client):
    # given
    declaration_in_queue("yellow", office="MBA")
    declaration_in_queue("yellow", office="NBO")
    officer = officer_create("officer", office="NBO")
    # when
    figures = officer_client(officer).get(DASHBOARD).context["figures"]
    # then
    assert figures.backlog["under_control"] == 1
    assert Declaration.objects.filter(status="under_control").count() == 2


def test_dashboard_labels_are_escaped(officer_client):
    # given
    supervisor = officer_create("supervisor")
    now = clock.now()
    MaintenanceWindowFactory(starts_at=now + dt.timedelta(hours=30), ends_at=now + dt.timedelta(hours=32),
                             reason="<script>alert(1)</script>")
    # when
    html = officer_client(supervisor).get(DASHBOARD).content.decode()
    # then
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_dashboard_needs_the_permission(officer_client):
    user = officer_create("officer")
    user.groups.clear()
    user.is_staff = True
    user.save()
    assert officer_client(user).get(DASHBOARD).status_code == 403


def test_dashboard_counts_are_whole_numbers_and_click_through_to_the_lists(officer_client):
    # given
    supervisor = officer_create("supervisor")
    now = clock.now()
    red = declaration_in_queue("red", lodged_at=now - dt.timedelta(minutes=30))
    declaration_in_queue("yellow", lodged_at=now - dt.timedelta(days=1))
    client = officer_client(supervisor)
    today = timezone.localtime(now).date().isoformat()
    # when
    html = client.get(DASHBOARD).content.decode()
    # then: the backlog chart prints counts, not "1.0"
    backlog = html.split('id="chart-backlog"')[1].split("</section>")[0]
    assert re.findall(r'class="value">([^<]*)</text>', backlog) == ["0", "0", "0", "2", "0"]
    # and its bars, the lane segments and the day labels open the filtered declarations list
    changelist = reverse("admin:declarations_declaration_changelist")
    assert f'<a href="{changelist}?status__exact=under_control">' in backlog
    segment = f"{changelist}?lodged_on={today}&amp;channel__exact=red"
    assert f'<a href="{segment}"><rect' in html
    opened = client.get(f"{changelist}?lodged_on={today}&channel__exact=red")
    assert opened.status_code == 200
    assert [d.pk for d in opened.context["cl"].result_list] == [red.pk]
    by_status = client.get(f"{changelist}?status__exact=under_control")
    assert len(by_status.context["cl"].result_list) == 2
    assert "1.0" not in backlog
