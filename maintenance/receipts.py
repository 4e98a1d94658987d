"""Ed25519 signing of provisional receipts (keys: `intake.keys`, kept in the intake store).

The signature covers the canonical JSON of every receipt field except `signature` itself:
UTF-8, keys sorted, no whitespace (`json.dumps(..., sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`), so any client can rebuild the exact signed bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from intake.keys import ALGORITHM, SigningKey, key_list, signing_key

__all__ = ["ALGORITHM", "KeyListDocument", "PublicKeyDocument", "PublishedKey", "SigningKey", "canonical_bytes",
           "key_list_document", "public_key_document",
           "sign_receipt", "signing_key", "verify_receipt"]

CANONICALIZATION = "JSON of every receipt field except `signature`, keys sorted, separators (',', ':'), UTF-8"


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


@dataclass(frozen=True, slots=True)
class PublicKeyDocument:
    """The key that signs receipts now (`GET /system/receipt-key`)."""

    key_id: str
    algorithm: str
    public_key_pem: str
    public_key_base64: str
    canonicalization: str


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """One key that ever signed a receipt."""

    key_id: str
    public_key_base64: str
    current: bool
    valid_from: dt.datetime
    valid_to: dt.datetime | None


@dataclass(frozen=True, slots=True)
class KeyListDocument:
    """Every key that ever signed a receipt, the current one first (`GET /system/receipt-keys`)."""

    algorithm: str
    canonicalization: str
    keys: list[PublishedKey]


def public_key_document() -> PublicKeyDocument:
    key = signing_key()
    return PublicKeyDocument(key_id=key.key_id, algorithm=ALGORITHM, public_key_pem=key.public_pem(),
                             public_key_base64=base64.b64encode(key.public_raw()).decode(),
                             canonicalization=CANONICALIZATION)


def key_list_document() -> KeyListDocument:
    """Every key that ever signed a receipt, the current one first (read from the intake store)."""
    signing_key()  # the configured key is recorded before it is listed
    return KeyListDocument(algorithm=ALGORITHM, canonicalization=CANONICALIZATION, keys=[
        PublishedKey(key_id=row.key_id, public_key_base64=row.public_key, current=row.valid_to is None,
                     valid_from=row.valid_from, valid_to=row.valid_to)
        for row in key_list()])
