"""Trainer controls in the officer admin: the sandbox clock in the header and a page to move it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from core import clock
from sandbox.models import ClockState
from tests.factories.officers import officer_create

pytestmark = pytest.mark.django_db

CLOCK = reverse("admin:sandbox_clock")


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_trainer_sees_the_clock_in_the_header_and_moves_it(sandbox):
    # given
    trainer = client_for(officer_create("trainer", username="amina"))
    # when
    index = trainer.get(reverse("admin:index")).content.decode()
    moved = trainer.post(CLOCK, {"action": "advance", "by": "2h"})
    page = trainer.get(CLOCK).content.decode()
    # then
    assert ('<div id="sandbox-clock" style="margin: 0 16px; font-weight: 600;">Sandbox clock: '
            '25 Nov 2026 10:00 EAT · <a href="/admin/sandbox/clock/">move</a>'
            ' · <a href="/admin/sandbox/drill/">drill</a>'
            ' · <a href="/admin/sandbox/reports/">trainee reports</a></div>') in index
    assert moved.status_code == 302
    assert round(clock.offset().total_seconds()) == 7200
    assert ClockState.objects.get(pk=1).updated_by == "admin:amina"
    assert "Sandbox clock: 25 Nov 2026 12:00 EAT (+2h 00m from real time)" in page
    assert "The sandbox clock reads <strong>25 Nov 2026 12:00 EAT</strong> (+2h 00m from real time)." in page


def test_set_to_an_east_africa_time_and_back_to_real_time(sandbox):
    # given
    trainer = client_for(officer_create("trainer"))
    # when
    trainer.post(CLOCK, {"action": "set", "at_0": "2026-11-27", "at_1": "08:30"})
    after_set = clock.now()
    trainer.post(CLOCK, {"action": "reset"})
    # then: 08:30 EAT is 05:30 UTC
    assert abs(after_set - dt.datetime(2026, 11, 27, 5, 30, tzinfo=dt.UTC)) < dt.timedelta(seconds=30)
    assert clock.offset() == dt.timedelta(0)


def test_bad_input_is_refused_and_nothing_moves(sandbox):
    # given
    trainer = client_for(officer_create("trainer"))
    # when
    empty = trainer.post(CLOCK, {"action": "advance", "by": ""})
    nonsense = trainer.post(CLOCK, {"action": "advance", "by": "soon"})
    # then
    assert (empty.status_code, nonsense.status_code) == (400, 400)
    assert empty.context["form"].errors == {"by": ["Say how far to move the clock, e.g. 2h."]}
    assert nonsense.context["form"].non_field_errors() == ["Not a duration: 'soon'"]
    assert clock.offset() == dt.timedelta(0)


def test_only_trainers_and_only_in_a_sandbox(sandbox, settings):
    # given
    officer = client_for(officer_create("officer"))
    trainer = client_for(officer_create("trainer"))
    # when / then: an officer cannot move time and sees no "move" link
    assert officer.post(CLOCK, {"action": "advance", "by": "1d"}).status_code == 403
    assert "Sandbox clock: 25 Nov 2026 10:00 EAT</div>" in officer.get(reverse("admin:index")).content.decode()
    assert clock.offset() == dt.timedelta(0)
    # outside a sandbox there is no clock to move and none in the header
    settings.FORODHA_SANDBOX = False
    assert trainer.post(CLOCK, {"action": "advance", "by": "1d"}).status_code == 404
    assert 'id="sandbox-clock"' not in trainer.get(reverse("admin:index")).content.decode()


def test_the_date_and_time_pickers_open_on_the_sandbox_clock_in_east_africa_time(sandbox):
    # given: the sandbox clock moved two days and five hours ahead (real time is pinned at 10:00 EAT)
    trainer = client_for(officer_create("trainer"))
    trainer.post(CLOCK, {"action": "advance", "by": "2d5h"})
    # when
    page = trainer.get(CLOCK).content.decode()
    missing_time = trainer.post(CLOCK, {"action": "set", "at_0": "2026-12-01", "at_1": ""})
    # then: the browser's own pickers, filled with the sandbox date and time (EAT), not the machine's
    assert ('<label>Date and time:</label> <input type="date" name="at_0" value="2026-11-27" id="id_at_0">'
            '<input type="time" name="at_1" value="15:00" id="id_at_1"><div class="help">East Africa Time (UTC+3)</div>'
            ) in page
    assert missing_time.status_code == 400
    assert missing_time.context["form"].errors == {"at": ["Enter a valid time."]}
    assert round(clock.offset().total_seconds()) == (2 * 24 + 5) * 3600


def test_a_time_set_from_the_pickers_is_east_africa_time_whatever_the_active_zone(sandbox):
    # given: a process whose active time zone is UTC
    from django.utils import timezone

    trainer = client_for(officer_create("trainer"))
    # when
    with timezone.override("UTC"):
        trainer.post(CLOCK, {"action": "set", "at_0": "2026-11-30", "at_1": "06:15"})
    # then: 06:15 EAT is 03:15 UTC
    assert abs(clock.now() - dt.datetime(2026, 11, 30, 3, 15, tzinfo=dt.UTC)) < dt.timedelta(seconds=30)
