"""Fiscal checks of declaration items, as extra problem producers of `declaration_prepare`
(docs/declarations.md "Vehicles" and "Exemptions"):

- motor vehicles (HS 87.02-87.05) carry their particulars: VIN or chassis number, make, model,
  year of manufacture, engine capacity, fuel, condition; VIN check digit where it applies, year
  not in the future, used imports under KS 1515's age limit (tariff.vehicles);
- an exemption claim names a certificate valid for this importer, these goods, the lodging date,
  with quota left (tariff.selectors.exemption_claim_problems); the quota itself is drawn inside
  the lodging transaction (tariff.services.exemption_quota_draw);
- the reduced IDF/RDL rates need a legal basis: a certificate granting them, EAC origin with the
  EAC preference claimed, or COMESA origin with a certificate of origin (COO) attached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from core.exceptions import ErrorItem, error
from core.problems import join_pointer
from tariff.selectors import ExemptionClaim, exemption_claim_amount, exemption_claim_problems
from tariff.services import QuotaDraw
from tariff.vehicles import MAX_USED_VEHICLE_AGE_YEARS, is_vehicle_code, vehicle_age_years, vin_problem

# COMESA member states (ISO alpha-2): origin proof for the reduced IDF/RDL with a COO document.
COMESA_MEMBERS = frozenset({
    "BI", "KM", "CD", "DJ", "EG", "ER", "SZ", "ET", "KE", "LY", "MG", "MW", "MU", "RW", "SC", "SO", "SD",
    "TN", "UG", "ZM", "ZW",
})
ORIGIN_DOCUMENT_KINDS = frozenset({"COO", "EUR1", "COMESA"})


def _vehicle_problems(item: Any, index: int, *, is_import: bool, on: dt.date) -> list[ErrorItem]:
    digits = item.hs_code.replace(".", "")
    vehicle = item.vehicle
    pointer = ("items", index, "vehicle")
    if not is_vehicle_code(digits):
        if vehicle is not None:
            return [error("vehicle_not_applicable",
                          "Vehicle particulars are given only for motor vehicles (HS 87.02-87.05).",
                          join_pointer(*pointer))]
        return []
    if vehicle is None:
        return [error("vehicle_particulars_required",
                      f"HS {item.hs_code} is a motor vehicle: give its particulars (VIN or chassis number, "
                      "make, model, year of manufacture, engine capacity, fuel, condition).",
                      join_pointer(*pointer))]
    problems: list[ErrorItem] = []
    vin = vehicle.get("vin") or ""
    if not vin and not vehicle.get("chassis_number"):
        problems.append(error("vehicle_identification_required", "Give the VIN or, without one, the chassis number.",
                              join_pointer(*pointer, "vin")))
    if vin and (reason := vin_problem(vin)) is not None:
        problems.append(error("vin_check_digit_invalid", reason, join_pointer(*pointer, "vin")))
    year = vehicle["year_of_manufacture"]
    if year > on.year:
        problems.append(error("future_year_of_manufacture",
                              f"The year of manufacture {year} is after the lodging year {on.year}.",
                              join_pointer(*pointer, "year_of_manufacture")))
    elif is_import and vehicle["condition"] == "used":
        age = vehicle_age_years(year_of_manufacture=year, on_year=on.year)
        if age >= MAX_USED_VEHICLE_AGE_YEARS:
            problems.append(error(
                "vehicle_too_old",
                f"A used vehicle made in {year} is {age} years old in {on.year}: KS 1515:2000 admits used "
                f"imports less than {MAX_USED_VEHICLE_AGE_YEARS} years from the year of manufacture "
                f"({on.year - MAX_USED_VEHICLE_AGE_YEARS + 1} or later).",
                join_pointer(*pointer, "year_of_manufacture")))
    if vehicle["fuel"] == "electric" and vehicle["engine_capacity_cc"] != 0:
        problems.append(error("engine_capacity_invalid", "An electric vehicle has engine capacity 0 cc.",
                              join_pointer(*pointer, "engine_capacity_cc")))
    elif vehicle["fuel"] != "electric" and vehicle["engine_capacity_cc"] == 0:
        problems.append(error("engine_capacity_invalid", "Give the engine capacity in cc.",
                              join_pointer(*pointer, "engine_capacity_cc")))
    return problems


def fiscal_problems(
    *, items: Sequence[Any], documents: Sequence[dict[str, Any]], holder_pin: str, is_import: bool, on: dt.date,
    declaration_id: Any = None,
) -> tuple[list[ErrorItem], list[Any]]:
    """Problems of every item, and the quota draws of the valid exemption claims."""
    problems: list[ErrorItem] = []
    claims: list[ExemptionClaim] = []
    for index, item in enumerate(items):
        problems.extend(_vehicle_problems(item, index, is_import=is_import, on=on))
        if item.exemption and not item.exemption_certificate:
            problems.append(error("exemption_certificate_required",
                                  f"An exemption ({item.exemption}) is granted only on an exemption certificate: "
                                  "give its number.", join_pointer("items", index, "exemption_certificate")))
        elif item.exemption_certificate and not item.exemption:
            problems.append(error("exemption_code_required",
                                  "Name the exemption claimed under this certificate.",
                                  join_pointer("items", index, "exemption")))
        elif item.exemption:
            claims.append(ExemptionClaim(
                index=index, line_no=item.line_no, certificate_number=item.exemption_certificate,
                exemption_code=item.exemption, hs_digits=item.hs_code.replace(".", ""),
                customs_value_kes=item.customs_value_kes, supplementary_quantity=item.supplementary_quantity))
    certificates: dict[str, Any] = {}
    failed: set[int] = set()
    if claims:
        found, certificates = exemption_claim_problems(claims=claims, holder_pin=holder_pin, on=on,
                                                       declaration_id=declaration_id)
        for code, detail, pointer in found:
            problems.append(error(code, detail, pointer))
            failed.add(int(pointer.split("/")[2]))
    draws = []
    for claim in claims:
        cert = certificates.get(claim.certificate_number)
        if claim.index in failed or cert is None:
            continue
        amount = exemption_claim_amount(cert, claim)
        if amount is not None:
            draws.append(QuotaDraw(certificate_id=cert.pk, line_no=claim.line_no, index=claim.index,
                                   amount=Decimal(amount)))
    # Reduced IDF / RDL: only with their legal basis.
    has_origin_document = any(d.get("kind") in ORIGIN_DOCUMENT_KINDS for d in documents)
    for index, item in enumerate(items):
        if not (item.idf_reduced or item.rdl_reduced):
            continue
        cert = certificates.get(item.exemption_certificate) if item.exemption_certificate else None
        basis = (
            (cert is not None and cert.reduces_idf_rdl and index not in failed)
            or item.preference == "EAC"  # EAC origin itself is checked by the assessment
            or (item.origin_country in COMESA_MEMBERS and has_origin_document)
        )
        if not basis:
            name = "idf_reduced" if item.idf_reduced else "rdl_reduced"
            problems.append(error(
                "reduction_without_basis",
                "The reduced IDF/RDL rate needs its legal basis (Miscellaneous Fees and Levies Act 2016): an "
                "exemption certificate granting it, the EAC preference on goods of EAC origin, or COMESA "
                "origin with a certificate of origin (COO) attached.", join_pointer("items", index, name)))
    return problems, draws
