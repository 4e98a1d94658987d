"""Input and output serializers of the declarations API.

Input: the canonical body of API.md, accepted as is, strict (unknown fields rejected, nested too).
Structural rules live here (types, formats, lengths, control characters, negative numbers); the
business rules (tariff, B/L, authorisation, ...) live in `services.validation`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rest_framework import serializers

from core.fast_validation import Check, Invalid, char_check, list_check, typed_check
from core.serializers import (
    MoneyField,
    OmittedWhenAbsentMixin,
    RenderedSerializer,
    StrictSerializer,
    StrictSerializerMixin,
    UtcDateTimeField,
)

from .enums import AmendmentStatus, Channel, EventKind, Incoterm, Regime, Status, TransportMode

MAX_ITEMS = 999  # iCMS caps a declaration at 999 item lines; bigger consignments are split.
MAX_DOCUMENTS = 99

HS_CODE_REGEX = r"^[0-9]{4}\.?[0-9]{2}\.?[0-9]{2}$"
PIN_REGEX = r"^[AP][0-9]{9}[A-Z]$"
# Simulated single-window IDF number (Forodha's format, services/idf.py).
IDF_NUMBER_REGEX = r"^E[0-9]{11}$"
# WCO UCR: year digit, ISO country, trader id (1-17), "-", reference; 35 characters at most
# (max_length on the field). Business rules (year, country, KRA PIN, uniqueness): services/idf.py.
UCR_REGEX = r"^[0-9][A-Z]{2}[A-Z0-9]{1,17}-[A-Z0-9][A-Z0-9/.-]*$"


def reject_control_characters(value: str) -> None:
    """Refuse C0/C1 control characters (NUL breaks PostgreSQL text, CR/LF and the like break flat
    files and logs), lone surrogates (not encodable) and the Unicode line/paragraph separators.
    Letters of every script are fine."""
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or ch in "\u2028\u2029":
            raise serializers.ValidationError(
                f"Control character U+{ord(ch):04X} is not allowed.", code="control_character"
            )


class TextField(serializers.CharField):
    """A single-line text field: trimmed, no control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # DRF's CharField also accepts numbers; a text field in JSON must be a string.
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.", code="invalid_type")
        # Checked here, before DRF's own NUL/surrogate validators, so one problem gets one error.
        reject_control_characters(data)
        return super().to_internal_value(data)

    def fast_validator(self, compile_field: Any) -> Check | None:
        """core.fast_validation: printable ASCII has no control character (other text: DRF)."""
        return char_check(self, extra=_printable_ascii)


def _printable_ascii(value: str) -> bool:
    return value.isascii() and value.isprintable()


