"""UN/EDIFACT CUSCAR (directory D95B) to `ManifestInput`, tokenised by pydifact.

Error pointers name the segment: `/segment/<n>`, n = 1-based position of the segment in the
interchange, counting from UNB (the UNA service string advice, when present, is not a segment
and is not counted). A truncated interchange points at the segment that is missing (one past
the last complete segment).

Mapping (API.md "Manifests as EDIFACT", docs/manifests.md):
    BGM C106 document number             -> reference
    TDT+20 8028 conveyance reference     -> voyage number (sea/road) or flight number (air)
    TDT C220 mode (Rec. 19: 1 sea, 4 air, 3 road) -> mode
    TDT C222 id / name                   -> IMO number / vessel name (road: registration)
    LOC+9 / LOC+11 or LOC+60             -> port of loading / port of discharge
    DTM+132 (formats 102, 203, 204; local time Africa/Nairobi; 303/304 with offset) -> ETA
    CNI (+ RFF+BM, RFF+BH for a house B/L under master BM) -> bill of lading
    NAD+CZ shipper, NAD+CN consignee (C082 id = KRA PIN), NAD+N1 notify party,
    NAD+CS consolidator (C082 id = KRA PIN) -> parties
    LOC+7 inside a CNI                   -> place of delivery
    GID C213 count:kind                  -> packages (summed over GIDs; one kind per B/L)
    FTX+AAA C108                         -> description;  PCI / FTX+AAB -> marks
    MEA+AAE+G (KGM or TNE) in a goods item -> gross weight (summed over GIDs)
    EQD+CN C237 number, C224 size/type; SEL seals -> containers (in a CNI: that B/L's; before the
                                            first CNI: the manifest's equipment list)
    SGP C237 container, 7224 packages    -> container of the goods item (size/type, seals from EQD)
"""

from __future__ import annotations

import datetime as dt
import warnings
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydifact.parser import Parser

from core.exceptions import ErrorItem, error
from manifests.enums import BillKind, TransportMode
from manifests.inputs import BillInput, ContainerInput, ManifestInput, PointerFn, mapped_pointers

NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")
MESSAGE_TYPE = ("CUSCAR", "D", "95B")
MODES = {"1": TransportMode.SEA, "4": TransportMode.AIR, "3": TransportMode.ROAD}
KG_PER_UNIT = {"KGM": Decimal(1), "TNE": Decimal(1000)}


def seg_pointer(index: int) -> str:
    return f"/segment/{index}"


def comp(element: Any, index: int = 0) -> str:
    """Component `index` of a data element (a plain string is a one-component element)."""
    if element is None:
        return ""
    if isinstance(element, str):
        return element if index == 0 else ""
    if index < len(element):
        value = element[index]
        return value if isinstance(value, str) else ""
    return ""


def texts(element: Any) -> list[str]:
    if element is None:
        return []
    if isinstance(element, str):
        return [element] if element else []
    return [c for c in element if isinstance(c, str) and c]


@dataclass
class Seg:
    index: int
    tag: str
    elements: list[Any]

    def el(self, i: int) -> Any:
        return self.elements[i] if i < len(self.elements) else None

    @property
    def pointer(self) -> str:
        return seg_pointer(self.index)


@dataclass
class _Equipment:
    number: str
    size_type: str = ""
    seals: list[str] = field(default_factory=list)
    pointer: str = ""
    seal_pointers: list[str] = field(default_factory=list)


@dataclass
class _Bill:
    cni: Seg
    values: dict[str, Any] = field(default_factory=dict)
    pointers: dict[str, str] = field(default_factory=dict)
    packages: int | None = None
    kinds: list[tuple[str, str]] = field(default_factory=list)
    weight: Decimal | None = None
    description: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    equipment: list[_Equipment] = field(default_factory=list)
    placements: list[tuple[str, int | None, str]] = field(default_factory=list)
    bm: str = ""
    bh: str = ""


@dataclass(frozen=True)
class CuscarManifest:
    data: ManifestInput
    pointer: PointerFn
    errors: list[ErrorItem]
    sender: str = ""
    interchange_reference: str = ""


class CuscarError(Exception):
    def __init__(self, errors: list[ErrorItem]) -> None:
        super().__init__("; ".join(e.detail for e in errors))
        self.errors = errors


