"""Lodging: drafts, direct lodging, lodging a draft, and the contingency replay entry point.

Lock order inside the lodging transaction (the same for every lodging, so no deadlocks):
draft declaration row (if any) -> bill of lading (write-off reservation) -> trader counters ->
entry-number counter. The counter is taken last and held only until commit: it serialises lodgings
per office/regime/year, so the work done while holding it is kept to two statements.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import clock, events
from core.db import insert_rows
from core.events import Event
from core.exceptions import Conflict, ErrorItem, NotFound, ValidationFailed, error
from manifests.services import writeoff_reserve_fresh
from reference.selectors import office_get
from tariff.services import exemption_quota_draw
from traders.models import Trader

from ..entry_numbers import entry_number_next
from ..enums import EventKind, Status
from ..events import Security
from ..lifecycle import is_secured_transit, nothing_to_pay, transition_check
from ..models import (
    Assessment,
    AssessmentLine,
    AttachedDocument,
    Declaration,
    DeclarationEvent,
    DeclarationItem,
    DeclarationVersion,
    ESlip,
)
from .common import (
    actor_label,
    actor_user,
    event_record,
    events_chain,
    money,
    notify_agent,
    outbox_enqueue,
    status_payload,
)
from .deadlines import nothing_to_pay_event
from .validation import PreparedDeclaration, body_parse, declaration_prepare, late_entry_penalty_kes

RISK_TASK = "risk.score_declaration"


# Legal basis shown on the alteration-fee line (amounts per settings.DECLARATION_ALTERATION_FEE_USD).
# The USD 5 per field is KRA's iCMS charge for altering a registered entry as the domain sources give
# it (DOMAIN.md "Declarations"); neither they nor the shared data name the section of EACCMA 2004 or
# of the EAC Customs Management Regulations that sets it, so the line says so rather than cite one
# (docs/declarations.md "Amendments", "Alteration fee: its basis").
ALTERATION_FEE_BASIS = ("KRA iCMS alteration charge: USD 5 per field changed on a registered entry "
                        "(administrative charge; no statutory section confirmed)")

def json_safe(value: Any) -> Any:
    """Decimals/dates as strings, as they arrived (the body is stored as canonical JSON)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


# ------------------------------------------------------------------------------------------------
# Drafts


def _header_from_body(data: dict[str, Any]) -> dict[str, Any]:
    office = office_get(data["office"]) if data.get("office") else None
    return {
        "regime": data.get("regime") or "",
        "cpc": data.get("cpc") or "",
        "office": office,
        "importer_pin": data.get("importer_pin") or "",
        "exporter_pin": data.get("exporter_pin") or "",
        "local_reference": data.get("local_reference") or "",
        "ucr": data.get("ucr") or "",
        "idf_number": data.get("idf_number") or "",
        "bill_of_lading_number": data.get("bill_of_lading") or "",
        "currency": data.get("currency") or "",
        "invoice_amount": data.get("invoice_amount"),
        "freight_amount": data.get("freight_amount") or Decimal(0),
        "insurance_amount": data.get("insurance_amount") or Decimal(0),
        "incoterm": data.get("incoterm") or "",
        "country_of_export": data.get("country_of_export") or "",
        "country_of_origin": data.get("country_of_origin") or "",
        "country_of_destination": data.get("country_of_destination") or "",
        "transport_mode": data.get("transport_mode") or "",
    }


def declaration_draft_create(*, agent: Any, user: Any, payload: dict[str, Any], actor: Any) -> Declaration:
    """Save an editable draft: structure is checked (types, unknown fields), business rules are not."""
    body = {k: v for k, v in payload.items() if k != "draft"}
    data = body_parse(body, partial=True)
    now = clock.now()
    with transaction.atomic():
        # The id is drawn here, not by the model field's default (bound to uuid.uuid4 at import), so
        # a seeded sandbox (sandbox.seeding.seeded_uuids) gives its drafts the same ids every time.
        declaration = Declaration.objects.create(
            id=uuid.uuid4(), agent=agent, created_by=actor_user(user), status=Status.DRAFT, body=json_safe(body),
            created_at=now, updated_at=now, **_header_from_body(data),
        )
        event_record(declaration=declaration, kind=EventKind.TRANSITION, from_status="", to_status=Status.DRAFT,
                     actor=actor, reason="draft saved")
    declaration_prime(declaration, assessment=None, eslip=None)
    return declaration


