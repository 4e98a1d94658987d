"""Which kind of process this is (web, or anything else), and the database limits that follow.

A web process answers people and agents: a statement that runs for more than a few seconds there is
a bug or a hung server, and it must not hold a worker thread (and a connection) for minutes. So
web processes get a PostgreSQL `statement_timeout` on every primary connection they open
(`DB_STATEMENT_TIMEOUT_MS`, default 15000 ms). Celery workers, beat and management commands
(migrations, the contingency replay, a deadline shift over every unpaid declaration, benchmarks)
run long statements by design and get none.

The role is set by the web entry points (`config.wsgi`, `config.asgi`: gunicorn, uvicorn and
`runserver`, which loads `WSGI_APPLICATION`) before they serve anything; every other process keeps
the default, `other`. The limit is applied when a connection is opened (`connection_created`), so
it holds for every request on that (persistent) connection.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

WEB = "web"
OTHER = "other"

_role = OTHER


def set_role(role: str) -> None:
    global _role
    _role = role


def role() -> str:
    return _role


def statement_timeout_ms() -> int:
    """The `statement_timeout` this process puts on its primary connections (0: none)."""
    if _role != WEB:
        return 0
    return max(0, int(getattr(settings, "DB_STATEMENT_TIMEOUT_MS", 0) or 0))


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: web processes bound every statement on the primary."""
    if connection.vendor != "postgresql" or connection.alias != "default":
        return
    timeout = statement_timeout_ms()
    if not timeout:
        return
    with connection.cursor() as cursor:
        # set_config() rather than SET: with server-side binding a SET cannot take a parameter.
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{timeout}ms"])
