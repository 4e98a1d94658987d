"""Ed25519 signing of provisional receipts.

Key source, in order: env/setting `RECEIPT_SIGNING_KEY` (base64 of the 32-byte raw private key);
else, when `RECEIPT_SIGNING_KEY_AUTOGENERATE` is on (dev, test, sandbox), a key generated once and
kept in `RECEIPT_SIGNING_KEY_FILE` (var/receipt_signing_key, mode 0600) so receipts stay
verifiable across restarts. Production must set the key (and turn autogeneration off).

The signature covers the canonical JSON of every receipt field except `signature` itself:
UTF-8, keys sorted, no whitespace (`json.dumps(..., sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`), so any client can rebuild the exact signed bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "Ed25519"
_lock = threading.Lock()
_cache: dict[tuple[str, str], SigningKey] = {}


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    key_id: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_raw(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _key_id(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


def _from_raw(raw: bytes) -> SigningKey:
    if len(raw) != 32:
        raise ImproperlyConfigured("RECEIPT_SIGNING_KEY must be the base64 of a 32-byte Ed25519 private key.")
    private = Ed25519PrivateKey.from_private_bytes(raw)
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SigningKey(private_key=private, key_id=_key_id(public_raw))


def _load_or_create_file(path: Path) -> bytes:
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting together must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return base64.b64decode(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(raw).decode() + "\n")
    return raw


def signing_key() -> SigningKey:
    configured = getattr(settings, "RECEIPT_SIGNING_KEY", "") or ""
    path = str(getattr(settings, "RECEIPT_SIGNING_KEY_FILE", Path(settings.BASE_DIR) / "var" / "receipt_signing_key"))
    cache_key = (configured, "" if configured else path)
    key = _cache.get(cache_key)
    if key is not None:
        return key
    with _lock:
        if configured:
            try:
                raw = base64.b64decode(configured, validate=True)
            except ValueError as exc:
                raise ImproperlyConfigured("RECEIPT_SIGNING_KEY is not valid base64.") from exc
        elif getattr(settings, "RECEIPT_SIGNING_KEY_AUTOGENERATE", False):
            raw = _load_or_create_file(Path(path))
        else:
            raise ImproperlyConfigured(
                "RECEIPT_SIGNING_KEY is not set and RECEIPT_SIGNING_KEY_AUTOGENERATE is off.")
        key = _from_raw(raw)
        _cache[cache_key] = key
        return key


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_receipt(fields: dict[str, Any]) -> dict[str, Any]:
    """Return the receipt: `fields` plus `key_id`, `algorithm` (both signed) and `signature`."""
    key = signing_key()
    signed = {**fields, "key_id": key.key_id, "algorithm": ALGORITHM}
    signature = key.private_key.sign(canonical_bytes(signed))
    return {**signed, "signature": base64.b64encode(signature).decode()}


def verify_receipt(receipt: dict[str, Any], public_raw: bytes) -> bool:
    """What an agent does offline with the published key (used by tests and the docs)."""
    fields = {k: v for k, v in receipt.items() if k != "signature"}
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.b64decode(receipt["signature"]), canonical_bytes(fields))
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


def public_key_document() -> dict[str, str]:
    key = signing_key()
    return {
        "key_id": key.key_id,
        "algorithm": ALGORITHM,
        "public_key_pem": key.public_pem(),
        "public_key_base64": base64.b64encode(key.public_raw()).decode(),
        "canonicalization": "JSON of every receipt field except `signature`, keys sorted, "
                            "separators (',', ':'), UTF-8",
    }
