"""Print fresh secrets as env-file lines: `python manage.py generate_secrets > .env` (docker-compose.yml)."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

PARTNER_PUBLIC_KEY_PLACEHOLDER = "change-me-{code}-ed25519-public-key"


def transit_partners() -> dict[str, dict[str, str]]:
    """The configured partner states with real key slots: a fresh HMAC secret for each `hmac`
    partner (to be handed to that partner), and for each `ed25519` partner its configured public
    key or a placeholder -- only the partner can supply that key, and production refuses to start
    until it is filled in (forodha.E006)."""
    out: dict[str, dict[str, str]] = {}
    for code, raw in sorted(settings.TRANSIT_PARTNERS.items()):
        entry = {k: v for k, v in raw.items() if k not in ("secret", "public_key")}
        if raw.get("scheme", "hmac") == "ed25519":
            entry["public_key"] = raw.get("public_key") or PARTNER_PUBLIC_KEY_PLACEHOLDER.format(code=code)
        else:
            entry["secret"] = secrets.token_urlsafe(48)
        out[code] = entry
    return out


def generate() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BANK_CALLBACK_SECRET": secrets.token_urlsafe(48),
        # Any 32 random bytes are an Ed25519 private key (RFC 8032 seed).
        "RECEIPT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # Forodha's own key for messages to Ed25519 partner states (its public key goes to them).
        "TRANSIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # One line of compact JSON in single quotes (kept literally by `docker compose` env files
        # and django-environ; the partner names have spaces).
        "TRANSIT_PARTNERS": "'" + json.dumps(transit_partners(), separators=(",", ":"), ensure_ascii=True) + "'",
        # docker-compose.yml: the object store that keeps declaration documents (MinIO).
        "MINIO_ROOT_PASSWORD": secrets.token_urlsafe(32),
    }


class Command(BaseCommand):
    help = ("Print a SECRET_KEY, BANK_CALLBACK_SECRET, RECEIPT_SIGNING_KEY, TRANSIT_SIGNING_KEY, "
            "TRANSIT_PARTNERS (fresh HMAC secrets; Ed25519 partners' public keys to fill in) and "
            "MINIO_ROOT_PASSWORD as KEY=value lines.")
    # Must work where the secrets are still missing (that is when it is needed).
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        for name, value in generate().items():
            self.stdout.write(f"{name}={value}")
