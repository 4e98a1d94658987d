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
from rest_framework.relations import RelatedField
from rest_framework.settings import api_settings

from .fast_validation import Check, decimal_check, serializer_check


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

    def fast_validator(self, compile_field: Any) -> Check | None:
        """core.fast_validation: an unknown key makes the body invalid, as above."""
        return serializer_check(self, strict=True)  # type: ignore[arg-type]


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

    def fast_validator(self, compile_field: Any) -> Check | None:
        """core.fast_validation: a JSON integer or a plain decimal string, as above."""
        return decimal_check(self, PLAIN_DECIMAL.fullmatch)


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
    """`field.get_attribute`: a `source` chain of attributes (or keys of a Mapping) read directly,
    simple callables called, as DRF's `get_attribute` does. Anything unusual on the way (missing
    attribute or key, DoesNotExist, an error) is handed to DRF's own look-up, which decides (None,
    the default, skip, or the error DRF raises)."""
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

    return get


_MAPPING: dict[type, bool] = {}  # isinstance(instance, Mapping) by type (as abc caches it)


class _Never:
    """No value is of this type: a field without a pass-through."""


def _converter(field: Any) -> tuple[type, Renderer]:
    """`field.to_representation`, and the type whose values it returns unchanged (`str` for a plain
    CharField: `str(value)` is the value itself), checked inline by the renderer."""
    cls = type(field)
    convert: Renderer = field.to_representation
    if isinstance(field, serializers.ListSerializer):
        if not _same(cls, serializers.ListSerializer, "to_representation"):
            return _Never, convert
        child = _compile_bound(field.child)
        return _Never, lambda data: [child(item) for item in (data.all() if isinstance(data, BaseManager) else data)]
    if isinstance(field, serializers.Serializer):
        return _Never, _compile_bound(field)
    if _same(cls, serializers.CharField, "to_representation"):  # str(value)
        return str, convert
    if _same(cls, serializers.IntegerField, "to_representation"):  # int(value)
        return int, convert
    if _same(cls, serializers.BooleanField, "to_representation"):  # True/False as such
        return bool, convert
    if (_same(cls, serializers.DecimalField, "to_representation") and _same(cls, serializers.DecimalField, "quantize")
            and field.decimal_places and not field.localize and not field.normalize_output):
        # A Decimal already at the field's places and within its digits: quantize is an identity,
        # so DRF's string is `f"{value:f}"` (exactly `places` digits after the point). A string
        # already written so (e.g. from a JSON column) is what DRF would write back.
        places = field.decimal_places
        longest = None if field.max_digits is None else field.max_digits + 1  # digits + "." at most
        written = re.compile(rf"-?(?:0|[1-9][0-9]*)\.[0-9]{{{places}}}")

        def decimal_out(value: Any) -> Any:
            kind = type(value)
            if (kind is decimal.Decimal or kind is str) and getattr(
                    field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING):
                if kind is str:
                    text = value if written.fullmatch(value) else ""
                else:
                    text = f"{value:f}"
                    dot = text.find(".")
                    text = text if dot >= 0 and len(text) - dot - 1 == places else ""
                if text and (longest is None or len(text) <= longest):
                    return text
            return convert(value)

        return _Never, decimal_out
    return _Never, convert


def _same(cls: type, base: type, name: str) -> bool:
    return getattr(cls, name) is getattr(base, name)


def _compile_bound(serializer: Any) -> Renderer:
    """A renderer for a bound serializer (nested ones are bound in their parent's field tree)."""
    cls = type(serializer)
    to_representation = cls.to_representation
    prepare = None
    if to_representation is not serializers.Serializer.to_representation:
        if to_representation is not RenderedSerializer.to_representation:
            return serializer.to_representation  # its own rendering: not compiled, still exact
        prepare = serializer.prepare
    readable = [field for field in serializer.fields.values() if not field.write_only]
    if any(isinstance(field, RelatedField) for field in readable):
        return serializer.to_representation  # PKOnlyObject and friends: DRF's own loop
    # (name, the one attribute read directly or None, the getter, pass-through type, converter)
    plan: list[tuple[str, str | None, Getter, type, Renderer]] = []
    for field in readable:
        attrs = field.source_attrs
        plan.append((field.field_name, attrs[0] if len(attrs) == 1 else None, _getter(field), *_converter(field)))

    def render(instance: Any) -> dict[str, Any]:
        if prepare is not None:
            instance = prepare(instance)
        out: dict[str, Any] = {}
        mapping = _MAPPING.get(type(instance))
        if mapping is None:
            mapping = _MAPPING[type(instance)] = isinstance(instance, Mapping)
        for name, attr, get, same, convert in plan:
            if attr is None:
                value = get(instance)
                if value is _SKIP:
                    continue
            else:
                try:
                    value = instance[attr] if mapping else getattr(instance, attr)
                except Exception:
                    value = get(instance)  # DRF decides: None, a default, skip, or its error
                    if value is _SKIP:
                        continue
                else:
                    if callable(value) and is_simple_callable(value):
                        value = get(instance)
            out[name] = value if value is None or type(value) is same else convert(value)
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


class OmittedWhenAbsentMixin:
    """A field for a key the rendered mapping carries only sometimes: skipped (absent from the
    output, not rendered as null) when the mapping lacks it, declared for the schema all the same.
    (DRF renders an absent `allow_null` field as null.) Used for a section another app adds to a
    row after `render`, and for an answer's optional keys."""

    def get_attribute(self, instance: Any) -> Any:
        if isinstance(instance, Mapping) and self.field_name not in instance:  # type: ignore[attr-defined]
            raise SkipField()
        return super().get_attribute(instance)  # type: ignore[misc]


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