def tokenise(text: str) -> list[Seg]:
    """Segments of the interchange, or CuscarError naming the segment where syntax broke."""
    segments: list[Seg] = []
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL; name the segment it is in (terminators before it + 1).
        position = text[: text.index("\x00")].count("'") + (0 if text.startswith("UNA") else 1)
        raise CuscarError([error("edifact_syntax", "NUL character in the interchange.", seg_pointer(position))])
    try:
        with warnings.catch_warnings():
            # pydifact warns about directories it has no XML for; Forodha checks D95B itself.
            warnings.simplefilter("ignore")
            for segment in Parser().parse(text):
                if segment.tag == "UNA":
                    continue
                segments.append(Seg(len(segments) + 1, segment.tag, list(segment.elements)))
    except Exception as exc:  # pydifact raises EDISyntaxError, ValueError, IndexError on bad input
        position = len(segments) + 1
        raise CuscarError([error(
            "edifact_syntax",
            f"EDIFACT syntax error at segment {position}: {exc}".strip(),
            seg_pointer(position),
        )]) from exc
    return segments


def check_envelope(segments: list[Seg]) -> tuple[list[Seg], list[ErrorItem], str, str]:
    """The CUSCAR message's segments (UNH..UNT) after checking UNB/UNH/UNT/UNZ."""
    errors: list[ErrorItem] = []
    if not segments:
        raise CuscarError([error("edifact_truncated", "Empty interchange: UNB expected.", seg_pointer(1))])
    if segments[0].tag != "UNB":
        errors.append(error("edifact_envelope", f"The interchange must start with UNB, not {segments[0].tag}.",
                            segments[0].pointer))
    sender = comp(segments[0].el(1)) if segments[0].tag == "UNB" else ""
    unb_ref = comp(segments[0].el(4)) if segments[0].tag == "UNB" else ""
    unh_positions = [i for i, s in enumerate(segments) if s.tag == "UNH"]
    if not unh_positions:
        raise CuscarError([
            *errors, error("edifact_truncated", "No UNH message header.", seg_pointer(len(segments) + 1))
        ])
    if len(unh_positions) > 1:
        errors.append(error("edifact_multiple_messages", "One CUSCAR message per interchange is accepted.",
                            segments[unh_positions[1]].pointer))
    start = unh_positions[0]
    unh = segments[start]
    message_type = tuple(comp(unh.el(1), i) for i in range(3))
    if message_type != MESSAGE_TYPE:
        errors.append(error(
            "edifact_wrong_directory",
            f"Expected message CUSCAR:D:95B, got {':'.join(message_type)}.", unh.pointer,
        ))
    unt_index = next((i for i in range(start + 1, len(segments)) if segments[i].tag == "UNT"), None)
    if unt_index is None:
        raise CuscarError([*errors, error(
            "edifact_truncated", "The message is truncated: UNT (message trailer) missing.",
            seg_pointer(len(segments) + 1))])
    unt = segments[unt_index]
    expected_count = unt_index - start + 1
    declared = comp(unt.el(0))
    if declared != str(expected_count):
        errors.append(error(
            "edifact_segment_count",
            f"UNT says {declared or 'nothing'} segments; the message has {expected_count} (UNH to UNT).",
            unt.pointer,
        ))
    if comp(unt.el(1)) != comp(unh.el(0)):
        errors.append(error("edifact_reference_mismatch",
                            "UNT message reference does not match UNH.", unt.pointer))
    unz_index = next((i for i in range(unt_index + 1, len(segments)) if segments[i].tag == "UNZ"), None)
    if unz_index is None:
        errors.append(error("edifact_truncated", "The interchange is truncated: UNZ (interchange trailer) missing.",
                            seg_pointer(len(segments) + 1)))
    else:
        unz = segments[unz_index]
        if comp(unz.el(0)) != str(len(unh_positions)):
            errors.append(error("edifact_message_count",
                                f"UNZ says {comp(unz.el(0))} messages; the interchange has {len(unh_positions)}.",
                                unz.pointer))
        if comp(unz.el(1)) != unb_ref:
            errors.append(error("edifact_reference_mismatch",
                                "UNZ interchange reference does not match UNB.", unz.pointer))
        if unz_index != len(segments) - 1:
            errors.append(error("edifact_envelope", "Segments after UNZ.", segments[unz_index + 1].pointer))
    if errors:
        raise CuscarError(errors)
    return segments[start:unt_index + 1], errors, sender, unb_ref