class CodeField(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.", code="invalid_type")
        return super().to_internal_value(data)

    def fast_validator(self, compile_field: Any) -> Check | None:
        """core.fast_validation: a string passing the field's validators (its regex)."""
        return char_check(self)


class AmountField(MoneyField):
    """A non-negative plain decimal string (JSON integers too; never floats, exponents, NaN)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_digits", 16)
        super().__init__(**kwargs)


class WeightField(AmountField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("decimal_places", 3)
        kwargs.setdefault("max_digits", 14)
        super().__init__(**kwargs)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("Must be an integer.", code="invalid_type")
        return super().to_internal_value(data)

    def fast_validator(self, compile_field: Any) -> Check | None:
        """core.fast_validation: a JSON integer (not a boolean) within the field's range."""
        return typed_check(self, int)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("Must be true or false.", code="invalid_type")
        return data

    def fast_validator(self, compile_field: Any) -> Check | None:
        """core.fast_validation: a JSON boolean."""
        return typed_check(self, bool)


class DocumentInSerializer(StrictSerializerMixin, serializers.Serializer):
    kind = CodeField(regex=r"^[A-Z0-9]{2,16}$", help_text="Document code, e.g. IDF, INV, PKL, COO")
    reference = TextField(max_length=70)
    issued_on = serializers.DateField(required=False, allow_null=True)


class VehicleInSerializer(StrictSerializerMixin, serializers.Serializer):
    """Particulars of one motor vehicle (HS 87.02-87.05 items; docs/declarations.md "Vehicles")."""

    vin = CodeField(regex=r"^[A-HJ-NPR-Z0-9]{17}$", required=False, allow_blank=True,
                    help_text="17-character VIN (ISO 3779; no I, O or Q)")
    chassis_number = CodeField(regex=r"^[A-Z0-9][A-Z0-9-]{4,24}$", required=False, allow_blank=True,
                               help_text="Chassis/frame number when the vehicle has no VIN (e.g. NZE161-7012345)")
    make = TextField(max_length=60)
    model = TextField(max_length=120)
    year_of_manufacture = StrictIntegerField(min_value=1900, max_value=2100)
    engine_capacity_cc = StrictIntegerField(min_value=0, max_value=30_000, help_text="0 for electric vehicles")
    fuel = serializers.ChoiceField(choices=[("petrol", "Petrol"), ("diesel", "Diesel"), ("hybrid", "Hybrid"),
                                            ("electric", "Electric"), ("lpg", "LPG")])
    condition = serializers.ChoiceField(choices=[("new", "New"), ("used", "Used")])


class ItemInSerializer(StrictSerializerMixin, serializers.Serializer):
    hs_code = CodeField(regex=HS_CODE_REGEX, help_text="8-digit HS code, with or without dots: 8703.22.90")
    description = TextField(max_length=500)
    origin_country = CodeField(regex=r"^[A-Z]{2}$")
    packages = StrictIntegerField(min_value=1, max_value=999_999)
    package_kind = CodeField(regex=r"^[A-Z0-9]{2,3}$")
    gross_weight_kg = WeightField()
    net_weight_kg = WeightField()
    supplementary_quantity = WeightField(required=False, allow_null=True)
    supplementary_unit = CodeField(regex=r"^[A-Z0-9]{2,8}$", required=False, allow_blank=True)
    customs_value = AmountField(required=False, allow_null=True, help_text="CIF value in the invoice currency")
    item_value = AmountField(
        required=False, allow_null=True,
        help_text="Invoice value of the item; used when customs_value is absent (freight and insurance "
                  "are then apportioned by value)",
    )
    cpc = CodeField(regex=r"^[0-9]{7}$", required=False, allow_blank=True)
    preference = CodeField(regex=r"^[A-Z0-9_]{1,16}$", required=False, allow_blank=True)
    exemption = CodeField(regex=r"^[A-Za-z0-9_./-]{1,32}$", required=False, allow_blank=True)
    exemption_certificate = CodeField(
        regex=r"^[A-Za-z0-9_./-]{1,32}$", required=False, allow_blank=True,
        help_text="Number of the exemption certificate the claim rests on (required with exemption)")
    vehicle = VehicleInSerializer(required=False, allow_null=True,
                                  help_text="Required for motor vehicles (HS 87.02-87.05)")
    idf_reduced = StrictBooleanField(required=False)
    rdl_reduced = StrictBooleanField(required=False)


class ItemListSerializer(serializers.ListSerializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list) and len(data) > MAX_ITEMS:
            # Refuse before validating 10,000 children one by one.
            raise serializers.ValidationError(
                [serializers.ErrorDetail(f"At most {MAX_ITEMS} items per declaration; split the consignment.",
                                         code="too_many_items")]
            )
        return super().to_internal_value(data)

    def fast_validator(self, compile_field: Any) -> Check | None:
        """core.fast_validation: at most MAX_ITEMS, as above, then the list's own checks."""
        check = list_check(self, compile_field)
        if check is None:
            return None

        def items(value: Any) -> Any:
            if isinstance(value, list) and len(value) > MAX_ITEMS:
                raise Invalid
            return check(value)

        return items


class ItemsField(ItemInSerializer):
    class Meta:
        list_serializer_class = ItemListSerializer


class DeclarationInSerializer(StrictSerializer):
    """The canonical declaration body (API.md), plus optional Forodha fields."""

    draft = StrictBooleanField(required=False, help_text="Save as an editable draft instead of lodging")
    regime = serializers.ChoiceField(choices=Regime.choices)
    cpc = CodeField(regex=r"^[0-9]{7}$")
    office = CodeField(regex=r"^[A-Z]{3}$")
    importer_pin = CodeField(regex=PIN_REGEX, required=False, allow_blank=True)
    exporter_pin = CodeField(regex=PIN_REGEX, required=False, allow_blank=True)
    local_reference = TextField(max_length=35, required=False, allow_blank=True)
    ucr = CodeField(regex=UCR_REGEX, max_length=35, required=False, allow_blank=True,
                    help_text="WCO Unique Consignment Reference: year digit + country + trader id + '-' + "
                              "reference, e.g. 6KEP051234567A-PO4471")
    idf_number = CodeField(regex=IDF_NUMBER_REGEX, required=False, allow_blank=True,
                           help_text="Single-window IDF number; required for IM4, IM5, IM6, IM7")
    bill_of_lading = CodeField(regex=r"^[A-Z0-9-]{1,35}$", required=False, allow_blank=True)
    currency = CodeField(regex=r"^[A-Z]{3}$")
    invoice_amount = AmountField()
    freight_amount = AmountField(required=False)
    insurance_amount = AmountField(required=False)
    incoterm = serializers.ChoiceField(choices=Incoterm.choices, required=False, allow_blank=True)
    country_of_export = CodeField(regex=r"^[A-Z]{2}$", required=False, allow_blank=True)
    country_of_origin = CodeField(regex=r"^[A-Z]{2}$", required=False, allow_blank=True)
    country_of_destination = CodeField(regex=r"^[A-Z]{2}$", required=False, allow_blank=True)
    transport_mode = serializers.ChoiceField(choices=TransportMode.choices, required=False, allow_blank=True)
    documents = DocumentInSerializer(many=True, required=False, max_length=MAX_DOCUMENTS)  # type: ignore[call-arg]
    items = ItemsField(many=True, allow_empty=False)
    transit = serializers.DictField(
        required=False,
        help_text="IM8 (EAC SCT transit) only: destination_country, office_of_exit, containers with "
                  "e-seal numbers, bond (docs/transit.md). Validated with /transit/... pointers.",
    )


# ----------------------------------------------------------------------------------------------
# Output


# One shape per response: these serializers both render the responses (`.data`) and name the
# OpenAPI components (declarations.openapi); tests/declarations/test_response_shapes.py keeps
# the rendered keys equal to the declared fields.


class ExchangeRateUsedOutSerializer(serializers.Serializer):
    currency = serializers.CharField()
    kes_per_unit = serializers.DecimalField(max_digits=16, decimal_places=6)
    date = serializers.DateField(allow_null=True, help_text="The date the rate was fixed")


class AssessmentLineOutSerializer(serializers.Serializer):
    line_no = serializers.IntegerField()
    tax = serializers.CharField()
    base = serializers.DecimalField(max_digits=18, decimal_places=2)
    rule = serializers.CharField(help_text="The rate applied, e.g. '35% (Kenya rate, CET 25%)'")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    legal_basis = serializers.CharField(help_text="Act, schedule or section the rate comes from")
    exchange_rates = ExchangeRateUsedOutSerializer(
        many=True, help_text="Every exchange rate this line used (declaration currency, specific-rate currency)")


class ESlipLineOutSerializer(serializers.Serializer):
    line_no = serializers.IntegerField()
    tax = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    rule = serializers.CharField()
    legal_basis = serializers.CharField()


class TotalsOutSerializer(serializers.Serializer):
    import_duty = serializers.DecimalField(max_digits=18, decimal_places=2)
    excise_duty = serializers.DecimalField(max_digits=18, decimal_places=2)
    vat = serializers.DecimalField(max_digits=18, decimal_places=2)
    idf = serializers.DecimalField(max_digits=18, decimal_places=2)
    rdl = serializers.DecimalField(max_digits=18, decimal_places=2)
    penalties = serializers.DecimalField(max_digits=18, decimal_places=2)
    fees = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)


