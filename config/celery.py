"""Celery application. Configuration lives in Django settings under the CELERY_ namespace."""

import logging
import os
from typing import Any

from celery import Celery, signals

from core import celery_app
from core.logs import celery_logging_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("forodha")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
celery_app.install(app)  # the apps reach it through core (config sits above them)


@signals.after_setup_logger.connect
def _forodha_logging(logger: logging.Logger, logfile: str | None, format: str, **kwargs: Any) -> None:
    # Worker and beat: beat-scheduled tasks log their runs at DEBUG; optional console echo
    # (core/logs.py, FORODHA_CONSOLE_LOG_LEVEL).
    task_names = {str(entry["task"]) for entry in app.conf.beat_schedule.values()}
    celery_logging_setup(root=logger, logfile=logfile, format=format, task_names=task_names)
