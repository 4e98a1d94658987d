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
