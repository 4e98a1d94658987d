"""Which configured secrets are unusable outside a sandbox (issue 17: no default secret opens it).

Pure functions over plain values so that `config/settings/production.py` can refuse to start at
import time (gunicorn and Celery never run system checks) and `core.checks` can report the same
problems to `manage.py check` / `check --deploy`. Development defaults all start with "insecure";
the placeholders in `.env.example` all contain "change-me".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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
        if self.setting == "TRANSIT_PARTNERS":
            return ("Set TRANSIT_PARTNERS (JSON) with the key agreed with each partner state: an HMAC `secret` "
                    "of 32+ random characters, or the partner's Ed25519 `public_key` (docs/transit.md).")
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


def _receipt_key_reason(value: str, *, empty: str = "a generated per-host key is for development and sandboxes only",
                        ) -> str | None:
    if not value:
        return f"is empty ({empty})"
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


def transit_derived_key(secret_key: str, label: str) -> bytes:
    """The key material transit uses for a key left empty: derived from SECRET_KEY so a development
    or sandbox installation works out of the box (transit.signing). Anyone who knows SECRET_KEY
    knows these keys, so outside a sandbox they are refused (forodha.E005, E006)."""
    return hashlib.sha256(f"forodha-transit:{label}:{secret_key}".encode()).digest()


_DERIVED = "is the key derived from SECRET_KEY (development and sandboxes only)"


def _transit_problems(config: Any) -> list[SecretProblem]:
    secret_key = getattr(config, "SECRET_KEY", "") or ""
    problems: list[SecretProblem] = []
    signing = getattr(config, "TRANSIT_SIGNING_KEY", "") or ""
    reason = _receipt_key_reason(signing, empty="a key derived from SECRET_KEY is for development and sandboxes only")
    if reason is None and base64.b64decode(signing) == transit_derived_key(secret_key, "forodha"):
        reason = _DERIVED
    if reason:
        problems.append(SecretProblem(
            "forodha.E005", "TRANSIT_SIGNING_KEY",
            f"TRANSIT_SIGNING_KEY {reason}: messages to Ed25519 partner states would be signed with it."))
    partners = getattr(config, "TRANSIT_PARTNERS", None) or {}
    for code, raw in sorted(partners.items()):
        scheme = raw.get("scheme", "hmac")
        if scheme == "hmac":
            what = "HMAC secret"
            value = raw.get("secret", "") or ""
            reason = _weak_reason(value, min_length=32)
            derived = transit_derived_key(secret_key, f"hmac:{code}")
            if not value:
                reason = "is empty (derived from SECRET_KEY: development and sandboxes only)"
            elif reason is None and value in (derived.hex(), base64.b64encode(derived).decode()):
                reason = _DERIVED
        elif scheme == "ed25519":
            what = "Ed25519 public key"
            reason = _partner_public_key_reason(raw.get("public_key", "") or "", secret_key=secret_key, code=code)
        else:
            what, reason = "scheme", f"{scheme!r} is not hmac or ed25519"
        if reason:
            problems.append(SecretProblem(
                "forodha.E006", "TRANSIT_PARTNERS",
                f"TRANSIT_PARTNERS {code}: the {what} {reason}; anyone could sign that partner's messages."))
    return problems


def _partner_public_key_reason(value: str, *, secret_key: str, code: str) -> str | None:
    if not value:
        return "is empty (the simulated partner's key, derived from SECRET_KEY: development and sandboxes only)"
    if any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
        return "is the .env.example placeholder"
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64"
    if len(raw) != 32:
        return "is not the base64 of a 32-byte Ed25519 public key"
    simulated = Ed25519PrivateKey.from_private_bytes(transit_derived_key(secret_key, f"partner:{code}"))
    if raw == simulated.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw):
        return "is the simulated partner's key, derived from SECRET_KEY (development and sandboxes only)"
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
    problems.extend(_transit_problems(config))
    return problems


def development_secrets_allowed(config: Any) -> bool:
    """Sandboxes, `make run` (config.settings.local) and tests may run on the development defaults."""
    return bool(getattr(config, "FORODHA_SANDBOX", False) or getattr(config, "FORODHA_DEVELOPMENT_SECRETS", False))
