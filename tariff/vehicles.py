"""Motor vehicles: particulars checks and KRA's CRSP valuation, as pure functions (no database).

- VIN check digit (ISO 3779 VINs carry one only under 49 CFR 565.15, the North American rule):
  python-stdnum 2.2 has no VIN module, so the weighted mod-11 check is written out here. A VIN
  with a wrong check digit is refused only when its ninth character is a digit or "X" and its
  world manufacturer identifier is North American (first character 1-5); other regions do not
  use the position as a check digit ("where it applies"). Japanese used imports usually carry a
  chassis number (e.g. "NZE161-7012345"), not a VIN: either is accepted.
- Age limit: KEBS KS 1515:2000 (Inspection of road vehicles), applied by KRA/KEBS: a used motor
  vehicle may be imported only if it is less than eight years old counted from the year of
  manufacture, i.e. refused when lodging year - year of manufacture >= 8 (in 2025: 2018 and later).
- CRSP valuation (KRA "TEMPLATE 2025" in the CRSP workbook): customs value = CRSP x (1 -
  depreciation for the vehicle's age) / divisor, the divisor being the product of the factors in
  the tabulation's customs-value formula (dealer margin, duty, excise, VAT). Age = lodging year -
  year of manufacture (KRA's "Dep counter").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

VEHICLE_HS_PREFIXES = ("8702", "8703", "8704", "8705")
MAX_USED_VEHICLE_AGE_YEARS = 8  # KS 1515:2000: refused from this age on
NORTH_AMERICAN_WMI = frozenset("12345")

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def is_vehicle_code(hs_digits: str) -> bool:
    return hs_digits.startswith(VEHICLE_HS_PREFIXES)


def vin_check_digit(vin: str) -> str:
    """The 49 CFR 565.15 check digit of a 17-character VIN ("0"-"9" or "X")."""
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin.upper(), _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_check_applies(vin: str) -> bool:
    return vin[:1] in NORTH_AMERICAN_WMI


def vin_problem(vin: str) -> str | None:
    """Why `vin` is not acceptable (None when it is). The serializer already checked its alphabet
    (17 characters, no I, O or Q)."""
    if vin_check_applies(vin) and vin_check_digit(vin) != vin[8].upper():
        return f"VIN {vin} fails its check digit (position 9 should be {vin_check_digit(vin)})."
    return None


def vehicle_age_years(*, year_of_manufacture: int, on_year: int) -> int:
    return on_year - year_of_manufacture


# ------------------------------------------------------------------------------------------------
# CRSP valuation


@dataclass(frozen=True, slots=True)
class DepreciationBand:
    age_over: int
    age_up_to: int | None
    rate: Decimal
    label: str


@dataclass(frozen=True, slots=True)
class CrspValuation:
    crsp_kes: Decimal
    description: str  # the CRSP row matched, as officers read it
    template: str
    divisor: Decimal
    age_years: int
    depreciation: Decimal  # fraction
    value_kes: Decimal  # CRSP-derived customs value, rounded half-up to the cent


def depreciation_for_age(bands: Sequence[DepreciationBand], age: int) -> Decimal:
    """KRA's rate for `age` years: the band with age_over < age <= age_up_to; 0 below the first
    band (a vehicle of the current or previous year is valued at the full CRSP)."""
    for band in bands:
        if age > band.age_over and (band.age_up_to is None or age <= band.age_up_to):
            return band.rate
    if bands and age > max(b.age_up_to or b.age_over for b in bands):
        return max(b.rate for b in bands)
    return Decimal(0)


def template_code(*, hs_digits: str, engine_capacity_cc: int, fuel: str) -> str:
    """Which of KRA's tabulations values this vehicle (titles quoted from TEMPLATE 2025)."""
    if fuel == "electric":
        return "electric"  # "100% ELECTRIC POWERED MOTOR VEHICLES FOR TRANSPORTATION OF PERSONS"
    if hs_digits in ("87032490", "87033390"):
        return "large_engine"  # "HS 8703.24.90 & 8703.33.90 ... EXCEEDING 3000CC PETROL / 2500CC DIESEL"
    if engine_capacity_cc <= 1500:
        return "up_to_1500cc"  # "MVs WITH ENGINE CAPACITY NOT EXCEEDING 1500CC"
    return "over_1500cc"  # "MVs (HS. 8702, 8703 AND 8704) WITH ENGINE RATING EXCEEDING 1500CC"


def crsp_value(
    *,
    crsp_kes: Decimal,
    description: str,
    hs_digits: str,
    engine_capacity_cc: int,
    fuel: str,
    age_years: int,
    bands: Sequence[DepreciationBand],
    divisors: Mapping[str, Decimal],
) -> CrspValuation | None:
    code = template_code(hs_digits=hs_digits, engine_capacity_cc=engine_capacity_cc, fuel=fuel)
    divisor = divisors.get(code)
    if divisor is None:
        return None
    depreciation = depreciation_for_age(bands, age_years)
    value = (crsp_kes * (Decimal(1) - depreciation) / divisor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return CrspValuation(crsp_kes=crsp_kes, description=description, template=code, divisor=divisor,
                         age_years=age_years, depreciation=depreciation, value_kes=value)