def declaration_draft_update(*, declaration: Declaration, body: dict[str, Any], actor: Any) -> Declaration:
    """Replace a locked draft's body (caller holds the lock and checked If-Match)."""
    data = body_parse(body, partial=True)
    for name, value in _header_from_body(data).items():
        setattr(declaration, name, value)
    declaration.body = json_safe(body)
    declaration.updated_at = clock.now()
    declaration.etag_version += 1
    declaration.save()
    event_record(declaration=declaration, kind=EventKind.DRAFT_EDITED, from_status=Status.DRAFT,
                 to_status=Status.DRAFT, actor=actor, reason="draft edited")
    return declaration


# ------------------------------------------------------------------------------------------------
# Lodging


def declaration_lodge(
    *,
    agent: Any,
    user: Any,
    payload: Any,
    received_at: dt.datetime | None = None,
    deadline_extension: dt.timedelta | None = None,
    actor: Any,
) -> Declaration:
    """Validate and lodge a canonical body (also the contingency replay's entry point).

    `received_at` is the registration time (rate date, 21-day rule) for bodies buffered during an
    outage; `deadline_extension` relaxes the 21-day entry deadline (automatic deadline relief).
    Raises ValidationFailed with every problem; nothing is written unless everything passes.
    """
    registered_at = received_at or clock.now()
    declaration_id = uuid.uuid4()
    prepared = declaration_prepare(agent=agent, body=payload, registered_at=registered_at,
                                   deadline_extension=deadline_extension, declaration_id=declaration_id)
    with transaction.atomic():
        declaration = Declaration(id=declaration_id, agent=agent, created_by=actor_user(user),
                                  created_at=clock.now())
        return _lodge_prepared(declaration=declaration, prepared=prepared, actor=actor, from_status="")


def declaration_draft_lodge(*, declaration_id: uuid.UUID | str, agent: Any, actor: Any,
                            received_at: dt.datetime | None = None,
                            deadline_extension: dt.timedelta | None = None) -> Declaration:
    registered_at = received_at or clock.now()
    draft = Declaration.objects.filter(pk=declaration_id, agent=agent).only("id", "body", "status").first()
    if draft is None:
        raise NotFound(detail="No such declaration.", code="declaration_not_found")
    transition_check(draft.status, Status.REGISTERED)
    prepared = declaration_prepare(agent=agent, body=draft.body, registered_at=registered_at,
                                   deadline_extension=deadline_extension, declaration_id=draft.pk)
    with transaction.atomic():
        declaration = Declaration.objects.select_for_update(of=("self",)).get(pk=draft.pk)
        # Re-check under the lock: a concurrent lodge of the same draft must not lodge it twice.
        transition_check(declaration.status, Status.REGISTERED)
        if declaration.body != draft.body:
            raise Conflict(detail="The draft changed while it was being lodged; retry.", code="draft_changed")
        return _lodge_prepared(declaration=declaration, prepared=prepared, actor=actor, from_status=Status.DRAFT)


def _reserve(declaration: Declaration, prepared: PreparedDeclaration, actor: Any) -> list[ErrorItem]:
    if prepared.bill_of_lading is None:
        return []
    try:
        # A declaration being lodged holds nothing on the B/L yet (drafts reserve nothing): the
        # two-statement path; on refusal it runs the full check in a savepoint to say why.
        writeoff_reserve_fresh(
            bill=prepared.bill_of_lading, declaration_id=declaration.pk,
            packages=prepared.total_packages, gross_weight_kg=prepared.total_gross_weight_kg, actor=actor,
        )
    except ValidationFailed as exc:
        return [ErrorItem(code=e.code, detail=e.detail, pointer=e.pointer or "/items") for e in exc.errors] or [
            error(exc.code, exc.detail, "/items")]
    return []


