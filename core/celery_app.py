"""The Celery application as the apps see it, without importing `config` (which sits above every
app, README "Architecture"): `config/celery.py` creates the app and installs it here.

Not `celery.current_app`: that follows the last `Celery()` created in the thread (a test's throwaway
app pointed at a dead broker would become it)."""

from __future__ import annotations

from celery import Celery
from celery._state import get_current_app

_installed: Celery | None = None


def install(app: Celery) -> None:
    global _installed
    _installed = app


def app() -> Celery:
    """The installed application (the configured one), else Celery's current app."""
    return _installed if _installed is not None else get_current_app()
