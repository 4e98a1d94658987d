"""Ed25519 receipt signing keys, kept in the intake store.

Key source, in order: the setting `RECEIPT_SIGNING_KEY` (base64 of the 32-byte raw private key,
managed by the deployment; its public half is recorded here on first use); else, when
`RECEIPT_SIGNING_KEY_AUTOGENERATE` is on (dev, test, sandboxes), a key generated once and kept in
the intake store, so every web process sharing the store signs with the same key. Production sets
the key and turns autogeneration off.

Every key that ever signed is kept (`ReceiptSigningKey`): the current one has no `valid_to`;
recording a new key retires the previous one at the same instant, so a receipt signed before a
rotation still verifies against the published list.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from core import clock

from .models import ReceiptSigningKey
from .routers import INTAKE_ALIAS

ALGORITHM = "Ed25519"
# A process re-reads the current key at most this often (a rotation by another process shows
# within it; receipts signed meanwhile with the retired key still verify).
CACHE_SECONDS = 30.0

_lock = threading.Lock()
_cache: dict[str, tuple[float, SigningKey]] = {}


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


def key_id_for(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


def _private_raw(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())


def from_raw(raw: bytes) -> SigningKey:
    if len(raw) != 32:
        raise ImproperlyConfigured("RECEIPT_SIGNING_KEY must be the base64 of a 32-byte Ed25519 private key.")
    private = Ed25519PrivateKey.from_private_bytes(raw)
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SigningKey(private_key=private, key_id=key_id_for(public_raw))


def _record(key: SigningKey, *, keep_private: bool) -> None:
    """Make `key` the current key in the store (retiring the previous one) unless it already is."""
    now = clock.now()
    with transaction.atomic(using=INTAKE_ALIAS):
        current = ReceiptSigningKey.objects.select_for_update().filter(valid_to__isnull=True).first()
        if current is not None and current.key_id == key.key_id:
            return
        if current is not None:
            current.valid_to = now
            current.save(update_fields=["valid_to"])
        existing = ReceiptSigningKey.objects.filter(pk=key.key_id).first()
        if existing is not None:  # a retired key brought back: it is current again from now
            existing.valid_to = None
            existing.save(update_fields=["valid_to"])
            return
        ReceiptSigningKey.objects.create(
            key_id=key.key_id, public_key=base64.b64encode(key.public_raw()).decode(),
            private_key=base64.b64encode(_private_raw(key.private_key)).decode() if keep_private else "",
            valid_from=now)


def _generated_current() -> SigningKey:
    row = ReceiptSigningKey.objects.filter(valid_to__isnull=True).exclude(private_key="").first()
    if row is not None:
        return from_raw(base64.b64decode(row.private_key))
    key = from_raw(_private_raw(Ed25519PrivateKey.generate()))
    try:
        _record(key, keep_private=True)
    except IntegrityError:  # another process created the first key at the same time: use theirs
        return _generated_current()
    return _generated_current()


def _configured_raw() -> bytes | None:
    configured = getattr(settings, "RECEIPT_SIGNING_KEY", "") or ""
    if not configured:
        return None
    try:
        return base64.b64decode(configured, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("RECEIPT_SIGNING_KEY is not valid base64.") from exc


def signing_key() -> SigningKey:
    """The key that signs receipts now (reads only the intake store, never the primary)."""
    configured = getattr(settings, "RECEIPT_SIGNING_KEY", "") or ""
    cached = _cache.get(configured)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    with _lock:
        raw = _configured_raw()
        if raw is not None:
            key = from_raw(raw)
            _record(key, keep_private=False)
        elif getattr(settings, "RECEIPT_SIGNING_KEY_AUTOGENERATE", False):
            key = _generated_current()
        else:
            raise ImproperlyConfigured(
                "RECEIPT_SIGNING_KEY is not set and RECEIPT_SIGNING_KEY_AUTOGENERATE is off.")
        _cache[configured] = (time.monotonic(), key)
        return key


def clear_cache() -> None:
    _cache.clear()


def key_rotate() -> SigningKey:
    """Generate a new key and make it current (generated keys only: a managed key is rotated by
    deploying the new `RECEIPT_SIGNING_KEY`, which is recorded, and the old one retired, on first use)."""
    if _configured_raw() is not None:
        raise ImproperlyConfigured(
            "RECEIPT_SIGNING_KEY is set: rotate by deploying a new key (the old one is retired on first use).")
    key = from_raw(_private_raw(Ed25519PrivateKey.generate()))
    _record(key, keep_private=True)
    clear_cache()
    return key


def public_key_raw(key_id: str) -> bytes | None:
    row = ReceiptSigningKey.objects.filter(pk=key_id).first()
    return base64.b64decode(row.public_key) if row is not None else None


def key_list() -> list[ReceiptSigningKey]:
    """Every key ever used, the current one first, then by most recent."""
    rows = list(ReceiptSigningKey.objects.order_by("-valid_from", "key_id"))
    return sorted(rows, key=lambda r: r.valid_to is not None)
