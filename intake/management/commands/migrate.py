"""`manage.py migrate` prepares the intake store too.

Without `--database`, Django's migrate runs on `default`; this one then migrates the `intake`
alias as well (its own tables only, see `intake.routers`). `migrate --database intake` migrates
the intake store alone, `migrate --database default` the primary alone. The test runner creates
each test database with its own explicit call, so nothing is chained there.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS

from intake.routers import INTAKE_ALIAS


class Command(MigrateCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        # None = "not given": distinguishes plain `migrate` from an explicit `--database default`.
        parser.set_defaults(database=None)

    def get_check_kwargs(self, options: Any) -> Any:
        # Django 6.1 checks the database named by --database before handle(); "not given" is the primary.
        return super().get_check_kwargs({**options, "database": options["database"] or DEFAULT_DB_ALIAS})

    def handle(self, *args: Any, **options: Any) -> None:
        explicit = options["database"] is not None
        options["database"] = options["database"] or DEFAULT_DB_ALIAS
        super().handle(*args, **options)
        if explicit or INTAKE_ALIAS not in settings.DATABASES or options.get("app_label"):
            return
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.MIGRATE_HEADING(f"Intake store (database '{INTAKE_ALIAS}'):"))
        call_command("migrate", database=INTAKE_ALIAS, interactive=False, verbosity=options["verbosity"],
                     stdout=self.stdout, stderr=self.stderr)
