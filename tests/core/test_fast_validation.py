"""The compiled fast path of an input serializer (core.fast_validation) against DRF itself: on every
body, either both accept it with the same validated data (same types, key order and Decimal
exponents), or the fast path refuses it and body_parse reports exactly DRF's problems."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from rest_framework import serializers

from core.exception_handler import flatten_errors
from core.exceptions import ValidationFailed
from core.fast_validation import compile_serializer
from core.serializers import StrictSerializer
from declarations.serializers import MAX_ITEMS, CodeField, DeclarationInSerializer, TextField
from declarations.services.validation import _fast_body_parse, body_parse
from tests.factories.declarations import item

FAST = _fast_body_parse()


def _body() -> dict[str, Any]:
    return {
        "regime": "IM4", "cpc": "4000000", "office": "MBA", "importer_pin": "P051234567A",
        "local_reference": "AGT-2026-000123", "ucr": "6KEP051234567A-PO4471", "idf_number": "E26000000001",
        "bill_of_lading": "MSCU-1234", "currency": "USD", "invoice_amount": "1000.00", "freight_amount": "12.5",
        "insurance_amount": 3, "incoterm": "CIF", "country_of_export": "JP", "country_of_origin": "",
        "transport_mode": "sea", "draft": False,
        "documents": [{"kind": "INV", "reference": "INV-1", "issued_on": "2026-01-05"}],
        "items": [item(0, cpc="4000000", exemption="", idf_reduced=True, rdl_reduced=False, item_value=None,
                       vehicle={"vin": "", "chassis_number": "NKE165-7012345", "make": "TOYOTA",
                                "model": "COROLLA AXIO", "year_of_manufacture": 2023, "engine_capacity_cc": 1496,
                                "fuel": "petrol", "condition": "used"}),
                  item(2)],
        "transit": {"destination_country": "UG"},
    }


def _same(a: Any, b: Any) -> bool:
    """Equal in type, value and representation (Decimal("1.5") is not Decimal("1.50")), dict keys
    in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    return bool(a == b)


def _drf(body: Any) -> tuple[bool, Any]:
    serializer = DeclarationInSerializer(data=body)
    if serializer.is_valid():
        return True, dict(serializer.validated_data)
    return False, [(e["code"], e["pointer"], e["detail"]) for e in flatten_errors(serializer.errors)]


def _assert_parity(body: Any) -> str:
    valid, expected = _drf(copy.deepcopy(body))
    fast = FAST(copy.deepcopy(body))
    if valid:
        assert fast is not None, "the fast path refused a valid body"
        assert _same(fast, expected), (fast, expected)
        assert _same(body_parse(copy.deepcopy(body)), expected)
        return "valid"
    assert fast is None, f"the fast path accepted a body DRF refuses: {expected}"
    with pytest.raises(ValidationFailed) as caught:
        body_parse(copy.deepcopy(body))
    assert [(e.code, e.pointer, e.detail) for e in caught.value.errors] == expected
    return "invalid"


ODD_VALUES: list[Any] = [
    None, "", " ", "  X ", "x", "ABC", "MBA", "JP", "CT", "NAR", "IM4", "sea", "petrol", "CIF", "USD",
    "P051234567A", "4000000", "8703.22.90", "87032290", "8703.22.90\n", "E26000000001", "2026-01-05",
    "12", "12.5", "12.505", "-1", "0", "0.00", "0012.50", "1e5", "NaN", "Infinity", " 12.50", "12.50 ",
    "\u0663", "1" * 17, "9" * 14 + ".99", "9" * 15, 12, 0, -3, 1, 2023, 1496, 10**40, True, False, 1.5,
    [], {}, ["x"], {"a": 1}, "A" * 36, "A" * 600, "Kahawa \u2615", "Caf\u00e9", "x\u0000y", "x\ud800",
    "x\ny", "x\u2028y", "TOYOTA", "NKE165-7012345", "INV",
]


def _paths(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = [(k,) for k in body]
    paths += [("items", 0, k) for k in body["items"][0]] + [("items", 1, k) for k in body["items"][1]]
    paths += [("items", 0, "vehicle", k) for k in body["items"][0]["vehicle"]]
    paths += [("documents", 0, k) for k in body["documents"][0]]
    paths += [("items", 0), ("documents", 0), ("items", 0, "vehicle")]
    # optional fields the base body leaves out
    paths += [("items", 1, k) for k in ("exemption_certificate", "preference", "supplementary_quantity")]
    paths += [("exporter_pin",), ("country_of_destination",)]
    return paths


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE and isinstance(target, list):
        del target[path[-1]]
    elif value is _DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


_DELETE = object()


def test_the_fast_path_reads_a_valid_body_as_drf_does_without_falling_back(monkeypatch):
    body = _body()
    assert _assert_parity(body) == "valid"
    # no field of this body needs DRF (documents' dates and the transit object excepted)
    calls: list[str] = []
    for cls in (serializers.Field, serializers.CharField, serializers.Serializer, serializers.ListSerializer):
        def spy(self, data=serializers.empty, real=cls.run_validation):
            calls.append(self.field_name)
            return real(self, data)

        monkeypatch.setattr(cls, "run_validation", spy)
    fast = compile_serializer(DeclarationInSerializer())
    assert _same(fast(body), FAST(body))
    assert sorted(set(calls)) == ["", "issued_on", "transit"]  # "": the transit object's values


def test_every_field_set_to_every_odd_value_or_removed_gives_drf_s_answer():
    base = _body()
    outcomes = {"valid": 0, "invalid": 0}
    for path in _paths(base):
        for value in [*ODD_VALUES, _DELETE]:
            body = copy.deepcopy(base)
            _set(body, path, value)
            outcomes[_assert_parity(body)] += 1
    # both kinds were exercised, many times
    assert outcomes["valid"] > 300, outcomes
    assert outcomes["invalid"] > 1500, outcomes


@pytest.mark.parametrize("body", [
    [1, 2], "x", None, 12, {}, {"items": []},
    {**_body(), "unknown": 1},
    {**_body(), "items": [{**item(0), "colour": "red"}]},
    {**_body(), "items": [item(0)] * (MAX_ITEMS + 1)},
    {**_body(), "items": []},
    {**_body(), "documents": [{"kind": "INV", "reference": "R"}] * 100},
    {**_body(), "items": "not a list"},
    {**_body(), "items": [item(0), "x"]},
])
def test_structurally_odd_bodies_give_drf_s_answer(body):
    _assert_parity(body)


class _Upper(CodeField):
    """Parses differently from CodeField without saying how to check it quickly."""

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).upper()


class _Picky(StrictSerializer):
    code = _Upper(regex=r"^[a-zA-Z]{3}$")
    name = TextField(max_length=5)

    def validate_name(self, value: str) -> str:
        return value + "!"


class _Plain(StrictSerializer):
    code = _Upper(regex=r"^[a-zA-Z]{3}$")
    name = TextField(max_length=5)


def test_a_field_or_serializer_that_parses_its_own_way_is_left_to_drf():
    # a field subclass overriding to_internal_value: that field goes through DRF, value uppercased
    plain = compile_serializer(_Plain())
    assert plain({"code": "abc", "name": "x"}) == {"code": "ABC", "name": "x"}
    assert plain({"code": "abcd", "name": "x"}) is None
    # a serializer with a validate_<field> method: the whole body goes through DRF
    picky = compile_serializer(_Picky())
    assert picky({"code": "abc", "name": "x"}) == {"code": "ABC", "name": "x!"}
