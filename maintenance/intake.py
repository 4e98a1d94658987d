"""Which requests are "lodging", and the cheap syntactic checks done before a receipt is issued.

Pure functions (no database): the middleware calls them only while a window or contingency is
active, so the normal request path pays nothing for them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.exceptions import ErrorItem, error

from .enums import SubmissionPriority


@dataclass(frozen=True)
class LodgingEndpoint:
    name: str
    method: str
    pattern: re.Pattern[str]
    content_types: tuple[str, ...]
    kind: str  # "declaration" | "declaration_lodge" | "manifest" | "manifest_edifact" | "action" | "bank_callback"


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# The one list of lodging endpoints (API.md). Scope `lodging` blocks exactly these; contingency
# buffers exactly these.
LODGING_ENDPOINTS: tuple[LodgingEndpoint, ...] = (
    LodgingEndpoint("declarations", "POST", re.compile(r"^/api/v1/declarations/?$"),
                    ("application/json",), "declaration"),
    LodgingEndpoint("declarations.lodge", "POST", re.compile(rf"^/api/v1/declarations/{_UUID}/lodge/?$"),
                    ("application/json",), "declaration_lodge"),
    LodgingEndpoint("manifests", "POST", re.compile(r"^/api/v1/manifests/?$"),
                    ("application/json",), "manifest"),
    LodgingEndpoint("manifests.edifact", "POST", re.compile(r"^/api/v1/manifests/edifact/?$"),
                    ("application/edifact",), "manifest_edifact"),  # as the normal endpoint's parser
)

# Also buffered during contingency (not "lodging" for a window's scope): a bank's payment
# confirmation may otherwise be lost for good, and a ship's arrival, its discharge or a
# cancellation are facts that happened whether or not the database was there to hear them.
# Replayed by re-dispatching the stored request through the normal view (maintenance.redispatch).
OTHER_BUFFERED_ENDPOINTS: tuple[LodgingEndpoint, ...] = (
    LodgingEndpoint("payments.bank_callback", "POST", re.compile(r"^/api/v1/payments/bank-callback/?$"),
                    ("application/json",), "bank_callback"),
    LodgingEndpoint("manifests.arrival", "POST", re.compile(rf"^/api/v1/manifests/{_UUID}/arrival/?$"),
                    ("application/json",), "action"),
    LodgingEndpoint("manifests.discharge", "POST", re.compile(rf"^/api/v1/manifests/{_UUID}/discharge/?$"),
                    ("application/json",), "action"),
    LodgingEndpoint("declarations.cancel", "POST", re.compile(rf"^/api/v1/declarations/{_UUID}/cancel/?$"),
                    ("application/json",), "action"),
)
BUFFERED_ENDPOINTS = LODGING_ENDPOINTS + OTHER_BUFFERED_ENDPOINTS
REDISPATCHED = frozenset(e.name for e in OTHER_BUFFERED_ENDPOINTS)

# Always served, whatever the scope: health checks, the status/receipt-key endpoints agents poll.
# The receipt look-up answers from the intake store alone, so no window needs to block it.
EXEMPT_API_PREFIXES = ("/api/v1/health/", "/api/v1/system/", "/api/v1/receipts/", "/api/v1/provisional-releases/")
# The officer interface keeps working in every window (officers operate the window from it).
EXEMPT_PREFIXES = ("/admin/", "/static/")


def lodging_endpoint(method: str, path: str) -> LodgingEndpoint | None:
    if method != "POST":
        return None
    for endpoint in LODGING_ENDPOINTS:
        if endpoint.pattern.match(path):
            return endpoint
    return None


def buffered_endpoint(method: str, path: str) -> LodgingEndpoint | None:
    """The endpoint if this request is one contingency buffers (lodging and the others above)."""
    if method != "POST":
        return None
    for endpoint in BUFFERED_ENDPOINTS:
        if endpoint.pattern.match(path):
            return endpoint
    return None


@dataclass(frozen=True)
class IntakeCheck:
    ok: bool
    status: int = 200
    code: str = ""
    detail: str = ""
    errors: tuple[ErrorItem, ...] = ()
    data: Any = None
    pins: tuple[str, ...] = field(default_factory=tuple)


def _content_type(raw: str) -> str:
    return raw.split(";", 1)[0].strip().lower()


def _declaration_errors(data: dict[str, Any]) -> list[ErrorItem]:
    # The minimum every canonical body has (API.md); the full validation happens at replay.
    errors: list[ErrorItem] = []
    if data.get("draft") is True:
        return errors
    for key in ("regime", "office"):
        if not isinstance(data.get(key), str) or not data.get(key):
            errors.append(error("required", "This field is required.", f"/{key}"))
    regime = str(data.get("regime")) if isinstance(data.get("regime"), str) else ""
    pin_key = "exporter_pin" if regime.upper().startswith("EX") else "importer_pin"
    if not isinstance(data.get(pin_key), str) or not data.get(pin_key):
        errors.append(error("required", "This field is required.", f"/{pin_key}"))
    items = data.get("items")
    if not isinstance(items, list) or not items:
        errors.append(error("required", "At least one item is required.", "/items"))
    else:
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                errors.append(error("invalid", "Each item must be an object.", f"/items/{index}"))
            elif not isinstance(item.get("hs_code"), str) or not item.get("hs_code"):
                errors.append(error("required", "This field is required.", f"/items/{index}/hs_code"))
    return errors


def check_body(endpoint: LodgingEndpoint, content_type: str, body: bytes) -> IntakeCheck:
    """Refuse garbage at once (no receipt): wrong media type, malformed JSON, missing top keys."""
    media = _content_type(content_type)
    bodyless = endpoint.kind in ("declaration_lodge", "action")
    if media not in endpoint.content_types and not (bodyless and not body):
        return IntakeCheck(False, 415, "unsupported_media_type",
                           f"Content-Type must be {' or '.join(endpoint.content_types)}.",
                           (error("unsupported_media_type", f"Got '{media or '(none)'}'.", ""),))
    if endpoint.kind == "manifest_edifact":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = body.decode("latin-1")
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any bytes
                text = ""
        stripped = text.lstrip()
        if not stripped.startswith(("UNA", "UNB")) or "UNH+" not in text or "CUSCAR" not in text:
            return IntakeCheck(False, 400, "malformed_edifact",
                               "The body is not a UN/EDIFACT CUSCAR interchange.",
                               (error("malformed_edifact", "Expected UNA/UNB, UNH+ and CUSCAR.", ""),))
        return IntakeCheck(True, data=None)
    if bodyless and not body.strip():
        return IntakeCheck(True, data={})
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return IntakeCheck(False, 400, "parse_error", "Malformed JSON.",
                           (error("parse_error", str(exc)[:200], ""),))
    if not isinstance(data, dict):
        return IntakeCheck(False, 400, "validation_error", "The body must be a JSON object.",
                           (error("invalid", "Expected a JSON object.", ""),))
    errors: list[ErrorItem] = []
    if endpoint.kind == "declaration":
        errors = _declaration_errors(data)
    elif endpoint.kind == "manifest" and not data:
        errors = [error("required", "The manifest is empty.", "")]
    if errors:
        return IntakeCheck(False, 400, "validation_error", "The request has validation errors.", tuple(errors))
    pins = tuple(str(data[k]) for k in ("importer_pin", "exporter_pin") if isinstance(data.get(k), str))
    return IntakeCheck(True, data=data, pins=pins)


PERISHABLE_EXPORT_CHAPTERS = ("06", "07", "08", "09")


def _hs_digits(code: Any) -> str:
    return "".join(ch for ch in str(code) if ch.isdigit())


def is_perishable(data: dict[str, Any], extra_prefixes: Iterable[str]) -> bool:
    """Exports of HS chapters 06-09 (flowers, vegetables, fruit, tea/coffee/spices), or any item
    under a configured prefix (imports too: e.g. vaccines)."""
    items = data.get("items")
    if not isinstance(items, list):
        return False
    regime = str(data.get("regime") or "").upper()
    prefixes = tuple(_hs_digits(p) for p in extra_prefixes if _hs_digits(p))
    for item in items:
        if not isinstance(item, dict):
            continue
        digits = _hs_digits(item.get("hs_code", ""))
        if regime.startswith("EX") and digits[:2] in PERISHABLE_EXPORT_CHAPTERS:
            return True
        if prefixes and digits.startswith(prefixes):
            return True
    return False


def priority_for(endpoint: LodgingEndpoint, data: Any, *, extra_prefixes: Iterable[str],
                 aeo: bool) -> SubmissionPriority:
    if endpoint.kind in ("manifest", "manifest_edifact"):
        return SubmissionPriority.MANIFEST
    if isinstance(data, dict) and is_perishable(data, extra_prefixes):
        return SubmissionPriority.PERISHABLE
    if aeo:
        return SubmissionPriority.AEO
    return SubmissionPriority.NORMAL
