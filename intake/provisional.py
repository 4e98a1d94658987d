"""Provisional release tokens and the qualifying decision, from the intake store alone.

The token is a JWS in compact serialisation (RFC 7515) signed with EdDSA over Ed25519 (RFC 8037)
by the receipt key set (`intake.keys`): `base64url(header) "." base64url(claims) "."
base64url(signature)`, the header naming the key (`{"alg": "EdDSA", "kid": ..., "typ": ...}`).
Any JOSE library verifies it with a public key from `GET /api/v1/system/receipt-keys`, or ten
lines of Python (docs/maintenance.md, "Verifying a provisional release offline").

The decision reads a snapshot copied from the primary (rules, AEO statuses, watch-list;
`ReleaseRuleSnapshot`, `TraderStatusCopy`), so it needs no primary database: a buffered lodging
with the primary away can still carry a release a terminal accepts.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .keys import public_key_raw, signing_key
from .models import ReleaseRuleSnapshot, TraderStatusCopy

TOKEN_TYPE = "forodha-provisional-release+jwt"
ISSUER = "forodha"
# Longest token accepted for checking (the ones issued are about 700 characters).
MAX_TOKEN_LENGTH = 4096
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
# What the token names, bounded so that it stays a QR code a hand-held scanner reads.
MAX_LISTED = 20
MAX_DESCRIPTION = 80
_CONTAINER = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def token_sign(claims: dict[str, Any]) -> tuple[str, str]:
    """Sign `claims` with the current receipt key: (token, key id)."""
    key = signing_key()
    header = {"alg": "EdDSA", "kid": key.key_id, "typ": TOKEN_TYPE}
    signing_input = f"{_b64url(_json(header))}.{_b64url(_json(claims))}"
    signature = key.private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{_b64url(signature)}", key.key_id


@dataclass(frozen=True)
class TokenCheck:
    """What a token says once checked: `valid`, or the `reason` it is not (with what could be read)."""

    valid: bool
    reason: str = ""
    detail: str = ""
    key_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict)


def token_verify(token: str, *, now: dt.datetime, public_keys: dict[str, bytes] | None = None) -> TokenCheck:
    """Check a token's shape, key, signature and validity period. `public_keys` (key id -> raw
    public key) stands for a terminal's offline copy of the published keys; without it the keys
    are read from the intake store. Never raises for a bad token: it answers `valid=False`."""
    if not TOKEN_SHAPE.match(token) or len(token) > MAX_TOKEN_LENGTH:
        return TokenCheck(False, "malformed", "Not a compact JWS (three base64url parts).")
    header_b64, claims_b64, signature_b64 = token.split(".")
    try:
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return TokenCheck(False, "malformed", "A part of the token does not decode.")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return TokenCheck(False, "malformed", "Header and claims must be JSON objects.")
    kid = header.get("kid")
    if header.get("alg") != "EdDSA" or header.get("typ") != TOKEN_TYPE or not isinstance(kid, str):
        return TokenCheck(False, "malformed", "Not a Forodha provisional release (alg, typ or kid).")
    raw = public_keys.get(kid) if public_keys is not None else public_key_raw(kid)
    if raw is None:
        return TokenCheck(False, "unknown_key", f"No published key has the id {kid}.", kid)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, f"{header_b64}.{claims_b64}".encode("ascii"))
    except (InvalidSignature, ValueError):
        return TokenCheck(False, "bad_signature", "The signature does not match the token's contents.", kid)
    exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
    if not isinstance(exp, int) or not isinstance(nbf, int):
        return TokenCheck(False, "malformed", "The token has no validity period.", kid, claims)
    stamp = now.timestamp()
    if stamp >= exp:
        until = dt.datetime.fromtimestamp(exp, tz=dt.UTC).isoformat()
        return TokenCheck(False, "expired", f"The release expired at {until}.", kid, claims)
    if stamp < nbf - 300:  # five minutes of clock difference between terminal and Forodha
        return TokenCheck(False, "not_yet_valid", "The release is not valid yet.", kid, claims)
    return TokenCheck(True, key_id=kid, claims=claims)


# --- the decision ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    """One qualifying rule as copied into the snapshot (maintenance.ProvisionalReleaseRule)."""

    code: str
    name: str
    flow: str  # "export" | "import" | "any"
    hs_prefixes: tuple[str, ...]
    requires_aeo: bool
    validity_hours: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleView:
        return cls(code=str(data["code"]), name=str(data["name"]), flow=str(data["flow"]),
                   hs_prefixes=tuple(str(p) for p in data.get("hs_prefixes") or ()),
                   requires_aeo=bool(data.get("requires_aeo")), validity_hours=int(data["validity_hours"]))


@dataclass(frozen=True)
class Decision:
    qualifies: bool
    reason: str
    rule: RuleView | None = None
    trader_pin: str = ""
    snapshot_digest: str = ""


def _digits(code: Any) -> str:
    return "".join(ch for ch in str(code) if ch.isdigit())


def declaration_flow(data: dict[str, Any]) -> str:
    return "export" if str(data.get("regime") or "").upper().startswith("EX") else "import"


def trader_pin_of(data: dict[str, Any]) -> str:
    key = "exporter_pin" if declaration_flow(data) == "export" else "importer_pin"
    value = data.get(key)
    return value.strip().upper() if isinstance(value, str) else ""


def _hs_codes(data: dict[str, Any]) -> list[str]:
    items = data.get("items")
    if not isinstance(items, list):
        return []
    return [_digits(item.get("hs_code", "")) if isinstance(item, dict) else "" for item in items]


def rule_matches(rule: RuleView, data: dict[str, Any], *, aeo: bool) -> bool:
    """Every item must fall under the rule's HS prefixes (a container of tea with one carton of
    electronics is not a perishable consignment), the flow must match, and the trader must be an
    AEO when the rule asks for it."""
    if rule.flow != "any" and rule.flow != declaration_flow(data):
        return False
    if rule.requires_aeo and not aeo:
        return False
    codes = _hs_codes(data)
    if not codes or any(not code for code in codes):
        return False
    return not rule.hs_prefixes or all(code.startswith(rule.hs_prefixes) for code in codes)


def _aeo_on(status: TraderStatusCopy | None, on: dt.date) -> bool:
    if status is None or not status.aeo_active or status.aeo_valid_from is None:
        return False
    return status.aeo_valid_from <= on and (status.aeo_valid_to is None or on <= status.aeo_valid_to)


def release_decide(data: Any, *, on: dt.date) -> Decision:
    """Whether the goods of a buffered declaration body qualify, from the intake snapshot alone.
    Fails closed: no snapshot yet, a draft, a body without a trader or items -> no release."""
    if not isinstance(data, dict) or data.get("draft") is True:
        return Decision(False, "not_a_declaration")
    pin = trader_pin_of(data)
    if not pin:
        return Decision(False, "no_trader")
    snapshot = ReleaseRuleSnapshot.objects.filter(pk=1).first()
    if snapshot is None:
        return Decision(False, "no_snapshot", trader_pin=pin)
    status = TraderStatusCopy.objects.filter(pk=pin).first()
    if status is not None and status.on_watch_list:
        return Decision(False, "watch_listed", trader_pin=pin, snapshot_digest=snapshot.digest)
    aeo = _aeo_on(status, on)
    for rule_data in snapshot.rules:
        rule = RuleView.from_json(rule_data)
        if rule_matches(rule, data, aeo=aeo):
            return Decision(True, "qualifies", rule, pin, snapshot.digest)
    return Decision(False, "no_rule_matches", trader_pin=pin, snapshot_digest=snapshot.digest)


def goods_summary(data: dict[str, Any]) -> dict[str, Any]:
    """HS codes (distinct, in order), total packages and a short description of the goods."""
    items = [item for item in data.get("items") or [] if isinstance(item, dict)]
    codes: list[str] = []
    for item in items:
        code = str(item.get("hs_code", "")).strip()
        if code and code not in codes:
            codes.append(code)
    packages = 0
    for item in items:
        value = item.get("packages")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            packages += value
    descriptions = [str(item.get("description", "")).strip() for item in items if item.get("description")]
    description = descriptions[0] if descriptions else ""
    if len(items) > 1:
        description = f"{description} (+{len(items) - 1} more item{'s' if len(items) > 2 else ''})"
    if len(description) > MAX_DESCRIPTION:
        description = description[:MAX_DESCRIPTION - 1] + "…"
    return {"hs": codes[:MAX_LISTED], "packages": packages, "description": description,
            "items": len(items)}


def transport_references(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Bills of lading and container numbers named by the body (declaration and transit parts)."""
    bls: list[str] = []
    for key in ("bill_of_lading", "bill_of_lading_number"):
        value = data.get(key)
        if isinstance(value, str) and value.strip() and value.strip() not in bls:
            bls.append(value.strip())
    containers: list[str] = []
    transit = data.get("transit")
    transit_containers = transit.get("containers") if isinstance(transit, dict) else None
    for source in (data.get("containers"), transit_containers):
        if not isinstance(source, list):
            continue
        for entry in source:
            number = entry.get("number") if isinstance(entry, dict) else entry
            if isinstance(number, str) and _CONTAINER.match(number.strip().upper()):
                value = number.strip().upper()
                if value not in containers:
                    containers.append(value)
    return bls[:MAX_LISTED], containers[:MAX_LISTED]


def release_claims(*, release_id: uuid.UUID, submission_id: uuid.UUID, data: dict[str, Any], decision: Decision,
                   issued_at: dt.datetime, expires_at: dt.datetime) -> dict[str, Any]:
    """The signed claims: who, what, which transport documents, from when until when."""
    bls, containers = transport_references(data)
    return {
        "iss": ISSUER,
        "jti": str(release_id),
        "sub": str(submission_id),
        "iat": _epoch(issued_at),
        "exp": _epoch(expires_at),
        "pin": decision.trader_pin,
        "regime": str(data.get("regime") or "").upper(),
        "office": str(data.get("office") or "").upper(),
        "bl": bls,
        "containers": containers,
        "goods": goods_summary(data),
        "rule": decision.rule.code if decision.rule else "",
    }
