"""`manage.py audit verify`: check every registered event chain; exit 1 on tampering."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.audit import registered_chains, verify_chain


class Command(BaseCommand):
    help = "Verify the hash chains of the append-only event logs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        total_problems = 0
        for spec in registered_chains():
            checked, problems = verify_chain(spec)
            total_problems += len(problems)
            self.stdout.write(f"{spec.model._meta.label}: {checked} rows, {len(problems)} problems")
            for p in problems[:50]:
                self.stdout.write(f"  subject {p.subject} row {p.row}: {p.problem}")
        if total_problems:
            raise CommandError(f"audit chain verification failed: {total_problems} problems")
        self.stdout.write(self.style.SUCCESS("audit chains intact"))
