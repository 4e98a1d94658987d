"""KRA PIN validation.

A KRA PIN is `A` (individual) or `P` (non-individual) + 9 digits + one check letter, e.g.
P051234567X. Anything else -- lowercase, whitespace, separators such as `|` (the iCMS field
separator, a classic injection vector in flat-file interfaces) -- is rejected, never normalised.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

KRA_PIN_RE = re.compile(r"[AP]\d{9}[A-Z]")


def is_valid_kra_pin(pin: object) -> bool:
    # fullmatch on str only: `$` would accept a trailing newline, and `\d` must stay ASCII.
    return isinstance(pin, str) and pin.isascii() and KRA_PIN_RE.fullmatch(pin) is not None


@deconstructible
class KraPinValidator:
    """Django/DRF validator (works in model fields and serializer fields)."""

    message = "Enter a valid KRA PIN: A or P, 9 digits and a capital letter (e.g. P051234567X)."
    code = "invalid_kra_pin"

    def __call__(self, value: object) -> None:
        if not is_valid_kra_pin(value):
            raise ValidationError(self.message, code=self.code, params={"value": value})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KraPinValidator)

    def __hash__(self) -> int:
        return hash(self.code)


validate_kra_pin = KraPinValidator()
