"""Logging of the Celery processes: periodic tasks at DEBUG, and an optional console echo.

Celery logs every task a worker receives and finishes, and every task beat sends, at INFO. For
the tasks beat runs every few seconds (outbox relay every 5 s, window advance every 15 s,
simulator tick, sweeps) that is several lines a minute that say nothing happened; they buried the
`make run` banner within a minute. `PeriodicTaskLines` re-levels those lines to DEBUG, so
`-l INFO` shows real work (scoring, clearance, notifications) and `-l DEBUG` still shows every
periodic run. Failures and retries keep their level.

With `--logfile`, Celery writes only to the file. `FORODHA_CONSOLE_LOG_LEVEL` (set by `manage.py
devstack`) adds a stderr handler at that level, so the console shows warnings while the file keeps
everything.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping

# Loggers of the per-task lines: received (worker), succeeded/raised expected/retry (trace), sent (beat).
CELERY_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat")
CONSOLE_LEVEL_VARIABLE = "FORODHA_CONSOLE_LOG_LEVEL"


class PeriodicTaskLines(logging.Filter):
    """Re-levels Celery's INFO lines about the given (beat-scheduled) tasks to DEBUG.

    It sits on the logger that emits the line, so it decides there whether the DEBUG line is
    wanted (the logger's effective level): Celery's handlers have no level of their own.
    """

    def __init__(self, task_names: Iterable[str]) -> None:
        super().__init__()
        self.task_names = frozenset(task_names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or _task_name(record) not in self.task_names:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _task_name(record: logging.LogRecord) -> str | None:
    args = record.args
    # Worker lines pass one context dict ("Task %(name)s[%(id)s] received").
    if isinstance(args, Mapping):
        name = args.get("name")
        return name if isinstance(name, str) else None
    # Beat: "Scheduler: Sending due task %s (%s)" % (entry name, task name).
    if record.name == "celery.beat" and isinstance(args, tuple) and len(args) == 2:
        return str(args[1])
    return None


def periodic_task_lines_install(task_names: Iterable[str]) -> PeriodicTaskLines:
    """Put one `PeriodicTaskLines` on each Celery task logger (replacing an earlier one)."""
    lines = PeriodicTaskLines(task_names)
    for name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, PeriodicTaskLines)]:
            logger.removeFilter(old)
        logger.addFilter(lines)
    return lines


class ConsoleEcho(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr copy of a Celery process that logs to a file (`--logfile`)."""


def console_echo_install(root: logging.Logger, *, level: str, format: str) -> ConsoleEcho:
    """Add (once) a handler writing records at `level` and above to the process's real stderr.

    sys.__stderr__, not sys.stderr: Celery redirects sys.stderr into its logger, which would loop.
    """
    for handler in root.handlers:
        if isinstance(handler, ConsoleEcho):
            root.removeHandler(handler)
    echo = ConsoleEcho(sys.__stderr__)
    echo.setLevel(level.upper())
    echo.setFormatter(logging.Formatter(format))
    root.addHandler(echo)
    return echo


def celery_logging_setup(
    *, root: logging.Logger, logfile: str | None, format: str, task_names: Iterable[str]
) -> None:
    """Called by Celery once it configured logging (config/celery.py, `after_setup_logger`)."""
    periodic_task_lines_install(task_names)
    console_level = os.environ.get(CONSOLE_LEVEL_VARIABLE, "")
    # Without a logfile Celery already writes to stderr; a second handler would print twice.
    if logfile and console_level:
        console_echo_install(root, level=console_level, format=format)