def parse_datetime(value: str, fmt: str) -> dt.datetime | None:
    patterns = {"102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S"}
    try:
        if fmt in patterns:
            return dt.datetime.strptime(value, patterns[fmt]).replace(tzinfo=NAIROBI)
        if fmt in ("303", "304"):
            # CCYYMMDDHHMM[SS]ZZZ: ZZZ is the offset from UTC in hours ("+03", "-05", "Z").
            base, zone = (value[:12], value[12:]) if fmt == "303" else (value[:14], value[14:])
            naive = dt.datetime.strptime(base, patterns["203" if fmt == "303" else "204"])  # noqa: DTZ007
            if zone in ("", "Z", "UTC"):
                return naive.replace(tzinfo=dt.UTC)
            return naive.replace(tzinfo=dt.timezone(dt.timedelta(hours=int(zone))))
    except ValueError:
        return None
    return None


def _party(seg: Seg) -> tuple[str, str, str]:
    """(identifier, name, address) of a NAD segment."""
    identifier = comp(seg.el(1))
    name_lines = texts(seg.el(2))
    party_name = " ".join(texts(seg.el(3)))
    street = " ".join(texts(seg.el(4)))
    place = [comp(seg.el(i)) for i in (5, 6, 7, 8)]
    if party_name:
        name, address_lines = party_name, name_lines
    else:
        name, address_lines = (name_lines[0] if name_lines else ""), name_lines[1:]
    address = ", ".join(x for x in [*address_lines, street, *place] if x)
    return identifier, name, address


def _int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 15 else None


def _weight(seg: Seg) -> tuple[Decimal | None, str | None]:
    unit, raw = comp(seg.el(2), 0), comp(seg.el(2), 1)
    if unit not in KG_PER_UNIT:
        return None, f"Gross weight unit {unit or '(none)'} not supported; use KGM or TNE."
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None, f"Gross weight {raw!r} is not a number."
    if not value.is_finite():
        return None, f"Gross weight {raw!r} is not a number."
    return value * KG_PER_UNIT[unit], None


