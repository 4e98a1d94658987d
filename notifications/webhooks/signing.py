"""HMAC-SHA256 signatures of webhook deliveries.

Header: `Forodha-Signature: t=<unix seconds>,v1=<hex>` where hex = HMAC-SHA256(secret,
"<t>.<body>"). Receivers recompute it over the raw body, compare in constant time and reject a
timestamp older than a few minutes (replay protection), as Stripe's scheme does.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Forodha-Signature"


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature_compute(secret=secret, timestamp=timestamp, body=body)}"


def signature_verify(*, secret: str, header: str, body: bytes, now: int, tolerance_seconds: int = 300) -> bool:
    """Receiver side (used by tests and documented for agents)."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
