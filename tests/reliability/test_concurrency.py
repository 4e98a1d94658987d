"""Concurrency with real threads against PostgreSQL: two officers deciding the same declaration,
two agents' requests amending with the same ETag, 50 lodgings racing for one B/L (no
over-declaration, gap-free entry serials). Entry serials alone, the write-off race, the bond race
and idempotency races have their own tests in tests/declarations, tests/manifests, tests/transit
and tests/core."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from clearance.models import ReleaseOrder
from declarations.models import Declaration, DeclarationEvent, EntryNumberCounter
from manifests.models import BillOfLading, WriteOff
from tests.factories.declarations import body_im4, world_create
from tests.factories.officers import declaration_in_queue, officer_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def race(calls: list[Callable[[], Any]], *, workers: int | None = None) -> list[Any]:
    """Run the calls in threads released together (each thread closes its own DB connection)."""
    size = workers or len(calls)
    barrier = threading.Barrier(min(size, len(calls)))

    def run(call: Callable[[], Any]) -> Any:
        try:
            if size >= len(calls):
                barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=size) as pool:
        return list(pool.map(run, calls))


def test_two_officers_deciding_the_same_declaration_one_wins_the_other_gets_409(postgres: None) -> None:
    # given: a yellow declaration under control, two officers on its decision page
    declaration = declaration_in_queue("yellow")
    officers = [officer_create("officer"), officer_create("officer")]
    url = reverse("admin:declarations_declaration_decide", args=[declaration.pk, "release"])

    def decide(officer: Any) -> Callable[[], Any]:
        def post() -> Any:
            client = Client()
            client.force_login(officer)
            return client.post(url, {"reason": f"Documents verified by {officer.username}", "confirm": "1"})
        return post

    # when
    responses = race([decide(o) for o in officers])
    # then: exactly one release, one refusal as a conflict
    assert sorted(r.status_code for r in responses) == [302, 409]
    assert ReleaseOrder.objects.filter(declaration=declaration).count() == 1
    released = DeclarationEvent.objects.filter(declaration=declaration, to_status="released")
    assert released.count() == 1
    winner = officers[[r.status_code for r in responses].index(302)]
    assert released.get().actor_id == winner.pk
    assert Declaration.objects.get(pk=declaration.pk).status == "released"
    call_command("audit", "verify", stdout=io.StringIO())  # the racing appends kept every chain linear


def test_two_amendments_with_the_same_etag_one_200_one_412(postgres: None) -> None:
    # given: a lodged declaration and its ETag, read by two clients of the agent
    world = world_create()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    lodged = api.post("/api/v1/declarations", body_im4(world, items=2, currency="KES"), format="json")
    assert lodged.status_code == 201, lodged.json()
    url, etag = f"/api/v1/declarations/{lodged.json()['id']}", lodged["ETag"]

    def amend(reference: str) -> Callable[[], Any]:
        def patch() -> Any:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
            return client.patch(url, {"local_reference": reference}, format="json", HTTP_IF_MATCH=etag)
        return patch

    # when
    responses = race([amend("AMEND-A"), amend("AMEND-B")])
    # then: one applied, the other told its ETag is stale; exactly one alteration recorded
    assert sorted(r.status_code for r in responses) == [200, 412]
    loser = responses[[r.status_code for r in responses].index(412)]
    assert loser.json()["code"] == "precondition_failed"
    winner = ["AMEND-A", "AMEND-B"][[r.status_code for r in responses].index(200)]
    declaration = Declaration.objects.get(pk=lodged.json()["id"])
    assert declaration.local_reference == winner
    assert DeclarationEvent.objects.filter(declaration=declaration, kind="alteration").count() == 1
    call_command("audit", "verify", stdout=io.StringIO())


def test_fifty_lodgings_against_one_bill_of_lading(postgres: None) -> None:
    # given: a B/L of 30 packages; 50 one-package declarations against it, 10 clients at a time
    world = world_create(bl_packages=30, bl_weight="999999.000")
    bodies = [body_im4(world, items=1, local_reference=f"RACE-{n}") for n in range(50)]
    assert {b["items"][0]["packages"] for b in bodies} == {1}

    def lodge(body: dict[str, Any]) -> Callable[[], Any]:
        def post() -> Any:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
            return client.post("/api/v1/declarations", body, format="json")
        return post

    # when
    responses = race([lodge(b) for b in bodies], workers=10)
    # then: exactly the B/L's 30 packages are declared, never more
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 30
    refused = [r.json() for r in responses if r.status_code != 201]
    assert len(refused) == 20
    assert {r["status"] for r in refused} == {400}
    assert {e["code"] for r in refused for e in r["errors"]} == {"bl_quantity_exceeded"}
    bill = BillOfLading.objects.get(pk=world.bl.pk)
    assert bill.packages_reserved == 30
    assert sum(WriteOff.objects.filter(bill_of_lading=bill).values_list("packages", flat=True)) == 30
    assert Declaration.objects.count() == 30
    # and the entry serials of the 30 are 1..30: no duplicates, no gaps (refused ones gave theirs back)
    numbers = [r.json()["entry_number"] for r in responses if r.status_code == 201]
    assert sorted(int(n[8:15]) for n in numbers) == list(range(1, 31))
    assert sum(EntryNumberCounter.objects.values_list("last_serial", flat=True)) == 30
    call_command("audit", "verify", stdout=io.StringIO())
