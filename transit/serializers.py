"""Input serializers: the `transit` section of an IM8 declaration body, e-seal events from the
cargo tracking system, and partner-state messages. All strict (unknown fields are rejected).
Output serializers (end of file): the movement, alert and bond resources, the answers to e-seal
events, partner messages and bond demands, and the officer queue; responses are rendered by them
and the OpenAPI schema names them (one shape each)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import (
    BlankAsNullCharField,
    RenderedSerializer,
    StrictSerializer,
    StrictSerializerMixin,
    UtcDateTimeField,
)

from .enums import INBOUND_KINDS, MovementStatus, TrackingEventKind

SEAL_REGEX = r"^[A-Z0-9][A-Z0-9-]{4,18}[A-Z0-9]$"


class _Str(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.", code="invalid_type")
        return str(super().to_internal_value(data))


class TransitContainerInSerializer(StrictSerializerMixin, serializers.Serializer):
    number = _Str(r"^[A-Z]{4}[0-9]{7}$", help_text="ISO 6346 container number, e.g. CSQU3054383")
    e_seals = serializers.ListField(child=_Str(SEAL_REGEX), max_length=4, required=False, default=list,
                                    help_text="RECTS e-seal numbers fixed on this container")


class TransitInSerializer(StrictSerializerMixin, serializers.Serializer):
    """The `transit` section of an IM8 (EAC SCT transit) declaration body."""

    destination_country = _Str(r"^[A-Z]{2}$", required=False,
                               help_text="Destination partner state (UG, RW, SS, CD, BI, TZ); "
                                         "defaults to the body's country_of_destination")
    office_of_exit = _Str(r"^[A-Z]{3}$", help_text="Exit border post, e.g. MAL (Malaba), BSA (Busia)")
    bond_number = _Str(r"^[A-Z0-9/-]{3,32}$", required=False,
                       help_text="Regional bond; default: the importer's, else the agent's active bond")
    vehicle_registration = _Str(r"^[A-Z0-9 -]{2,20}$", required=False)
    containers = TransitContainerInSerializer(many=True, required=False, default=list)
    e_seals = serializers.ListField(child=_Str(SEAL_REGEX), max_length=4, required=False, default=list,
                                    help_text="E-seals on a non-containerised load (truck body)")


class LocationInSerializer(StrictSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)


class TrackingEventInSerializer(StrictSerializer):
    event_id = _Str(r"^[A-Za-z0-9._:-]{1,64}$", help_text="The tracking system's unique event id (idempotency)")
    seal_number = _Str(SEAL_REGEX)
    kind = serializers.ChoiceField(choices=TrackingEventKind.choices)
    occurred_at = serializers.DateTimeField(help_text="Event time at the seal (ISO 8601 with offset)")
    location = LocationInSerializer(required=False)
    battery_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    details = serializers.DictField(required=False, default=dict)


class PartnerMessageInSerializer(StrictSerializer):
    message_id = _Str(r"^[A-Za-z0-9._:-]{1,64}$")
    kind = serializers.ChoiceField(choices=[(str(k.value), k.label) for k in INBOUND_KINDS])
    movement_id = serializers.UUIDField()
    entry_number = serializers.CharField(max_length=16, required=False)
    occurred_at = serializers.DateTimeField()
    office = serializers.CharField(max_length=35, required=False, allow_blank=True)
    remarks = serializers.CharField(max_length=500, required=False, allow_blank=True)


# ----------------------------------------------------------------------------------------------
# Output


class SealOutSerializer(serializers.Serializer):
    container = BlankAsNullCharField(source="container_number", allow_null=True)
    e_seal = serializers.CharField(source="seal_number")
    active = serializers.BooleanField(source="is_active")


class MovementView:
    """A movement as rendered: the transit status of its declaration (the same values as the
    status look-up, services.transit_status_for) and the movement's own row."""

    def __init__(self, movement: Any) -> None:
        from .services import transit_status_for

        self.__dict__.update(transit_status_for(movement.declaration_id) or {})
        self.declaration_id = movement.declaration_id
        self.entry_number = movement.declaration.entry_number
        self.taxes_at_risk = {"amount": str(movement.taxes_at_risk), "currency": "KES"}
        self.eac_aeo, self.priority = movement.eac_aeo, movement.priority
        self.seals = movement.seals.all()


# `TransitMovementOutSerializer(movement).data`: a movement of the agent (or an officer's).
# Responses: `TransitMovementOutSerializer.render(movement)`, the same output compiled once.
class TransitMovementOutSerializer(RenderedSerializer):
    movement_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=MovementStatus.choices)
    destination_country = serializers.CharField()
    office_of_entry = serializers.CharField()
    office_of_exit = serializers.CharField()
    departed_at = UtcDateTimeField(allow_null=True)
    due_at = UtcDateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    exit_confirmed_at = UtcDateTimeField(allow_null=True, help_text="Partner's exit confirmation")
    exit_held_by = serializers.ListField(child=serializers.CharField(), help_text=(
        "Why a confirmed exit is not closed yet: seals_missing:<n>, alert_open:<kind> (docs/transit.md)"))
    closed_at = UtcDateTimeField(allow_null=True)
    tracking_state = serializers.CharField(allow_null=True)
    last_event_at = UtcDateTimeField(allow_null=True)
    last_position = serializers.DictField(allow_null=True)
    bond = serializers.DictField()
    open_alerts = serializers.IntegerField()
    live = serializers.BooleanField(help_text="Lodged, in transit or arrived at the exit: still followed")
    declaration_id = serializers.UUIDField()
    entry_number = serializers.CharField()
    taxes_at_risk = serializers.DictField()
    eac_aeo = serializers.BooleanField()
    priority = serializers.BooleanField()
    seals = SealOutSerializer(many=True)

    def prepare(self, instance: Any) -> Any:
        return instance if isinstance(instance, MovementView) else MovementView(instance)


