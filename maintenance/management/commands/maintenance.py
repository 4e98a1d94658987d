"""`manage.py maintenance schedule|extend|cancel|list` (times ISO 8601; without offset = EAT)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core import clock
from core.exceptions import ApplicationError
from maintenance import selectors, services
from maintenance.display import eat_iso
from maintenance.enums import WindowMode, WindowScope

from ._common import actor_for, command_error, parse_iso


class Command(BaseCommand):
    help = "Schedule, extend, cancel and list maintenance windows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", help="username recorded as the actor")
        sub = parser.add_subparsers(dest="action", required=True)
        schedule = sub.add_parser("schedule")
        schedule.add_argument("--start", required=True)
        schedule.add_argument("--end", required=True)
        schedule.add_argument("--scope", choices=WindowScope.values, default=WindowScope.LODGING)
        schedule.add_argument("--mode", choices=WindowMode.values, default=WindowMode.REJECT)
        schedule.add_argument("--reason", required=True)
        schedule.add_argument("--emergency", action="store_true")
        extend = sub.add_parser("extend")
        extend.add_argument("id")
        extend.add_argument("--until", required=True)
        extend.add_argument("--reason", required=True)
        cancel = sub.add_parser("cancel")
        cancel.add_argument("id")
        cancel.add_argument("--reason", required=True)
        sub.add_parser("list")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = actor_for(options.get("actor"))
        action = options["action"]
        try:
            if action == "schedule":
                window = services.window_schedule(
                    starts_at=parse_iso(options["start"], "--start"), ends_at=parse_iso(options["end"], "--end"),
                    scope=options["scope"], mode=options["mode"], reason=options["reason"],
                    emergency=options["emergency"], actor=actor)
                self.stdout.write(f"scheduled {window.id} {self._line(window)}")
            elif action == "extend":
                window = services.window_extend(window_id=options["id"], until=parse_iso(options["until"], "--until"),
                                                reason=options["reason"], actor=actor)
                self.stdout.write(f"extended {window.id} until {eat_iso(window.ends_at)}")
            elif action == "cancel":
                window = services.window_cancel(window_id=options["id"], reason=options["reason"], actor=actor)
                self.stdout.write(f"cancelled {window.id}")
            else:
                now = clock.now()
                for window in selectors.window_list():
                    self.stdout.write(f"{window.id} {window.effective_status(now):9} {self._line(window)}")
        except ApplicationError as exc:
            raise command_error(exc) from exc

    @staticmethod
    def _line(window: Any) -> str:
        start, end = eat_iso(window.starts_at), eat_iso(window.ends_at)
        flag = " emergency" if window.emergency else ""
        return f"{start} -> {end} scope={window.scope} mode={window.mode}{flag} reason={window.reason!r}"
