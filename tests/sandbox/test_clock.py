import datetime as dt

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection

from core import clock
from sandbox import clock as sandbox_clock
from sandbox.clock import parse_duration_text
from sandbox.models import ClockState

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(settings):
    settings.FORODHA_SANDBOX = True
    yield
    sandbox_clock.set_offset(0.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2h", dt.timedelta(hours=2)), ("3d", dt.timedelta(days=3)), ("1d12h30m", dt.timedelta(days=1, hours=12,
                                                                                           minutes=30)),
     ("-15m", dt.timedelta(minutes=-15)), ("P1DT2H", dt.timedelta(days=1, hours=2))],
)
def test_durations(text, expected):
    assert parse_duration_text(text) == expected


def test_set_advance_reset_moves_now_for_every_reader(sandbox, capsys):
    # given the clock set to the start of the Nov 2024 Mombasa outage
    call_command("sandbox", "clock", "--set", "2024-11-18T08:00:00+03:00")
    moved = clock.now()
    assert abs((moved - dt.datetime(2024, 11, 18, 5, 0, tzinfo=dt.UTC)).total_seconds()) < 2
    assert clock.today() == dt.date(2024, 11, 18)
    # the offset is persisted for processes that start later (cache miss -> database)
    assert ClockState.objects.get(pk=1).offset_seconds < 0
    # when advanced by five days
    call_command("sandbox", "clock", "--advance", "5d")
    assert clock.today() == dt.date(2024, 11, 23)
    # then reset brings real time back
    call_command("sandbox", "clock", "--reset")
    assert abs((clock.now() - clock.unmoved_now()).total_seconds()) < 1


def test_clock_offset_is_read_from_the_database_when_the_cache_is_cold(sandbox):
    from django.core.cache import cache

    call_command("sandbox", "clock", "--advance", "10d")
    cache.delete(sandbox_clock.CLOCK_OFFSET_CACHE_KEY)
    sandbox_clock._local.memo = None
    assert (clock.now() - clock.unmoved_now()).days in (9, 10)


def test_clock_cannot_move_outside_sandbox_mode(settings):
    settings.FORODHA_SANDBOX = False
    with pytest.raises(CommandError, match="sandbox_mode_required"):
        call_command("sandbox", "clock", "--advance", "1d")
    assert clock.offset() == dt.timedelta(0)


def test_sandbox_responses_say_so(settings, client):
    settings.FORODHA_SANDBOX = True
    response = client.get("/api/v1/health/live")
    assert response["Forodha-Sandbox"] == "true"
    assert response["Forodha-Sandbox-Clock"].startswith(str(clock.today().year))
    settings.FORODHA_SANDBOX = False
    assert "Forodha-Sandbox" not in client.get("/api/v1/health/live")


def test_the_offset_a_trainer_set_before_the_model_moved_to_sandbox_is_still_read(sandbox):
    # given the offset row as core wrote it (the table keeps its name: state-only migrations)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO core_clockstate (id, offset_seconds, updated_at, updated_by) "
                       "VALUES (1, -86400.0, now(), 'trainer')")
    cache.delete(sandbox_clock.CLOCK_OFFSET_CACHE_KEY)
    # when / then: the sandbox model and the clock read it
    assert (ClockState.objects.get(pk=1).offset_seconds, ClockState._meta.db_table) == (-86400.0, "core_clockstate")
    assert sandbox_clock._load_offset_seconds() == -86400.0
