"""`manage.py sandbox <seed|reset|clock|...>` — training sandbox operations (API.md, Command line)."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import clock
from core.exceptions import ApplicationError
from maintenance.display import eat_iso

from ... import clock as sandbox_clock
from ...commands import dispatch, register


class Command(BaseCommand):
    help = "Training sandbox: seed worlds, reset, move the clock."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        clock_parser = sub.add_parser("clock", help="Show or move the sandbox clock")
        group = clock_parser.add_mutually_exclusive_group()
        group.add_argument("--set", dest="set_to", help="ISO 8601 time with offset")
        group.add_argument("--advance", help="duration: 2h, 3d, 1d12h, -15m, P1DT2H")
        group.add_argument("--reset", action="store_true", help="back to real time")
        self._add_more(sub)

    def _add_more(self, sub: Any) -> None:
        """Hook for the seed/reset/drill sub-commands (see sandbox.commands)."""
        register(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = f"cli:{getpass.getuser()}"
        try:
            if options["action"] == "clock":
                self._clock(options, actor)
                return
            dispatch(self, options, actor)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.detail} "
                               + "; ".join(f"{e.pointer} {e.detail}" for e in exc.errors)) from exc

    def _clock(self, options: dict[str, Any], actor: str) -> None:
        if options["set_to"]:
            now = sandbox_clock.sandbox_clock_set(at=sandbox_clock.parse_when(options["set_to"]),
                                                  actor_label=actor)
        elif options["advance"]:
            now = sandbox_clock.sandbox_clock_advance(
                by=sandbox_clock.parse_duration_text(options["advance"]), actor_label=actor)
        elif options["reset"]:
            now = sandbox_clock.sandbox_clock_reset(actor_label=actor)
        else:
            now = clock.now()
        offset = clock.offset()
        moved = sandbox_clock.offset_text(offset) or "real time"
        self.stdout.write(f"sandbox clock: {eat_iso(now)} ({moved}; offset {offset.total_seconds():+.0f} s)")
