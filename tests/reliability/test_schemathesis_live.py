"""Schemathesis against a live gunicorn on PostgreSQL in sandbox mode (issue 17), as an outside
client sees the API: its own database (migrated, reference data, the seeded demo world), two
gunicorn workers x 2 threads, the demo's first agent's token, every operation of the served
schema, checks `not_a_server_error`, `status_code_conformance`, `response_schema_conformance`;
0 failures. Bounded for CI: FUZZ_MAX_EXAMPLES (default 5) examples per operation and phase.

No input is excluded: NUL and lone surrogates are generated too (the edge cleaning answers them
with 400 `invalid_character`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings

from tests.conftest import require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_url(database: str) -> str:
    db = settings.DATABASES["default"]
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


@pytest.fixture
def gunicorn_sandbox() -> Iterator[dict[str, Any]]:
    """A fresh database with the demo world, served by gunicorn in sandbox mode."""
    require_postgres()
    require_redis()
    name = f"forodha_live_{os.getpid()}"
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    credentials = Path(f"/tmp/{name}-credentials.json")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _admin_url(name).replace("postgresql://", "postgres://"),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "FORODHA_SANDBOX": "1",
        # Sandbox mode keeps the SSRF guard on (only an explicit setting lifts it).
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "0",
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks",
    }
    server: subprocess.Popen[bytes] | None = None
    try:
        manage = [sys.executable, "manage.py"]
        for command in (["migrate", "-v0"], ["load_reference_data", "--quiet"],
                        ["sandbox", "seed", "--scenario", "demo", "--seed", "42", "--no-progress",
                         "--credentials-out", str(credentials)]):
            subprocess.run(manage + command, cwd=ROOT, env=env, check=True, timeout=600,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = _free_port()
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi:application", "-w", "2", "--threads", "2",
             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/schema/?format=json", timeout=10) as response:
                    operations = sum(
                        1 for item in json.loads(response.read())["paths"].values() for method in item
                        if method in {"get", "post", "put", "patch", "delete"}
                    )
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        token = json.loads(credentials.read_text())["agents"][0]["token"]
        yield {"base": base, "token": token, "env": env, "operations": operations}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        credentials.unlink(missing_ok=True)
        with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_live_gunicorn_in_sandbox_mode_conforms_to_its_schema(gunicorn_sandbox, tmp_path):
    # given: the live server and its served schema
    report = tmp_path / "schemathesis.json"
    # when
    run = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{gunicorn_sandbox['base']}/api/schema/?format=json",
         "-H", f"Authorization: Token {gunicorn_sandbox['token']}", "-c", CHECKS, "-n", str(MAX_EXAMPLES),
         "-w", "2", "--generation-deterministic", "--no-color", "--request-timeout", "60",
         "--report", "json", "--report-json-path", str(report)],
        cwd=ROOT, env=gunicorn_sandbox["env"], capture_output=True, text=True, timeout=1800,
    )
    # then
    assert report.exists(), f"Schemathesis wrote no report:\n{run.stdout[-6000:]}\n{run.stderr[-6000:]}"
    summary = json.loads(report.read_text())
    counts = _counts(summary)
    print(f"live Schemathesis: {counts}")
    assert run.returncode == 0, run.stdout[-8000:]
    assert counts["operations"] == gunicorn_sandbox["operations"]
    assert counts["failures"] == 0
    assert counts["errors"] == 0
    assert counts["test_cases"] >= counts["operations"]


def _counts(summary: dict[str, Any]) -> dict[str, int]:
    """Operations, generated test cases, failures and errors from Schemathesis' JSON report."""
    return {
        "operations": int(summary["operations"]["tested"]),
        "test_cases": int(summary["test_cases"]["generated"]),
        "failures": len(summary["failures"]) + int(summary["test_cases"]["unique_failures"]),
        "errors": len(summary["errors"]) + int(summary["test_cases"]["errored"]),
    }
