"""`DB_STATEMENT_TIMEOUT_MS` bounds statements in web processes only (core/process_role.py): a web
request's primary connection carries it; a worker's (or a management command's) carries none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from core import process_role

ROOT = Path(__file__).resolve().parents[2]


def _statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


@pytest.fixture
def as_role(monkeypatch):
    def set_to(role: str) -> None:
        monkeypatch.setattr(process_role, "_role", role)
        connection.close()  # the next query opens a new connection under this role

    yield set_to
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_web_request_connection_has_the_statement_timeout(as_role, settings):
    # given a web process (config.wsgi sets the role) with the default limit
    settings.DB_STATEMENT_TIMEOUT_MS = 15000
    as_role(process_role.WEB)

    # when a request opens the primary connection
    response = Client().get("/api/v1/health/ready")

    # then that connection bounds every statement at 15 s
    assert response.status_code == 200
    assert _statement_timeout() == "15s"


@pytest.mark.django_db(transaction=True)
def test_a_worker_connection_has_no_statement_timeout(as_role, settings):
    # given a Celery worker (or a management command): the role stays "other"
    settings.DB_STATEMENT_TIMEOUT_MS = 15000
    as_role(process_role.OTHER)

    # then its connections run statements without a limit
    assert _statement_timeout() == "0"


@pytest.mark.django_db(transaction=True)
def test_zero_turns_the_web_limit_off(as_role, settings):
    settings.DB_STATEMENT_TIMEOUT_MS = 0
    as_role(process_role.WEB)

    assert _statement_timeout() == "0"


def _show_in_child(entry: str) -> str:
    """Import a process entry point in a fresh interpreter and report the primary's limit there."""
    code = (f"import {entry}\n"
            "from django.db import connection\n"
            "with connection.cursor() as c:\n"
            "    c.execute('SHOW statement_timeout'); print(c.fetchone()[0])\n")
    db = connection.settings_dict
    # Any database of the server will do (SHOW needs no table): its maintenance database.
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/postgres"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
    env.pop("DB_STATEMENT_TIMEOUT_MS", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_the_entry_points_choose_the_role():
    # the gunicorn/runserver entry point is a web process with the 15 s default; the Celery app is not
    assert _show_in_child("config.wsgi") == "15s"
    assert _show_in_child("config.celery; import django; django.setup()") == "0"
