"""Serializer helpers shared by every app's API."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rest_framework import serializers


class StrictSerializerMixin:
    """Reject unknown fields (API.md: never silently dropped), recursively for nested serializers."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[serializers.ErrorDetail]] = {}
        if isinstance(data, dict):
            fields = self.fields  # type: ignore[attr-defined]
            unknown = {
                str(name): [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                for name in data
                if name not in fields or fields[name].read_only
            }
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            # Report unknown fields together with every other problem (API.md: all at once).
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class PlainDecimalField(serializers.DecimalField):
    """A decimal written plainly: `"425.71"`, `"-3"`, or a JSON integer. Refused with code
    `invalid_decimal`: exponents (`"1e5"`), NaN, Infinity, signs other than a leading minus,
    spaces; JSON floats or booleans are `invalid_type` (a float has already lost its exact value)."""

    default_error_messages = {
        "invalid_type": 'Amounts are decimal strings, e.g. "425.71".',
        "invalid_decimal": 'Write the amount as a plain decimal string, e.g. "425.71" (no exponent, NaN or Infinity).',
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool | float):
            self.fail("invalid_type")
        if isinstance(data, int):
            data = str(data)
        if not isinstance(data, str) or not PLAIN_DECIMAL.fullmatch(data):
            self.fail("invalid_decimal")
        return super().to_internal_value(data)


class MoneyField(PlainDecimalField):
    """Amounts as plain decimal strings (API.md), two places, never floats: every money input."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)


class UtcDateTimeField(serializers.DateTimeField):
    """Output times as the API renders them: ISO 8601 in UTC (`+00:00`), microseconds kept.
    (DRF's own field would convert to TIME_ZONE, East Africa Time, and write `Z`.)"""

    def to_representation(self, value: Any) -> Any:
        if value is None or isinstance(value, str):  # already rendered (like DRF's own field)
            return value
        return value.astimezone(dt.UTC).isoformat()


class BlankAsNullCharField(serializers.CharField):
    """Output: a blank stored string is rendered as null."""

    def to_representation(self, value: Any) -> Any:
        return super().to_representation(value) if value else None
