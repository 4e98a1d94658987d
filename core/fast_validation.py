"""A fast path through a DRF input serializer, compiled from its own fields: the same rules, not a
second copy of them.

DRF validates a 20-item declaration body in ~5 ms, almost all of it per-field machinery
(`get_value`, `validate_empty_values`, `run_validation`, `run_validators`, for ~250 fields). The
accepted values of the common fields are easy to recognise: `compile_serializer` walks a bound
serializer's fields once and builds, for each, a check that reads that field's own settings
(`required`, `allow_null`, `allow_blank`, regex, length, range and precision validators, choices).

The contract, kept by construction:
- A value the fast check is not sure of (a type it does not handle, surrounding blanks, a
  non-ASCII text, a field class it does not know, a validator it cannot read) is handed to that
  field's own `run_validation`: DRF decides it, and its result is used.
- As soon as anything is invalid the whole body is refused (`None` is returned) and the caller
  runs the plain serializer, so every problem report (codes, pointers, messages, order) is DRF's
  as before. The fast path only ever produces the validated data of a valid body, equal to what
  DRF produces (same types, same key order, same Decimal exponents).
- A field class takes part only through a `fast_validator(compile_field)` method defined on the
  same class as (or a subclass of) its `to_internal_value`, `run_validation` and
  `validate_empty_values`: a subclass that changes how values are parsed without saying how to
  check them quickly is validated by DRF. Serializers with `validate`/`validate_<field>` methods,
  validators, read-only fields, defaults or sources are validated by DRF as a whole.

tests/core/test_fast_validation.py compares both paths value by value on mutated bodies.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework import validators as drf_validators
from rest_framework.fields import SkipField, empty

Check = Callable[[Any], Any]


class Unsure(Exception):
    """The fast check cannot decide this value: the field's own `run_validation` will."""


class Invalid(Exception):
    """DRF refused a value: the body is invalid and the caller runs the plain serializer."""


def compile_serializer(serializer: serializers.BaseSerializer) -> Callable[[Any], dict[str, Any] | None]:
    """A function of a body returning the validated data of a valid body, or None (invalid, or the
    serializer cannot be compiled: run DRF). `serializer` must be bound and not partial."""
    if getattr(serializer, "partial", False):
        raise ValueError("partial serializers are not compiled")
    check = compile_field(serializer)

    def validate(body: Any) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = check(body)
        except (Invalid, Unsure):
            return None
        return result

    return validate


def compile_field(field: drf_fields.Field) -> Check:
    """The value of `field` for a present input value (None for the missing key is not handled
    here): fast when possible, else the field's own `run_validation`; raises Invalid."""
    fast = _fast_check(field)
    allow_null = field.allow_null
    drf = field.run_validation

    def run(value: Any) -> Any:
        try:
            if value is None:
                if allow_null:
                    return None
                raise Unsure
            if fast is None:
                raise Unsure
            return fast(value)
        except Invalid:
            raise
        except Exception:
            return _drf(drf, value)

    return run


def _drf(run_validation: Callable[[Any], Any], value: Any) -> Any:
    """DRF's own answer for a value the fast check was not sure of; Invalid if it refuses it."""
    try:
        return run_validation(value)
    except (serializers.ValidationError, DjangoValidationError, SkipField):
        raise Invalid from None


def _defined_in(cls: type, name: str) -> type | None:
    return next((klass for klass in cls.__mro__ if name in klass.__dict__), None)


def parses_as(cls: type, name: str, base: type) -> bool:
    """True when method `name` of `cls` is `base`'s, or the one of the class that also says how to
    check it quickly (defines `fast_validator`) calling on to `base`'s."""
    definers = [klass for klass in cls.__mro__ if name in klass.__dict__]
    if definers and "fast_validator" in definers[0].__dict__ and definers[0] is not base:
        definers = definers[1:]
    return bool(definers) and definers[0] is base


