"""Periodic tasks log their runs at DEBUG, and a Celery process that logs to a file copies only
warnings to the console (core/logs.py, wired in config/celery.py)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from config.celery import app
from core.logs import (
    CELERY_TASK_LOGGERS,
    ConsoleEcho,
    PeriodicTaskLines,
    celery_logging_setup,
    periodic_task_lines_install,
)
from tests.conftest import require_postgres, require_redis
from tests.risk.test_worker import wait_for

ROOT = Path(__file__).resolve().parents[2]
SUCCEEDED = "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def celery_loggers() -> Iterator[Collect]:
    """The real Celery task loggers, at INFO, with a collecting handler; restored afterwards."""
    collect = Collect()
    saved = {}
    for name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, list(logger.filters))
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(collect)
    yield collect
    for name, (level, propagate, filters) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.filters = filters
        logger.removeHandler(collect)


def _context(name: str) -> dict[str, object]:
    return {"name": name, "id": "9f0e", "runtime": 0.01, "return_value": 0}


def test_periodic_task_lines_are_debug_and_real_work_stays_info(celery_loggers):
    # given the filter for the beat-scheduled tasks, loggers at INFO
    periodic_task_lines_install({"core.outbox_relay", "maintenance.advance_windows"})
    trace = logging.getLogger("celery.app.trace")
    # when a periodic task and a real one succeed, and a periodic one fails
    trace.info(SUCCEEDED, _context("core.outbox_relay"))
    trace.info(SUCCEEDED, _context("risk.score_declarations_batch"))
    trace.error("Task %(name)s[%(id)s] raised unexpected: %(exc)s", {**_context("core.outbox_relay"), "exc": "boom"})
    logging.getLogger("celery.worker.strategy").info("Task %(name)s[%(id)s] received",
                                                     _context("maintenance.advance_windows"))
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "outbox-relay", "core.outbox_relay")
    logging.getLogger("celery.beat").info("beat: Starting...")
    # then only the real work and the failure are logged, at their own level
    assert [(r.levelname, r.getMessage()) for r in celery_loggers.records] == [
        ("INFO", "Task risk.score_declarations_batch[9f0e] succeeded in 0.01s: 0"),
        ("ERROR", "Task core.outbox_relay[9f0e] raised unexpected: boom"),
        ("INFO", "beat: Starting..."),
    ]


def test_periodic_task_lines_show_at_debug(celery_loggers):
    # given loggers at DEBUG (`celery worker -l DEBUG`)
    periodic_task_lines_install({"core.outbox_relay"})
    for name in CELERY_TASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    # when
    logging.getLogger("celery.app.trace").info(SUCCEEDED, _context("core.outbox_relay"))
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "outbox-relay", "core.outbox_relay")
    # then the periodic lines are there, labelled DEBUG
    assert [(r.levelno, r.levelname, r.getMessage()) for r in celery_loggers.records] == [
        (logging.DEBUG, "DEBUG", "Task core.outbox_relay[9f0e] succeeded in 0.01s: 0"),
        (logging.DEBUG, "DEBUG", "Scheduler: Sending due task outbox-relay (core.outbox_relay)"),
    ]


def test_installing_twice_keeps_one_filter_per_logger(celery_loggers):
    periodic_task_lines_install({"a"})
    latest = periodic_task_lines_install({"b"})
    for name in CELERY_TASK_LOGGERS:
        assert [f for f in logging.getLogger(name).filters if isinstance(f, PeriodicTaskLines)] == [latest]


@pytest.mark.parametrize(
    ("variable", "logfile", "echo_levels"),
    [
        ("WARNING", "/tmp/worker.log", [logging.WARNING]),
        ("info", "/tmp/worker.log", [logging.INFO]),
        # without --logfile Celery already logs to stderr: no second copy
        ("WARNING", None, []),
        # without the variable (a worker not started by devstack): Celery's own handlers only
        ("", "/tmp/worker.log", []),
    ],
)
def test_console_echo_only_for_a_process_logging_to_a_file(monkeypatch, celery_loggers, variable, logfile,
                                                           echo_levels):
    # given a root logger as Celery configured it
    root = logging.Logger("root-under-test")
    monkeypatch.setenv("FORODHA_CONSOLE_LOG_LEVEL", variable)
    # when Celery's after_setup_logger runs, twice (prefork children may set up again)
    for _ in range(2):
        celery_logging_setup(root=root, logfile=logfile, format="%(levelname)s %(message)s", task_names={"x"})
    # then
    echoes = [h for h in root.handlers if isinstance(h, ConsoleEcho)]
    assert [h.level for h in echoes] == echo_levels
    assert all(h.stream is sys.__stderr__ for h in echoes)


def _celery(*argv: str, tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A Celery process as devstack starts it: --logfile, console echo at WARNING."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url,
           "REDIS_URL": settings.CELERY_BROKER_URL, "FORODHA_CONSOLE_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    console = tmp_path / f"{name}.console"
    with console.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *argv], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    return process, console


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    require_redis()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("default", "unacked", "unacked_index")
    yield client
    client.delete("default", "unacked", "unacked_index")


@pytest.mark.services
@pytest.mark.slow
def test_beat_sends_periodic_tasks_without_a_console_line(broker, tmp_path):
    # given beat as devstack starts it, its file at DEBUG so the demoted lines can be seen there
    logfile = tmp_path / "beat.log"
    beat, console = _celery("beat", "-l", "DEBUG", "--logfile", str(logfile),
                            "--schedule", str(tmp_path / "schedule"), tmp_path=tmp_path, name="beat")
    try:
        # when the outbox relay (every 5 s) comes due
        wait_for(lambda: logfile.exists() and "(core.outbox_relay)" in logfile.read_text(), timeout=180)
    finally:
        _stop(beat)
    # then the file has the line at DEBUG, and the console has nothing of it
    text = logfile.read_text()
    assert "DEBUG/MainProcess] Scheduler: Sending due task outbox-relay (core.outbox_relay)" in text
    assert "INFO/MainProcess] Scheduler: Sending due task" not in text
    assert "INFO/MainProcess] beat: Starting..." in text
    assert console.read_bytes() == b""


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
@pytest.mark.slow
def test_worker_logs_real_work_to_its_file_and_errors_to_the_console(broker, tmp_path):
    # given a worker as devstack starts it (file at INFO, console at WARNING)
    require_postgres()
    logfile = tmp_path / "worker.log"
    worker, console = _celery("worker", "-l", "INFO", "--logfile", str(logfile), "--pool=solo",
                              "-n", f"logging-{os.getpid()}@forodha-test", tmp_path=tmp_path, name="worker")
    try:
        # when it runs a periodic task, a real one, and receives a task nobody registered
        relay = app.send_task("core.outbox_relay")
        unknown = f"forodha.no_such_task_{uuid.uuid4().hex[:8]}"
        app.send_task(unknown)
        ping = app.send_task("core.ping", kwargs={"value": "habari"})
        assert ping.get(timeout=180)["value"] == "habari"
        assert relay.get(timeout=30) == 0
        time.sleep(1.0)  # the success line of ping is written after its result is stored
    finally:
        _stop(worker)
    # then the file has the real work at INFO and not the periodic relay
    text = logfile.read_text()
    assert f"INFO/MainProcess] Task core.ping[{ping.id}] succeeded" in text
    assert "core.outbox_relay" not in text
    assert f"Received unregistered task of type '{unknown}'" in text
    # and the console got the error and nothing at INFO
    shown = console.read_text()
    assert f"ERROR/MainProcess] Received unregistered task of type '{unknown}'" in shown
    assert "INFO/" not in shown
    assert "core.ping" not in shown
