"""`manage.py receipt_keys list | rotate`: the keys that sign contingency receipts.

`rotate` generates a new key and makes it current (generated keys: dev, test, sandboxes); the
previous key is retired, kept and still published, so its receipts keep verifying. With a managed
key (`RECEIPT_SIGNING_KEY`) rotate by deploying the new key: it is recorded, and the old one
retired, on first use. Reads and writes only the intake store (works with the primary away).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from intake.keys import key_list, key_rotate, signing_key


class Command(BaseCommand):
    help = "List the receipt signing keys (current first) or rotate to a new generated key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "rotate"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rotate":
            try:
                key = key_rotate()
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"rotated: {key.key_id} is the current receipt key")
            return
        signing_key()
        for row in key_list():
            until = timezone.localtime(row.valid_to).isoformat() if row.valid_to else "current"
            self.stdout.write(f"{row.key_id}  from {timezone.localtime(row.valid_from).isoformat()}  to {until}"
                              f"  {row.public_key}")