# One month of `LateInterest.lines()`.
class InterestLineOutSerializer(serializers.Serializer):
    month = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


# "from" is a Python keyword: declared through the fields mapping, in the order rendered.
InterestLineOutSerializer._declared_fields = {
    "month": InterestLineOutSerializer._declared_fields["month"],
    "from": serializers.DateField(help_text="The day the month began"),
    "amount": InterestLineOutSerializer._declared_fields["amount"],
}


# A `declarations.interest.LateInterest` (computed at read: services.deadlines.interest_for).
class LateInterestOutSerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="Today (East Africa Time): interest is computed when read")
    due_date = serializers.DateField(allow_null=True)
    months = serializers.IntegerField(help_text="Months late, a month begun counting whole (TPA 2015 s.38)")
    rate_per_month = serializers.DecimalField(max_digits=8, decimal_places=None, source="rate",
                                              help_text="The configured rate as written, e.g. 0.01")
    rule = serializers.ChoiceField(choices=["month_or_part", "whole_months"])
    base = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The unpaid tax")
    per_month = serializers.DecimalField(max_digits=18, decimal_places=2)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    lines = InterestLineOutSerializer(many=True)
    legal_basis = serializers.CharField()


# An `AssessmentView`: the assessment row with today's late-payment interest.
class AssessmentOutSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    currency = serializers.CharField(help_text="Always KES")
    rate_date = serializers.DateField()
    exchange_rate = serializers.DecimalField(max_digits=16, decimal_places=6)
    exchange_rate_date = serializers.DateField(allow_null=True, help_text="Null for KES declarations")
    totals = TotalsOutSerializer(source="*")
    lines = AssessmentLineOutSerializer(many=True, source="lines.all")
    late_payment_interest = LateInterestOutSerializer(help_text="Unpaid tax past its due date (TPA 2015 s.38)")


