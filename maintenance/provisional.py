"""Provisional release during contingency: the published rules (writes, with events), their copy
in the intake store (the snapshot), issuing a release with a buffered receipt, and checking one.

    primary                         intake store (survives the primary going away)
    ProvisionalReleaseRule  ──copy──> ReleaseRuleSnapshot (rules, digest)
    traders: AEO, watch-list ─copy──> TraderStatusCopy (AEO validity, watch-list)
                                      ProvisionalRelease (issued with the 202, signed token)

The copy is made on commit of every rule change and by the beat task
`maintenance.refresh_release_snapshot` (every PROVISIONAL_RELEASE_SNAPSHOT_SECONDS), so an AEO
grant or a watch-listing reaches intake within that period. Issuing and checking read the intake
store alone (intake.provisional).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from core import clock
from core.exceptions import ValidationFailed, error
from intake.enums import SubmissionStatus
from intake.models import BufferedSubmission, ProvisionalRelease, ReleaseRuleSnapshot, TraderStatusCopy
from intake.provisional import TokenCheck, release_claims, release_decide, token_sign, token_verify
from intake.routers import INTAKE_ALIAS
from traders.models import AEOProfile, Trader

from .enums import ReleaseFlow, ReleaseRuleEventKind
from .models import ProvisionalReleaseRule, ProvisionalReleaseRuleEvent

logger = logging.getLogger("forodha.maintenance")

# What an officer may set on a rule (the rest is bookkeeping).
RULE_FIELDS = ("code", "name", "description", "flow", "hs_prefixes", "requires_aeo", "validity_hours", "active",
               "position")


def _rule_state(rule: ProvisionalReleaseRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def _clean_prefixes(value: Any, errors: list[Any]) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple):
        errors.append(error("invalid", "A list of HS prefixes (digits) is expected.", "/hs_prefixes"))
        return []
    prefixes: list[str] = []
    for index, item in enumerate(value):
        digits = "".join(ch for ch in str(item) if ch.isdigit())
        if not digits or len(digits) > 10 or digits != str(item).replace(".", "").strip():
            errors.append(error("invalid_hs_prefix", f"'{item}' is not an HS prefix (2 to 10 digits).",
                                f"/hs_prefixes/{index}"))
        elif len(digits) < 2:
            errors.append(error("invalid_hs_prefix", "An HS prefix has at least 2 digits (a chapter).",
                                f"/hs_prefixes/{index}"))
        elif digits not in prefixes:
            prefixes.append(digits)
    return prefixes


def release_rule_validate(data: dict[str, Any]) -> dict[str, Any]:
    """The rule fields, checked (400 problem with pointers on any error)."""
    errors: list[Any] = []
    cleaned = dict(data)
    if "hs_prefixes" in data:
        cleaned["hs_prefixes"] = _clean_prefixes(data["hs_prefixes"], errors)
    if "flow" in data and data["flow"] not in ReleaseFlow.values:
        errors.append(error("invalid_choice", f"One of {', '.join(ReleaseFlow.values)}.", "/flow"))
    if "validity_hours" in data:
        hours = data["validity_hours"]
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 720:
            errors.append(error("out_of_range", "Between 1 and 720 hours.", "/validity_hours"))
    for name in ("code", "name"):
        if name in data and not str(data[name] or "").strip():
            errors.append(error("required", "This field is required.", f"/{name}"))
    if cleaned.get("flow") == ReleaseFlow.ANY and not cleaned.get("hs_prefixes") and not cleaned.get("requires_aeo"):
        # A rule that releases anything from anyone during an outage is not a rule.
        errors.append(error("too_broad", "A rule for any flow needs HS prefixes or the AEO condition.",
                            "/hs_prefixes"))
    if errors:
        raise ValidationFailed(errors=errors)
    return cleaned


def release_rule_save(*, rule: ProvisionalReleaseRule | None, data: dict[str, Any], actor: Any,
                      reason: str = "") -> ProvisionalReleaseRule:
    """Create a rule (`rule=None`) or change one, with an event (before/after, actor) in the same
    transaction; the intake snapshot is refreshed on commit."""
    now = clock.now()
    with transaction.atomic():
        if rule is None:
            cleaned = release_rule_validate({"flow": ReleaseFlow.EXPORT, "hs_prefixes": [], "requires_aeo": False,
                                             **data})
            target = ProvisionalReleaseRule(created_at=now)
            before: dict[str, Any] = {}
            kind = ReleaseRuleEventKind.CREATED
        else:
            target = ProvisionalReleaseRule.objects.select_for_update().get(pk=rule.pk)
            before = _rule_state(target)
            cleaned = release_rule_validate({**before, **data})
            kind = ReleaseRuleEventKind.CHANGED
            if before["active"] and cleaned.get("active") is False:
                kind = ReleaseRuleEventKind.DEACTIVATED
            elif not before["active"] and cleaned.get("active") is True:
                kind = ReleaseRuleEventKind.REACTIVATED
        for name in RULE_FIELDS:
            if name in cleaned:
                setattr(target, name, cleaned[name])
        after = _rule_state(target)
        if rule is not None and after == before:
            return target  # nothing changed: no event, no refresh
        target.updated_at = now
        target.updated_by = actor if getattr(actor, "pk", None) else None
        try:
            target.full_clean(exclude=["updated_by", "hs_prefixes"])
        except DjangoValidationError as exc:  # unique code, lengths, ranges: same problem shape
            raise ValidationFailed(errors=[
                error(getattr(e, "code", None) or "invalid", " ".join(e.messages),
                      f"/{name}" if name != "__all__" else "")
                for name, problems in exc.error_dict.items() for e in problems]) from None
        target.save()
        ProvisionalReleaseRuleEvent.objects.create(
            rule=target, kind=kind, actor=target.updated_by, reason=reason[:500], before=before, after=after,
            created_at=now)
        transaction.on_commit(_refresh_after_commit)
    return target


# The published defaults (issue 20), seeded by migration maintenance 0006 and again by the sandbox
# seed after a `sandbox reset` (which wipes operational tables, these included).
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"code": "perishable-exports", "name": "Perishable exports (HS chapters 06-09)",
     "description": "Live plants and cut flowers (06), vegetables (07), fruit and nuts (08), coffee, tea and "
                    "spices (09) exported: every item must fall under these chapters. The Nov 2024 outage "
                    "stranded KSh 3.25 bn of tea.",
     "flow": "export", "hs_prefixes": ["06", "07", "08", "09"], "requires_aeo": False, "validity_hours": 72,
     "position": 10, "active": True},
    {"code": "aeo-imports", "name": "Imports of Authorised Economic Operators",
     "description": "Any goods imported by a trader whose AEO profile is active on the day of the submission.",
     "flow": "import", "hs_prefixes": [], "requires_aeo": True, "validity_hours": 72, "position": 20,
     "active": True},
)


def release_rules_ensure_defaults(*, actor: Any = None) -> list[ProvisionalReleaseRule]:
    """Create the default rules that are missing (by code), each with its "created" event."""
    existing = set(ProvisionalReleaseRule.objects.values_list("code", flat=True))
    return [release_rule_save(rule=None, data=dict(data), actor=actor, reason="Default rule (issue 20)")
            for data in DEFAULT_RULES if data["code"] not in existing]


def _refresh_after_commit() -> None:
    try:
        release_snapshot_refresh()
    except Exception:  # the beat task copies it within PROVISIONAL_RELEASE_SNAPSHOT_SECONDS
        logger.warning("refreshing the provisional release snapshot failed; the beat task will retry",
                       exc_info=True)


# --- the snapshot in the intake store ---------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotReport:
    rules: int
    traders: int
    digest: str
    refreshed_at: dt.datetime


def published_rules() -> list[dict[str, Any]]:
    return [rule.as_snapshot() for rule in ProvisionalReleaseRule.objects.filter(active=True)
            .order_by("position", "code")]


def release_snapshot_refresh() -> SnapshotReport:
    """Copy the active rules and the trader statuses they read (AEO profiles active, watch-list)
    from the primary to the intake store, replacing the previous copy in one intake transaction."""
    now = clock.now()
    rules = published_rules()
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    statuses: dict[str, TraderStatusCopy] = {}
    for pin, valid_from, valid_to in (AEOProfile.objects.filter(status=AEOProfile.Status.ACTIVE)
                                      .values_list("trader__pin", "valid_from", "valid_to")):
        statuses[pin] = TraderStatusCopy(pin=pin, aeo_active=True, aeo_valid_from=valid_from,
                                         aeo_valid_to=valid_to, synced_at=now)
    for pin in Trader.objects.filter(on_watch_list=True).values_list("pin", flat=True):
        row = statuses.setdefault(pin, TraderStatusCopy(pin=pin, synced_at=now))
        row.on_watch_list = True
    with transaction.atomic(using=INTAKE_ALIAS):
        TraderStatusCopy.objects.exclude(pk__in=list(statuses)).delete()
        TraderStatusCopy.objects.bulk_create(
            list(statuses.values()), batch_size=500, update_conflicts=True, unique_fields=["pin"],
            update_fields=["aeo_active", "aeo_valid_from", "aeo_valid_to", "on_watch_list", "synced_at"])
        ReleaseRuleSnapshot.objects.update_or_create(
            pk=1, defaults={"rules": rules, "digest": digest, "refreshed_at": now, "traders": len(statuses)})
    return SnapshotReport(rules=len(rules), traders=len(statuses), digest=digest, refreshed_at=now)


# --- issuing, with a buffered receipt --------------------------------------------------------------


def release_issue(*, submission: BufferedSubmission, data: Any) -> ProvisionalRelease | None:
    """Issue a provisional release for a just-buffered declaration when its goods qualify (intake
    store only). None when they do not. Called after the submission is committed: a failure here
    never costs the agent the receipt."""
    if submission.endpoint != "declarations" or submission.corrects_id is not None:
        return None  # a correction is lodged at once (the primary is up): normal clearance applies
    now = clock.now()
    decision = release_decide(data, on=timezone.localtime(now).date())
    if not decision.qualifies or decision.rule is None:
        return None
    expires_at = now + dt.timedelta(hours=decision.rule.validity_hours)
    release_id = uuid.uuid4()
    claims = release_claims(release_id=release_id, submission_id=submission.id, data=data, decision=decision,
                            issued_at=now, expires_at=expires_at)
    token, key_id = token_sign(claims)
    with transaction.atomic(using=INTAKE_ALIAS):
        return ProvisionalRelease.objects.create(
            id=release_id, submission_id=submission.id, token=token, key_id=key_id, rule=decision.rule.code,
            trader_pin=decision.trader_pin, claims=claims, agent_id=submission.agent_id,
            agent_username=submission.agent_username, issued_at=now, expires_at=expires_at,
            snapshot_digest=decision.snapshot_digest)


def print_url(token: str) -> str:
    return f"/api/v1/provisional-releases/print?token={token}"


def release_document(release: ProvisionalRelease) -> dict[str, Any]:
    """The `provisional_release` member of a 202 (and of the receipt look-up)."""
    return {
        "release_id": str(release.id),
        "token": release.token,
        "key_id": release.key_id,
        "algorithm": "EdDSA",
        "rule": release.rule,
        "trader_pin": release.trader_pin,
        "issued_at": timezone.localtime(release.issued_at).isoformat(),
        "expires_at": timezone.localtime(release.expires_at).isoformat(),
        "claims": release.claims,
        "print_url": print_url(release.token),
        "verify_url": f"/api/v1/provisional-releases/verify?token={release.token}",
    }


def release_for_submission(submission_id: uuid.UUID) -> ProvisionalRelease | None:
    return ProvisionalRelease.objects.filter(submission_id=submission_id).first()


# --- checking (terminals, online) ------------------------------------------------------------------

_STATE = {SubmissionStatus.PENDING: "buffered", SubmissionStatus.REPLAYING: "replaying",
          SubmissionStatus.LODGED: "lodged", SubmissionStatus.REJECTED: "rejected"}


def _iso_epoch(value: Any) -> str | None:
    if not isinstance(value, int):
        return None
    return timezone.localtime(dt.datetime.fromtimestamp(value, tz=dt.UTC)).isoformat()


def release_verify(token: str) -> dict[str, Any]:
    """The online check, from the intake store alone: the signature and validity (as offline),
    and that Forodha issued this release (its row), with the submission's state now."""
    check: TokenCheck = token_verify(token, now=clock.now())
    answer: dict[str, Any] = {"valid": check.valid}
    if check.key_id:
        answer["key_id"] = check.key_id
    if check.valid:
        release_id = _uuid(check.claims.get("jti"))
        release = ProvisionalRelease.objects.filter(pk=release_id).first() if release_id else None
        if release is None or release.token != token:
            check = TokenCheck(False, "unknown_release", "Forodha has no record of this release.", check.key_id,
                               check.claims)
            answer["valid"] = False
        else:
            state = (BufferedSubmission.objects.filter(pk=release.submission_id)
                     .values_list("status", flat=True).first())
            answer["submission_state"] = _STATE.get(SubmissionStatus(state)) if state else None
    if not answer["valid"]:
        answer["reason"] = check.reason
        answer["detail"] = check.detail
    if check.claims and check.reason != "bad_signature":
        claims = check.claims
        answer["release"] = {
            "release_id": claims.get("jti"), "submission_id": claims.get("sub"), "trader_pin": claims.get("pin"),
            "regime": claims.get("regime"), "office": claims.get("office"),
            "bills_of_lading": claims.get("bl", []), "containers": claims.get("containers", []),
            "goods": claims.get("goods", {}), "rule": claims.get("rule"),
            "issued_at": _iso_epoch(claims.get("iat")), "expires_at": _iso_epoch(claims.get("exp")),
        }
    return answer


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def unreconciled_releases() -> Any:
    return ProvisionalRelease.objects.filter(reconciled_at__isnull=True)

