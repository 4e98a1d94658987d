"""Through the real declarations app: buffered during a 5-day outage, replayed by the default
lodge callable (`declarations.replay.lodge_buffered`)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from declarations.models import Declaration
from maintenance import services
from maintenance.enums import SubmissionStatus
from maintenance.models import BufferedSubmission, OutageReport
from tests.factories.declarations import body_im4, world_create


@pytest.mark.django_db
def test_buffered_declaration_is_lodged_at_its_receipt_time_with_deadline_relief(clock, monkeypatch):
    # given an agent with a B/L ready to declare, and an outage
    monkeypatch.setattr(services, "enqueue_replay", lambda: None)
    world = world_create()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    services.outage_start(reason="iCMS down", actor=None)
    clock.advance(hours=3)
    received = clock()
    # when the agent lodges during the outage
    response = api.post("/api/v1/declarations", body_im4(world), format="json")
    assert response.status_code == 202
    assert Declaration.objects.count() == 0
    # ... the outage lasts 5 days in all, then the replay runs
    clock.advance(days=5, hours=-3)
    services.outage_end(actor=None)
    clock.advance(minutes=20)
    report = services.replay_buffered(actor=None)
    # then
    assert (report.lodged, report.rejected, report.remaining) == (1, 0, 0)
    submission = BufferedSubmission.objects.get()
    declaration = Declaration.objects.get()
    assert submission.status == SubmissionStatus.LODGED
    assert submission.result["entry_number"] == declaration.entry_number
    assert declaration.lodged_at == received
    expected_due = timezone.localtime(received).date() + dt.timedelta(days=settings.PAYMENT_DUE_DAYS + 5)
    assert declaration.payment_due_date == expected_due
    outage_report = OutageReport.objects.get()
    assert (outage_report.lodged, outage_report.pending, outage_report.time_to_drain) == (
        1, 0, dt.timedelta(minutes=20))
    # replaying again changes nothing
    assert services.replay_buffered(actor=None).processed == 0
    assert Declaration.objects.count() == 1
