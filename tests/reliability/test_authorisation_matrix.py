"""Object-level authorisation matrix, generated from the URL conf: every `/api/v1/` route with an
object id in its path x {owner, other agent/carrier, officer token, anonymous} x {GET, PATCH, POST,
PUT, DELETE}. No principal but the owner (and, where API.md says so, customs staff reading) gets
a 2xx; another principal of the same kind gets 404 (the object's existence is not revealed);
anonymous gets 401. A new object route fails `test_every_object_route_is_classified` until it is
given a case here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from .conftest import client_for, table_counts

pytestmark = pytest.mark.django_db

METHODS = ("get", "patch", "post", "put", "delete")
ROLES = ("agent", "agent_other", "carrier", "carrier_other", "transit_agent", "officer", "anonymous")


@dataclass(frozen=True)
class Case:
    """How to build the path of an owned object, and who may read it (200 on GET)."""

    path: Callable[[dict[str, Any]], str]
    readers: frozenset[str]
    # Principals of the owner's kind that must get exactly 404 on every supported method.
    same_kind_others: frozenset[str]
    # Who may act on it (writes not sent here: each app tests its owner's writes).
    actors: frozenset[str]
    # A valid write body, so that only ownership can refuse it (an empty body may be a 400 first).
    body: tuple[tuple[str, str], ...] = ()


def _case(path: Callable[[dict[str, Any]], str], readers: set[str], others: set[str],
          actors: set[str] | None = None, body: dict[str, str] | None = None) -> Case:
    return Case(path, frozenset(readers), frozenset(others), frozenset(readers if actors is None else actors),
                tuple(sorted((body or {}).items())))


AGENT = {"agent_other", "transit_agent"}
CARRIER = {"carrier_other"}
ALL_AUTHENTICATED = {"agent", "agent_other", "carrier", "carrier_other", "transit_agent", "officer"}

CASES: dict[str, Case] = {
    # A contingency receipt: only the agent that submitted it (intake store).
    "receipt-lookup": _case(lambda o: f"/api/v1/receipts/{o['submission']}", {"agent"}, AGENT),
    # The agent's declarations: only the agent that lodged them.
    "declaration": _case(lambda o: f"/api/v1/declarations/{o['declaration']}", {"agent"}, AGENT),
    "declaration-lodge": _case(lambda o: f"/api/v1/declarations/{o['declaration']}/lodge", set(), AGENT,
                                  {"agent"}),
    "declaration-cancel": _case(lambda o: f"/api/v1/declarations/{o['declaration']}/cancel", set(), AGENT,
                                  {"agent"}),
    "declaration-payments": _case(lambda o: f"/api/v1/declarations/{o['declaration']}/payments", set(), AGENT,
                                  {"agent"}, body={"amount": "1.00", "currency": "KES", "method": "mpesa"}),
    "declaration-history": _case(lambda o: f"/api/v1/declarations/{o['declaration']}/history", {"agent"}, AGENT),
    "declaration-documents": _case(lambda o: f"/api/v1/declarations/{o['declaration']}/documents", {"agent"},
                                   AGENT),
    "declaration-document-content": _case(
        lambda o: f"/api/v1/declarations/{o['declaration']}/documents/{o['document']}/content", {"agent"}, AGENT),
    "declaration-query-responses": _case(lambda o: f"/api/v1/declarations/{o['declaration']}/query-responses",
                                         set(), AGENT, {"agent"}, body={"message": "Invoice attached"}),
    "declaration-queries": _case(lambda o: f"/api/v1/declarations/{o['declaration']}/queries", {"agent"}, AGENT),
    # Webhook subscriptions of the agent.
    "webhook-detail": _case(lambda o: f"/api/v1/webhooks/{o['webhook']}", {"agent"}, AGENT),
    "webhook-deliveries": _case(lambda o: f"/api/v1/webhooks/{o['webhook']}/deliveries", {"agent"}, AGENT),
    "webhook-enable": _case(lambda o: f"/api/v1/webhooks/{o['webhook']}/enable", set(), AGENT, {"agent"}),
    # Transit movements of the agent that lodged the IM8.
    "transit-movement": _case(lambda o: f"/api/v1/transit/movements/{o['movement']}", {"transit_agent"},
                              {"agent", "agent_other"}),
    # Transit officer actions: only officers with the transit rights (none of these principals; the
    # documentary-check "officer" has none). The permission is checked before the alert/movement is
    # looked up, so the movement's id stands in for an alert's.
    **{name: _case(lambda o, action=action: f"/api/v1/transit/alerts/{o['movement']}/{action}", set(), set(),
                   set(), body={"reason": "checked"})
       for name, action in (("transit-alert-acknowledge", "acknowledge"), ("transit-alert-investigate",
                                                                          "investigate"),
                            ("transit-alert-resolve", "resolve"))},
    "transit-movement-exit-override": _case(lambda o: f"/api/v1/transit/movements/{o['movement']}/exit-override",
                                            set(), set(), set(), body={"reason": "checked"}),
    "transit-movement-demand": _case(lambda o: f"/api/v1/transit/movements/{o['movement']}/demand", set(), set(),
                                     set(), body={"reason": "diverted"}),
    # Manifests of the carrier; customs staff see every manifest (API.md).
    "manifest-detail": _case(lambda o: f"/api/v1/manifests/{o['manifest']}", {"carrier", "officer"}, CARRIER),
    "manifest-lodge": _case(lambda o: f"/api/v1/manifests/{o['manifest']}/lodge", set(), CARRIER,
                               {"carrier", "officer"}),
    "manifest-arrival": _case(lambda o: f"/api/v1/manifests/{o['manifest']}/arrival", set(), CARRIER,
                               {"carrier", "officer"}),
    "manifest-discharge": _case(lambda o: f"/api/v1/manifests/{o['manifest']}/discharge", set(), CARRIER,
                               {"carrier", "officer"}),
    "manifest-history": _case(lambda o: f"/api/v1/manifests/{o['manifest']}/history", {"carrier", "officer"},
                              CARRIER),
    "manifest-version": _case(lambda o: f"/api/v1/manifests/{o['manifest']}/versions/1", {"carrier", "officer"},
                              CARRIER),
    # A B/L: its carrier, agents acting for its consignee, customs staff.
    "bill-of-lading": _case(lambda o: f"/api/v1/bills-of-lading/{o['bl']}", {"carrier", "agent", "officer"},
                            {"carrier_other", "agent_other"}),
    # A trader: agents it authorised, customs staff.
    "trader-detail": _case(lambda o: f"/api/v1/traders/{o['pin']}", {"agent", "officer"}, {"agent_other"}),
    # Reference data, the same for every authenticated user (not an owned object).
    "tariff-line-detail": _case(lambda o: "/api/v1/tariff/lines/8703.22.90", ALL_AUTHENTICATED, set()),
}


def _object_routes() -> dict[str, str]:
    """URL name -> route of every /api/v1/ pattern that takes an object id in its path."""
    found: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/") and pattern.pattern.converters:
                found[str(pattern.name)] = route

    walk(get_resolver().url_patterns, "")
    return found


def test_every_object_route_is_classified() -> None:
    # then: a new object endpoint needs a case (owner, readers) before it can ship
    assert set(_object_routes()) == set(CASES)


def _supported(path: str) -> set[str]:
    from django.urls import resolve

    view = resolve(path).func.cls  # type: ignore[attr-defined]
    return {m for m in METHODS if hasattr(view, m)}


def test_no_principal_but_the_owner_gets_at_an_object(principals: Any) -> None:
    tokens, objects = principals
    violations: list[str] = []
    checked = 0
    before = table_counts()
    for name, case in sorted(CASES.items()):
        path = case.path(objects)
        supported = _supported(path)
        for role in ROLES:
            client = client_for(tokens[role])
            for method in METHODS:
                if role in case.actors and method != "get":
                    continue  # the owner's writes are tested by each app; here only the refusals
                response = getattr(client, method)(path, dict(case.body), format="json", HTTP_IF_MATCH="*")
                checked += 1
                status = response.status_code
                where = f"{role} {method.upper()} {path} ({name}) -> {status}"
                if status >= 500:
                    violations.append(f"server error: {where}")
                elif role == "anonymous":
                    if status != 401:
                        violations.append(f"anonymous not 401: {where}")
                elif role in case.readers:
                    if status != 200:
                        violations.append(f"reader refused: {where}")
                elif 200 <= status < 300:
                    violations.append(f"cross-principal success: {where}")
                elif method not in supported:
                    if status != 405:
                        violations.append(f"unsupported method not 405: {where}")
                elif role in case.same_kind_others and status != 404:
                    violations.append(f"other principal not 404: {where}")
                elif status >= 400 and "code" not in response.json():
                    violations.append(f"refusal without a problem code: {where}")
    # then
    assert violations == [], "\n".join(violations)
    assert checked > 400
    # and not one refused request changed a row
    assert table_counts() == before
