"""A throwaway PostgreSQL cluster, a private Redis and gunicorn web processes, for tests and the
benchmark that take the primary database really away (tests/maintenance/test_real_outage.py,
bench/bench_outage.py). Nothing here touches the shared PostgreSQL or Redis.

PostgreSQL: initdb/pg_ctl from /usr/lib/postgresql/<version>/bin on a free port, as the
`postgres` OS user when running as root (initdb refuses root). Redis: its own redis-server on a
free port, no persistence. Web: gunicorn processes sharing one intake store (an SQLite file).
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.services import server_environment

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(Path(sys.executable))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PgCluster:
    def __init__(self, base: Path) -> None:
        bin_dir = pg_bin()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = bin_dir
        self.base = base
        self.data = base / "pgdata"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120,
                              env=server_environment())

    def init(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.base, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "forodha")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.base / "pg.log"),
                  "-w", "start")

    def stop(self) -> None:
        """Fast shutdown: open sessions are terminated, in-flight transactions roll back."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/forodha"


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=server_environment())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


SETTINGS_MODULE = '''
from config.settings.test import *  # noqa
# As in production: persistent connections with health checks.
DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
MAINTENANCE_CACHE_SECONDS = 2.0
MAINTENANCE_SNAPSHOT_MAX_AGE_SECONDS = 60.0
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR", "handlers": []}}
'''

SEED = '''
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.factories.declarations import body_im4, world_create
from intake.identity import token_copies_reconcile
world = world_create(bl_packages=1_000_000, bl_weight="999999999.000")
token_copies_reconcile()
print(json.dumps({"token": world.token, "body": body_im4(world, items=1)}))
'''


class Stack:
    """Cluster + Redis + intake file + settings, and web processes started on demand."""

    def __init__(self, base: Path) -> None:
        self.base = base
        # Outside pytest's private (0700, root) temp tree: the cluster runs as the postgres user.
        self.pg = PgCluster(Path(tempfile.mkdtemp(prefix="forodha-outage-pg-")))
        self.redis = RedisServer()
        self.intake = base / "intake.sqlite3"
        self.webs: list[tuple[int, subprocess.Popen[bytes]]] = []
        (base / "outage_settings.py").write_text(SETTINGS_MODULE)

    def env(self) -> dict[str, str]:
        return {**os.environ, "DJANGO_SETTINGS_MODULE": "outage_settings",
                "PYTHONPATH": f"{self.base}{os.pathsep}{ROOT}", "DATABASE_URL": self.pg.url,
                "INTAKE_DATABASE_URL": f"sqlite:///{self.intake}", "REDIS_URL": self.redis.url,
                "CELERY_BROKER_URL": self.redis.url, "RECEIPT_SIGNING_KEY": "",
                "RECEIPT_SIGNING_KEY_AUTOGENERATE": "1", "DB_CONNECT_TIMEOUT": "2",
                "INTAKE_BREAKER_OPEN_SECONDS": "2", "LOG_LEVEL": "ERROR"}

    def up(self) -> dict[str, Any]:
        self.pg.init()
        self.redis.start()
        out = subprocess.run([PYTHON, "-c", SEED], cwd=ROOT, env=self.env(), capture_output=True, text=True,
                             timeout=600, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"seeding failed: {out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def manage(self, *args: str) -> str:
        out = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True,
                             text=True, timeout=900, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed: {out.stderr[-3000:]}")
        return out.stdout

    def start_web(self, threads: int = 8) -> int:
        port = free_port()
        proc = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi:application", "-w", "1", "--threads", str(threads),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"],
            cwd=ROOT, env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/system/status")
                if conn.getresponse().status == 200:
                    self.webs.append((port, proc))
                    return port
            except OSError:
                time.sleep(0.2)
        proc.kill()
        raise RuntimeError("gunicorn did not start")

    def down(self) -> None:
        for _, proc in self.webs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
        self.webs.clear()
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.pg.base, ignore_errors=True)


def http_json(port: int, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
              headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, Any], float]:
    """One request on a fresh connection; returns (status, JSON body or {}, seconds)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Token {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {"raw": raw[:500].decode(errors="replace")}
    return response.status, data, elapsed
