"""Input and output serializers of the manifests API (types only; rules live in the services)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import PlainDecimalField, StrictSerializer, StrictSerializerMixin
from manifests.enums import BillKind, ManifestStatus, TransportMode
from manifests.inputs import BillInput, ContainerInput, ManifestInput
from manifests.services.amendment import BillPatch, ManifestPatch


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class ContainerInSerializer(StrictSerializerMixin, serializers.Serializer):
    number = serializers.CharField(max_length=11, help_text="ISO 6346, e.g. CSQU3054383")
    size_type = _text(4, help_text="ISO 6346 size/type code, e.g. 22G1")
    seals = serializers.ListField(child=serializers.CharField(max_length=35), required=False)
    packages = serializers.IntegerField(required=False, allow_null=True, max_value=99_999_999)


class BillInSerializer(StrictSerializerMixin, serializers.Serializer):
    number = _text(35)
    kind = serializers.ChoiceField(choices=BillKind.choices, required=False)
    master_number = _text(35)
    consolidator_pin = _text(11)
    shipper_name = _text(200)
    shipper_address = _text(1000)
    consignee_name = _text(200)
    consignee_pin = _text(11)
    consignee_address = _text(1000)
    notify_party_name = _text(200)
    notify_party_address = _text(1000)
    description = _text(2000)
    marks = _text(2000)
    packages = serializers.IntegerField(required=False, allow_null=True, max_value=99_999_999)
    package_kind = _text(3)
    gross_weight_kg = PlainDecimalField(max_digits=14, decimal_places=3, required=False, allow_null=True)
    place_of_delivery = _text(5)
    containers = ContainerInSerializer(many=True, required=False)


MANIFEST_TEXT_FIELDS = {
    "reference": 35, "vessel_name": 70, "vessel_imo": 10, "flight_number": 8,
    "vehicle_registration": 16, "voyage_number": 17, "port_of_loading": 5, "port_of_discharge": 5,
    "office_of_discharge": 3,
}


class ManifestInSerializer(StrictSerializer):
    reference = _text(35, help_text="Carrier's manifest reference, unique per carrier")
    mode = _text(8, help_text="sea, air or road")
    vessel_name = _text(70)
    vessel_imo = _text(10, help_text="IMO ship number (7 digits with check digit), sea")
    flight_number = _text(8, help_text="Air")
    vehicle_registration = _text(16, help_text="Road")
    voyage_number = _text(17)
    port_of_loading = _text(5, help_text="UN/LOCODE, e.g. CNSHA")
    port_of_discharge = _text(5, help_text="UN/LOCODE, e.g. KEMBA")
    office_of_discharge = _text(3, help_text="Customs office code; default: the office at the port")
    eta = serializers.DateTimeField(required=False, allow_null=True)
    draft = serializers.BooleanField(required=False, default=False, help_text="Save as a draft, lodge later")
    bills_of_lading = BillInSerializer(many=True, required=False)


class BillPatchSerializer(BillInSerializer):
    number = serializers.CharField(max_length=35, help_text="Identifies the B/L; a new number adds one")


class ManifestPatchSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000)
    reference = _text(35)
    mode = _text(8)
    vessel_name = _text(70)
    vessel_imo = _text(10)
    flight_number = _text(8)
    vehicle_registration = _text(16)
    voyage_number = _text(17)
    port_of_loading = _text(5)
    port_of_discharge = _text(5)
    office_of_discharge = _text(3)
    eta = serializers.DateTimeField(required=False)
    bills_of_lading = BillPatchSerializer(many=True, required=False)
    remove_bills_of_lading = serializers.ListField(child=serializers.CharField(max_length=35), required=False)


class ArrivalSerializer(StrictSerializer):
    ata = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now")


class DischargeSerializer(StrictSerializer):
    discharged_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now")


def container_input(data: dict[str, Any]) -> ContainerInput:
    return ContainerInput(
        number=data["number"], size_type=data.get("size_type", ""), seals=tuple(data.get("seals", [])),
        packages=data.get("packages"),
    )


_BILL_TEXT = ("number", "master_number", "consolidator_pin", "shipper_name", "shipper_address", "consignee_name",
              "consignee_pin", "consignee_address", "notify_party_name", "notify_party_address", "description",
              "marks", "package_kind", "place_of_delivery")


def bill_input(data: dict[str, Any]) -> BillInput:
    return BillInput(
        kind=data.get("kind") or BillKind.MASTER,
        packages=data.get("packages"),
        gross_weight_kg=data.get("gross_weight_kg"),
        containers=tuple(container_input(c) for c in data.get("containers", [])),
        **{name: data.get(name, "") for name in _BILL_TEXT},
    )


def manifest_input(data: dict[str, Any]) -> ManifestInput:
    return ManifestInput(
        eta=data.get("eta"),
        bills=tuple(bill_input(b) for b in data.get("bills_of_lading", [])),
        mode=data.get("mode", ""),
        **{name: data.get(name, "") for name in MANIFEST_TEXT_FIELDS},
    )


def manifest_patch(data: dict[str, Any]) -> ManifestPatch:
    fields = {k: v for k, v in data.items() if k in (*MANIFEST_TEXT_FIELDS, "mode", "eta")}
    bills = []
    for bill in data.get("bills_of_lading", []):
        containers = bill.get("containers")
        bills.append(BillPatch(
            number=bill["number"],
            fields={k: v for k, v in bill.items() if k not in ("number", "containers")},
            containers=None if containers is None else tuple(container_input(c) for c in containers),
        ))
    return ManifestPatch(reason=data["reason"], fields=fields, bills=tuple(bills),
                         remove_bills=tuple(data.get("remove_bills_of_lading", [])))


# --- output -------------------------------------------------------------------------------------

class ContainerOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    size_type = serializers.CharField()
    seals = serializers.ListField(child=serializers.CharField())
    packages = serializers.IntegerField(allow_null=True)


class BillOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    kind = serializers.ChoiceField(choices=BillKind.choices)
    master_number = serializers.CharField()
    consolidator_pin = serializers.CharField()
    shipper_name = serializers.CharField()
    shipper_address = serializers.CharField()
    consignee_name = serializers.CharField()
    consignee_pin = serializers.CharField()
    consignee_address = serializers.CharField()
    notify_party_name = serializers.CharField()
    notify_party_address = serializers.CharField()
    description = serializers.CharField()
    marks = serializers.CharField()
    packages = serializers.IntegerField()
    package_kind = serializers.CharField(source="package_kind_id")
    gross_weight_kg = serializers.DecimalField(max_digits=14, decimal_places=3)
    place_of_delivery = serializers.CharField(source="place_of_delivery_id", allow_null=True)
    status = serializers.CharField()
    packages_reserved = serializers.IntegerField()
    packages_settled = serializers.IntegerField()
    packages_remaining = serializers.IntegerField()
    weight_reserved_kg = serializers.DecimalField(max_digits=14, decimal_places=3)
    weight_settled_kg = serializers.DecimalField(max_digits=14, decimal_places=3)
    weight_remaining_kg = serializers.DecimalField(max_digits=14, decimal_places=3)
    containers = ContainerOutSerializer(many=True, source="containers.all")


class ManifestSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    carrier = serializers.CharField(source="carrier.code")
    reference = serializers.CharField()
    mode = serializers.ChoiceField(choices=TransportMode.choices)
    vessel_name = serializers.CharField()
    vessel_imo = serializers.CharField()
    flight_number = serializers.CharField()
    vehicle_registration = serializers.CharField()
    voyage_number = serializers.CharField()
    port_of_loading = serializers.CharField(source="port_of_loading_id")
    port_of_discharge = serializers.CharField(source="port_of_discharge_id")
    office_of_discharge = serializers.CharField(source="office_of_discharge_id")
    eta = serializers.DateTimeField()
    ata = serializers.DateTimeField(allow_null=True)
    discharged_at = serializers.DateTimeField(allow_null=True)
    lodged_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=ManifestStatus.choices)
    version = serializers.IntegerField()
    late_lodging = serializers.BooleanField()
    source = serializers.CharField()  # type: ignore[assignment]  # declared fields leave the class namespace


class ManifestOutSerializer(ManifestSummarySerializer):
    bills_of_lading = serializers.SerializerMethodField()

    @extend_schema_field(BillOutSerializer(many=True))
    def get_bills_of_lading(self, manifest: Any) -> list[dict[str, Any]]:
        bills = self.context.get("bills")
        if bills is None:
            bills = manifest.bills_of_lading.all().prefetch_related("containers").order_by("position")
        return BillOutSerializer(bills, many=True).data  # type: ignore[return-value]



class BillLookupSerializer(BillOutSerializer):
    manifest = ManifestSummarySerializer()


class ManifestVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    reason = serializers.CharField()
    changes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    snapshot = serializers.DictField()


class ManifestEventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    bill_of_lading = serializers.CharField(source="bill_of_lading.number", allow_null=True, default=None)
    reason = serializers.CharField()
    payload = serializers.DictField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class ManifestHistorySerializer(serializers.Serializer):
    events = ManifestEventSerializer(many=True)
    versions = ManifestVersionSerializer(many=True)
