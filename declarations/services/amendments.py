"""Edits after creation: drafts freely; lodged declarations by non-tax alteration (new version +
USD 5 fee per field, DOMAIN.md) or by a tax-affecting amendment request decided by an officer."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import clock
from core.actors import actor_user
from core.exceptions import Conflict, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed, error
from manifests.services import writeoff_release
from tariff.selectors import exchange_rate_get
from tariff.services import exemption_quota_redraw

from ..enums import AmendmentStatus, EventKind, Status
from ..lifecycle import AMENDABLE, AMENDMENT, TAX_AMENDABLE, nothing_to_pay
from ..models import (
    AmendmentRequest,
    Assessment,
    AssessmentLine,
    AttachedDocument,
    Declaration,
    DeclarationItem,
    DeclarationVersion,
    ESlip,
    Payment,
)
from .common import actor_label, event_record, money, notify_agent, status_payload
from .deadlines import nothing_to_pay_event
from .idf import ucr_problems
from .lodging import (
    ALTERATION_FEE_BASIS,
    _header_from_body,
    _reserve,
    assessment_store,
    declaration_draft_update,
    documents_create,
    eslip_issue,
    items_create,
    json_safe,
)
from .snapshots import body_diff
from .validation import body_parse, declaration_prepare

# Changes to these pointers alter the tax (or the B/L write-off): officer approval needed.
# The IDF is checked against the goods and value, so changing it is decided by an officer too.
_TAX_TOP = {"regime", "cpc", "office", "importer_pin", "exporter_pin", "bill_of_lading", "currency",
            "invoice_amount", "freight_amount", "insurance_amount", "incoterm", "idf_number"}
_TAX_ITEM = {"hs_code", "origin_country", "packages", "gross_weight_kg", "net_weight_kg",
             "supplementary_quantity", "supplementary_unit", "customs_value", "item_value", "cpc",
             "preference", "exemption", "idf_reduced", "rdl_reduced"}
_ITEM_POINTER = re.compile(r"^/items/(\d+)(?:/([a-z_]+))?$")


def pointer_is_tax_affecting(pointer: str, old_items: int, new_items: int) -> bool:
    top = pointer.split("/")[1] if pointer.count("/") >= 1 else ""
    if top == "items":
        match = _ITEM_POINTER.match(pointer)
        if match is None:
            return True
        if old_items != new_items:
            return True  # adding or removing lines changes the assessment
        return (match.group(2) or "") in _TAX_ITEM or match.group(2) is None
    return top in _TAX_TOP


@dataclass(frozen=True)
class UpdateResult:
    declaration: Declaration
    kind: str  # "draft_edited" | "altered" | "amendment_requested"
    amendment_request: AmendmentRequest | None = None
    fee_kes: Decimal = Decimal("0.00")


def etag_check(declaration: Declaration, if_match: str | None) -> None:
    if not if_match:
        raise PreconditionRequired()
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in candidates and declaration.etag not in candidates:
        raise PreconditionFailed(extra={"etag": declaration.etag})


def _lock_own(declaration_id: uuid.UUID | str, agent: Any) -> Declaration:
    try:
        return Declaration.objects.select_for_update(of=("self",)).get(pk=declaration_id, agent=agent)
    except (Declaration.DoesNotExist, ValueError):
        raise NotFound(detail="No such declaration.", code="declaration_not_found") from None


def _fee_kes(fields: int, on: dt.date) -> Decimal:
    usd = Decimal(str(settings.DECLARATION_ALTERATION_FEE_USD)) * fields
    rate = exchange_rate_get("USD", on)
    if rate is None:
        raise ValidationFailed(errors=[error("exchange_rate_missing",
                                             f"No USD rate on {on} to convert the alteration fee.", "")])
    return money(usd * Decimal(getattr(rate, "kes_per_unit", rate)))


@transaction.atomic
def declaration_update(
    *, declaration_id: uuid.UUID | str, agent: Any, patch: Any, if_match: str | None, actor: Any,
) -> UpdateResult:
    """PATCH semantics: top-level keys of the canonical body replace the stored ones (lists such as
    `items` and `documents` are replaced whole, as in JSON merge patch)."""
    declaration = _lock_own(declaration_id, agent)
    etag_check(declaration, if_match)
    if not isinstance(patch, dict):
        body_parse(patch)  # raises "expected an object"
    body_parse(patch, partial=True)  # types and unknown fields of the patch itself
    if "draft" in patch:
        raise ValidationFailed(errors=[error("unknown_field", "Use POST .../lodge to lodge a draft.", "/draft")])
    new_body = {**declaration.body, **json_safe(patch)}
    if declaration.status == Status.DRAFT:
        return UpdateResult(declaration=declaration_draft_update(declaration=declaration, body=new_body, actor=actor),
                            kind="draft_edited")
    if declaration.status not in AMENDABLE:
        raise Conflict(detail=f"A {declaration.status} declaration cannot be changed.", code="not_amendable",
                       errors=[error("not_amendable", f"Status is {declaration.status}.", "/status")])
    body_parse(new_body)  # the result must still be a complete, well-formed body
    changes = body_diff(declaration.body, new_body)
    if not changes:
        return UpdateResult(declaration=declaration, kind="unchanged")
    old_n, new_n = len(declaration.body.get("items", [])), len(new_body.get("items", []))
    tax = [c["pointer"] for c in changes if pointer_is_tax_affecting(c["pointer"], old_n, new_n)]
    if tax:
        return _amendment_request(declaration, new_body, changes, tax, actor)
    return _alteration(declaration, new_body, changes, actor)


def _alteration(declaration: Declaration, new_body: dict[str, Any], changes: list[dict[str, Any]],
                actor: Any) -> UpdateResult:
    now = clock.now()
    fee = _fee_kes(len(changes), clock.today())
    pointers = [c["pointer"] for c in changes]
    data = body_parse(new_body)
    if (data.get("ucr") or "") != declaration.ucr:
        assert declaration.lodged_at is not None
        problems = ucr_problems(ucr=data.get("ucr") or "", pin=declaration.trader_pin,
                                bill_of_lading=declaration.bill_of_lading_number,
                                rate_date=timezone.localtime(declaration.lodged_at).date(),
                                declaration_id=declaration.pk)
        if problems:
            raise ValidationFailed(errors=problems)
    # Non-tax header fields and item descriptions are applied in place.
    declaration.local_reference = data.get("local_reference") or ""
    declaration.ucr = data.get("ucr") or ""
    declaration.country_of_origin = data.get("country_of_origin") or ""
    declaration.country_of_destination = data.get("country_of_destination") or ""
    declaration.country_of_export = data.get("country_of_export") or ""
    declaration.transport_mode = data.get("transport_mode") or ""
    for index, item in enumerate(data["items"]):
        DeclarationItem.objects.filter(declaration=declaration, line_no=index + 1).update(
            description=item["description"], package_kind=item["package_kind"])
    AttachedDocument.objects.filter(declaration=declaration).delete()
    documents_create(declaration, data)
    declaration.body = json_safe(new_body)
    declaration.version += 1
    declaration.etag_version += 1
    declaration.updated_at = now
    if declaration.status in TAX_AMENDABLE:
        # Unpaid: the fee joins the amount due on a re-issued e-slip.
        current = Assessment.objects.filter(declaration=declaration).order_by("-version").first()
        assert current is not None
        _reissue_with_fee(declaration, current, fee, len(changes))
    declaration.save(update_fields=["local_reference", "ucr", "country_of_origin", "country_of_destination",
                                    "country_of_export", "transport_mode", "body", "version", "etag_version",
                                    "updated_at"])
    DeclarationVersion.objects.create(
        declaration=declaration, number=declaration.version,
        snapshot={"version": declaration.version, "body": declaration.body,
                  "entry_number": declaration.entry_number},
        reason="alteration", changed_fields=pointers, fee_kes=fee, created_by=actor_user(actor), created_at=now,
    )
    event_record(declaration=declaration, kind=EventKind.ALTERATION, from_status=declaration.status,
                 to_status=declaration.status, actor=actor, reason=f"{len(changes)} field(s) altered",
                 payload={"fields": pointers, "fee_kes": str(fee), "version": declaration.version})
    notify_agent(declaration=declaration, kind="amended", subject=f"{declaration.entry_number}: altered",
                 payload={**status_payload(declaration), "fields": pointers, "fee_kes": str(fee)}, actor=actor)
    return UpdateResult(declaration=declaration, kind="altered", fee_kes=fee)


def _reissue_with_fee(declaration: Declaration, current: Assessment, fee: Decimal, fields: int) -> None:
    """Copy the current assessment as the next version with an alteration-fee line."""
    new = Assessment.objects.create(
        declaration=declaration, version=current.version + 1, rate_date=current.rate_date,
        currency=current.currency, exchange_rate=current.exchange_rate,
        exchange_rate_date=current.exchange_rate_date, import_duty=current.import_duty,
        excise_duty=current.excise_duty, vat=current.vat, idf=current.idf, rdl=current.rdl,
        penalties=current.penalties, fees=current.fees + fee, total=current.total + fee, created_at=clock.now(),
    )
    lines = [AssessmentLine(assessment=new, line_no=line.line_no, tax=line.tax, base=line.base, rule=line.rule,
                            amount=line.amount, legal_basis=line.legal_basis, exchange_rates=line.exchange_rates)
             for line in current.lines.all()]
    lines.append(AssessmentLine(assessment=new, line_no=0, tax="alteration_fee", base=Decimal("0.00"),
                                rule=f"USD {settings.DECLARATION_ALTERATION_FEE_USD} x {fields} field(s)",
                                amount=fee, legal_basis=ALTERATION_FEE_BASIS))
    AssessmentLine.objects.bulk_create(lines)
    eslip = ESlip.objects.filter(declaration=declaration, is_current=True).first()
    due = eslip.due_date if eslip else clock.today()
    eslip_issue(declaration=declaration, assessment=new, due_date=due)


def _amendment_request(declaration: Declaration, new_body: dict[str, Any], changes: list[dict[str, Any]],
                       tax: list[str], actor: Any) -> UpdateResult:
    if declaration.status not in TAX_AMENDABLE:
        raise Conflict(
            detail="Tax-affecting fields cannot be amended after payment; ask customs for a post-clearance "
                   "amendment.",
            code="amendment_after_payment",
            errors=[error("amendment_after_payment", "Tax-affecting change after payment.", p) for p in tax],
        )
    # Fail fast: an officer should only ever see requests that would assess. (B/L quantities are
    # checked again, under the B/L lock, when the request is accepted.)
    assert declaration.lodged_at is not None
    prepared = declaration_prepare(agent=declaration.agent, body=new_body, registered_at=declaration.lodged_at,
                                   declaration_id=declaration.pk)
    if prepared.errors:
        raise ValidationFailed(detail="The amended declaration does not validate.", errors=list(prepared.errors))
    try:
        with transaction.atomic():
            request = AmendmentRequest.objects.create(
                declaration=declaration, base_version=declaration.version, body=json_safe(new_body),
                changed_fields=[c["pointer"] for c in changes], requested_by=actor_user(actor), created_at=clock.now(),
            )
    except IntegrityError:
        raise Conflict(detail="An amendment request is already pending for this declaration.",
                       code="amendment_pending") from None
    declaration.etag_version += 1
    declaration.updated_at = clock.now()
    declaration.save(update_fields=["etag_version", "updated_at"])
    event_record(declaration=declaration, kind=EventKind.AMENDMENT_REQUESTED, from_status=declaration.status,
                 to_status=declaration.status, actor=actor, reason="tax-affecting amendment requested",
                 payload={"request_id": str(request.pk), "fields": request.changed_fields})
    return UpdateResult(declaration=declaration, kind="amendment_requested", amendment_request=request)


def _lock_request(request_id: uuid.UUID | str, to_status: str) -> tuple[AmendmentRequest, Declaration]:
    request = AmendmentRequest.objects.filter(pk=request_id).only("id", "declaration_id").first()
    if request is None:
        raise NotFound(detail="No such amendment request.", code="amendment_request_not_found")
    declaration = Declaration.objects.select_for_update(of=("self",)).get(pk=request.declaration_id)
    request = AmendmentRequest.objects.select_for_update().get(pk=request_id)
    AMENDMENT.transition_check(request.status, to_status)  # 409 amendment_already_decided
    return request, declaration


@transaction.atomic
def amendment_request_accept(*, request_id: uuid.UUID | str, actor: Any) -> Declaration:
    """Officer accepts: re-validate and re-assess at the ORIGINAL registration date, replace items,
    move the B/L reservation, store a new assessment and e-slip, and a new version."""
    request, declaration = _lock_request(request_id, AmendmentStatus.ACCEPTED)
    return _apply_amendment(request, declaration, actor, officer_initiated=False, reason="amendment accepted")


@transaction.atomic
def declaration_officer_amend(*, declaration_id: uuid.UUID | str, body: Any, reason: str, actor: Any) -> Declaration:
    """An officer amends (e.g. after examination): same patch semantics as the agent's PATCH, applied
    at once as a new version. Allowed up to release; after payment the new assessment is stored
    and the difference to the amount paid is recorded (additional tax or refund, not billed here)."""
    try:
        declaration = Declaration.objects.select_for_update(of=("self",)).get(pk=declaration_id)
    except (Declaration.DoesNotExist, ValueError):
        raise NotFound(detail="No such declaration.", code="declaration_not_found") from None
    if declaration.status not in AMENDABLE:
        raise Conflict(detail=f"A {declaration.status} declaration cannot be amended.", code="not_amendable")
    if not isinstance(body, dict):
        body_parse(body)
    body_parse(body, partial=True)
    new_body = {**declaration.body, **json_safe(body)}
    body_parse(new_body)
    try:
        with transaction.atomic():
            request = AmendmentRequest.objects.create(
                declaration=declaration, base_version=declaration.version, body=new_body,
                changed_fields=[c["pointer"] for c in body_diff(declaration.body, new_body)],
                requested_by=actor_user(actor), created_at=clock.now(),
            )
    except IntegrityError:
        raise Conflict(detail="An amendment request is already pending; decide it first.",
                       code="amendment_pending") from None
    return _apply_amendment(request, declaration, actor, officer_initiated=True, reason=reason or "amended by customs")


def _apply_amendment(request: AmendmentRequest, declaration: Declaration, actor: Any, *, officer_initiated: bool,
                     reason: str) -> Declaration:
    paid = declaration.status not in TAX_AMENDABLE
    if paid and not (officer_initiated and declaration.status in AMENDABLE):
        raise Conflict(detail=f"A {declaration.status} declaration can no longer be amended.",
                       code="amendment_after_payment")
    assert declaration.lodged_at is not None
    prepared = declaration_prepare(agent=declaration.agent, body=request.body,
                                   registered_at=declaration.lodged_at, declaration_id=declaration.pk)
    errors = list(prepared.errors)
    if declaration.bill_of_lading_id is not None:
        writeoff_release(declaration_id=declaration.pk, actor=actor)
    if not errors:
        errors.extend(_reserve(declaration, prepared, actor))
    quota = None
    if not errors:
        # The exemption claims as amended: a new or enlarged claim draws the difference with the
        # same compare-and-set as lodging (refused -> everything here rolls back), a reduced or
        # dropped one gives it back, an unchanged one keeps its draw.
        quota = exemption_quota_redraw(declaration_id=declaration.pk, draws=list(prepared.exemption_draws),
                                       actor=actor)
        errors.extend(quota.problems)
    if errors:
        raise ValidationFailed(detail="The amended declaration does not validate.", errors=errors)
    old_body = declaration.body
    now = clock.now()
    DeclarationItem.objects.filter(declaration=declaration).delete()
    AttachedDocument.objects.filter(declaration=declaration).delete()
    items_create(declaration, prepared)
    documents_create(declaration, prepared.data)
    version_no = (Assessment.objects.filter(declaration=declaration).order_by("-version")
                  .values_list("version", flat=True).first() or 0) + 1
    assessment = assessment_store(declaration=declaration, prepared=prepared, version=version_no, fee_lines=())
    extra: dict[str, Any] = {}
    if paid:
        payment = Payment.objects.filter(declaration=declaration).first()
        paid_amount = payment.amount if payment is not None else Decimal("0.00")
        extra["difference_kes"] = str(assessment.total - paid_amount)
    else:
        # The due date stays the one the current e-slip carries (also for one with nothing to pay,
        # which keeps its would-be date); the new total decides whether a payment step remains.
        current_due = (ESlip.objects.filter(declaration=declaration, is_current=True)
                       .values_list("due_date", flat=True).first())
        due = declaration.payment_due_date or current_due or clock.today()
        eslip_issue(declaration=declaration, assessment=assessment, due_date=due)
        had_payment_step = declaration.payment_due_date is not None
        declaration.payment_due_date = (None if nothing_to_pay(regime=declaration.regime, total=assessment.total)
                                        else due)
        if had_payment_step and declaration.payment_due_date is None:
            nothing_to_pay_event(declaration=declaration, total=assessment.total, secured_by="",
                                 actor=actor_user(actor), actor_label=actor_label(actor)[:150], at=now).save()
    for name, value in _header_from_body(prepared.data).items():
        setattr(declaration, name, value)
    declaration.trader = prepared.trader
    declaration.bill_of_lading = prepared.bill_of_lading
    declaration.body = json_safe(prepared.body)
    declaration.exchange_rate = prepared.exchange_rate
    declaration.version += 1
    declaration.etag_version += 1
    declaration.updated_at = now
    declaration.save()
    DeclarationVersion.objects.create(
        declaration=declaration, number=declaration.version,
        snapshot={"version": declaration.version, "body": declaration.body,
                  "entry_number": declaration.entry_number},
        reason=reason[:200], changed_fields=[c["pointer"] for c in body_diff(old_body, declaration.body)],
        created_by=actor_user(actor), created_at=now,
    )
    request.status = AmendmentStatus.ACCEPTED
    request.decided_by = actor_user(actor)
    request.decided_at = now
    request.save(update_fields=["status", "decided_by", "decided_at"])
    payload = {"request_id": str(request.pk), "version": declaration.version, "total": str(assessment.total),
               "officer_initiated": officer_initiated, **extra}
    quota_moves = ({"exemption_quota_drawn": str(quota.drawn), "exemption_quota_released": str(quota.released)}
                   if quota is not None and (quota.drawn or quota.released) else {})
    event_record(declaration=declaration, kind=EventKind.AMENDMENT_ACCEPTED, from_status=declaration.status,
                 to_status=declaration.status, actor=actor, reason=reason, payload={**payload, **quota_moves})
    notify_agent(declaration=declaration, kind="amended", subject=f"{declaration.entry_number}: {reason}",
                 payload={**status_payload(declaration), **payload}, actor=actor)
    return declaration


@transaction.atomic
def amendment_request_reject(*, request_id: uuid.UUID | str, actor: Any, reason: str) -> AmendmentRequest:
    request, declaration = _lock_request(request_id, AmendmentStatus.REJECTED)
    now = clock.now()
    request.status = AmendmentStatus.REJECTED
    request.decided_by = actor_user(actor)
    request.decided_at = now
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    declaration.etag_version += 1
    declaration.updated_at = now
    declaration.save(update_fields=["etag_version", "updated_at"])
    event_record(declaration=declaration, kind=EventKind.AMENDMENT_REJECTED, from_status=declaration.status,
                 to_status=declaration.status, actor=actor, reason=reason,
                 payload={"request_id": str(request.pk)})
    notify_agent(declaration=declaration, kind="amended", subject=f"{declaration.entry_number}: amendment rejected",
                 payload={**status_payload(declaration), "request_id": str(request.pk), "reason": reason},
                 actor=actor)
    return request
