"""`manage.py outage start --reason ... | end [--reason] [--yes] | replay | status`.

Times are printed in East Africa Time to the second, lengths as "5d 22h 00m". Ending an outage
switches contingency off and starts the replay, so `end` shows what it is about to end and asks
first (`--yes` skips the question, for scripts)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core import clock
from core.exceptions import ApplicationError
from maintenance import selectors, services
from maintenance.display import duration_text, eat_iso

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
        end.add_argument("--yes", action="store_true", help="end it without asking for confirmation")
        replay = sub.add_parser("replay", help="replay buffered submissions now, in this process")
        replay.add_argument("--batch-size", type=int, default=None)
        sub.add_parser("status")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = actor_for(options.get("actor"))
        action = options["action"]
        try:
            if action == "start":
                outage = services.outage_start(reason=options["reason"], actor=actor)
                self.stdout.write(f"outage {outage.id} declared at {eat_iso(outage.started_at)}")
            elif action == "end":
                if not options["yes"] and not self._confirm_end():
                    return
                outage = services.outage_end(actor=actor, reason=options["reason"])
                self.stdout.write(f"outage {outage.id} ended at {eat_iso(outage.ended_at)} after "
                                  f"{duration_text(outage.length(outage.started_at))}; replay enqueued")
            elif action == "replay":
                report = services.replay_buffered(actor=actor, batch_size=options["batch_size"])
                self.stdout.write(f"lodged={report.lodged} rejected={report.rejected} errored={report.errored} "
                                  f"remaining={report.remaining}")
            else:
                active = selectors.active_outage()
                counts = selectors.buffered_counts()
                since = (f" (declared {eat_iso(active.started_at)}, {duration_text(active.length(clock.now()))} ago)"
                         if active else "")
                self.stdout.write(f"outage: {active.id if active else 'none'}{since}; buffered: "
                                  + ", ".join(f"{status} {n}" for status, n in counts.items()))
        except ApplicationError as exc:
            raise command_error(exc) from exc

    def _confirm_end(self) -> bool:
        active = selectors.active_outage()
        if active is None:
            return True  # nothing to confirm: the service answers no_active_outage
        pending = selectors.buffered_counts().get("pending", 0)
        self.stdout.write(f"outage {active.id} declared {eat_iso(active.started_at)} "
                          f"({duration_text(active.length(clock.now()))} ago): {active.reason}\n"
                          f"{pending} buffered submission(s) waiting; ending it starts the replay.")
        try:
            answer = input("End the outage now? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            self.stdout.write("not ended (answer y to end it, or pass --yes)")
            return False
        return True
