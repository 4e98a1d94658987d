"""Signatures of partner-state messages (documented in docs/transit.md).

Header `X-Forodha-Signature: t=<unix seconds>,<scheme>=<value>` over the bytes `b"<t>." + body`:
- `v1=<hex>`: HMAC-SHA256 with the secret shared with that partner (scheme "hmac");
- `ed25519=<base64>`: Ed25519 signature (scheme "ed25519"); Forodha signs with its own key and
  verifies with the partner's public key.
The partner is named in `X-Partner-State: <ISO alpha-2>`. The timestamp must be within
TRANSIT_SIGNATURE_TOLERANCE_SECONDS of the REAL time (the wall clock, never the sandbox clock: a
partner system signs with its own real clock, and a moved training clock must not refuse it), so a
captured message cannot be replayed later; a replay inside the window is harmless because inbound
messages are idempotent by message id.

Keys left empty in TRANSIT_PARTNERS / TRANSIT_SIGNING_KEY are derived from SECRET_KEY, so a
development or sandbox installation works out of the box and every process agrees on them.
Outside a sandbox (and `make run` / tests) empty or derived keys are refused: `manage.py check`
fails (forodha.E005, E006, core.secrets) and production settings refuse to import.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings

from core import clock
from core.exceptions import ApplicationError, PermissionDeniedError, error
from core.secrets import transit_derived_key

SIGNATURE_HEADER = "X-Forodha-Signature"
PARTNER_HEADER = "X-Partner-State"


@dataclass
class SignatureRejected(ApplicationError):
    detail: str = "The message signature is missing or invalid."
    code: str = "signature_invalid"
    status: int = 401
    title: str = "Not authenticated"


@dataclass(frozen=True)
class PartnerConfig:
    code: str
    name: str
    scheme: str  # "hmac" | "ed25519"
    endpoint: str
    secret: bytes  # hmac only
    public_key: Ed25519PublicKey | None  # ed25519 only


def _derived(label: str) -> bytes:
    return transit_derived_key(settings.SECRET_KEY, label)


def forodha_private_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(settings.TRANSIT_SIGNING_KEY) if settings.TRANSIT_SIGNING_KEY else _derived("forodha")
    return Ed25519PrivateKey.from_private_bytes(raw)


def forodha_public_key_b64() -> str:
    raw = forodha_private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def simulated_partner_private_key(code: str) -> Ed25519PrivateKey:
    """The key a simulated ed25519 partner signs with (sandbox only)."""
    return Ed25519PrivateKey.from_private_bytes(_derived(f"partner:{code}"))


def partner_config(code: str) -> PartnerConfig | None:
    raw = settings.TRANSIT_PARTNERS.get(code) if isinstance(code, str) else None
    if raw is None:
        return None
    scheme = raw.get("scheme", "hmac")
    secret = raw.get("secret", "").encode() or _derived(f"hmac:{code}")
    public_key: Ed25519PublicKey | None = None
    if scheme == "ed25519":
        if raw.get("public_key"):
            public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw["public_key"]))
        else:
            public_key = simulated_partner_private_key(code).public_key()
    return PartnerConfig(code=code, name=raw.get("name", code), scheme=scheme, endpoint=raw.get("endpoint", ""),
                         secret=secret, public_key=public_key)


def wall_seconds() -> float:
    """Unix time for signature timestamps: the real time, never moved by a sandbox clock offset
    (`core.clock.unmoved_now`; tests pin its time line). A transport check, not domain time."""
    return clock.unmoved_now().timestamp()


def _signed_bytes(timestamp: int, body: bytes) -> bytes:
    return f"{timestamp}.".encode() + body


def sign_outbound(*, partner: PartnerConfig, body: bytes, timestamp: int | None = None) -> str:
    """The header value Forodha sends to `partner`."""
    t = int(wall_seconds()) if timestamp is None else timestamp
    data = _signed_bytes(t, body)
    if partner.scheme == "ed25519":
        return f"t={t},ed25519={base64.b64encode(forodha_private_key().sign(data)).decode()}"
    return f"t={t},v1={hmac.new(partner.secret, data, hashlib.sha256).hexdigest()}"


def sign_as_partner(*, partner: PartnerConfig, body: bytes, timestamp: int | None = None) -> str:
    """The header value a (simulated) partner sends to Forodha."""
    t = int(wall_seconds()) if timestamp is None else timestamp
    data = _signed_bytes(t, body)
    if partner.scheme == "ed25519":
        signature = simulated_partner_private_key(partner.code).sign(data)
        return f"t={t},ed25519={base64.b64encode(signature).decode()}"
    return f"t={t},v1={hmac.new(partner.secret, data, hashlib.sha256).hexdigest()}"


def verify_inbound(*, partner_code: str | None, signature: str | None, body: bytes) -> PartnerConfig:
    """Authenticate an inbound partner message or raise (401 bad/missing signature, 403 unknown partner)."""
    if not partner_code:
        raise SignatureRejected(detail=f"{PARTNER_HEADER} header is required.", code="partner_missing",
                                errors=[error("partner_missing", "Name the sending partner state.",
                                              f"header:{PARTNER_HEADER}")])
    partner = partner_config(partner_code)
    if partner is None:
        raise PermissionDeniedError(detail=f"{partner_code!r} is not a configured partner state.",
                                    code="unknown_partner",
                                    errors=[error("unknown_partner", "Unknown partner state.",
                                                  f"header:{PARTNER_HEADER}")])
    if not signature:
        raise SignatureRejected(detail=f"{SIGNATURE_HEADER} header is required.", code="signature_missing",
                                errors=[error("signature_missing", "Sign the message.",
                                              f"header:{SIGNATURE_HEADER}")])
    parts = dict(p.split("=", 1) for p in signature.replace(" ", "").split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise SignatureRejected(code="signature_malformed", detail="The signature has no valid timestamp.",
                                errors=[error("signature_malformed", "Expected t=<unix seconds>,...",
                                              f"header:{SIGNATURE_HEADER}")]) from None
    skew = abs(wall_seconds() - timestamp)
    if skew > settings.TRANSIT_SIGNATURE_TOLERANCE_SECONDS:
        raise SignatureRejected(code="signature_expired",
                                detail="The signature timestamp is outside the tolerance window.",
                                errors=[error("signature_expired", f"Clock skew {int(skew)} s.",
                                              f"header:{SIGNATURE_HEADER}")])
    data = _signed_bytes(timestamp, body)
    if partner.scheme == "ed25519":
        value = parts.get("ed25519", "")
        try:
            assert partner.public_key is not None
            partner.public_key.verify(base64.b64decode(value, validate=True), data)
        except (InvalidSignature, ValueError, AssertionError):
            raise SignatureRejected(errors=[error("signature_invalid", "Ed25519 signature does not verify.",
                                                  f"header:{SIGNATURE_HEADER}")]) from None
        return partner
    expected = hmac.new(partner.secret, data, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise SignatureRejected(errors=[error("signature_invalid", "HMAC-SHA256 signature does not match.",
                                              f"header:{SIGNATURE_HEADER}")])
    return partner


def sandbox_partner_credentials() -> list[dict[str, str]]:
    """What a trainer needs to post signed messages AS each simulated partner state (sandbox seeding
    writes it to the credentials file): the scheme and the partner's signing secret or private key.
    Only the derived sandbox keys are listed; a partner configured with real key material is not."""
    out: list[dict[str, str]] = []
    for code in sorted(settings.TRANSIT_PARTNERS):
        partner = partner_config(code)
        raw = settings.TRANSIT_PARTNERS[code]
        if partner is None or raw.get("secret") or raw.get("public_key"):
            continue
        entry = {"partner": code, "name": partner.name, "scheme": partner.scheme,
                 "post_to": "/api/v1/transit/partner-messages", "partner_header": PARTNER_HEADER,
                 "signature_header": SIGNATURE_HEADER}
        if partner.scheme == "ed25519":
            private = simulated_partner_private_key(code).private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                                                        NoEncryption())
            entry["ed25519_private_key_base64"] = base64.b64encode(private).decode()
        else:
            entry["hmac_secret_hex"] = partner.secret.hex()
        out.append(entry)
    return out
