"""The CRSP / reference-price comparison as its own panel on the declaration page: declared value,
CRSP-derived or reference value, the difference and percentage, and the source row."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from core import clock
from officers.valuation import compare
from tests.factories.officers import declaration_in_queue, officer_create
from tests.factories.risk import ReferencePriceFactory

pytestmark = pytest.mark.django_db


def _rows(html: str) -> list[str]:
    panel = re.search(r'<fieldset class="module" id="valuation">(.*?)</fieldset>', html, re.S)
    assert panel is not None
    return re.findall(r'<tr class="valuation-row[^"]*">.*?</tr>', panel.group(1))


def test_compare_is_reference_minus_declared_in_percent_of_the_reference():
    assert compare(Decimal("700000.00"), Decimal("964343.80")) == (Decimal("264343.80"), Decimal("27.4"))
    assert compare(Decimal("1500.00"), Decimal("1000.00")) == (Decimal("-500.00"), Decimal("-50.0"))
    assert compare(Decimal("10.00"), Decimal("0")) == (Decimal("-10.00"), Decimal("0"))


def test_declaration_page_compares_each_item_with_crsp_or_the_reference_price(officer_client):
    # given: a used Corolla Axio (CRSP list of July 2025 in the reference data), tea below its
    # reference price per kg, T-shirts above theirs, and an item no table values
    tea_price = ReferencePriceFactory(hs_prefix="0902", kes_per_unit=Decimal("350.00"), note="Mombasa auction average")
    ReferencePriceFactory(hs_prefix="09", kes_per_unit=Decimal("100.00"))  # shorter prefix: not used
    shirt_price = ReferencePriceFactory(hs_prefix="6109", kes_per_unit=Decimal("100.00"))
    car = {"hs_code": "8703.22.90", "customs_value_kes": Decimal("700000.00"),
           "vehicle": {"chassis_number": "NKE165-7012345", "make": "TOYOTA", "model": "COROLLA AXIO",
                       "year_of_manufacture": clock.today().year - 3, "engine_capacity_cc": 1496, "fuel": "petrol",
                       "condition": "used"}}
    tea = {"hs_code": "0902.40.00", "description": "Black tea", "net_weight_kg": Decimal("1000.000"),
           "customs_value_kes": Decimal("200000.00")}
    shirts = {"hs_code": "6109.10.00", "description": "T-shirts", "net_weight_kg": Decimal("10.000"),
              "customs_value_kes": Decimal("1500.00")}
    bolts = {"hs_code": "7318.15.00", "description": "Bolts", "customs_value_kes": Decimal("5000.00")}
    declaration = declaration_in_queue("yellow", items=[car, tea, shirts, bolts])
    client = officer_client(officer_create("officer"))
    # when
    html = client.get(reverse("admin:declarations_declaration_change", args=[declaration.pk])).content.decode()
    # then: one row per valued item, in item order
    rows = _rows(html)
    assert rows == [
        '<tr class="valuation-row below-reference"><td>1</td><td>8703.22.90</td><td>CRSP</td>'
        '<td class="money">700,000.00</td><td class="money">964,343.80</td><td class="money">264,343.80 below</td>'
        '<td class="money">27.4%</td><td class="source">TOYOTA COROLLA AXIO 6AA-NKE165-AEXNB (1496, GASOLINE), '
        'CRSP 2025-07-01: KES 3,236,062.27 less 30% depreciation for 3 years, / 2.349 (KRA template up_to_1500cc)'
        '</td></tr>',
        '<tr class="valuation-row below-reference"><td>2</td><td>0902.40.00</td><td>reference price per kg</td>'
        '<td class="money">200,000.00</td><td class="money">350,000.00</td><td class="money">150,000.00 below</td>'
        f'<td class="money">42.9%</td><td class="source">Reference price #{tea_price.pk}: HS 0902 KES 350.00 per kg, '
        'valid from 01 Jan 2024; Mombasa auction average; x 1000 kg net</td></tr>',
        '<tr class="valuation-row"><td>3</td><td>6109.10.00</td><td>reference price per kg</td>'
        '<td class="money">1,500.00</td><td class="money">1,000.00</td><td class="money">500.00 above</td>'
        f'<td class="money">-50.0%</td><td class="source">Reference price #{shirt_price.pk}: HS 6109 KES 100.00 '
        'per kg, valid from 01 Jan 2024; x 10 kg net</td></tr>',
    ]
    assert "<h2>Valuation check (CRSP / reference prices)</h2>" in html


def test_no_valuation_panel_when_no_table_values_an_item(officer_client):
    declaration = declaration_in_queue("yellow", items=[{"hs_code": "7318.15.00", "description": "Bolts"}])
    client = officer_client(officer_create("officer"))
    html = client.get(reverse("admin:declarations_declaration_change", args=[declaration.pk])).content.decode()
    assert 'id="valuation"' not in html