# `TransitAlertOutSerializer(alert).data` (alert with movement and declaration loaded).
# Responses: `TransitAlertOutSerializer.render(alert)`.
class TransitAlertOutSerializer(RenderedSerializer):
    alert_id = serializers.UUIDField(source="pk")
    movement_id = serializers.UUIDField()
    entry_number = serializers.CharField(source="declaration.entry_number", allow_null=True)
    kind = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.BooleanField()
    occurrences = serializers.IntegerField()
    detail = serializers.CharField()
    opened_at = UtcDateTimeField()
    resolved_at = UtcDateTimeField(allow_null=True)
    resolution = serializers.CharField()
    assigned_to = serializers.CharField(source="assigned_to.get_username", allow_null=True)


class RegionalBondOutSerializer(RenderedSerializer):
    """A regional bond of the agent or one of its traders, with its free balance."""

    number = serializers.CharField()
    principal = serializers.SerializerMethodField()
    amount = serializers.CharField()
    balance = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    valid_to = serializers.DateField(allow_null=True)

    def get_principal(self, bond: Any) -> str:
        """`agent` or `trader`: who gave the bond."""
        return "agent" if bond.principal_agent_id else "trader"


# `TrackingEventOutSerializer.render(outcome)`: the answer to an e-seal event, first or replayed.
# The result is stored with the event (a replay answers it unchanged and changes nothing); it is
# rendered through these fields either way, so both answers have this shape.
class TrackingEventOutSerializer(RenderedSerializer):
    """The result of one e-seal event (as stored with it) and whether this post was a duplicate."""

    event_id = serializers.CharField()
    movement_id = serializers.UUIDField()
    declaration_id = serializers.UUIDField()
    entry_number = serializers.CharField(allow_null=True)
    seal_number = serializers.CharField()
    kind = serializers.CharField()
    occurred_at = UtcDateTimeField()
    received_at = UtcDateTimeField()
    applied = serializers.BooleanField()
    deferred = serializers.BooleanField(help_text="Received before departure: applied once the goods depart")
    effects = serializers.ListField(child=serializers.CharField())
    movement_status = serializers.CharField()
    tracking_state = serializers.CharField()
    last_event_at = UtcDateTimeField(allow_null=True)
    duplicate = serializers.BooleanField()

    def prepare(self, instance: Any) -> Any:
        """A `TrackingOutcome` (the event and whether this post created it): its stored result."""
        return {**instance.event.result, "duplicate": not instance.created}


# `PartnerMessageOutSerializer.render(outcome)`: the answer to an inbound partner message, first or
# replayed (the result stored with the message, rendered through these fields).
class PartnerMessageOutSerializer(RenderedSerializer):
    """The result of an inbound partner-state message (as stored with it) and whether this post was
    a duplicate."""

    message_id = serializers.CharField()
    movement_id = serializers.UUIDField()
    kind = serializers.CharField()
    movement_status = serializers.CharField()
    effects = serializers.ListField(child=serializers.CharField())
    received_at = UtcDateTimeField()
    duplicate = serializers.BooleanField()

    def prepare(self, instance: Any) -> Any:
        """An `InboundOutcome` (the message and whether this post created it): its stored result."""
        return {**instance.message.result, "duplicate": not instance.created}


# `BondDemandOutSerializer.render(entry)`: the `demand` entry of the bond ledger (bond loaded).
class BondDemandOutSerializer(RenderedSerializer):
    """A demand on a regional bond: the secured amount called, the bond's face value and free
    balance after it."""

    movement_id = serializers.UUIDField()
    bond_number = serializers.CharField(source="bond.number")
    amount_demanded = serializers.CharField(source="amount")
    currency = serializers.CharField(source="bond.currency")
    bond_amount_after = serializers.CharField(source="bond.amount")
    balance_after = serializers.CharField()


# `TransitQueueSerializer.render({"results": rows})`: selectors.transit_officer_queue's rows.
class TransitQueueRowSerializer(RenderedSerializer):
    """A movement in the officer queue, with its last position and age."""

    movement_id = serializers.UUIDField()
    declaration_id = serializers.UUIDField()
    entry_number = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    destination_country = serializers.CharField()
    office_of_exit = serializers.CharField()
    priority = serializers.BooleanField()
    departed_at = UtcDateTimeField(allow_null=True)
    due_at = UtcDateTimeField(allow_null=True)
    age_seconds = serializers.SerializerMethodField()
    overdue = serializers.BooleanField()
    tracking_state = BlankAsNullCharField(allow_null=True)
    last_event_at = UtcDateTimeField(allow_null=True)
    last_position = serializers.DictField(allow_null=True)
    open_alerts = serializers.IntegerField()

    def get_age_seconds(self, row: Any) -> int:
        """Time since departure (or since lodging while awaiting release), in whole seconds."""
        return int(row.age.total_seconds())


class TransitQueueSerializer(RenderedSerializer):
    """The officer queue: live movements (and finished ones with a live alert), EAC-AEO priority
    first, then open alerts, then the oldest departure."""

    results = TransitQueueRowSerializer(many=True)
