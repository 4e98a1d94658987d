"""`transit_validate`: the IM8-specific checks of a lodging body, every problem at once.

Called by declaration lodging before anything is written. The bond *sufficiency* check needs the
assessment and a row lock, so it happens in `transit_on_lodged` inside the lodging transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q

from core.exception_handler import flatten_errors
from core.exceptions import ErrorItem, error
from core.problems import join_pointer
from declarations.lifecycle import is_secured_transit
from manifests.codes import container_number_problem
from manifests.selectors import bl_find
from reference.selectors import office_get

from ..enums import BondStatus
from ..models import RegionalBond, TransitSeal
from ..serializers import TransitInSerializer

# Northern/Central Corridor: the partner states a movement out of Kenya may cross before reaching
# its destination. An exit border post is on the route when the neighbour it opens onto is the
# destination or one of these (e.g. Rwanda via Malaba/Busia into Uganda, or via Namanga into
# Tanzania). Forodha's choice from the corridor maps; extend with new border posts.
CORRIDOR_TRANSIT_STATES: dict[str, frozenset[str]] = {
    "UG": frozenset(),
    "TZ": frozenset(),
    "RW": frozenset({"UG", "TZ"}),
    "BI": frozenset({"UG", "RW", "TZ"}),
    "SS": frozenset({"UG"}),
    "CD": frozenset({"UG", "RW", "TZ"}),
}


def transit_section_parse(section: Any) -> tuple[dict[str, Any] | None, list[ErrorItem]]:
    serializer = TransitInSerializer(data=section)
    if serializer.is_valid():
        return dict(serializer.validated_data), []
    return None, [error(e["code"], e["detail"], "/transit" + e["pointer"])
                  for e in flatten_errors(serializer.errors)]


def bond_usable_problem(bond: RegionalBond, on: dt.date) -> str | None:
    if bond.status != BondStatus.ACTIVE:
        return f"Bond {bond.number} is {bond.status}."
    if bond.valid_from > on or (bond.valid_to is not None and bond.valid_to < on):
        return f"Bond {bond.number} is not valid on {on.isoformat()}."
    return None


def _route_errors(payload: dict[str, Any], data: dict[str, Any], destination: str | None) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    pointer = "/transit/office_of_exit"
    exit_office = office_get(data["office_of_exit"])
    entry_office = office_get(payload.get("office") or "")
    if exit_office is None:
        return [error("unknown_office", f"No customs office {data['office_of_exit']!r}.", pointer)]
    if not (exit_office.is_border_post and exit_office.kind == "border"):
        errors.append(error("exit_office_not_border_post",
                            f"{exit_office.pk} ({exit_office.name}) is not a border post; a transit route "
                            "must end at an exit border post such as MAL (Malaba) or BSA (Busia).", pointer))
    elif entry_office is not None and entry_office.pk == exit_office.pk:
        errors.append(error("route_entry_equals_exit", "The exit border post must differ from the office "
                                                       "of entry.", pointer))
    elif destination in CORRIDOR_TRANSIT_STATES:
        allowed = {destination} | CORRIDOR_TRANSIT_STATES[destination]
        if exit_office.partner_country_id not in allowed:
            errors.append(error("exit_office_not_on_route",
                                f"{exit_office.pk} opens onto {exit_office.partner_country_id or 'no partner state'}, "
                                f"not on a corridor to {destination}.", pointer))
    return errors


def _seal_errors(payload: dict[str, Any], data: dict[str, Any]) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    containers = data.get("containers") or []
    seen: dict[str, str] = {}
    all_seals: list[tuple[str, str]] = []
    for i, container in enumerate(containers):
        problem = container_number_problem(container["number"])
        if problem:
            errors.append(error("container_number_invalid", problem,
                                join_pointer("transit", "containers", i, "number")))
        if not container.get("e_seals"):
            # RECTS: e-seals are mandatory on containerised transit and SCT cargo.
            errors.append(error("e_seal_required", f"Container {container['number']} needs an e-seal.",
                                join_pointer("transit", "containers", i, "e_seals")))
        for j, seal in enumerate(container.get("e_seals") or []):
            all_seals.append((seal, join_pointer("transit", "containers", i, "e_seals", j)))
    for j, seal in enumerate(data.get("e_seals") or []):
        all_seals.append((seal, join_pointer("transit", "e_seals", j)))
    if not all_seals and not containers:
        errors.append(error("e_seal_required", "SCT transit cargo must carry an e-seal: list the containers with "
                                               "their e-seals, or the e-seals of a non-containerised load.",
                            "/transit/containers"))
    for seal, pointer in all_seals:
        if seal in seen:
            errors.append(error("duplicate_e_seal", f"E-seal {seal} is listed twice (first at {seen[seal]}).",
                                pointer))
        else:
            seen[seal] = pointer
    in_use = set(TransitSeal.objects.filter(seal_number__in=list(seen), is_active=True)
                 .values_list("seal_number", flat=True))
    for seal, pointer in seen.items():
        if seal in in_use:
            errors.append(error("e_seal_in_use", f"E-seal {seal} is armed on another live movement.", pointer))

    bl_number = payload.get("bill_of_lading")
    bl = bl_find(bl_number) if isinstance(bl_number, str) and bl_number else None
    if bl is not None:
        on_bl = {c.number for c in bl.containers.all()}
        listed = [c["number"] for c in containers]
        for i, number in enumerate(listed):
            if on_bl and number not in on_bl:
                errors.append(error("container_not_on_bill_of_lading",
                                    f"Container {number} is not on bill of lading {bl.number}.",
                                    join_pointer("transit", "containers", i, "number")))
        missing = sorted(on_bl - set(listed))
        if missing:
            errors.append(error("container_missing",
                                f"Every container of bill of lading {bl.number} moves under the transit "
                                f"declaration with its e-seals; missing: {', '.join(missing)}.",
                                "/transit/containers"))
    return errors


def _bond_errors(payload: dict[str, Any], data: dict[str, Any], on: dt.date) -> list[ErrorItem]:
    number = data.get("bond_number")
    pointer = "/transit/bond_number"
    if not number:
        return []  # resolved under the lock in transit_on_lodged (importer's, else agent's bond)
    bond = RegionalBond.objects.filter(number=number).select_related("principal_trader").first()
    if bond is None:
        return [error("bond_not_found", f"No regional bond {number}.", pointer)]
    problem = bond_usable_problem(bond, on)
    if problem:
        return [error("bond_not_usable", problem, pointer)]
    if bond.principal_trader is not None and bond.principal_trader.pin != payload.get("importer_pin"):
        return [error("bond_not_yours", f"Bond {number} does not secure this importer's goods.", pointer)]
    return []


def transit_validate(*, payload: dict[str, Any], on: dt.date) -> list[ErrorItem]:
    """Every IM8-specific problem of a lodging body, with JSON pointers into it."""
    regime = payload.get("regime") if isinstance(payload, dict) else None
    section = payload.get("transit") if isinstance(payload, dict) else None
    if not is_secured_transit(regime):
        if section is not None:
            return [error("transit_not_allowed", "Only IM8 (transit) declarations carry a transit section.",
                          "/transit")]
        return []
    if section is None:
        return [error("required", "An IM8 declaration needs a transit section (destination, office of exit, "
                                  "e-seals, bond).", "/transit")]
    data, errors = transit_section_parse(section)
    if data is None:
        return errors

    destination = data.get("destination_country")
    body_destination = payload.get("country_of_destination")
    destination_pointer = "/transit/destination_country"
    if destination and body_destination and destination != body_destination:
        errors.append(error("destination_mismatch", f"country_of_destination is {body_destination!r} but the "
                                                    f"transit destination is {destination!r}.",
                            "/country_of_destination"))
    if not destination and isinstance(body_destination, str) and body_destination:
        destination, destination_pointer = body_destination, "/country_of_destination"
    if not destination:
        errors.append(error("required", "Name the destination partner state.", destination_pointer))
    elif destination not in settings.TRANSIT_DESTINATIONS:
        errors.append(error("destination_not_partner_state",
                            f"{destination} is not an EAC partner state served by SCT transit "
                            f"({', '.join(settings.TRANSIT_DESTINATIONS)}).", destination_pointer))
        destination = None
    errors.extend(_route_errors(payload, data, destination))
    errors.extend(_seal_errors(payload, data))
    errors.extend(_bond_errors(payload, data, on))
    return errors


def destination_of(payload: dict[str, Any], data: dict[str, Any]) -> str:
    return str(data.get("destination_country") or payload.get("country_of_destination") or "")


def bonds_usable_for(*, agent: Any, trader: Any, on: dt.date) -> Any:
    """Active bonds, importer's first, then the agent's, oldest first (the default choice)."""
    principal = Q(principal_agent=agent)
    if trader is not None:
        principal |= Q(principal_trader=trader)
    return (RegionalBond.objects.filter(principal, status=BondStatus.ACTIVE, valid_from__lte=on)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on)))
