"""`manage.py release verify <token> [--keys FILE] | refresh` (provisional releases).

`verify` without `--keys` is the online check, from the intake store alone (works with the
primary database down). With `--keys FILE` (the JSON of `GET /api/v1/system/receipt-keys`, saved
beforehand) it is the offline check a terminal makes: signature and validity only, no database.
Prints the answer as JSON; exits 1 when the release is not valid.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import clock
from intake.provisional import token_verify
from maintenance.provisional import release_snapshot_refresh, release_verify


def keys_from_document(document: Any) -> dict[str, bytes]:
    """key id -> raw public key, from a saved `GET /api/v1/system/receipt-keys` answer."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise CommandError("The keys file is not a receipt-keys document ({\"keys\": [...]}).")
    keys: dict[str, bytes] = {}
    for entry in document["keys"]:
        try:
            keys[str(entry["key_id"])] = base64.b64decode(entry["public_key_base64"], validate=True)
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"A key entry is not valid: {exc}") from exc
    return keys


class Command(BaseCommand):
    help = "Check a provisional release token (online from intake, or offline against saved keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check a token")
        verify.add_argument("token")
        verify.add_argument("--keys", help="offline: a saved GET /api/v1/system/receipt-keys answer (JSON file)")
        sub.add_parser("refresh", help="copy the rules, AEO statuses and watch-list to the intake store now")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "refresh":
            report = release_snapshot_refresh()
            self.stdout.write(f"rules={report.rules} traders={report.traders} digest={report.digest[:16]}")
            return
        token = options["token"].strip()
        if options.get("keys"):
            try:
                document = json.loads(Path(options["keys"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read the keys file: {exc}") from exc
            check = token_verify(token, now=clock.now(), public_keys=keys_from_document(document))
            answer: dict[str, Any] = {"valid": check.valid, "offline": True, "key_id": check.key_id or None}
            if not check.valid:
                answer.update(reason=check.reason, detail=check.detail)
            if check.claims and check.reason != "bad_signature":
                answer["claims"] = check.claims
        else:
            answer = release_verify(token)
        self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))
        if not answer["valid"]:
            raise CommandError(f"not valid: {answer.get('reason')}", returncode=1)
