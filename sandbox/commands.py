"""Sub-commands of `manage.py sandbox` other than `clock`: registered here, dispatched by name."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from maintenance.display import eat_iso

from .drills import STEP_TITLES, drill_run, drill_status, step_sentences
from .report import agent_report, class_report, officer_report, render_text
from .reset import sandbox_reset
from .scenarios import SCENARIOS, sandbox_seed
from .seeding import require_sandbox

_HANDLERS: dict[str, Any] = {}


def register(sub: Any) -> None:
    for name, (configure, handler) in _SUBCOMMANDS.items():
        parser = sub.add_parser(name, help=(handler.__doc__ or "").strip().splitlines()[0])
        configure(parser)
        _HANDLERS[name] = handler


def dispatch(command: BaseCommand, options: dict[str, Any], actor: str) -> None:
    handler = _HANDLERS.get(options["action"])
    if handler is None:
        raise CommandError(f"unknown sandbox action {options['action']!r}")
    handler(command, options, actor)


# --- seed ------------------------------------------------------------------------------------------

def _seed_parser(parser: Any) -> None:
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--credentials-out", dest="credentials_out", help="write logins and tokens here (JSON)")
    parser.add_argument("--trainees", type=int, default=0, help="classroom: one agent firm per trainee")
    parser.add_argument("--no-progress", dest="no_progress", action="store_true")


def _seed(command: BaseCommand, options: dict[str, Any], actor: str) -> None:
    """Build a training world (same seed, same world)."""
    require_sandbox()
    if options["scenario"] == "classroom" and options["trainees"] < 1:
        raise CommandError("classroom needs --trainees N (N >= 1)")
    result = sandbox_seed(scenario=options["scenario"], seed=options["seed"], trainees=options["trainees"],
                          show_progress=not options["no_progress"], actor_label=actor)
    if options["credentials_out"]:
        path = Path(options["credentials_out"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.credentials, indent=2))
        path.chmod(0o600)
    command.stdout.write(
        f"seeded {result.scenario} (seed {result.seed}) in {result.seconds:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in result.counts.items() if v)
        + f"\ndigest {result.digest}"
        + (f"\ncredentials written to {options['credentials_out']}" if options["credentials_out"] else ""))


# --- reset -----------------------------------------------------------------------------------------

def _reset_parser(parser: Any) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _reset(command: BaseCommand, options: dict[str, Any], actor: str) -> None:
    """Wipe all non-reference data and reset the clock."""
    require_sandbox()
    if not options["yes"]:
        answer = input("Wipe every declaration, manifest, trader, agent and non-superuser login? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            command.stdout.write("reset cancelled")
            return
    result = sandbox_reset(actor_label=actor)
    command.stdout.write(f"sandbox reset: {result.tables} tables emptied, {result.users_deleted} users removed, "
                         "clock back to real time")


# --- drill -----------------------------------------------------------------------------------------

def _drill_parser(parser: Any) -> None:
    parser.add_argument("what", choices=["outage", "next", "status"],
                        help="outage --step N: run step N; next: run the next step; status: where it is")
    parser.add_argument("--step", type=int)
    parser.add_argument("--format", choices=["text", "json"], default="text")


def _drill(command: BaseCommand, options: dict[str, Any], actor: str) -> None:
    """Run the outage drill step by step (scheduled window, active, outage, buffering, restore, replay)."""
    if options["what"] == "status":
        drill = drill_status()
        if options["format"] == "json":
            command.stdout.write(json.dumps({"name": drill.name, "step": drill.step, "log": drill.state.get("log", []),
                                             "next": STEP_TITLES.get(drill.step + 1)}, indent=2))
            return
        command.stdout.write(f"drill {drill.name}: step {drill.step} of {len(STEP_TITLES)}"
                             + (f" ({STEP_TITLES[drill.step]})" if drill.step else " (not started)")
                             + (f"; next: {drill.step + 1} {STEP_TITLES[drill.step + 1]}"
                                if drill.step + 1 in STEP_TITLES else "; complete"))
        for entry in drill.state.get("log", []):
            ran_at = eat_iso(dt.datetime.fromisoformat(entry["clock"]))
            command.stdout.write(f"  {entry['step']}. {entry['title']} at {ran_at}"
                                 + (f" by {entry['by']}" if entry.get("by") else ""))
        return
    if options["what"] == "outage" and options["step"] is None:
        raise CommandError("drill outage needs --step N (or use `sandbox drill next`)")
    result = drill_run(step=options["step"] if options["what"] == "outage" else None, actor_label=actor)
    if options["format"] == "json":
        command.stdout.write(json.dumps({"step": result.step, "title": result.title,
                                         "clock": result.clock.isoformat(), **result.summary}, default=str, indent=2))
        return
    command.stdout.write(f"step {result.step}: {result.title} (sandbox clock {eat_iso(result.clock)})")
    for line in step_sentences(result.step, {**result.summary}):
        command.stdout.write(f"  {line}")


# --- report ----------------------------------------------------------------------------------------

def _report_parser(parser: Any) -> None:
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--agent", help="agent firm name, licence number or staff username")
    who.add_argument("--officer", help="officer username")
    parser.add_argument("--format", choices=["text", "json"], default="text")


def _report(command: BaseCommand, options: dict[str, Any], actor: str) -> None:
    """Trainee report from the event log: lodged or decided, errors made, time taken."""
    if options["agent"]:
        report: Any = agent_report(agent=options["agent"])
    elif options["officer"]:
        report = officer_report(username=options["officer"])
    else:
        report = class_report()
    command.stdout.write(json.dumps(report, indent=2, default=str) if options["format"] == "json"
                         else render_text(report))


_SUBCOMMANDS: dict[str, tuple[Any, Any]] = {
    "seed": (_seed_parser, _seed),
    "reset": (_reset_parser, _reset),
    "drill": (_drill_parser, _drill),
    "report": (_report_parser, _report),
}
