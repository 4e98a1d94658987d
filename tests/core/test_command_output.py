"""Management commands print what the operator asked for, not the libraries' start-up chatter."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_management_command_prints_no_log_noise() -> None:
    # given: the development settings a newcomer's `manage.py` uses
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    # when
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    # then: the command's own line and nothing else (django-axes used to log "AXES: BEGIN ..." at INFO)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "System check identified no issues (0 silenced).\n"
    assert result.stderr == ""


def test_a_command_shows_warnings_but_not_the_apps_info_lines() -> None:
    # given: a command during which an app logs at INFO and at WARNING
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "FORODHA_CONSOLE_LOG_LEVEL")}
    code = ("import logging; log = logging.getLogger('forodha.risk'); "
            "log.info('declaration scored green'); log.warning('rules version unknown')")
    # when
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    # then
    assert result.returncode == 0, result.stderr
    assert "rules version unknown" in result.stderr
    assert "declaration scored green" not in result.stderr
