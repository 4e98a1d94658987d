"""`make run`: one command that brings up the whole product on the embedded default.

Migrates, loads reference data, seeds the demo sandbox, then runs gunicorn (web), a Celery worker
and Celery beat as child processes; prints the URLs and demo credentials; Ctrl-C stops them all.
Their logs go to var/log/{web,worker,beat}.log; the console shows warnings and above (`--verbose`:
everything the files get), so the banner stays readable.
With no DATABASE_URL / REDIS_URL this is SQLite in var/ and kombu's filesystem broker: nothing
external is needed. Set those variables to run the same stack on PostgreSQL and Redis.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web + Celery worker + beat locally with migrated, seeded data (make run)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("FORODHA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("FORODHA_PORT", "8000")))
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--no-seed", action="store_true", help="Skip the demo sandbox seed.")
        parser.add_argument(
            "--verbose",
            action="store_true",
            help="Show on the console everything the log files get (default: warnings and above).",
        )
        parser.add_argument(
            "--log-level",
            type=str.upper,
            choices=LOG_LEVELS,
            default="INFO",
            help="Level of var/log/*.log (default INFO; DEBUG adds every periodic task run).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        var = Path(settings.VAR_DIR)
        var.mkdir(exist_ok=True)
        self.stdout.write("Migrating the database ...")
        call_command("migrate", interactive=False, verbosity=0)
        commands = get_commands()
        if "load_reference_data" in commands:
            self.stdout.write("Loading reference data (HS 2022, EAC CET, Kenyan levies, UN/LOCODE) ...")
            call_command("load_reference_data")
        credentials_file = var / "demo-credentials.json"
        if not options["no_seed"] and "sandbox" in commands:
            self.stdout.write("Seeding the demo sandbox ...")
            call_command("sandbox", "reset", "--yes")
            call_command("sandbox", "seed", "--scenario", "demo", "--seed", str(options["seed"]),
                         "--credentials-out", str(credentials_file))
        else:
            self._ensure_admin(credentials_file)

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                                     "config.settings.local")}
        bind = f"{options['host']}:{options['port']}"
        levels = log_levels(verbose=options["verbose"], log_level=options["log_level"])
        processes = stack_processes(python=sys.executable, bind=bind, var=var, levels=levels)
        (var / "log").mkdir(exist_ok=True)
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        # Before the children start: a Ctrl-C while they boot must stop them too, not orphan them.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        worker_log = next(p.log_file for p in processes if p.name == "worker")
        worker_log_offset = worker_log.stat().st_size if worker_log.exists() else 0
        children: dict[str, subprocess.Popen[bytes]] = {}
        for process in processes:
            # Celery prints its start-up banner and shutdown notes on stdout: into the log file too.
            stdout = process.log_file.open("ab") if process.stdout_to_log else None
            children[process.name] = subprocess.Popen(process.argv, env={**env, **process.env}, stdout=stdout,
                                                      start_new_session=True)
            if stdout is not None:
                stdout.close()  # the child holds its own descriptor
        try:
            # The banner comes after the start-up messages, so it stays on screen. (Celery's "ready."
            # line is INFO: with files above INFO there is nothing to wait for.)
            wait = STARTUP_WAIT_SECONDS if levels.file in ("DEBUG", "INFO") else 2.0
            worker_started(worker_log, offset=worker_log_offset, timeout=wait, children=list(children.values()),
                           stop_requested=lambda: stopping)
            if not stopping:
                self.stdout.write(banner(bind=bind, credentials_file=credentials_file, processes=processes,
                                         levels=levels))
                self.stdout.flush()  # at once also when stdout is a pipe or a file (`make run | tee`)
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping the stack.")
                        stopping = True
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()  # the main process only: Celery then shuts its pool down warmly
            for child in children.values():
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
            self.stdout.write("Stopped web, worker and beat.")

    def _ensure_admin(self, credentials_file: Path) -> None:
        from django.contrib.auth.models import User

        password = "forodha-demo-officer"
        user, _ = User.objects.get_or_create(username="officer", defaults={"is_staff": True,
                                                                            "is_superuser": True})
        user.set_password(password)
        user.save()
        credentials_file.write_text(json.dumps(
            {"agents": [], "officers": [{"username": "officer", "password": password,
                                         "groups": ["superuser"]}]}, indent=2))


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class LogLevels:
    file: str  # what var/log/*.log get
    console: str  # what reaches the terminal
    verbose: bool  # the console gets what the files get (gunicorn's access log included)


def log_levels(*, verbose: bool, log_level: str) -> LogLevels:
    """The console shows warnings and above unless --verbose, then what the files get."""
    file = log_level.upper()
    if file not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
    if verbose:
        return LogLevels(file=file, console=file, verbose=True)
    return LogLevels(file=file, console=max(file, "WARNING", key=LOG_LEVELS.index), verbose=False)


STARTUP_WAIT_SECONDS = 60.0
WORKER_READY = b" ready."  # Celery's "celery@host ready." (INFO), written once it consumes


def worker_started(log_file: Path, *, offset: int, timeout: float, children: list[subprocess.Popen[bytes]],
                   stop_requested: Callable[[], bool] = lambda: False, poll: float = 0.25) -> bool:
    """Wait until the worker's log says it is ready (True), a child exits, Ctrl-C, or timeout (False).

    Only what was written after `offset` counts: the log file is appended to across runs.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stop_requested() or any(child.poll() is not None for child in children):
            return False
        try:
            with log_file.open("rb") as log:
                log.seek(offset)
                if WORKER_READY in log.read():
                    return True
        except OSError:
            pass
        time.sleep(poll)
    return False


