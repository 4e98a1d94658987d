"""Plain input data for lodging and amending manifests, shared by the JSON and EDIFACT intakes.

Fields are optional at this level on purpose: required-ness is a business rule checked by the
validation service so that a 400 lists *every* problem at once (a missing gross weight and an
unknown port in one answer), whichever intake the data came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from core.problems import join_pointer

# Field names in the public JSON; `bills` is published as `bills_of_lading`.
BILLS_KEY = "bills_of_lading"


@dataclass(frozen=True)
class ContainerInput:
    number: str = ""
    size_type: str = ""
    seals: tuple[str, ...] = ()
    packages: int | None = None


@dataclass(frozen=True)
class BillInput:
    number: str = ""
    kind: str = "master"
    master_number: str = ""
    consolidator_pin: str = ""
    shipper_name: str = ""
    shipper_address: str = ""
    consignee_name: str = ""
    consignee_pin: str = ""
    consignee_address: str = ""
    notify_party_name: str = ""
    notify_party_address: str = ""
    description: str = ""
    marks: str = ""
    packages: int | None = None
    package_kind: str = ""
    gross_weight_kg: Decimal | None = None
    place_of_delivery: str = ""
    containers: tuple[ContainerInput, ...] = ()


@dataclass(frozen=True)
class ManifestInput:
    reference: str = ""
    mode: str = ""
    vessel_name: str = ""
    vessel_imo: str = ""
    flight_number: str = ""
    vehicle_registration: str = ""
    voyage_number: str = ""
    port_of_loading: str = ""
    port_of_discharge: str = ""
    office_of_discharge: str = ""
    eta: dt.datetime | None = None
    bills: tuple[BillInput, ...] = field(default_factory=tuple)


# Fields of a B/L that declarations rely on: once a declaration has written off part of the B/L,
# changing any of these would make that declaration wrong, so an amendment touching them is refused.
BILL_DECLARATION_FIELDS: frozenset[str] = frozenset(
    {"number", "kind", "master_number", "consolidator_pin", "consignee_pin", "packages",
     "package_kind", "gross_weight_kg", "place_of_delivery"}
)
# Manifest fields that declarations rely on (office of entry, 21-day rule port, transport mode).
MANIFEST_DECLARATION_FIELDS: frozenset[str] = frozenset({"mode", "port_of_discharge", "office_of_discharge"})

MANIFEST_SCALAR_FIELDS: tuple[str, ...] = (
    "reference", "mode", "vessel_name", "vessel_imo", "flight_number", "vehicle_registration",
    "voyage_number", "port_of_loading", "port_of_discharge", "office_of_discharge", "eta",
)
BILL_SCALAR_FIELDS: tuple[str, ...] = (
    "number", "kind", "master_number", "consolidator_pin", "shipper_name", "shipper_address",
    "consignee_name", "consignee_pin", "consignee_address", "notify_party_name", "notify_party_address",
    "description", "marks", "packages", "package_kind", "gross_weight_kg", "place_of_delivery",
)


PointerFn = Callable[..., str]


def json_pointers(bill_index_map: Mapping[int, int] | None = None) -> PointerFn:
    """Pointers into a JSON body; `bill_index_map` maps the validated B/L index to its index in
    the request body (amendments send only the B/Ls they change)."""

    def pointer(*path: str | int) -> str:
        if path and path[0] == "bills":
            tokens: list[str | int] = [BILLS_KEY]
            if len(path) > 1:
                index = int(path[1])
                tokens.append(bill_index_map.get(index, index) if bill_index_map is not None else index)
                tokens.extend(path[2:])
            return join_pointer(*tokens)
        return join_pointer(*path)

    return pointer


def mapped_pointers(mapping: Mapping[tuple[str | int, ...], str], default: str) -> PointerFn:
    """Pointers from a source map (EDIFACT: path -> `/segment/N`), longest known prefix wins."""

    def pointer(*path: str | int) -> str:
        key = tuple(path)
        while key:
            if key in mapping:
                return mapping[key]
            key = key[:-1]
        return default

    return pointer