def _lodge_prepared(*, declaration: Declaration, prepared: PreparedDeclaration, actor: Any,
                    from_status: str) -> Declaration:
    """Inside the caller's transaction. Writes everything or raises (rolling everything back)."""
    errors = list(prepared.errors)
    if not any(e.pointer == "/bill_of_lading" for e in errors):
        errors.extend(_reserve(declaration, prepared, actor))
    if not errors and prepared.exemption_draws:
        # Compare-and-set on each certificate's quota, in this transaction: a refusal (a concurrent
        # lodging took the last of it) rolls everything back with the other problems.
        errors.extend(exemption_quota_draw(declaration_id=declaration.pk, draws=list(prepared.exemption_draws),
                                           actor=actor))
    if errors:
        raise ValidationFailed(errors=errors)
    transition_check(Status.DRAFT, Status.REGISTERED)
    transition_check(Status.REGISTERED, Status.ASSESSED)

    now = clock.now()
    due_date = declaration_fill(declaration, prepared, now)

    items_create(declaration, prepared)
    documents_create(declaration, prepared.data)
    assessment = assessment_store(declaration=declaration, prepared=prepared, version=1, fee_lines=())
    secured_by = ""
    # IM8: transit reserves the regional bond for the taxes at risk (refused -> the whole lodging
    # rolls back). Secured, not paid (declarations.lifecycle.SECURED_REGIMES): no payment due date.
    securities = [r for r in events.publish(Event.DECLARATION_LODGED, declaration=declaration,
                                            payload=declaration.body, actor=actor) if isinstance(r, Security)]
    if securities:
        secured_by = securities[0].description
        declaration.payment_due_date = None
    nothing_to_pay_apply(declaration, assessment)
    eslip = eslip_issue(declaration=declaration, assessment=assessment, due_date=due_date, first=True,
                        secured_by=secured_by)
    declaration_prime(declaration, assessment=assessment, eslip=eslip)

    lodging_version(declaration, actor=actor, now=now).save(force_insert=True)
    DeclarationEvent.objects.bulk_create(events_chain(
        lodging_events(declaration, prepared=prepared, assessment=assessment, eslip=eslip, actor=actor,
                       from_status=from_status, now=now, secured_by=secured_by),
        new_subjects=from_status == ""))
    outbox_enqueue(task_name=RISK_TASK, kwargs={"declaration_id": str(declaration.pk)})
    if prepared.trader is not None:
        # Compliance history read by risk (first-time trader). An F() update (no read-modify-write),
        # late in the transaction because it locks the trader row until commit.
        trader_counts_add(prepared.trader.pk, 1, now)

    # Gap-free serial, taken LAST: the counter row stays locked until commit, so everything after
    # this line serialises lodgings of one office/regime/year. Only the declaration row itself and
    # the agent's notification (which quotes the number) come after it.
    declaration.entry_number = entry_number_next(
        year=timezone.localtime(prepared.registered_at).year, office_code=prepared.office.pk,
        regime=prepared.data["regime"])
    declaration.status = Status.ASSESSED
    if from_status == Status.DRAFT:
        declaration.save()
    else:
        declaration.save(force_insert=True)
    # Subscribers' notices may quote the entry number, known only now (transit: the movement's).
    events.publish(Event.DECLARATION_REGISTERED, declaration=declaration, actor=actor)
    subject, payload = accepted_notice(declaration, assessment=assessment, eslip=eslip, due_date=due_date,
                                       secured_by=secured_by)
    notify_agent(declaration=declaration, kind="accepted", subject=subject, payload=payload, actor=actor)
    return declaration


# The pieces of a lodging, built the same way for one declaration (above) and for a chunk of
# replayed ones (services/bulk_lodging.py), which only writes them differently (once per table).


