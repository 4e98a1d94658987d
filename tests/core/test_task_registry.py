"""Every Celery task is configured so that a worker (and beat) can actually apply it."""

import pytest
from django.conf import settings

from config.celery import app

# Celery's Django fix-up runs the model checks when it imports the task modules; on an SQLite
# database (the intake store) the JSONField check asks the engine whether it supports JSON.
pytestmark = pytest.mark.django_db


def _forodha_tasks() -> dict:
    app.loader.import_default_modules()
    prefixes = ("core.", "intake.", "risk.", "clearance.", "maintenance.", "transit.", "notifications.",
                "declarations.", "manifests.")
    return {name: task for name, task in app.tasks.items() if name.startswith(prefixes)}


def test_soft_time_limit_never_exceeds_the_hard_limit():
    # Celery refuses to apply a task whose soft limit is above its hard limit (beat logs a
    # SchedulingError every tick): the task-level value or the project default counts.
    bad = []
    for name, task in _forodha_tasks().items():
        hard = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        soft = task.soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT
        if soft > hard:
            bad.append((name, soft, hard))
    assert bad == []


def test_every_beat_entry_names_a_registered_task():
    tasks = _forodha_tasks()
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} - set(tasks) == set()
