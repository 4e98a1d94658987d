"""`make run`: one command that brings up the whole product on the embedded default.

Migrates, loads reference data, seeds the demo sandbox, then runs gunicorn (web), a Celery worker
and Celery beat as child processes; prints the URLs and demo credentials; Ctrl-C stops them all.
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
        python = sys.executable
        bind = f"{options['host']}:{options['port']}"
        processes = {
            "web": [python, "-m", "gunicorn", "config.wsgi:application", "--bind", bind,
                    "--workers", "2", "--threads", "4", "--access-logfile", "-"],
            # A plain worker (no -Q) consumes every declared queue (CELERY_TASK_QUEUES).
            "worker": [python, "-m", "celery", "-A", "config", "worker", "-l", "INFO",
                       "--concurrency", "2"],
            "beat": [python, "-m", "celery", "-A", "config", "beat", "-l", "INFO",
                     "--schedule", str(var / "celerybeat-schedule")],
        }
        children: dict[str, subprocess.Popen[bytes]] = {}
        for name, argv in processes.items():
            children[name] = subprocess.Popen(argv, env=env, start_new_session=True)
        time.sleep(2)
        self._banner(bind, credentials_file)

        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
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

    def _banner(self, bind: str, credentials_file: Path) -> None:
        base = f"http://{bind}"
        lines = [
            "",
            "Forodha is running (Ctrl-C stops web, worker and beat).",
            f"  API docs (Swagger UI): {base}/api/docs/",
            f"  OpenAPI schema:        {base}/api/schema/",
            f"  Officer admin:         {base}/admin/",
            f"  Health:                {base}/api/v1/health/ready",
            f"  Database:              {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}",
            f"  Broker:                {settings.CELERY_BROKER_URL.split('@')[-1]}",
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
        self.stdout.write("\n".join(lines) + "\n")
