"""Print fresh secrets as env-file lines: `python manage.py generate_secrets > .env` (docker-compose.yml)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django.core.management.base import BaseCommand


def generate() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BANK_CALLBACK_SECRET": secrets.token_urlsafe(48),
        # Any 32 random bytes are an Ed25519 private key (RFC 8032 seed).
        "RECEIPT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # docker-compose.yml: the object store that keeps declaration documents (MinIO).
        "MINIO_ROOT_PASSWORD": secrets.token_urlsafe(32),
    }


class Command(BaseCommand):
    help = "Print a SECRET_KEY, BANK_CALLBACK_SECRET, RECEIPT_SIGNING_KEY and MINIO_ROOT_PASSWORD as KEY=value lines."
    # Must work where the secrets are still missing (that is when it is needed).
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        for name, value in generate().items():
            self.stdout.write(f"{name}={value}")
