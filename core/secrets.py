"""Which configured secrets are unusable outside a sandbox (issue 17: no default secret opens it).

Pure functions over plain values so that `config/settings/production.py` can refuse to start at
import time (gunicorn and Celery never run system checks) and `core.checks` can report the same
problems to `manage.py check` / `check --deploy`. Development defaults all start with "insecure";
the placeholders in `.env.example` all contain "change-me".
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

DEVELOPMENT_PREFIX = "insecure"
PLACEHOLDER_MARKERS = ("change-me", "changeme", "replace-me")
GENERATOR_HINT = "python manage.py generate_secrets"


@dataclass(frozen=True)
class SecretProblem:
    check_id: str
    setting: str
    message: str

    @property
    def hint(self) -> str:
        if self.setting == "RECEIPT_SIGNING_KEY_AUTOGENERATE":
            return "Set RECEIPT_SIGNING_KEY_AUTOGENERATE=false and a managed RECEIPT_SIGNING_KEY."
        return f"Set {self.setting} in the environment (generate values with `{GENERATOR_HINT}`)."


def _weak_reason(value: str, *, min_length: int) -> str | None:
    if not value:
        return "is empty"
    lowered = value.lower()
    if lowered.startswith(DEVELOPMENT_PREFIX):
        return "is the development default"
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return "is the .env.example placeholder"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    if len(set(value)) < 5:
        return "has fewer than 5 distinct characters"
    return None


def _receipt_key_reason(value: str) -> str | None:
    if not value:
        return "is empty (a generated per-host key is for development and sandboxes only)"
    if any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
        return "is the .env.example placeholder"
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64"
    if len(raw) != 32:
        return "is not the base64 of a 32-byte Ed25519 private key"
    if len(set(raw)) < 8:
        return "is not random"
    return None


def secret_problems(config: Any) -> list[SecretProblem]:
    """Every unusable secret in `config` (a settings module or `django.conf.settings`)."""
    problems: list[SecretProblem] = []
    reason = _weak_reason(getattr(config, "SECRET_KEY", "") or "", min_length=50)
    if reason:
        problems.append(SecretProblem("forodha.E001", "SECRET_KEY", f"SECRET_KEY {reason}."))
    reason = _weak_reason(getattr(config, "BANK_CALLBACK_SECRET", "") or "", min_length=32)
    if reason:
        problems.append(SecretProblem(
            "forodha.E002", "BANK_CALLBACK_SECRET",
            f"BANK_CALLBACK_SECRET {reason}: anyone could sign a bank payment confirmation."))
    reason = _receipt_key_reason(getattr(config, "RECEIPT_SIGNING_KEY", "") or "")
    if reason:
        problems.append(SecretProblem(
            "forodha.E003", "RECEIPT_SIGNING_KEY", f"RECEIPT_SIGNING_KEY {reason}."))
    if getattr(config, "RECEIPT_SIGNING_KEY_AUTOGENERATE", False):
        problems.append(SecretProblem(
            "forodha.E004", "RECEIPT_SIGNING_KEY_AUTOGENERATE",
            "RECEIPT_SIGNING_KEY_AUTOGENERATE is on: contingency receipts would be signed with a "
            "key generated on this host."))
    return problems


def development_secrets_allowed(config: Any) -> bool:
    """Sandboxes, `make run` (config.settings.local) and tests may run on the development defaults."""
    return bool(getattr(config, "FORODHA_SANDBOX", False) or getattr(config, "FORODHA_DEVELOPMENT_SECRETS", False))