def declaration_fill(declaration: Declaration, prepared: PreparedDeclaration, now: dt.datetime) -> dt.date:
    """Give the declaration row its lodged header (not its entry number or status); returns the
    payment due date."""
    data = prepared.data
    local_registered = timezone.localtime(prepared.registered_at)
    # Contingency relief: the payment deadline moves by the outage length, in whole days (rounded up).
    relief_days = -(-prepared.deadline_extension // dt.timedelta(days=1)) if prepared.deadline_extension else 0
    due_date = local_registered.date() + dt.timedelta(days=settings.PAYMENT_DUE_DAYS + relief_days)

    for name, value in _header_from_body(data).items():
        setattr(declaration, name, value)
    declaration.office = prepared.office
    declaration.trader = prepared.trader
    declaration.bill_of_lading = prepared.bill_of_lading
    declaration.body = json_safe(prepared.body)
    # The row itself is written LAST, with its entry number and status, in one INSERT (or one
    # UPDATE of a draft): the child rows before it point at its id through foreign keys that
    # PostgreSQL and SQLite check at COMMIT (Django creates them DEFERRABLE INITIALLY DEFERRED).
    declaration.entry_number = None
    declaration.lodged_at = prepared.registered_at
    declaration.exchange_rate = prepared.exchange_rate
    declaration.late_entry = prepared.late_entry
    declaration.payment_due_date = due_date
    declaration.version = 1
    declaration.updated_at = now
    declaration.etag_version = (declaration.etag_version or 0) + 1
    return due_date


def nothing_to_pay_apply(declaration: Declaration, assessment: Assessment) -> None:
    """No payment step (declarations.lifecycle.nothing_to_pay): no due date; `lodging_events` adds
    the `nothing_to_pay` event. The same rule for one lodging and for a replayed chunk."""
    if nothing_to_pay(regime=declaration.regime, total=assessment.total):
        declaration.payment_due_date = None


def lodging_version(declaration: Declaration, *, actor: Any, now: dt.datetime) -> DeclarationVersion:
    return DeclarationVersion(
        declaration=declaration, number=1, snapshot={"version": 1, "body": declaration.body},
        reason="lodged", created_by=actor_user(actor), created_at=now,
    )


def lodging_events(declaration: Declaration, *, prepared: PreparedDeclaration, assessment: Assessment,
                   eslip: ESlip, actor: Any, from_status: str, now: dt.datetime,
                   secured_by: str = "") -> list[DeclarationEvent]:
    """The two transitions of a lodging (-> registered -> assessed), and `nothing_to_pay` when it has
    no payment step; not yet chained."""
    label = actor_label(actor)[:150]
    user = actor_user(actor)
    return [
        DeclarationEvent(declaration=declaration, kind=EventKind.TRANSITION, actor=user, actor_label=label,
                         from_status=from_status, to_status=Status.REGISTERED, reason="lodged",
                         payload={"registered_at": prepared.registered_at.isoformat(),
                                  "late_entry": prepared.late_entry},
                         created_at=now),
        DeclarationEvent(declaration=declaration, kind=EventKind.TRANSITION, actor=user, actor_label=label,
                         from_status=Status.REGISTERED, to_status=Status.ASSESSED, reason="assessed",
                         payload={"total": str(assessment.total), "eslip": eslip.reference},
                         created_at=now),
        *([nothing_to_pay_event(declaration=declaration, total=assessment.total, secured_by=secured_by,
                                actor=user, actor_label=label, at=now)]
          if declaration.payment_due_date is None else []),
    ]


def trader_counts_add(trader_id: Any, count: int, now: dt.datetime) -> None:
    """Compliance history read by risk (first-time trader): `count` more declarations."""
    Trader.objects.filter(pk=trader_id).update(
        declarations_count=F("declarations_count") + count,
        first_declared_at=Coalesce(F("first_declared_at"), now),
    )


def accepted_notice(declaration: Declaration, *, assessment: Assessment, eslip: ESlip, due_date: dt.date,
                    secured_by: str = "") -> tuple[str, dict[str, Any]]:
    """Subject and payload of the agent's "accepted" notification (quotes the entry number)."""
    subject = (f"{declaration.entry_number}: registered and assessed, KES {assessment.total} taxes at risk "
               f"{secured_by}; nothing to pay" if secured_by else
               f"{declaration.entry_number}: registered and assessed at KES {assessment.total}; nothing to pay"
               if declaration.payment_due_date is None else
               f"{declaration.entry_number}: registered and assessed, KES {assessment.total} due by {due_date}")
    payload = {**status_payload(declaration), "total": str(assessment.total),
               "eslip_reference": eslip.reference,
               **({"due_date": None, "amount_due": "0.00", "secured_by": secured_by} if secured_by
                  else {"due_date": None, "amount_due": "0.00"} if declaration.payment_due_date is None
                  else {"due_date": due_date.isoformat()})}
    return subject, payload


ITEM_FIELDS = (
    "declaration", "line_no", "hs_code", "description", "origin_country", "packages", "package_kind",
    "gross_weight_kg", "net_weight_kg", "supplementary_quantity", "supplementary_unit", "item_value",
    "customs_value", "customs_value_kes", "cpc", "preference", "exemption", "exemption_certificate", "vehicle",
    "idf_reduced", "rdl_reduced",
)


def items_create(declaration: Declaration, prepared: PreparedDeclaration) -> None:
    # Validated values in their final form: one COPY, no model instances (core.db).
    insert_rows(DeclarationItem, ITEM_FIELDS, item_rows(declaration, prepared))


def item_rows(declaration: Declaration, prepared: PreparedDeclaration) -> list[tuple[Any, ...]]:
    return [
        (declaration.pk, item.line_no, item.hs_code, item.description, item.origin_country, item.packages,
         item.package_kind, item.gross_weight_kg, item.net_weight_kg, item.supplementary_quantity,
         item.supplementary_unit, item.item_value, item.customs_value, item.customs_value_kes, item.cpc,
         item.preference, item.exemption, item.exemption_certificate,
         # JSON text (insert_rows passes values as they are; PostgreSQL parses it into jsonb)
         json.dumps(item.vehicle, sort_keys=True) if item.vehicle is not None else None,
         item.idf_reduced, item.rdl_reduced)
        for item in prepared.items
    ]


def documents_create(declaration: Declaration, data: dict[str, Any]) -> None:
    documents = data.get("documents") or []
    if documents:
        AttachedDocument.objects.bulk_create([
            AttachedDocument(declaration=declaration, kind=d["kind"], reference=d["reference"],
                             issued_on=d.get("issued_on"))
            for d in documents
        ])


def assessment_store(
    *, declaration: Declaration, prepared: PreparedDeclaration, version: int,
    fee_lines: tuple[tuple[str, str, Decimal], ...],
) -> Assessment:
    """Store the engine's result + the late-entry penalty + alteration fees as one assessment."""
    assessment, values = assessment_build(declaration=declaration, prepared=prepared, version=version,
                                          fee_lines=fee_lines)
    assessment.save(force_insert=True)
    # The rows go in one COPY; instances are kept for rendering (prefetch cache below).
    insert_rows(AssessmentLine, LINE_FIELDS, line_rows(assessment.pk, values))
    lines = [AssessmentLine(assessment=assessment, line_no=line_no, tax=tax, base=base, rule=rule, amount=amount,
                            legal_basis=legal_basis, exchange_rates=rates)
             for line_no, tax, base, rule, amount, legal_basis, rates in values]
    assessment._prefetched_objects_cache = {"lines": lines}  # type: ignore[attr-defined]
    return assessment


LINE_FIELDS = ("assessment", "line_no", "tax", "base", "rule", "amount", "legal_basis", "exchange_rates")
# (line_no, tax, base, rule, amount, legal_basis, exchange_rates) of one assessment line
LineValues = tuple[int, str, Decimal, str, Decimal, str, list[dict[str, Any]]]


def line_rows(assessment_id: Any, lines: list[LineValues]) -> list[tuple[Any, ...]]:
    dumped: dict[int, str] = {}  # lines share their rates list (assessment_build): encoded once
    rows = []
    for line_no, tax, base, rule, amount, legal_basis, rates in lines:
        text = dumped.get(id(rates))
        if text is None:
            text = dumped[id(rates)] = json.dumps(rates)
        rows.append((assessment_id, line_no, tax, base, rule, amount, legal_basis, text))
    return rows


def assessment_build(
    *, declaration: Declaration, prepared: PreparedDeclaration, version: int,
    fee_lines: tuple[tuple[str, str, Decimal], ...],
) -> tuple[Assessment, list[LineValues]]:
    """The assessment row (unsaved) and the values of its lines."""
    zero = Decimal("0.00")
    result = prepared.assessment
    totals = result.totals if result is not None else None
    penalties = late_entry_penalty_kes() if prepared.late_entry else zero
    fees = money(sum((amount for _tax, _rule, amount in fee_lines), zero))
    taxes = {name: money(getattr(totals, name)) if totals is not None else zero
             for name in ("import_duty", "excise_duty", "vat", "idf", "rdl")}
    assessment = Assessment(
        declaration=declaration, version=version, rate_date=prepared.rate_date, currency="KES",
        exchange_rate=prepared.exchange_rate, penalties=penalties, fees=fees,
        exchange_rate_date=result.exchange_rate_date if result is not None else None,
        # The sum of every line: the engine's tax totals are sums of their rounded lines
        # (docs/declarations.md "Rounding"); penalties and fees are lines of whole cents.
        total=money((totals.total if totals is not None else zero) + penalties + fees),
        created_at=clock.now(), **taxes,
    )
    rates_of: dict[tuple[tuple[str, Decimal, dt.date | None], ...], list[dict[str, Any]]] = {}
    for line in result.lines if result is not None else ():
        if line.exchange_rates not in rates_of:  # the lines of one declaration mostly share their rates
            rates_of[line.exchange_rates] = [
                {"currency": c, "kes_per_unit": f"{r:.6f}", "date": d.isoformat() if d else None}
                for c, r, d in line.exchange_rates]
    lines: list[LineValues] = [
        (line.line_no, str(line.tax), money(line.base), str(line.rule)[:200], money(line.amount),
         line.legal_basis[:300], rates_of[line.exchange_rates])
        for line in (result.lines if result is not None else ())
    ]
    if prepared.late_entry:
        lines.append((0, "late_entry_penalty", zero,
                      f"entered more than 21 days after discharge (EACCMA s.34); flat KES {penalties}",
                      penalties, "EAC Customs Management Act 2004 s.34 (entry of imported goods)", []))
    for tax, rule, amount in fee_lines:
        lines.append((0, tax, zero, rule[:200], money(amount), ALTERATION_FEE_BASIS, []))
    return assessment, lines


def declaration_prime(declaration: Declaration, *, assessment: Assessment | None, eslip: ESlip | None) -> None:
    """Fill the relation caches the API renders from, so a fresh lodging is not read back."""
    declaration._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "assessments": [assessment] if assessment is not None else [],
        "eslips": [eslip] if eslip is not None else [],
        "amendment_requests": [],
    }
    declaration._state.fields_cache["payment"] = None