# An `ESlipView`: the payment slip, its lines and today's interest.
class ESlipOutSerializer(serializers.Serializer):
    reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    due_date = serializers.DateField(allow_null=True, help_text="None when nothing is payable (IM8, assessed at 0)")
    secured_by = serializers.CharField(allow_null=True, help_text="IM8 transit: the regional bond that "
                                                                  "secures the taxes at risk (nothing payable)")
    late_payment_interest = serializers.DecimalField(max_digits=18, decimal_places=2,
                                                     help_text="Interest owed today (TPA 2015 s.38)")
    amount_due = serializers.DecimalField(max_digits=18, decimal_places=2,
                                          help_text="amount + late-payment interest: what a payment today must be")
    lines = ESlipLineOutSerializer(many=True, help_text="What is paid, line by line, with its legal basis")


class PaymentOutSerializer(serializers.Serializer):
    reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    method = serializers.CharField()
    bank_reference = serializers.CharField()
    paid_at = UtcDateTimeField()


class PendingAmendmentOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    changed_fields = serializers.ListField(child=serializers.CharField(), help_text="Pointers of the changed fields")
    created_at = UtcDateTimeField()


class AssessmentView:
    """An assessment as rendered: its row (attributes read through) and today's interest."""

    currency = "KES"

    def __init__(self, assessment: Any, interest: Any) -> None:
        self._assessment = assessment
        self.late_payment_interest = interest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._assessment, name)


class ESlipView:
    """The payment slip as rendered: `lines` itemise what is paid and why (the assessment it was
    issued for), then one line per month of late-payment interest; `amount_due` = amount +
    interest (what a payment made today must match). Nothing to pay (IM8 secured by bond, or
    assessed at 0.00): no due date; `secured_by` names the bond."""

    def __init__(self, eslip: Any, lines: list[Any], interest: Any) -> None:
        self.reference, self.amount, self.currency = eslip.reference, eslip.amount, eslip.currency
        self.due_date = None if eslip.secured_by or eslip.amount <= 0 else eslip.due_date
        self.secured_by = eslip.secured_by or None
        self.late_payment_interest = interest.amount
        self.amount_due = eslip.amount + interest.amount
        self.lines = [*lines, *({"line_no": 0, "tax": "late_payment_interest", "amount": line["amount"],
                                 "rule": f"{interest.rate * 100:.2f} % of KES {interest.base} unpaid tax, "
                                         f"month {line['month']} (from {line['from']})",
                                 "legal_basis": interest.legal_basis} for line in interest.lines())]


