"""Serializer helpers shared by every app's API."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.db.models.manager import BaseManager
from rest_framework import serializers
from rest_framework.fields import SkipField, is_simple_callable
from rest_framework.relations import PKOnlyObject, RelatedField
from rest_framework.settings import api_settings


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


# ----------------------------------------------------------------------------------------------
# Compiled rendering: exactly `Serializer(obj).data`, without DRF's per-field machinery.

Getter = Callable[[Any], Any]
Renderer = Callable[[Any], Any]
_SKIP = object()


def _drf_get(field: serializers.Field) -> Getter:
    """DRF's own look-up (defaults, allow_null, SkipField, errors): the slow path, exact."""

    def get(instance: Any) -> Any:
        try:
            return field.get_attribute(instance)
        except SkipField:
            return _SKIP

    return get


def _getter(field: serializers.Field) -> Getter:
    """`field.get_attribute` for a plain `source` chain: attributes (or keys of a Mapping) read
    directly, simple callables called, as DRF's `get_attribute` does. Anything unusual on the way
    (missing attribute or key, DoesNotExist) is handed to DRF's own look-up, which decides (None,
    the default, skip, or the error)."""
    attrs = list(field.source_attrs)
    if not attrs:  # source="*": the instance itself
        return lambda instance: instance
    slow = _drf_get(field)

    def get(instance: Any) -> Any:
        value = instance
        try:
            for attr in attrs:
                value = value[attr] if isinstance(value, Mapping) else getattr(value, attr)
                if callable(value) and is_simple_callable(value):
                    value = value()
        except Exception:
            return slow(instance)
        return value

    if len(attrs) == 1:
        (name,) = attrs

        def get_one(instance: Any) -> Any:
            if isinstance(instance, Mapping):
                return get(instance)
            try:
                value = getattr(instance, name)
            except Exception:
                return slow(instance)
            if callable(value) and is_simple_callable(value):
                return get(instance)
            return value

        return get_one
    return get


def _same(cls: type, base: type, name: str) -> bool:
    return getattr(cls, name) is getattr(base, name)


def _converter(field: serializers.Field) -> Renderer:
    """`field.to_representation`, with pass-through where DRF's own conversion is an identity."""
    cls = type(field)
    convert: Renderer = field.to_representation
    if isinstance(field, serializers.ListSerializer):
        if not _same(cls, serializers.ListSerializer, "to_representation"):
            return convert
        child = _compile_bound(field.child)
        return lambda data: [child(item) for item in (data.all() if isinstance(data, BaseManager) else data)]
    if isinstance(field, serializers.Serializer):
        return _compile_bound(field)
    if _same(cls, serializers.CharField, "to_representation"):  # str(value)
        return lambda value: value if type(value) is str else convert(value)
    if _same(cls, serializers.IntegerField, "to_representation"):  # int(value)
        return lambda value: value if type(value) is int else convert(value)
    if _same(cls, serializers.BooleanField, "to_representation"):  # True/False as such
        return lambda value: value if type(value) is bool else convert(value)
    if (_same(cls, serializers.DecimalField, "to_representation") and _same(cls, serializers.DecimalField, "quantize")
            and field.decimal_places is not None and not field.localize and not field.normalize_output):
        # A Decimal already at the field's places: quantize is an identity; as a string it is `f"{v:f}"`.
        places, max_digits = -field.decimal_places, field.max_digits

        def decimal_out(value: Any) -> Any:
            if type(value) is decimal.Decimal and getattr(field, "coerce_to_string",
                                                          api_settings.COERCE_DECIMAL_TO_STRING):
                _sign, digits, exponent = value.as_tuple()
                if exponent == places and (max_digits is None or len(digits) <= max_digits):
                    return f"{value:f}"
            return convert(value)

        return decimal_out
    return convert


def _compile_bound(serializer: serializers.Serializer) -> Renderer:
    """A renderer for a bound serializer (nested ones are bound in their parent's field tree)."""
    cls = type(serializer)
    to_representation = cls.to_representation
    if to_representation is not serializers.Serializer.to_representation:
        prepare = getattr(serializer, "prepare", None)
        if to_representation is not RenderedSerializer.to_representation or prepare is None:
            return serializer.to_representation  # its own rendering: not compiled, still exact
    else:
        prepare = None
    plan = [(field.field_name, _getter(field), _converter(field))
            for field in serializer.fields.values() if not field.write_only]
    # Relational fields hand out PKOnlyObject: DRF checks its pk for None.
    pk_only = {name for name, field in serializer.fields.items() if isinstance(field, RelatedField)}

    def render(instance: Any) -> dict[str, Any]:
        if prepare is not None:
            instance = prepare(instance)
        out: dict[str, Any] = {}
        for name, get, convert in plan:
            value = get(instance)
            if value is _SKIP:
                continue
            check = value.pk if name in pk_only and isinstance(value, PKOnlyObject) else value
            out[name] = None if check is None else convert(value)
        return out

    return render


def compile_renderer(serializer_class: type[serializers.Serializer]) -> Renderer:
    """A function rendering an instance exactly as `serializer_class(instance).data` does (same
    keys, order and values; nested serializers, lists, sources, method fields), compiled once
    from the declared fields: a plan of (name, getter, converter) per field instead of DRF's
    per-field look-ups. Serializers that override `to_representation` (other than through
    `RenderedSerializer.prepare`) are rendered by it, uncompiled."""
    serializer = serializer_class()
    serializer.fields  # noqa: B018 - bind the whole field tree once
    return _compile_bound(serializer)


class RenderedSerializer(serializers.Serializer):
    """An output serializer that renders responses: `render(instance)` is `cls(instance).data`
    (as a plain dict), through a renderer compiled on first use. `prepare` turns the instance into
    what the fields read (a view object), for `.data` and `render` alike."""

    def prepare(self, instance: Any) -> Any:
        return instance

    def to_representation(self, instance: Any) -> Any:
        return super().to_representation(self.prepare(instance))

    @classmethod
    def render(cls, instance: Any) -> dict[str, Any]:
        renderer = cls.__dict__.get("_compiled")
        if renderer is None:
            renderer = compile_renderer(cls)
            cls._compiled = renderer  # type: ignore[attr-defined]
        return renderer(instance)  # type: ignore[no-any-return]
