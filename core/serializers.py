"""Serializer helpers shared by every app's API."""

from __future__ import annotations

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


class MoneyField(serializers.DecimalField):
    """Amounts as decimal strings (API.md), two places, never floats."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)
