"""`make run` keeps its banner readable: `manage.py devstack` sends web, worker and beat logs to
var/log/*.log, shows warnings on the console unless --verbose, and says how to stop and where the
logs are. The processes' command lines are built by plain functions, tested here without starting
the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from core.management.commands.devstack import (
    Command,
    LogLevels,
    StackProcess,
    banner,
    log_levels,
    stack_processes,
    worker_started,
)

ROOT = Path(__file__).resolve().parents[2]
VAR = Path("/srv/forodha/var")


def _options(*argv: str) -> dict[str, object]:
    parser = Command().create_parser("manage.py", "devstack")
    return vars(parser.parse_args(list(argv)))


def test_defaults_are_info_in_the_files_and_warnings_on_the_console():
    # when devstack is started as `make run` starts it
    options = _options()
    # then
    assert (options["verbose"], options["log_level"]) == (False, "INFO")
    assert log_levels(verbose=False, log_level="INFO") == LogLevels(file="INFO", console="WARNING", verbose=False)


def test_verbose_shows_on_the_console_what_the_files_get():
    options = _options("--verbose")
    assert options["verbose"] is True
    assert log_levels(verbose=True, log_level="INFO") == LogLevels(file="INFO", console="INFO", verbose=True)
    assert log_levels(verbose=True, log_level="DEBUG") == LogLevels(file="DEBUG", console="DEBUG", verbose=True)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--log-level", "debug"], LogLevels(file="DEBUG", console="WARNING", verbose=False)),
        (["--log-level", "WARNING"], LogLevels(file="WARNING", console="WARNING", verbose=False)),
        # the console never shows less than the files get
        (["--log-level", "error"], LogLevels(file="ERROR", console="ERROR", verbose=False)),
        (["--log-level", "error", "--verbose"], LogLevels(file="ERROR", console="ERROR", verbose=True)),
    ],
)
def test_log_level_choices(argv, expected):
    options = _options(*argv)
    assert log_levels(verbose=bool(options["verbose"]), log_level=str(options["log_level"])) == expected


def test_an_unknown_log_level_is_refused_before_anything_starts():
    with pytest.raises(CommandError, match=r"argument --log-level: invalid choice: 'LOUD'"):
        _options("--log-level", "loud")
    with pytest.raises(ValueError, match="log level must be one of DEBUG, INFO, WARNING, ERROR, not 'loud'"):
        log_levels(verbose=False, log_level="loud")


def test_the_stack_logs_into_var_log_and_echoes_warnings():
    # given the default levels
    levels = log_levels(verbose=False, log_level="INFO")
    # when
    web, worker, beat = stack_processes(python="py", bind="127.0.0.1:8000", var=VAR, levels=levels)
    # then the worker is a plain one (no -Q: every declared queue) logging into var/log/worker.log
    assert worker == StackProcess(
        name="worker",
        argv=["py", "-m", "celery", "-A", "config", "worker", "-l", "INFO",
              "--logfile", "/srv/forodha/var/log/worker.log", "--concurrency", "2"],
        log_file=VAR / "log/worker.log",
        env={"LOG_LEVEL": "INFO", "FORODHA_CONSOLE_LOG_LEVEL": "WARNING"},
        stdout_to_log=True,
    )
    assert "-Q" not in worker.argv
    assert beat == StackProcess(
        name="beat",
        argv=["py", "-m", "celery", "-A", "config", "beat", "-l", "INFO",
              "--logfile", "/srv/forodha/var/log/beat.log", "--schedule", "/srv/forodha/var/celerybeat-schedule"],
        log_file=VAR / "log/beat.log",
        env={"LOG_LEVEL": "INFO", "FORODHA_CONSOLE_LOG_LEVEL": "WARNING"},
        stdout_to_log=True,
    )
    # and the web's access log (a line per request) goes to the file, gunicorn's warnings to the console
    assert web == StackProcess(
        name="web",
        argv=["py", "-m", "gunicorn", "config.wsgi:application", "--bind", "127.0.0.1:8000",
              "--workers", "2", "--threads", "4", "--log-level", "warning",
              "--error-logfile", "-", "--access-logfile", "/srv/forodha/var/log/web.log"],
        log_file=VAR / "log/web.log",
        env={"LOG_LEVEL": "INFO", "FORODHA_CONSOLE_LOG_LEVEL": "WARNING",
             "FORODHA_LOG_FILE": "/srv/forodha/var/log/web.log"},
        stdout_to_log=False,
    )


def test_verbose_stack_prints_the_access_log_and_info_lines():
    levels = log_levels(verbose=True, log_level="INFO")
    web, worker, beat = stack_processes(python="py", bind="0.0.0.0:9000", var=VAR, levels=levels)
    assert web.argv[-6:] == ["--log-level", "info", "--error-logfile", "-", "--access-logfile", "-"]
    for process in (web, worker, beat):
        assert process.env["FORODHA_CONSOLE_LOG_LEVEL"] == "INFO"
    # the files still get everything: the log file options do not depend on --verbose
    assert worker.argv[7:10] == ["INFO", "--logfile", "/srv/forodha/var/log/worker.log"]


def test_banner_says_how_to_stop_and_where_the_logs_are(tmp_path):
    # given the demo credentials and the default levels
    credentials = tmp_path / "demo-credentials.json"
    credentials.write_text(json.dumps({
        "officers": [{"username": "officer1", "password": "sbx-pw", "groups": ["officer"]}],
        "agents": [{"username": "pwani-clearing", "token": "tok"}],
    }))
    levels = log_levels(verbose=False, log_level="INFO")
    processes = stack_processes(python="py", bind="127.0.0.1:8000", var=tmp_path, levels=levels)
    # when
    text = banner(bind="127.0.0.1:8000", credentials_file=credentials, processes=processes, levels=levels)
    lines = text.splitlines()
    # then it says how to stop, at the top and as the last line (what stays on screen)
    assert lines[1] == "Forodha is running. Press Ctrl-C here to stop it (web, worker, beat)."
    assert lines[-1] == "Press Ctrl-C to stop web, worker, beat."
    # and where the logs are and what the console shows
    assert f"  Logs (INFO and above):  web.log, worker.log, beat.log in {tmp_path}/log/" in lines
    assert (
        f"    follow them with `tail -f {tmp_path}/log/*.log`; this console shows WARNING and above"
        " (--verbose: everything)"
    ) in lines
    assert "  API docs (Swagger UI): http://127.0.0.1:8000/api/docs/" in lines
    assert "    officer officer1 / sbx-pw  (officer)" in lines
    assert "    agent   pwani-clearing  Authorization: Token tok" in lines


def test_verbose_banner_drops_the_verbose_hint(tmp_path):
    levels = log_levels(verbose=True, log_level="DEBUG")
    processes = stack_processes(python="py", bind="127.0.0.1:8000", var=tmp_path, levels=levels)
    text = banner(bind="127.0.0.1:8000", credentials_file=tmp_path / "missing.json", processes=processes,
                  levels=levels)
    assert "  Logs (DEBUG and above):  web.log, worker.log, beat.log" in text
    assert "this console shows everything they get\n" in text
    assert "--verbose" not in text


def test_web_logs_go_to_the_file_and_warnings_to_the_console(tmp_path):
    # given a Django process with the environment devstack gives the web (settings read at start-up)
    logfile = tmp_path / "web.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "LOG_LEVEL": "INFO",
           "FORODHA_LOG_FILE": str(logfile), "FORODHA_CONSOLE_LOG_LEVEL": "WARNING"}
    code = ("import django, logging; django.setup(); log = logging.getLogger('forodha.web');"
            " log.info('lodged 26MBAIM000000001'); log.warning('database slow')")
    # when it logs one INFO and one WARNING line
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    # then the file has both, the console only the warning
    text = logfile.read_text()
    assert "INFO forodha.web lodged 26MBAIM000000001" in text
    assert "WARNING forodha.web database slow" in text
    assert "WARNING forodha.web database slow" in done.stderr
    assert "lodged" not in done.stderr
    assert " INFO " not in done.stderr


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in for web/beat: a process that keeps running until stopped."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait(timeout=10)


def test_the_banner_waits_for_the_worker_to_be_ready(tmp_path, child):
    # given a worker log with a "ready." from an earlier run, then this run's start-up lines
    log = tmp_path / "worker.log"
    log.write_bytes(b"[2026-03-02 08:00:00,000: INFO/MainProcess] celery@vm ready.\n")
    offset = log.stat().st_size
    with log.open("ab") as f:
        f.write(b"[2026-03-02 09:00:00,000: INFO/MainProcess] Connected to redis://127.0.0.1:6379/0\n")
    # when nothing new says ready, the wait gives up at its timeout
    started = time.monotonic()
    assert worker_started(log, offset=offset, timeout=0.6, children=[child], poll=0.05) is False
    assert time.monotonic() - started >= 0.6
    # and once this run's worker says it, the wait ends with True
    with log.open("ab") as f:
        f.write(b"[2026-03-02 09:00:01,000: INFO/MainProcess] celery@vm ready.\n")
    assert worker_started(log, offset=offset, timeout=5, children=[child], poll=0.05) is True


def test_the_wait_ends_when_a_child_exits_or_ctrl_c(tmp_path, child):
    log = tmp_path / "worker.log"  # never written: the worker did not get that far
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    exited.wait(timeout=30)
    started = time.monotonic()
    assert worker_started(log, offset=0, timeout=30, children=[child, exited], poll=0.05) is False
    assert worker_started(log, offset=0, timeout=30, children=[child], stop_requested=lambda: True) is False
    assert time.monotonic() - started < 5
