"""The maintenance admin's forms and the `maintenance`/`outage` commands for people: times in East
Africa Time without microseconds, pickers opening on the (sandbox) clock, durations as "2h 00m",
and a confirmation before an outage ends (admin action and command)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from maintenance.models import MaintenanceWindow, Outage, OutageEvent, OutageReport
from tests.factories.traders import UserFactory

pytestmark = pytest.mark.django_db

MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{1,6}")
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|\+00:00)")


@pytest.fixture
def maintenance_admin(client, settings, monkeypatch):  # type: ignore[no-untyped-def]
    settings.MAINTENANCE_CACHE_SECONDS = 0
    monkeypatch.setattr("maintenance.services.enqueue_replay", lambda: None)
    user = UserFactory(username="duty", is_staff=True)
    user.groups.add(Group.objects.get(name="maintenance admin"))
    client.force_login(user)
    return user


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_window_form_pickers_open_on_the_clock_and_read_east_africa_time(client, maintenance_admin, pinned_clock):
    # given: the clock at 26 Nov 2026 13:20:00.5 EAT (a sandbox clock would be read the same way)
    pinned_clock.move_to(dt.datetime(2026, 11, 26, 10, 20, 0, 500000, tzinfo=dt.UTC))
    # when
    form = client.get("/admin/maintenance/maintenancewindow/add/").content.decode()
    too_soon = client.post("/admin/maintenance/maintenancewindow/add/", {
        "starts_at_0": "2026-11-27", "starts_at_1": "09:00", "ends_at_0": "2026-11-27", "ends_at_1": "11:00",
        "scope": "lodging", "mode": "reject", "reason": "x"})
    with timezone.override("UTC"):
        good = client.post("/admin/maintenance/maintenancewindow/add/", {
            "starts_at_0": "2026-12-05", "starts_at_1": "22:00", "ends_at_0": "2026-12-06", "ends_at_1": "06:00",
            "scope": "writes", "mode": "reject", "reason": "Upgrade"})
    # then: date and time inputs on the first whole hour after the 24 h notice (27 Nov 14:00 EAT)
    assert ('<input type="date" name="starts_at_0" value="2026-11-27" required id="id_starts_at_0">'
            '<input type="time" name="starts_at_1" value="14:00" required id="id_starts_at_1">') in form
    assert '<input type="time" name="ends_at_1" value="16:00" required id="id_ends_at_1">' in form
    assert "East Africa Time (UTC+3)" in form
    assert "DateTimeShortcuts" not in form  # not the admin calendar, which reads the browser's date
    # ... the notice error names a whole minute, never microseconds
    assert too_soon.status_code == 200
    assert ("Windows need 24 h notice; mark it emergency to schedule it sooner (earliest start "
            "2026-11-27T13:21:00+03:00).") in too_soon.content.decode()
    # ... 22:00 typed is 22:00 EAT (19:00 UTC) whatever the active time zone
    assert good.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert (window.starts_at, window.ends_at) == (dt.datetime(2026, 12, 5, 19, 0, tzinfo=dt.UTC),
                                                   dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC))
    assert str(window) == "writes/reject 2026-12-05 22:00-2026-12-06 06:00 EAT"


def test_window_pages_show_east_africa_time_without_microseconds(client, maintenance_admin, pinned_clock):
    # given
    pinned_clock.move_to(dt.datetime(2026, 11, 25, 7, 0, 0, 123456, tzinfo=dt.UTC))
    client.post("/admin/maintenance/maintenancewindow/add/", {
        "starts_at_0": "2026-12-05", "starts_at_1": "22:00", "ends_at_0": "2026-12-06", "ends_at_1": "06:00",
        "scope": "writes", "mode": "reject", "reason": "Upgrade"})
    window = MaintenanceWindow.objects.get()
    client.post(f"/admin/maintenance/maintenancewindow/{window.id}/change/", {
        "extend_until_0": "2026-12-06", "extend_until_1": "08:00", "action_reason": "Slow migration"})
    # when
    listing = client.get("/admin/maintenance/maintenancewindow/").content.decode()
    page = client.get(f"/admin/maintenance/maintenancewindow/{window.id}/change/").content.decode()
    # then
    assert '<td class="field-ends">06 Dec 2026 08:00 EAT</td>' in listing
    assert '<th class="field-starts"><a href="' in listing
    assert "05 Dec 2026 22:00 EAT</a></th>" in listing
    assert f"<li>25 Nov 2026 10:00 EAT — scheduled: - &rarr; scheduled by duty: Upgrade (id: {window.id}; " in page
    assert "ends at: 06 Dec 2026 06:00 EAT; emergency: False; starts at: 05 Dec 2026 22:00 EAT)</li>" in page
    assert ("<li>25 Nov 2026 10:00 EAT — extended: scheduled &rarr; scheduled by duty: Slow migration "
            "(ends at: 06 Dec 2026 08:00 EAT; ends at before: 06 Dec 2026 06:00 EAT)</li>") in page
    assert '<div class="readonly">25 Nov 2026 10:00 EAT</div>' in page  # announced / created
    assert '<input type="date" name="extend_until_0" id="id_extend_until_0">' in page
    for text in (listing, page):
        assert not MICROSECONDS.search(text)
        assert not ISO_UTC.search(text)


def test_ending_an_outage_in_the_admin_asks_first(client, maintenance_admin, pinned_clock):
    # given: an outage declared at 10:00 EAT, two hours ago
    assert client.post("/admin/maintenance/outage/add/", {"reason": "Power"}).status_code == 302
    outage = Outage.objects.get()
    pinned_clock.advance(dt.timedelta(hours=2, microseconds=250))
    # when: the action is chosen
    asked = client.post("/admin/maintenance/outage/", {"action": "end_outages", "_selected_action": [str(outage.id)]})
    # then: a confirmation page, and nothing ended yet
    text = asked.content.decode()
    assert asked.status_code == 200
    assert ("<li>Outage declared 25 Nov 2026 10:00 EAT by duty, 2h 00m so far: Power</li>") in text
    assert "the replay of <strong>0</strong> buffered submissions waiting starts at once" in text
    assert 'value="Yes, end the outage and start the replay"' in text
    outage.refresh_from_db()
    assert (outage.status, outage.ended_at) == ("active", None)
    assert list(OutageEvent.objects.filter(outage=outage).values_list("to_status", flat=True)) == ["active"]
    # when: confirmed with a reason
    done = client.post("/admin/maintenance/outage/", {"action": "end_outages", "_selected_action": [str(outage.id)],
                                                      "confirm": "yes", "reason": "Power back"}, follow=True)
    # then
    outage.refresh_from_db()
    assert (outage.status, outage.ended_by) == ("ended", maintenance_admin)
    assert OutageEvent.objects.filter(outage=outage).latest("created_at").reason == "Power back"
    assert "Outage of 25 Nov 2026 10:00 EAT ended after 2h 00m; replay started." in done.content.decode()
    listing = client.get("/admin/maintenance/outage/").content.decode()
    assert '<td class="field-length">2h 00m</td>' in listing
    assert not MICROSECONDS.search(listing)
    report = OutageReport.objects.get(outage=outage)
    assert str(report) == "report 2026-11-25 10:00 EAT: 0 lodged, 0 rejected"
    reports = client.get("/admin/maintenance/outagereport/").content.decode()
    assert '<td class="field-period_end">25 Nov 2026 12:00 EAT</td>' in reports
    assert not MICROSECONDS.search(reports)


def test_outage_command_prints_east_africa_time_and_asks_before_ending(monkeypatch, pinned_clock, settings):
    # given
    monkeypatch.setattr("maintenance.services.enqueue_replay", lambda: None)
    pinned_clock.move_to(dt.datetime(2026, 11, 25, 7, 0, 0, 123456, tzinfo=dt.UTC))
    started = _run("outage", "start", "--reason", "Fibre cut")
    outage = Outage.objects.get()
    pinned_clock.advance(dt.timedelta(hours=2, minutes=5, seconds=3))
    answers = iter(["n", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    # when
    status = _run("outage", "status")
    refused = _run("outage", "end")
    still_active = Outage.objects.get().status
    ended = _run("outage", "end", "--reason", "Restored")
    # then
    assert started == f"outage {outage.id} declared at 2026-11-25T10:00:00+03:00\n"
    assert status == (f"outage: {outage.id} (declared 2026-11-25T10:00:00+03:00, 2h 05m ago); "
                      "buffered: pending 0, replaying 0, lodged 0, rejected 0\n")
    assert refused == (f"outage {outage.id} declared 2026-11-25T10:00:00+03:00 (2h 05m ago): Fibre cut\n"
                       "0 buffered submission(s) waiting; ending it starts the replay.\n"
                       "not ended (answer y to end it, or pass --yes)\n")
    assert still_active == "active"
    assert ended.endswith(f"outage {outage.id} ended at 2026-11-25T12:05:03+03:00 after 2h 05m; replay enqueued\n")
    assert Outage.objects.get().status == "ended"
