"""IDF (simulated single window) and WCO UCR rules at lodging, and raising an IDF in the sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import clock
from declarations.models import Declaration, ImportDeclarationForm
from tests.declarations.helpers import problems, row_counts
from tests.factories.declarations import ImportDeclarationFormFactory, body_im4, world_create

pytestmark = pytest.mark.django_db


def _ucr(pin: str, reference: str = "PO4471", year: int | None = None) -> str:
    return f"{(year if year is not None else clock.today().year) % 10}KE{pin}-{reference}"


def test_an_import_without_an_idf_number_is_refused(client, world):
    body = body_im4(world, currency="KES", idf_number="")
    before = row_counts()
    response = client.post("/api/v1/declarations", body, format="json")
    assert response.status_code == 400
    assert problems(response) == [("required", "/idf_number")]
    assert row_counts() == before


def test_the_idf_must_exist_name_the_importer_cover_the_hs_codes_and_match_the_value(client, world):
    # given: an IDF for another importer, in USD, for 500.00, covering only the car heading
    idf = ImportDeclarationFormFactory(importer_pin="P051999999X", currency="USD", value=Decimal("500.00"),
                                       hs_codes=["87032290"])
    body = body_im4(world, items=2, idf_number=idf.number)  # USD 1000.00; items 8703.22.90 + 8708.99.00
    # when
    response = client.post("/api/v1/declarations", body, format="json")
    # then: every problem at once, each at its pointer
    assert response.status_code == 400
    assert problems(response) == sorted([
        ("idf_importer_mismatch", "/idf_number"),
        ("idf_value_out_of_tolerance", "/invoice_amount"),
        ("idf_hs_code_not_covered", "/items/1/hs_code"),
    ])
    assert not Declaration.objects.exists()


def test_unknown_idf_and_currency_mismatch(client, world):
    unknown = client.post("/api/v1/declarations", body_im4(world, idf_number="E26000000001"), format="json")
    usd_idf = ImportDeclarationFormFactory(importer_pin=world.trader.pin, currency="USD")
    kes_body = client.post("/api/v1/declarations", body_im4(world, currency="KES", idf_number=usd_idf.number),
                           format="json")
    assert problems(unknown) == [("idf_not_found", "/idf_number")]
    assert problems(kes_body) == [("idf_currency_mismatch", "/idf_number")]


@pytest.mark.parametrize(("invoice", "accepted"), [("1100.00", True), ("900.00", True), ("1100.01", False),
                                                   ("899.99", False)])
def test_the_value_tolerance_is_ten_percent_either_way(client, world, invoice, accepted):
    idf = ImportDeclarationFormFactory(importer_pin=world.trader.pin, currency="USD", value=Decimal("1000.00"))
    response = client.post("/api/v1/declarations", body_im4(world, invoice_amount=invoice, idf_number=idf.number),
                           format="json")
    assert (response.status_code == 201) is accepted, response.json()
    if not accepted:
        assert problems(response) == [("idf_value_out_of_tolerance", "/invoice_amount")]


def test_exports_do_not_take_an_idf_number(client, world):
    body = body_im4(world, regime="EX1", cpc="1000100", importer_pin="", exporter_pin=world.trader.pin,
                    bill_of_lading="", country_of_destination="UG", idf_number="E26000000001")
    response = client.post("/api/v1/declarations", body, format="json")
    assert ("not_allowed_for_regime", "/idf_number") in problems(response)


def test_a_valid_wco_ucr_is_stored(client, world):
    response = client.post("/api/v1/declarations", body_im4(world, currency="KES", ucr=_ucr(world.trader.pin)),
                           format="json")
    assert response.status_code == 201, response.json()
    assert Declaration.objects.get().ucr == _ucr(world.trader.pin)


@pytest.mark.parametrize(("ucr", "code"), [
    ("UCR-1", "invalid"),  # not year + country + trader + "-" + reference
    ("6KEP051234567A", "invalid"),  # no reference part
    ("6KE" + "P051234567A" + "-" + "X" * 30, "max_length"),  # 45 characters > 35
    ("6ZZP051234567A-PO1", "ucr_invalid"),  # unknown country
    ("6KE12345-PO1", "ucr_invalid"),  # a Kenyan issuer is named by KRA PIN
])
def test_malformed_ucrs_are_refused_with_a_pointer(client, world, ucr, code):
    response = client.post("/api/v1/declarations", body_im4(world, currency="KES", ucr=ucr), format="json")
    assert response.status_code == 400
    assert problems(response) == [(code, "/ucr")]


def test_the_ucr_year_digit_must_be_this_year_or_last(client, world):
    year = clock.today().year
    stale = client.post("/api/v1/declarations",
                        body_im4(world, currency="KES", ucr=_ucr(world.trader.pin, year=year - 2)), format="json")
    last_year = client.post("/api/v1/declarations",
                            body_im4(world, currency="KES", ucr=_ucr(world.trader.pin, year=year - 1)),
                            format="json")
    assert problems(stale) == [("ucr_invalid", "/ucr")]
    assert last_year.status_code == 201


def test_a_ucr_names_one_consignment(client, world, other_client, other_world):
    # given: the UCR is on a live declaration of this B/L
    ucr = _ucr(world.trader.pin)
    first = client.post("/api/v1/declarations", body_im4(world, currency="KES", ucr=ucr), format="json")
    assert first.status_code == 201
    # when: another consignment (other importer, other B/L) quotes it
    clash = other_client.post("/api/v1/declarations", body_im4(other_world, currency="KES", ucr=ucr), format="json")
    # then
    assert problems(clash) == [("ucr_not_unique", "/ucr")]
    # when: the first is cancelled, the same consignment may be declared again under the UCR
    assert client.post(f"/api/v1/declarations/{first.json()['id']}/cancel", {}, format="json").status_code == 200
    again = client.post("/api/v1/declarations", body_im4(world, currency="KES", ucr=ucr, local_reference="AGT-2"),
                        format="json")
    assert again.status_code == 201, again.json()


def test_an_agent_raises_an_idf_in_the_sandbox_and_lodges_with_it(client, world, settings):
    # given
    settings.FORODHA_SANDBOX = True
    # when
    raised = client.post("/api/v1/idfs", {"importer_pin": world.trader.pin, "currency": "USD", "value": "1000.00",
                                          "hs_codes": ["8703.22.90"]}, format="json")
    # then
    assert raised.status_code == 201, raised.json()
    idf = ImportDeclarationForm.objects.get(number=raised.json()["number"])
    assert raised.json() == {"number": idf.number, "importer_pin": world.trader.pin, "currency": "USD",
                             "value": "1000.00", "hs_codes": ["87032290"], "issued_on": clock.today().isoformat()}
    assert idf.number.startswith(f"E{clock.today().year % 100:02d}")
    assert len(idf.number) == 12
    lodged = client.post("/api/v1/declarations", body_im4(world, idf_number=idf.number), format="json")
    assert lodged.status_code == 201, lodged.json()
    assert Declaration.objects.get().idf_number == idf.number


def test_raising_an_idf_checks_the_trader_and_is_sandbox_only(client, world, settings):
    stranger = world_create()
    settings.FORODHA_SANDBOX = True
    refused = client.post("/api/v1/idfs", {"importer_pin": stranger.trader.pin, "currency": "USD", "value": "10.00",
                                           "hs_codes": ["8703.22.90"]}, format="json")
    assert problems(refused) == [("trader_not_authorised", "/importer_pin")]
    settings.FORODHA_SANDBOX = False
    outside = client.post("/api/v1/idfs", {"importer_pin": world.trader.pin, "currency": "USD", "value": "10.00",
                                           "hs_codes": ["8703.22.90"]}, format="json")
    assert outside.status_code == 403
    assert outside.json()["code"] == "sandbox_only"
    assert not ImportDeclarationForm.objects.filter(importer_pin__in=[stranger.trader.pin]).exists()
    assert ImportDeclarationForm.objects.filter(raised_by__isnull=False).count() == 0
