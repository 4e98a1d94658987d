"""`compile_renderer`: the compiled rendering is exactly `Serializer(obj).data` (keys, order,
values) for every field kind it handles, and hands what it does not handle to DRF."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework import serializers

from core.serializers import BlankAsNullCharField, RenderedSerializer, UtcDateTimeField, compile_renderer

EAT = dt.timezone(dt.timedelta(hours=3))


class LineSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)


class TotalsSerializer(serializers.Serializer):
    total = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False)


class CustomSerializer(serializers.Serializer):
    """Overrides to_representation: rendered by itself, not compiled."""

    x = serializers.IntegerField()

    def to_representation(self, instance: Any) -> Any:
        return {"custom": (instance["x"] if isinstance(instance, dict) else instance.x) * 2}


class KitchenSinkSerializer(serializers.Serializer):
    name = serializers.CharField()
    code = serializers.CharField()  # given an int: str() applies
    count = serializers.IntegerField()
    count_text = serializers.IntegerField(source="count_str")  # given "7": int() applies
    flag = serializers.BooleanField()
    flag_int = serializers.BooleanField(source="one")  # 1 -> True
    owner = serializers.CharField(source="owner.profile.name", allow_null=True)  # a source chain
    owner_none = serializers.CharField(source="nobody.name", allow_null=True)  # None on the way: null
    person_label = serializers.CharField(source="person.label")  # a simple callable is called
    money = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True)
    money_rounded = serializers.DecimalField(max_digits=10, decimal_places=2, source="long_money")
    money_int = serializers.DecimalField(max_digits=10, decimal_places=2, source="count")
    money_raw = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False, source="money")
    rate = serializers.DecimalField(max_digits=8, decimal_places=None, source="long_money")
    at = UtcDateTimeField()
    at_drf = serializers.DateTimeField(source="at")
    day = serializers.DateField(allow_null=True)
    blank = BlankAsNullCharField(allow_null=True)
    kind = serializers.ChoiceField(choices=[("a", "A"), ("b", "B")])
    tags = serializers.ListField(child=serializers.CharField())
    meta = serializers.DictField()
    lines = LineSerializer(many=True)
    totals = TotalsSerializer(source="*")
    missing = LineSerializer(allow_null=True)
    absent = serializers.CharField(required=False)  # no such attribute: skipped
    defaulted = serializers.CharField(default="d")  # no such attribute: the default
    custom = CustomSerializer(source="*")
    doubled = serializers.SerializerMethodField()
    secret = serializers.CharField(write_only=True)

    def get_doubled(self, obj: Any) -> int:
        return int(obj["count"] if isinstance(obj, dict) else obj.count) * 2


class Person:
    def __init__(self, name: str) -> None:
        self.name = name

    def label(self) -> str:
        return f"Mr/Ms {self.name}"


def kitchen_sink(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "name": "Kamau", "code": 42, "count": 3, "count_str": "7", "flag": False, "one": 1,
        "owner": SimpleNamespace(profile={"name": "Wanjiru"}), "nobody": None, "person": Person("Otieno"),
        "money": Decimal("12.50"), "long_money": Decimal("1.23456"), "at": dt.datetime(2026, 11, 25, 10, tzinfo=EAT),
        "day": dt.date(2026, 11, 30), "blank": "", "kind": "b", "tags": ["x", 1], "meta": {1: "one", "k": None},
        "lines": [SimpleNamespace(n=1, amount=Decimal("1.00")), {"n": 2, "amount": Decimal("2.345")}],
        "total": Decimal("99.999"), "missing": None, "x": 5, "secret": "s",
    }
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("instance", [
    kitchen_sink(),
    kitchen_sink(owner=None, day=None, blank="text", money=Decimal("-0.00"), lines=[], flag=None, code="C"),
    kitchen_sink(missing={"n": "4", "amount": 3}, count=7, flag=1, name="√Ω", money=Decimal("1E+2")),
    # decimals written as strings (a JSON column): kept when DRF would write them back unchanged
    *(kitchen_sink(money=text, lines=[{"n": 1, "amount": text}]) for text in
      ("12.50", "-0.00", "0.05", "012.50", " 1.00", "1.5", "1.500", "1e2", "12345678.90")),
])
def test_the_compiled_renderer_renders_exactly_what_data_does(instance: SimpleNamespace) -> None:
    expected = KitchenSinkSerializer(instance).data
    rendered = compile_renderer(KitchenSinkSerializer)(instance)
    assert list(rendered) == list(expected)
    assert rendered == expected
    # same values, same types (a str is not a Decimal, a bool is not an int)
    assert [(k, type(v)) for k, v in rendered.items()] == [(k, type(v)) for k, v in expected.items()]


def test_a_mapping_instance_is_read_by_key() -> None:
    instance = vars(kitchen_sink())
    assert compile_renderer(KitchenSinkSerializer)(instance) == KitchenSinkSerializer(instance).data


def test_a_missing_required_attribute_fails_as_drf_does() -> None:
    instance = kitchen_sink()
    del instance.count
    with pytest.raises(AttributeError) as drf:
        KitchenSinkSerializer(instance).data  # noqa: B018
    with pytest.raises(AttributeError) as compiled:
        compile_renderer(KitchenSinkSerializer)(instance)
    assert str(compiled.value) == str(drf.value)


def test_a_decimal_too_long_for_the_field_fails_as_drf_does() -> None:
    instance = kitchen_sink(money=Decimal("123456789012.00"))
    with pytest.raises(InvalidOperation):
        KitchenSinkSerializer(instance).data  # noqa: B018
    with pytest.raises(InvalidOperation):
        compile_renderer(KitchenSinkSerializer)(instance)


class Viewed(RenderedSerializer):
    shown = serializers.CharField()

    def prepare(self, instance: Any) -> Any:
        return {"shown": f"<{instance}>"}


def test_render_applies_prepare_like_data() -> None:
    assert Viewed.render("x") == Viewed("x").data == {"shown": "<x>"}
    assert Viewed.render(3) == {"shown": "<3>"}
