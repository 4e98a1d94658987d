from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from declarations.models import Declaration
from tests.factories.declarations import World, body_im4

pytestmark = pytest.mark.django_db


def _ucr(world: World) -> str:
    """A WCO UCR issued this year by the importer (KE + its KRA PIN)."""
    return f"{clock.today().year % 10}KE{world.trader.pin}-PO1"


@pytest.fixture
def lodged(client: APIClient, world: World) -> Any:
    response = client.post("/api/v1/declarations", body_im4(world, items=1, currency="KES", ucr=_ucr(world)),
                           format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_another_agents_declaration_is_404(other_client: APIClient, lodged: Any, suffix: str) -> None:
    response = other_client.get(f"/api/v1/declarations/{lodged['id']}{suffix}")
    assert response.status_code == 404
    assert response.json()["code"] == "declaration_not_found"


@pytest.mark.parametrize("action", ["cancel", "payments", "lodge"])
def test_another_agent_cannot_act_on_it(other_client: APIClient, lodged: Any, action: str) -> None:
    response = other_client.post(f"/api/v1/declarations/{lodged['id']}/{action}",
                                 {"amount": "1.00", "currency": "KES"} if action == "payments" else None,
                                 format="json")
    assert response.status_code == 404
    assert Declaration.objects.get(pk=lodged["id"]).status == "assessed"


def test_another_agent_cannot_patch(other_client: APIClient, lodged: Any) -> None:
    response = other_client.patch(f"/api/v1/declarations/{lodged['id']}", {"local_reference": "x"},
                                  format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 404


def test_list_shows_only_own_declarations_and_filters(client: APIClient, other_client: APIClient,
                                                      other_world: World, lodged: Any) -> None:
    # given: the other agent lodges too
    other = other_client.post("/api/v1/declarations", body_im4(other_world, items=1, currency="KES"), format="json")
    assert other.status_code == 201

    # when
    mine = client.get("/api/v1/declarations").json()
    by_status = client.get("/api/v1/declarations?status=assessed").json()
    by_entry = client.get(f"/api/v1/declarations?entry_number={lodged['entry_number']}").json()
    none = client.get("/api/v1/declarations?status=paid").json()

    by_reference = client.get("/api/v1/declarations?local_reference=AGT-2026-000123").json()
    by_reference_prefix = client.get("/api/v1/declarations?local_reference=AGT-2026").json()
    # then
    assert [d["id"] for d in mine["results"]] == [lodged["id"]]
    assert {"next", "previous", "results", "count"} <= set(mine)
    # exact match on the agent's own declarations: the other agent's AGT-2026-000123 is not listed
    assert other.json()["declaration"]["local_reference"] == "AGT-2026-000123"
    assert [(d["id"], d["local_reference"]) for d in by_reference["results"]] == [
        (lodged["id"], "AGT-2026-000123")]
    assert by_reference_prefix["results"] == []
    assert [d["id"] for d in by_status["results"]] == [lodged["id"]]
    assert [d["id"] for d in by_entry["results"]] == [lodged["id"]]
    assert none["results"] == []


def test_list_rejects_bad_filters(client: APIClient, lodged: Any) -> None:
    response = client.get("/api/v1/declarations?status=bogus")
    assert response.status_code == 400


def test_status_lookup_by_entry_number_ucr_and_bl_is_scoped(client: APIClient, other_client: APIClient,
                                                            world: World, lodged: Any,
                                                            django_assert_num_queries: Any) -> None:
    # when
    with django_assert_num_queries(1):  # token check and look-up in one indexed query
        by_entry = client.get(f"/api/v1/status?entry_number={lodged['entry_number']}")
    by_ucr = client.get(f"/api/v1/status?ucr={_ucr(world)}")
    by_bl = client.get(f"/api/v1/status?bl={world.bl.number}")
    theirs = other_client.get(f"/api/v1/status?entry_number={lodged['entry_number']}")

    # then
    expected = [{"id": lodged["id"], "entry_number": lodged["entry_number"], "status": "assessed", "channel": None,
                 "ucr": _ucr(world), "bill_of_lading": world.bl.number, "regime": "IM4", "office": "MBA",
                 "updated_at": by_entry.json()["results"][0]["updated_at"]}]
    assert by_entry.json()["results"] == expected
    assert by_ucr.json()["results"] == expected
    assert by_bl.json()["results"] == expected
    assert theirs.json()["results"] == []


def test_status_lookup_needs_exactly_one_key(client: APIClient, lodged: Any) -> None:
    assert client.get("/api/v1/status").status_code == 400
    assert client.get("/api/v1/status?ucr=a&bl=b").status_code == 400
    assert client.get("/api/v1/status?foo=1").json()["errors"][0]["code"] == "unknown_field"


def test_status_lookup_with_a_bad_token_is_401(lodged: Any) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = api.get(f"/api/v1/status?entry_number={lodged['entry_number']}")
    assert response.status_code == 401
    assert APIClient().get(f"/api/v1/status?entry_number={lodged['entry_number']}").status_code == 401
