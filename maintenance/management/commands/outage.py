"""`manage.py outage start --reason ... | end [--reason] | replay | status`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.exceptions import ApplicationError
from maintenance import selectors, services

from ._common import actor_for, command_error


class Command(BaseCommand):
    help = "Declare or end an unplanned outage (contingency: lodging is buffered), or run the replay."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", help="username recorded as the actor")
        sub = parser.add_subparsers(dest="action", required=True)
        start = sub.add_parser("start")
        start.add_argument("--reason", required=True)
        end = sub.add_parser("end")
        end.add_argument("--reason", default="")
        replay = sub.add_parser("replay", help="replay buffered submissions now, in this process")
        replay.add_argument("--batch-size", type=int, default=None)
        sub.add_parser("status")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = actor_for(options.get("actor"))
        action = options["action"]
        try:
            if action == "start":
                outage = services.outage_start(reason=options["reason"], actor=actor)
                self.stdout.write(f"outage {outage.id} declared at {outage.started_at.isoformat()}")
            elif action == "end":
                outage = services.outage_end(actor=actor, reason=options["reason"])
                self.stdout.write(f"outage {outage.id} ended after {outage.length(outage.started_at)}; "
                                  "replay enqueued")
            elif action == "replay":
                report = services.replay_buffered(actor=actor, batch_size=options["batch_size"])
                self.stdout.write(f"lodged={report.lodged} rejected={report.rejected} errored={report.errored} "
                                  f"remaining={report.remaining}")
            else:
                active = selectors.active_outage()
                counts = selectors.buffered_counts()
                self.stdout.write(f"outage: {active.id if active else 'none'}; buffered: {counts}")
        except ApplicationError as exc:
            raise command_error(exc) from exc