@dataclass(frozen=True)
class StackProcess:
    name: str
    argv: list[str]
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)
    stdout_to_log: bool = True


def stack_processes(*, python: str, bind: str, var: Path, levels: LogLevels) -> list[StackProcess]:
    """Command lines and environment of web, worker and beat.

    Every process logs at `levels.file` into var/log/<name>.log and copies `levels.console` and above
    to the terminal: Django's LOGGING through FORODHA_LOG_FILE / FORODHA_CONSOLE_LOG_LEVEL (web),
    Celery's --logfile plus the console echo of core/logs.py (worker, beat).
    """
    log = var / "log"
    common = {"LOG_LEVEL": levels.file, "FORODHA_CONSOLE_LOG_LEVEL": levels.console}
    web_log = log / "web.log"
    worker_log = log / "worker.log"
    beat_log = log / "beat.log"
    return [
        StackProcess(
            name="web",
            # gunicorn's own messages (boot, worker timeouts) at the console level on stderr; the
            # access log (a line per request) into web.log unless --verbose.
            argv=[python, "-m", "gunicorn", "config.wsgi:application", "--bind", bind,
                  "--workers", "2", "--threads", "4", "--log-level", levels.console.lower(),
                  "--error-logfile", "-", "--access-logfile", "-" if levels.verbose else str(web_log)],
            log_file=web_log,
            env={**common, "FORODHA_LOG_FILE": str(web_log)},
            stdout_to_log=False,
        ),
        StackProcess(
            # A plain worker (no -Q) consumes every declared queue (CELERY_TASK_QUEUES).
            name="worker",
            argv=[python, "-m", "celery", "-A", "config", "worker", "-l", levels.file,
                  "--logfile", str(worker_log), "--concurrency", "2"],
            log_file=worker_log,
            env=common,
        ),
        StackProcess(
            name="beat",
            argv=[python, "-m", "celery", "-A", "config", "beat", "-l", levels.file,
                  "--logfile", str(beat_log), "--schedule", str(var / "celerybeat-schedule")],
            log_file=beat_log,
            env=common,
        ),
    ]


def banner(*, bind: str, credentials_file: Path, processes: list[StackProcess], levels: LogLevels) -> str:
    base = f"http://{bind}"
    names = ", ".join(p.name for p in processes)
    console = "everything they get" if levels.verbose else f"{levels.console} and above (--verbose: everything)"
    log_dir = processes[0].log_file.parent
    lines = [
        "",
        f"Forodha is running. Press Ctrl-C here to stop it ({names}).",
        f"  API docs (Swagger UI): {base}/api/docs/",
        f"  OpenAPI schema:        {base}/api/schema/",
        f"  Officer admin:         {base}/admin/",
        f"  Health:                {base}/api/v1/health/ready",
        f"  Database:              {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}",
        f"  Broker:                {settings.CELERY_BROKER_URL.split('@')[-1]}",
        f"  Logs ({levels.file} and above):  " + ", ".join(p.log_file.name for p in processes) + f" in {log_dir}/",
        f"    follow them with `tail -f {log_dir}/*.log`; this console shows {console}",
        f"  Demo credentials:      {credentials_file}",
    ]
    try:
        creds = json.loads(credentials_file.read_text())
    except (OSError, ValueError):
        creds = {}
    for officer in creds.get("officers", [])[:6]:
        lines.append(f"    officer {officer['username']} / {officer['password']}  ({', '.join(officer['groups'])})")
    for agent in creds.get("agents", [])[:3]:
        lines.append(f"    agent   {agent['username']}  Authorization: Token {agent['token']}")
    lines.append(f"Press Ctrl-C to stop {names}.")
    return "\n".join(lines) + "\n"
