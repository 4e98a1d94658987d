from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_tariff_line_by_dotted_or_plain_code(agent_client: APIClient) -> None:
    # when
    dotted = agent_client.get("/api/v1/tariff/lines/8703.22.90?date=2025-07-01")
    plain = agent_client.get("/api/v1/tariff/lines/87032290?date=2025-07-01")
    # then
    assert dotted.status_code == 200
    assert dotted.json() == plain.json()
    body = dotted.json()
    assert (body["code"], body["hs_code"], body["unit"], body["date"]) == ("87032290", "8703.22.90", "u", "2025-07-01")
    assert body["duty"] == {
        "kind": "ad_valorem",
        "ad_valorem_rate": "25.000",
        "specific_amount": None,
        "specific_currency": "",
        "specific_unit": "",
        "text": "25%",
        "source": "CET schedule1",
    }
    measures = {(m["kind"], m["rate"]["text"]) for m in body["national_measures"]}
    assert measures == {("vehicle_duty", "35%"), ("excise", "20%"), ("vat", "16%"), ("idf", "2.5%"), ("rdl", "2%")}


def test_compound_rate_rendered(agent_client: APIClient) -> None:
    body = agent_client.get("/api/v1/tariff/lines/1006.30.00?date=2025-07-01").json()
    assert body["duty"]["kind"] == "compound"
    assert body["duty"]["text"] == "75% or USD 345/MT whichever is higher"
    assert body["duty"]["source"] == "CET schedule2"


@pytest.mark.parametrize(
    ("path", "status", "code", "pointer"),
    [
        ("/api/v1/tariff/lines/8703.22.99", 404, "hs_code_unknown", "/hs_code"),
        ("/api/v1/tariff/lines/8703.80.00?date=2025-01-01", 404, "hs_code_not_in_force", "/hs_code"),
        ("/api/v1/tariff/lines/1702.60.00", 404, "hs_code_no_tariff_line", "/hs_code"),
        ("/api/v1/tariff/lines/8703", 400, "hs_code_invalid", "/hs_code"),
        ("/api/v1/tariff/lines/8703.22.90?date=2025-13-01", 400, "invalid_date", "?date"),
        ("/api/v1/tariff/lines/8703.22.90?when=2025-01-01", 400, "unknown_field", "?when"),
    ],
)
def test_tariff_line_problems(agent_client: APIClient, path: str, status: int, code: str, pointer: str) -> None:
    response = agent_client.get(path)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert [(e["code"], e["pointer"]) for e in body["errors"]] == [(code, pointer)]


def test_tariff_needs_authentication() -> None:
    response = APIClient().get("/api/v1/tariff/lines/8703.22.90")
    assert response.status_code == 401


def test_search_by_prefix_is_paginated(agent_client: APIClient) -> None:
    response = agent_client.get("/api/v1/tariff/lines?search=8703.2&date=2025-07-01&page_size=3")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 8
    assert [r["code"] for r in body["results"]] == ["87032110", "87032190", "87032210"]
    assert body["results"][2]["duty"] == "0%"
    assert body["next"] is not None


def test_search_by_words(agent_client: APIClient) -> None:
    body = agent_client.get("/api/v1/tariff/lines?search=milled%20rice&date=2025-07-01").json()
    assert [(r["hs_code"], r["duty"]) for r in body["results"]] == [
        ("1006.30.00", "75% or USD 345/MT whichever is higher")
    ]


def test_search_needs_a_query(agent_client: APIClient) -> None:
    response = agent_client.get("/api/v1/tariff/lines")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "search_too_short"


def test_exchange_rate_in_force(agent_client: APIClient) -> None:
    response = agent_client.get("/api/v1/exchange-rates?currency=USD&date=2025-03-15")
    assert response.status_code == 200
    assert response.json() == {
        "currency": "USD",
        "date": "2025-03-15",
        "rate_date": "2025-03-01",
        "kes_per_unit": "129.500000",
    }


def test_exchange_rates_list(agent_client: APIClient) -> None:
    body = agent_client.get("/api/v1/exchange-rates?date=2025-03-15").json()
    assert body["count"] == 22
    assert body["results"][0]["currency"] == "AED"


@pytest.mark.parametrize(
    ("query", "status", "code", "pointer"),
    [
        ("currency=XAF&date=2025-03-15", 404, "exchange_rate_missing", "?currency"),
        ("currency=ZZZ", 400, "currency_unknown", "?currency"),
        ("currency=USD&date=yesterday", 400, "invalid_date", "?date"),
    ],
)
def test_exchange_rate_problems(agent_client: APIClient, query: str, status: int, code: str, pointer: str) -> None:
    response = agent_client.get(f"/api/v1/exchange-rates?{query}")
    assert response.status_code == status
    assert [(e["code"], e["pointer"]) for e in response.json()["errors"]] == [(code, pointer)]