class DeclarationView:
    """A declaration as rendered, from prefetched relations (selectors.declaration_get, or primed by
    the lodging service): the current assessment and e-slip, the payment, a pending amendment, and
    the late-payment interest as of today (zero without an e-slip: nothing billed yet)."""

    def __init__(self, declaration: Any) -> None:
        from .models import Payment
        from .services.deadlines import interest_for

        self._declaration = declaration
        assessment = next(iter(declaration.assessments.all()), None)
        eslip = next((e for e in declaration.eslips.all() if e.is_current), None)
        try:
            payment: Any = declaration.payment
        except Payment.DoesNotExist:
            payment = None
        self.payment = payment
        self.pending_amendment = next((r for r in declaration.amendment_requests.all()
                                       if r.status == AmendmentStatus.PENDING), None)
        current = eslip is not None and assessment is not None and eslip.assessment_id == assessment.pk
        billed = (assessment if current else eslip.assessment) if eslip is not None else None
        interest = interest_for(declaration=declaration, assessment=billed, paid=payment is not None or eslip is None)
        self.assessment = None if assessment is None else AssessmentView(assessment, interest)
        self.eslip = None if eslip is None else ESlipView(
            eslip, list(assessment.lines.all()) if current else [], interest)  # type: ignore[union-attr]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._declaration, name)


# `DeclarationOutSerializer(declaration).data`: the declaration resource of every endpoint;
# responses use `DeclarationOutSerializer.render(declaration)`, the same output compiled once.
class DeclarationOutSerializer(RenderedSerializer):
    id = serializers.UUIDField(source="pk")
    entry_number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=Status.choices)
    channel = serializers.ChoiceField(choices=Channel.choices, allow_null=True)
    version = serializers.IntegerField()
    regime = serializers.CharField()
    office = serializers.CharField(source="office_id", allow_null=True)
    lodged_at = UtcDateTimeField(allow_null=True)
    late_entry = serializers.BooleanField()
    payment_due_date = serializers.DateField(allow_null=True)
    declaration = serializers.DictField(source="body", help_text="The canonical body as last accepted")
    assessment = AssessmentOutSerializer(allow_null=True)
    eslip = ESlipOutSerializer(allow_null=True)
    payment = PaymentOutSerializer(allow_null=True)
    pending_amendment = PendingAmendmentOutSerializer(allow_null=True)

    def prepare(self, instance: Any) -> Any:
        return instance if isinstance(instance, DeclarationView) else DeclarationView(instance)


# ------------------------------------------------------------------------------------------------
# The history of a declaration (`GET /api/v1/declarations/{id}/history`, selectors.declaration_history)


class DeclarationEventOutSerializer(RenderedSerializer):
    """One entry of the status history (a DeclarationEvent)."""

    kind = serializers.ChoiceField(choices=EventKind.choices)
    # `from` is a Python keyword: declared through the class namespace, in its place.
    locals()["from"] = serializers.CharField(source="from_status", help_text="The status before (blank at first)")
    to = serializers.CharField(source="to_status", help_text="The status after")
    actor = serializers.CharField(source="actor_label")
    reason = serializers.CharField()
    payload = serializers.DictField(help_text="What the event recorded; its keys depend on the kind")
    at = UtcDateTimeField(source="created_at")


class DeclarationVersionChangeSerializer(RenderedSerializer):
    """One changed leaf of the canonical body between two versions (a missing side is null)."""

    pointer = serializers.CharField(help_text="JSON pointer into the declaration body")
    old = serializers.JSONField(allow_null=True, help_text="Any JSON value of the body")
    new = serializers.JSONField(allow_null=True, help_text="Any JSON value of the body")


class DeclarationVersionOutSerializer(RenderedSerializer):
    """One version of the declaration: its full snapshot and the field diff from the one before."""

    number = serializers.IntegerField()
    reason = serializers.CharField()
    created_at = UtcDateTimeField()
    fee_kes = MoneyField(help_text="Alteration fee charged for this version (KES)")
    changed_fields = serializers.ListField(child=serializers.CharField(), help_text="Pointers of the changed fields")
    # The snapshot is stored JSON as written when the version was made (services.snapshots): its
    # keys are those of the code of the day (`body`, `version`, `entry_number`, ...), not a fixed
    # shape, so it is declared as an object, not field by field.
    snapshot = serializers.DictField(help_text="The declaration as it stood at this version (stored JSON)")
    diff = DeclarationVersionChangeSerializer(many=True)