def eslip_issue(*, declaration: Declaration, assessment: Assessment, due_date: dt.date,
                first: bool = False, secured_by: str = "") -> ESlip:
    """The current e-slip. Under a regime secured by bond (IM8) nothing is payable: amount 0.00 and
    `secured_by` names the bond (a re-issue keeps the previous slip's wording)."""
    secured = is_secured_transit(declaration.regime)
    if secured and not secured_by and not first:
        secured_by = (ESlip.objects.filter(declaration=declaration, is_current=True)
                      .values_list("secured_by", flat=True).first() or "secured by regional bond")
    if not first:
        ESlip.objects.filter(declaration=declaration, is_current=True).update(is_current=False)
    eslip = eslip_build(declaration=declaration, assessment=assessment, due_date=due_date, secured_by=secured_by)
    eslip.save(force_insert=True)
    return eslip


def eslip_build(*, declaration: Declaration, assessment: Assessment, due_date: dt.date,
                secured_by: str = "") -> ESlip:
    secured = is_secured_transit(declaration.regime)
    return ESlip(
        declaration=declaration, assessment=assessment,
        # ES + 12 characters of the declaration id + assessment version: known before the entry
        # number is (the serial is taken last, see _lodge_prepared), unique, easy to key in.
        reference=f"ES{declaration.pk.hex[:12].upper()}{assessment.version:02d}",
        amount=Decimal("0.00") if secured else assessment.total, currency="KES", due_date=due_date,
        secured_by=secured_by if secured else "", is_current=True, created_at=clock.now(),
    )
