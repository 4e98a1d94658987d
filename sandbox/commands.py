"""Sub-commands of `manage.py sandbox` other than `clock`: registered here, dispatched by name."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

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


_SUBCOMMANDS: dict[str, tuple[Any, Any]] = {}