def map_cuscar(text: str) -> CuscarManifest:
    """Parse and map a CUSCAR interchange. Envelope/syntax problems raise CuscarError; mapping
    problems are returned in `errors` so they are reported together with business validation."""
    segments = tokenise(text)
    message, _, sender, reference = check_envelope(segments)
    unh = message[0]
    errors: list[ErrorItem] = []
    manifest: dict[str, Any] = {}
    pointers: dict[tuple[str | int, ...], str] = {}
    equipment_list: dict[str, _Equipment] = {}
    bills: list[_Bill] = []
    bill: _Bill | None = None
    current_equipment: _Equipment | None = None
    context = "message"  # message | bill | goods | equipment

    for seg in message[1:-1]:
        tag, q = seg.tag, comp(seg.el(0))
        if tag == "BGM":
            manifest["reference"] = comp(seg.el(1))
            pointers[("reference",)] = seg.pointer
        elif tag == "TDT" and bill is None:
            mode = MODES.get(comp(seg.el(2)))
            for key in ("mode", "vessel_name", "vessel_imo", "voyage_number", "flight_number",
                        "vehicle_registration"):
                pointers[(key,)] = seg.pointer
            if mode is None:
                errors.append(error("edifact_unsupported_mode",
                                    f"Transport mode {comp(seg.el(2)) or '(none)'} not supported (1, 3 or 4).",
                                    seg.pointer))
                continue
            manifest["mode"] = mode
            conveyance = comp(seg.el(1))
            identity = seg.el(7)
            if mode == TransportMode.SEA:
                manifest["voyage_number"] = conveyance
                manifest["vessel_imo"] = comp(identity, 0)
                manifest["vessel_name"] = comp(identity, 3)
            elif mode == TransportMode.AIR:
                manifest["flight_number"] = conveyance
            else:
                manifest["voyage_number"] = conveyance
                manifest["vehicle_registration"] = comp(identity, 0) or comp(identity, 3)
        elif tag == "LOC":
            code = comp(seg.el(1))
            if bill is None and q == "9":
                manifest["port_of_loading"] = code
                pointers[("port_of_loading",)] = seg.pointer
            elif bill is None and q in ("11", "60"):
                manifest["port_of_discharge"] = code
                pointers[("port_of_discharge",)] = seg.pointer
                pointers[("office_of_discharge",)] = seg.pointer
            elif bill is not None and q == "7":
                bill.values["place_of_delivery"] = code
                bill.pointers["place_of_delivery"] = seg.pointer
        elif tag == "DTM" and bill is None and comp(seg.el(0), 0) == "132":
            pointers[("eta",)] = seg.pointer
            eta = parse_datetime(comp(seg.el(0), 1), comp(seg.el(0), 2) or "203")
            if eta is None:
                errors.append(error("invalid_datetime", "DTM+132: not a valid date/time for its format code.",
                                    seg.pointer))
            else:
                manifest["eta"] = eta
        elif tag == "CNI":
            bill = _Bill(cni=seg)
            bills.append(bill)
            bill.values["number"] = comp(seg.el(1))
            bill.pointers["number"] = seg.pointer
            context, current_equipment = "bill", None
        elif bill is None and tag == "EQD":
            current_equipment = _equipment(seg, errors)
            if current_equipment is not None:
                equipment_list[current_equipment.number] = current_equipment
            context = "equipment"
        elif bill is None and tag == "SEL" and context == "equipment" and current_equipment is not None:
            current_equipment.seals.append(comp(seg.el(0)))
            current_equipment.seal_pointers.append(seg.pointer)
        elif bill is None:
            continue  # message-level segments Forodha does not use (NAD+CA, RFF, GIS, ...)
        elif tag == "RFF" and context == "bill":
            kind, number = comp(seg.el(0), 0), comp(seg.el(0), 1)
            if kind == "BM":
                bill.bm = number
                bill.pointers["number"] = seg.pointer
            elif kind == "BH":
                bill.bh = number
                bill.pointers["house"] = seg.pointer
        elif tag == "NAD":
            identifier, name, address = _party(seg)
            if q == "CZ":
                bill.values.update(shipper_name=name, shipper_address=address)
                bill.pointers.update(shipper_name=seg.pointer, shipper_address=seg.pointer)
            elif q == "CN":
                bill.values.update(consignee_name=name, consignee_address=address, consignee_pin=identifier)
                bill.pointers.update(consignee_name=seg.pointer, consignee_address=seg.pointer,
                                     consignee_pin=seg.pointer)
            elif q == "N1":
                bill.values.update(notify_party_name=name, notify_party_address=address)
                bill.pointers.update(notify_party_name=seg.pointer)
            elif q == "CS":
                bill.values["consolidator_pin"] = identifier
                bill.pointers["consolidator_pin"] = seg.pointer
        elif tag == "GID":
            context, current_equipment = "goods", None
            count, kind = comp(seg.el(1), 0), comp(seg.el(1), 1)
            bill.pointers.setdefault("packages", seg.pointer)
            bill.pointers.setdefault("package_kind", seg.pointer)
            packages = _int(count)
            if packages is None:
                errors.append(error("invalid_packages", f"GID: package count {count!r} is not a whole number.",
                                    seg.pointer))
            else:
                bill.packages = (bill.packages or 0) + packages
            bill.kinds.append((kind, seg.pointer))
        elif tag == "FTX" and context == "goods" and q in ("AAA", "AAB"):
            (bill.description if q == "AAA" else bill.marks).append(" ".join(texts(seg.el(3))))
            if q == "AAA":
                bill.pointers.setdefault("description", seg.pointer)
        elif tag == "PCI" and context == "goods":
            bill.marks.append(" ".join(texts(seg.el(1))))
        elif tag == "MEA" and context == "goods" and q == "AAE" and comp(seg.el(1)) == "G":
            bill.pointers.setdefault("gross_weight_kg", seg.pointer)
            weight, problem = _weight(seg)
            if problem is not None:
                errors.append(error("invalid_weight", problem, seg.pointer))
            elif weight is not None:
                bill.weight = (bill.weight or Decimal(0)) + weight
        elif tag == "SGP" and context == "goods":
            count = comp(seg.el(1))
            bill.placements.append((comp(seg.el(0)), _int(count) if count else None, seg.pointer))
        elif tag == "EQD":
            current_equipment = _equipment(seg, errors)
            if current_equipment is not None:
                bill.equipment.append(current_equipment)
            context = "equipment"
        elif tag == "SEL" and context == "equipment" and current_equipment is not None:
            current_equipment.seals.append(comp(seg.el(0)))
            current_equipment.seal_pointers.append(seg.pointer)

    for key in ("port_of_loading", "port_of_discharge", "eta", "reference", "mode"):
        pointers.setdefault((key,), unh.pointer)
    bill_inputs = []
    for index, raw in enumerate(bills):
        bill_inputs.append(_bill_input(raw, index, equipment_list, pointers, errors))
    if not bills:
        pointers[("bills",)] = unh.pointer
    data = ManifestInput(bills=tuple(bill_inputs), **manifest)
    return CuscarManifest(data=data, pointer=mapped_pointers(pointers, unh.pointer), errors=errors,
                          sender=sender, interchange_reference=reference)