def _fast_check(field: drf_fields.Field) -> Check | None:
    cls = type(field)
    if field.read_only:
        return None
    owner = _defined_in(cls, "fast_validator")
    if owner is None:
        if cls is serializers.ListSerializer:
            return list_check(field, compile_field)  # type: ignore[arg-type]
        if isinstance(field, serializers.Serializer):
            return serializer_check(field, strict=False)
        if cls is serializers.ChoiceField:
            return _choice_check(field)  # type: ignore[arg-type]
        return None
    mro = cls.__mro__
    for name in ("to_internal_value", "run_validation", "validate_empty_values"):
        defined = _defined_in(cls, name)
        if defined is not None and mro.index(owner) > mro.index(defined):
            return None  # parsing changed below the class that says how to check it quickly
    check: Check | None = field.fast_validator(compile_field)  # type: ignore[attr-defined]
    return check


# --- pieces the fields' `fast_validator` methods are made of -------------------------------------


def validators_check(validators: list[Any]) -> Callable[[Any], bool]:
    """True when every validator passes `value`: the limits of Django's length and range
    validators, the pattern of a regex validator and the null/surrogate character rules are read
    and tested in one function; any other validator is called itself."""
    max_length = min_length = None
    max_values: list[Any] = []
    min_values: list[Any] = []
    patterns: list[tuple[Callable[[str], Any], bool]] = []
    no_null = no_surrogate = False
    others: list[Any] = []
    for validator in validators:
        kind = type(validator)
        limit = getattr(validator, "limit_value", None)
        if kind is django_validators.MaxLengthValidator and not callable(limit):
            max_length = limit if max_length is None else min(max_length, limit)
        elif kind is django_validators.MinLengthValidator and not callable(limit):
            min_length = limit if min_length is None else max(min_length, limit)
        elif kind is django_validators.MaxValueValidator and not callable(limit):
            max_values.append(limit)
        elif kind is django_validators.MinValueValidator and not callable(limit):
            min_values.append(limit)
        elif kind is django_validators.RegexValidator:
            patterns.append((validator.regex.search, validator.inverse_match))
        elif kind is django_validators.ProhibitNullCharactersValidator:
            no_null = True
        elif kind is drf_validators.ProhibitSurrogateCharactersValidator:
            no_surrogate = True
        else:
            others.append(validator)
    surrogates = drf_validators.ProhibitSurrogateCharactersValidator()

    def passes(value: Any) -> bool:
        if max_length is not None and len(value) > max_length:
            return False
        if min_length is not None and len(value) < min_length:
            return False
        for limit in max_values:
            if value > limit:
                return False
        for limit in min_values:
            if value < limit:
                return False
        if patterns or no_null or no_surrogate:
            text = str(value)
            for search, inverse in patterns:
                if (search(text) is None) is not inverse:
                    return False
            if no_null and "\x00" in text:
                return False
            if no_surrogate and not text.isascii() and not _passes(surrogates, value):
                return False
        for validator in others:
            if getattr(validator, "requires_context", False) or not _passes(validator, value):
                return False  # unsure (one needing the field: DRF runs it) or refused
        return True

    return passes


def _passes(validator: Callable[[Any], Any], value: Any) -> bool:
    try:
        validator(value)
    except (serializers.ValidationError, DjangoValidationError):
        return False
    return True


def char_check(field: serializers.CharField, *, extra: Callable[[str], bool] | None = None) -> Check:
    """A CharField given a JSON string: blank (when allowed) or already trimmed and passing the
    validators (and `extra`, a sufficient condition for the class's own rule). Anything else:
    unsure (DRF decides: numbers, surrounding blanks, ...)."""
    allow_blank = field.allow_blank
    passes = validators_check(field.validators)

    def check(value: Any) -> str:
        if type(value) is not str:
            raise Unsure
        if value == "":
            if allow_blank:
                return ""
            raise Unsure
        if value.strip() != value or (extra is not None and not extra(value)) or not passes(value):
            raise Unsure
        return value

    return check


