"""GET /system/status, /system/receipt-key, /maintenance/windows and windows.ics."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar
from rest_framework.authtoken.models import Token

from maintenance.enums import WindowMode, WindowScope, WindowStatus
from tests.factories.maintenance import BufferedSubmissionFactory, MaintenanceWindowFactory, OutageFactory
from tests.factories.traders import UserFactory

from .conftest import T0

H = dt.timedelta(hours=1)


@pytest.fixture
def authed(api_client):
    token = Token.objects.create(user=UserFactory(username="reader"))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


@pytest.mark.django_db
def test_status_quiet(clock, api_client):
    response = api_client.get("/api/v1/system/status")
    assert response.status_code == 200
    assert response.json() == {
        "maintenance": {"active": False, "window": None},
        "upcoming": [],
        "contingency": {"active": False, "since": None, "source": None, "reason": None, "buffered": 0},
    }


@pytest.mark.django_db
def test_status_during_a_buffer_window_with_an_upcoming_one(clock, api_client):
    # given
    active = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.FULL,
                                      mode=WindowMode.BUFFER, reason="Core upgrade")
    upcoming = MaintenanceWindowFactory(starts_at=T0 + 30 * H, ends_at=T0 + 32 * H, reason="Patch")
    MaintenanceWindowFactory(starts_at=T0 + 40 * H, ends_at=T0 + 41 * H, status=WindowStatus.CANCELLED)
    BufferedSubmissionFactory.create_batch(2, window=active)
    BufferedSubmissionFactory(window=active, status="lodged")
    # when (a full window: the status endpoint is still served)
    body = api_client.get("/api/v1/system/status").json()
    # then
    assert body["maintenance"] == {"active": True, "window": {
        "id": str(active.id), "starts_at": "2026-12-01T11:00:00+03:00", "ends_at": "2026-12-01T13:00:00+03:00",
        "scope": "full", "mode": "buffer", "reason": "Core upgrade"}}
    assert [w["id"] for w in body["upcoming"]] == [str(upcoming.id)]
    assert body["contingency"] == {"active": True, "since": "2026-12-01T11:00:00+03:00", "source": "window",
                                   "reason": "Core upgrade", "buffered": 2}


@pytest.mark.django_db
def test_status_during_an_outage(clock, api_client):
    OutageFactory(started_at=T0 - 2 * H, reason="Power")
    body = api_client.get("/api/v1/system/status").json()
    assert body["maintenance"]["active"] is False
    assert body["contingency"] == {"active": True, "since": "2026-12-01T10:00:00+03:00", "source": "outage",
                                   "reason": "Power", "buffered": 0}


@pytest.mark.django_db
def test_receipt_key_is_public(api_client):
    body = api_client.get("/api/v1/system/receipt-key").json()
    assert body["algorithm"] == "Ed25519"
    assert body["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert body["key_id"].startswith("ed25519:")


@pytest.mark.django_db
def test_windows_list_needs_authentication_and_is_paginated(clock, api_client, authed):
    # given
    first = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H)
    second = MaintenanceWindowFactory(starts_at=T0 + 30 * H, ends_at=T0 + 31 * H, status=WindowStatus.CANCELLED)
    # then
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/maintenance/windows").status_code == 401
    page = authed.get("/api/v1/maintenance/windows?page_size=1").json()
    assert page["count"] == 2
    assert page["next"] is not None
    assert page["results"] == [{
        "id": str(first.id), "status": "active", "starts_at": "2026-12-01T11:00:00+03:00",
        "ends_at": "2026-12-01T13:00:00+03:00", "scope": "lodging", "mode": "reject",
        "reason": "iCMS database upgrade", "emergency": False, "notice_given": "2026-12-01T12:00:00+03:00"}]
    cancelled = authed.get("/api/v1/maintenance/windows?status=cancelled").json()
    assert [w["id"] for w in cancelled["results"]] == [str(second.id)]
    bad = authed.get("/api/v1/maintenance/windows?status=soon")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["pointer"] == "/status"


@pytest.mark.django_db
def test_ics_feed(clock, authed):
    # given
    window = MaintenanceWindowFactory(starts_at=dt.datetime(2026, 12, 12, 19, 0, tzinfo=dt.UTC),
                                      ends_at=dt.datetime(2026, 12, 13, 3, 0, tzinfo=dt.UTC),
                                      scope=WindowScope.WRITES, mode=WindowMode.BUFFER, reason="Saturday upgrade")
    cancelled = MaintenanceWindowFactory(starts_at=T0 + 300 * H, ends_at=T0 + 301 * H, status=WindowStatus.CANCELLED)
    # when
    response = authed.get("/api/v1/maintenance/windows.ics")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    raw = response.content.decode()
    assert "DTSTART:20261212T190000Z" in raw
    assert "DTEND:20261213T030000Z" in raw
    cal = Calendar.from_ical(response.content)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"{window.id}@forodha", f"{cancelled.id}@forodha"}
    event = events[f"{window.id}@forodha"]
    assert str(event["SUMMARY"]) == "Forodha maintenance (All writes): Saturday upgrade"
    description = str(event["DESCRIPTION"])
    assert "Scope: writes" in description
    assert "Mode: buffer" in description
    assert "East Africa Time: Sat 12 Dec 2026 22:00 to Sun 13 Dec 2026 06:00" in description
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(events[f"{cancelled.id}@forodha"]["STATUS"]) == "CANCELLED"