def _equipment(seg: Seg, errors: list[ErrorItem]) -> _Equipment | None:
    if comp(seg.el(0)) != "CN":
        return None  # trailers, pallets, ULDs: not containers
    return _Equipment(number=comp(seg.el(1)), size_type=comp(seg.el(2))[:4], pointer=seg.pointer)


def _bill_input(
    raw: _Bill,
    index: int,
    equipment_list: dict[str, _Equipment],
    pointers: dict[tuple[str | int, ...], str],
    errors: list[ErrorItem],
) -> BillInput:
    values = dict(raw.values)
    pointers[("bills", index)] = raw.cni.pointer
    if raw.bh:
        values.update(number=raw.bh, kind=BillKind.HOUSE, master_number=raw.bm or values.get("number", ""))
        raw.pointers["master_number"] = raw.pointers.get("number", raw.cni.pointer)
        raw.pointers["number"] = raw.pointers.pop("house")
    elif raw.bm:
        values["number"] = raw.bm
    kinds = {k for k, _ in raw.kinds}
    if len(kinds) > 1:
        errors.append(error("edifact_mixed_package_kinds",
                            "All goods items of one B/L must use one kind of package.", raw.kinds[1][1]))
    values["package_kind"] = raw.kinds[0][0] if raw.kinds else ""
    values["packages"] = raw.packages
    values["gross_weight_kg"] = raw.weight
    values["description"] = " ".join(d for d in raw.description if d)
    values["marks"] = " ".join(m for m in raw.marks if m)
    for name, pointer in raw.pointers.items():
        pointers[("bills", index, name)] = pointer

    containers: dict[str, ContainerInput] = {}
    container_pointers: dict[str, tuple[str, list[str]]] = {}
    for equipment in raw.equipment:
        containers[equipment.number] = ContainerInput(
            number=equipment.number, size_type=equipment.size_type, seals=tuple(equipment.seals))
        container_pointers[equipment.number] = (equipment.pointer, equipment.seal_pointers)
    for number, count, pointer in raw.placements:
        known = containers.get(number) or (
            ContainerInput(number=number, size_type=equipment_list[number].size_type,
                           seals=tuple(equipment_list[number].seals))
            if number in equipment_list else ContainerInput(number=number)
        )
        packages = (known.packages or 0) + count if count is not None else known.packages
        containers[number] = ContainerInput(number=known.number, size_type=known.size_type,
                                            seals=known.seals, packages=packages)
        if number not in container_pointers:
            seal_pointers = equipment_list[number].seal_pointers if number in equipment_list else []
            container_pointers[number] = (pointer, seal_pointers)
    ordered = sorted(containers.values(), key=lambda c: c.number)
    for c_index, container in enumerate(ordered):
        pointer, seal_pointers = container_pointers[container.number]
        pointers[("bills", index, "containers", c_index)] = pointer
        for s_index, seal_pointer in enumerate(seal_pointers):
            pointers[("bills", index, "containers", c_index, "seals", s_index)] = seal_pointer
    values["containers"] = tuple(ordered)
    return BillInput(**values)
