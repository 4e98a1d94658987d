"""Business validation of a manifest (lodging and amendment): every problem, with a pointer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Model

from core.exceptions import ErrorItem, error
from manifests.codes import FLIGHT_RE, VEHICLE_RE, container_number_problem, normalise_imo
from manifests.enums import BillKind, TransportMode
from manifests.inputs import BillInput, ManifestInput, PointerFn
from manifests.models import BillOfLading, Carrier, Manifest
from reference.models import CustomsOffice
from reference.selectors import location_exists, office_get, package_kind_exists
from traders.validators import is_valid_kra_pin

DOCUMENT_NUMBER_RE = re.compile(r"[A-Z0-9][A-Z0-9/\-.]{0,34}")
MAX_WEIGHT_KG = Decimal("99999999999.999")
MAX_PACKAGES = 99_999_999
KENYA = "KE"


@dataclass(frozen=True)
class Resolved:
    """What validation looked up, handed back so the caller does not query it again."""

    office_code: str
    voyage_key: str


def voyage_key(data: ManifestInput) -> str:
    """The voyage a B/L number must be unique within (per carrier).

    Sea: the voyage number. Air and road manifests often have none: the flight number or vehicle
    registration plus the ETA date (Africa/Nairobi) stands in, so AWB numbers can repeat across
    trips but never within one.
    """
    if data.voyage_number:
        return data.voyage_number
    transport = data.flight_number if data.mode == TransportMode.AIR else data.vehicle_registration
    day = data.eta.astimezone(dt.timezone(dt.timedelta(hours=3))).date().isoformat() if data.eta else ""
    return f"{transport}/{day}"[:17] if transport else ""


def _required(value: object) -> bool:
    return value is not None and value != ""


def validate_manifest(
    *,
    data: ManifestInput,
    carrier: Carrier,
    pointer: PointerFn,
    now: dt.datetime,
    existing: Manifest | None = None,
    require_bills: bool = True,
) -> tuple[list[ErrorItem], Resolved]:
    errors: list[ErrorItem] = []

    def add(code: str, detail: str, *path: str | int) -> None:
        errors.append(error(code, detail, pointer(*path)))

    # --- manifest -----------------------------------------------------------------------------
    for name in ("reference", "vessel_name", "vessel_imo", "flight_number", "vehicle_registration",
                 "voyage_number"):
        limit = 10 if name == "vessel_imo" else _max_length(Manifest, name)
        if len(getattr(data, name) or "") > limit:
            add("too_long", f"At most {limit} characters.", name)
    if not data.reference:
        add("required", "The manifest reference is required.", "reference")
    elif existing is None or existing.reference != data.reference:
        clash = Manifest.objects.filter(carrier=carrier, reference=data.reference)
        if existing is not None:
            clash = clash.exclude(pk=existing.pk)
        if clash.exists():
            add("duplicate_manifest_reference",
                f"This carrier already lodged a manifest with reference {data.reference!r}.", "reference")

    mode = data.mode
    if not mode:
        add("required", "The transport mode is required (sea, air or road).", "mode")
    elif mode not in TransportMode.values:
        add("invalid_choice", f"Unknown transport mode {mode!r}; use sea, air or road.", "mode")

    if mode == TransportMode.SEA:
        if not data.vessel_name:
            add("required", "A sea manifest needs the vessel name.", "vessel_name")
        if not data.vessel_imo:
            add("required", "A sea manifest needs the vessel's IMO number.", "vessel_imo")
        elif normalise_imo(data.vessel_imo) is None:
            add("invalid_imo", f"{data.vessel_imo!r} is not a valid IMO number (7 digits, check digit).",
                "vessel_imo")
        if not data.voyage_number:
            add("required", "A sea manifest needs the voyage number.", "voyage_number")
    elif mode == TransportMode.AIR:
        if not data.flight_number:
            add("required", "An air manifest needs the flight number.", "flight_number")
        elif FLIGHT_RE.fullmatch(data.flight_number) is None:
            add("invalid_flight_number", f"{data.flight_number!r} is not a flight number (e.g. KQ101).",
                "flight_number")
    elif mode == TransportMode.ROAD:
        if not data.vehicle_registration:
            add("required", "A road manifest needs the vehicle registration.", "vehicle_registration")
        elif VEHICLE_RE.fullmatch(data.vehicle_registration) is None:
            add("invalid_vehicle_registration", f"{data.vehicle_registration!r} is not a registration.",
                "vehicle_registration")

    if not data.port_of_loading:
        add("required", "The port of loading (UN/LOCODE) is required.", "port_of_loading")
    elif not location_exists(data.port_of_loading):
        add("unknown_location", f"Unknown UN/LOCODE {data.port_of_loading!r}.", "port_of_loading")

    office_code = ""
    port_ok = False
    if not data.port_of_discharge:
        add("required", "The port of discharge (UN/LOCODE) is required.", "port_of_discharge")
    elif not location_exists(data.port_of_discharge):
        add("unknown_location", f"Unknown UN/LOCODE {data.port_of_discharge!r}.", "port_of_discharge")
    elif not data.port_of_discharge.startswith(KENYA):
        add("not_kenyan_port", "Manifests lodged with KRA discharge at a Kenyan location (KE...).",
            "port_of_discharge")
    else:
        port_ok = True

    if data.office_of_discharge:
        office = office_get(data.office_of_discharge)
        if office is None:
            add("unknown_office", f"Unknown customs office {data.office_of_discharge!r}.", "office_of_discharge")
        else:
            office_code = office.code
    elif port_ok:
        # Not given (CUSCAR carries only the port): the office sited at the port of discharge.
        derived = (
            CustomsOffice.objects.filter(location_id=data.port_of_discharge).order_by("code")
            .values_list("code", flat=True).first()
        )
        if derived is None:
            add("unknown_office",
                f"No customs office at {data.port_of_discharge}; name the office_of_discharge.",
                "office_of_discharge")
        else:
            office_code = derived

    if data.eta is None:
        add("required", "The ETA is required.", "eta")
    elif existing is None and data.eta <= now:
        add("eta_in_past", "The ETA of a new manifest must be in the future.", "eta")

    # --- bills of lading ----------------------------------------------------------------------
    key = voyage_key(data)
    if require_bills and not data.bills:
        add("required", "A manifest needs at least one bill of lading.", "bills")
    seen: dict[str, int] = {}
    for index, bill in enumerate(data.bills):
        errors.extend(_validate_bill(bill, index, pointer))
        if bill.number:
            if bill.number in seen:
                add("duplicate_bill_of_lading",
                    f"B/L {bill.number} appears twice on this manifest (first at index {seen[bill.number]}).",
                    "bills", index, "number")
            else:
                seen[bill.number] = index
    if seen and key:
        taken = BillOfLading.objects.filter(carrier=carrier, voyage_number=key, number__in=list(seen))
        if existing is not None:
            taken = taken.exclude(manifest=existing)
        for number in sorted(set(taken.values_list("number", flat=True))):
            add("duplicate_bill_of_lading",
                f"B/L {number} is already on another manifest of this carrier for voyage {key}.",
                "bills", seen[number], "number")
    return errors, Resolved(office_code=office_code, voyage_key=key)


def _validate_bill(bill: BillInput, index: int, pointer: PointerFn) -> Iterable[ErrorItem]:
    def at(*path: str | int) -> str:
        return pointer("bills", index, *path)

    for name in ("kind", "master_number", "consolidator_pin", "shipper_name", "consignee_name", "consignee_pin",
                 "notify_party_name"):
        limit = _max_length(BillOfLading, name)
        if len(getattr(bill, name) or "") > limit:
            yield error("too_long", f"At most {limit} characters.", at(name))
    if not bill.number:
        yield error("required", "The B/L number is required.", at("number"))
    elif DOCUMENT_NUMBER_RE.fullmatch(bill.number) is None:
        yield error("invalid_document_number",
                    "A B/L number is 1-35 capital letters, digits, '/', '-' or '.'.", at("number"))
    if bill.kind not in BillKind.values:
        yield error("invalid_choice", "kind is master or house.", at("kind"))
    elif bill.kind == BillKind.HOUSE:
        if not bill.master_number:
            yield error("required", "A house B/L names its master B/L.", at("master_number"))
        if not bill.consolidator_pin:
            yield error("required", "A house B/L carries the consolidator's KRA PIN.", at("consolidator_pin"))
    if bill.consolidator_pin and not is_valid_kra_pin(bill.consolidator_pin):
        yield error("invalid_kra_pin", "Not a KRA PIN (e.g. P051234567X).", at("consolidator_pin"))
    if not bill.shipper_name:
        yield error("required", "The shipper's name is required.", at("shipper_name"))
    if not bill.consignee_name:
        yield error("required", "The consignee's name is required.", at("consignee_name"))
    if not bill.consignee_pin:
        yield error("required", "The consignee's KRA PIN is required.", at("consignee_pin"))
    elif not is_valid_kra_pin(bill.consignee_pin):
        yield error("invalid_kra_pin", "Not a KRA PIN (e.g. P051234567X).", at("consignee_pin"))
    if not bill.description.strip():
        yield error("required", "The goods description is required.", at("description"))
    if bill.packages is None:
        yield error("required", "The number of packages is required.", at("packages"))
    elif bill.packages <= 0:
        yield error("packages_not_positive", "The number of packages must be at least 1.", at("packages"))
    elif bill.packages > MAX_PACKAGES:
        yield error("packages_too_large", f"At most {MAX_PACKAGES} packages.", at("packages"))
    if not bill.package_kind:
        yield error("required", "The kind of packages (UN/ECE Rec. 21) is required.", at("package_kind"))
    elif not package_kind_exists(bill.package_kind):
        yield error("unknown_package_kind", f"Unknown kind of package {bill.package_kind!r}.", at("package_kind"))
    if bill.gross_weight_kg is None:
        yield error("required", "The gross weight (kg) is required.", at("gross_weight_kg"))
    elif not bill.gross_weight_kg.is_finite() or bill.gross_weight_kg <= 0 or bill.gross_weight_kg > MAX_WEIGHT_KG:
        yield error("weight_not_positive", "The gross weight must be more than 0 kg.", at("gross_weight_kg"))
    if bill.place_of_delivery and not location_exists(bill.place_of_delivery):
        yield error("unknown_location", f"Unknown UN/LOCODE {bill.place_of_delivery!r}.", at("place_of_delivery"))
    numbers: set[str] = set()
    for c_index, container in enumerate(bill.containers):
        problem = container_number_problem(container.number)
        if problem is not None:
            yield error("invalid_container_number", problem, at("containers", c_index, "number"))
        elif container.number in numbers:
            yield error("duplicate_container", f"Container {container.number} is listed twice on this B/L.",
                        at("containers", c_index, "number"))
        numbers.add(container.number)
        if len(container.size_type) > 4:
            yield error("too_long", "An ISO 6346 size/type code has 4 characters.",
                        at("containers", c_index, "size_type"))
        if container.packages is not None and not 0 < container.packages <= MAX_PACKAGES:
            yield error("packages_not_positive", f"Packages in a container must be 1 to {MAX_PACKAGES}.",
                        at("containers", c_index, "packages"))
        for s_index, seal in enumerate(container.seals):
            if not seal or len(seal) > 35:
                yield error("invalid_seal", "A seal number is 1-35 characters.",
                            at("containers", c_index, "seals", s_index))


def _max_length(model: type[Model], name: str) -> int:
    return int(model._meta.get_field(name).max_length or 0)  # type: ignore[union-attr]