def decimal_check(field: serializers.DecimalField, plain: Callable[[str], Any]) -> Check | None:
    """A DecimalField given a JSON integer or a string matching `plain` (the class's own syntax):
    the value DRF returns (precision checked by the field, quantized as DRF does)."""
    if field.localize or field.decimal_places is None or field.max_digits is None:
        return None
    passes = validators_check(field.validators)
    context = decimal.getcontext().copy()
    context.prec = field.max_digits
    exponent = decimal.Decimal(".1") ** field.decimal_places
    rounding = field.rounding
    max_length = field.MAX_STRING_LENGTH
    validate_precision = field.validate_precision

    def check(value: Any) -> decimal.Decimal:
        if type(value) is int and -(10**30) < value < 10**30:
            value = str(value)
        elif type(value) is not str or len(value) > max_length or not plain(value):
            raise Unsure
        number = validate_precision(decimal.Decimal(value))
        number = number.quantize(exponent, rounding=rounding, context=context)
        if not passes(number):
            raise Unsure
        return number

    return check


def typed_check(field: drf_fields.Field, kind: type) -> Check:
    """A value of exactly `kind` (int: within 64 bits) that passes the validators, returned as is."""
    passes = validators_check(field.validators)

    def check(value: Any) -> Any:
        if type(value) is not kind or (kind is int and not -(2**63) < value < 2**63) or not passes(value):  # type: ignore[operator]
            raise Unsure
        return value

    return check


def _choice_check(field: serializers.ChoiceField) -> Check:
    choices = field.choice_strings_to_values
    allow_blank = field.allow_blank
    passes = validators_check(field.validators)

    def check(value: Any) -> Any:
        if type(value) is not str:
            raise Unsure
        if value == "" and allow_blank:
            result = ""
        elif value in choices:
            result = choices[value]
        else:
            raise Unsure
        if not passes(result):
            raise Unsure
        return result

    return check


def serializer_check(serializer: serializers.Serializer, *, strict: bool) -> Check | None:
    """A nested (or the root) serializer: a JSON object, every required field present, each field
    checked in declaration order; `strict`: an unknown key makes the body invalid (the caller's
    `to_internal_value` refuses unknown fields, then calls on to DRF's)."""
    cls = type(serializer)
    base = serializers.Serializer
    if not all(parses_as(cls, name, base) for name in ("to_internal_value", "validate", "run_validation",
                                                       "run_validators")) or serializer.validators:
        return None
    plan: list[tuple[str, Check | None, Check, bool, bool]] = []
    for name, field in serializer.fields.items():
        if (field.read_only or getattr(serializer, f"validate_{name}", None) is not None
                or field.default is not empty or field.source_attrs != [name]):
            return None
        plan.append((name, _fast_check(field), field.run_validation, field.allow_null, field.required))
    names = frozenset(serializer.fields)

    def check(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise Unsure
        if strict and not names.issuperset(value):
            raise Invalid  # an unknown field
        result: dict[str, Any] = {}
        for name, fast, drf, allow_null, required in plan:  # compile_field's `run`, inlined
            if name in value:
                item = value[name]
                if item is None and allow_null:
                    result[name] = None
                    continue
                try:
                    if fast is None or item is None:
                        raise Unsure
                    result[name] = fast(item)
                except Invalid:
                    raise
                except Exception:
                    result[name] = _drf(drf, item)
            elif required:
                raise Invalid
        return result

    return check


def list_check(field: serializers.ListSerializer, compile_sub: Callable[[Any], Check]) -> Check | None:
    """A `many=True` serializer: a JSON array within its length limits, each element checked (a
    subclass's own limits are checked by its `fast_validator` before it calls this)."""
    cls = type(field)
    base = serializers.ListSerializer
    if not all(parses_as(cls, name, base) for name in ("to_internal_value", "validate", "run_validation",
                                                       "run_child_validation")) or field.validators:
        return None
    child = compile_sub(field.child)
    allow_empty = field.allow_empty
    max_length, min_length = getattr(field, "max_length", None), getattr(field, "min_length", None)

    def check(value: Any) -> list[Any]:
        if type(value) is not list:
            raise Unsure
        n = len(value)
        if (not allow_empty and n == 0) or (max_length is not None and n > max_length) or (
                min_length is not None and n < min_length):
            raise Unsure
        return [child(element) for element in value]

    return check