class AmendmentRequestOutSerializer(RenderedSerializer):
    """A tax-affecting amendment asked for by the agent, pending or decided by an officer."""

    id = serializers.UUIDField()
    # A plain string in the schema: a second choice set named `status` (beside the declaration's)
    # would need an ENUM_NAME_OVERRIDES entry (config/settings).
    status = serializers.CharField(help_text="pending, accepted or rejected (AmendmentStatus)")
    base_version = serializers.IntegerField()
    changed_fields = serializers.ListField(child=serializers.CharField(), help_text="Pointers of the changed fields")
    decision_reason = serializers.CharField()
    created_at = UtcDateTimeField()
    decided_at = UtcDateTimeField(allow_null=True)


class DeclarationHistorySerializer(RenderedSerializer):
    """Status history, versions and amendment requests of one declaration."""

    id = serializers.UUIDField()
    status = serializers.CharField(help_text="The declaration's status now (as DeclarationOut's)")
    events = DeclarationEventOutSerializer(many=True)
    versions = DeclarationVersionOutSerializer(many=True)
    amendment_requests = AmendmentRequestOutSerializer(many=True)


# ------------------------------------------------------------------------------------------------
# The status look-up (`GET /api/v1/status`): a few columns per row (selectors.status_lookup*), then
# the sections other apps add through Event.DECLARATION_STATUS_SECTIONS.


class TransitPositionOutSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    latitude = serializers.CharField(allow_null=True)
    longitude = serializers.CharField(allow_null=True)


class TransitBondOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    amount_secured = serializers.CharField()
    currency = serializers.CharField()
    released = serializers.BooleanField()
    demanded = serializers.BooleanField()


class TransitStatusSectionSerializer(OmittedWhenAbsentMixin, serializers.Serializer):
    """The IM8 movement end to end, as transit adds it (transit.services.movements.transit_status_for;
    tests/declarations/test_response_shapes.py checks these keys against what transit renders)."""

    movement_id = serializers.UUIDField()
    status = serializers.CharField()
    destination_country = serializers.CharField()
    office_of_entry = serializers.CharField()
    office_of_exit = serializers.CharField()
    departed_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    exit_confirmed_at = serializers.DateTimeField(allow_null=True)
    exit_held_by = serializers.ListField(child=serializers.CharField(),
                                         help_text="Why a confirmed exit cannot close yet (seals_missing:n, ...)")
    closed_at = serializers.DateTimeField(allow_null=True)
    tracking_state = serializers.CharField(allow_null=True)
    last_event_at = serializers.DateTimeField(allow_null=True)
    last_position = TransitPositionOutSerializer(allow_null=True)
    bond = TransitBondOutSerializer()
    open_alerts = serializers.IntegerField()
    live = serializers.BooleanField()


class StatusLookupRowSerializer(RenderedSerializer):
    """One declaration found by the status look-up (rendered from the look-up's columns)."""

    id = serializers.UUIDField()
    entry_number = serializers.CharField(allow_null=True)
    # Status and channel are plain strings in the schema: a second component with the declaration's
    # choice sets would rename DeclarationOut's enums (DeclarationOutStatusEnum) unless
    # ENUM_NAME_OVERRIDES (config/settings) named them.
    status = serializers.CharField(help_text="As DeclarationOut's status")
    channel = serializers.CharField(allow_null=True, help_text="As DeclarationOut's channel")
    ucr = serializers.CharField()
    bill_of_lading = serializers.CharField(source="bill_of_lading_number")
    regime = serializers.CharField()
    office = serializers.CharField(source="office_id", allow_null=True)
    updated_at = UtcDateTimeField()
    transit = TransitStatusSectionSerializer(
        required=False, allow_null=True,
        help_text="IM8 only: the transit movement (null before it exists); added by transit, not rendered here")


class StatusLookupSerializer(RenderedSerializer):
    results = StatusLookupRowSerializer(many=True)


class BankCallbackOutSerializer(RenderedSerializer):
    """The answer to a bank's confirmation: the payment and where its declaration stands.
    Rendered from `{"payment": payment, "replayed": bool}`."""

    payment_reference = serializers.CharField(source="payment.reference")
    declaration_id = serializers.UUIDField(source="payment.declaration.pk")
    entry_number = serializers.CharField(source="payment.declaration.entry_number")
    status = serializers.CharField(source="payment.declaration.status", help_text="As DeclarationOut's status")
    replayed = serializers.BooleanField(help_text="True when this bank reference was already recorded (200)")
