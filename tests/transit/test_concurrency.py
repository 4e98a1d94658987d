"""Real threads against PostgreSQL: the bond row lock keeps the balance exact and never negative
when movements race for the last of a bond; concurrent duplicates of one e-seal event store once."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from core.exceptions import ValidationFailed
from tests.factories.transit import (
    RegionalBondFactory,
    tracking_event_body,
    transit_declaration,
    transit_payload,
    transit_world,
)
from transit.models import BondLedger, RegionalBond, TrackingEvent, TransitMovement
from transit.services import tracking_event_record, transit_on_lodged


def _race(workers: list) -> list:
    barrier = threading.Barrier(len(workers))
    outcomes: list = [None] * len(workers)

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = workers[i]()
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_racing_reservations_never_overdraw_the_bond(postgres):
    # given a bond with room for two of four movements (KES 300,000 each on KES 700,000)
    world = transit_world(containers=0)
    bond = RegionalBondFactory(principal_agent=world.agent, amount=Decimal("700000.00"))
    payloads = []
    declarations = []
    for i in range(4):
        payload = transit_payload(world, transit={"e_seals": [f"KE-ES-RACE{i}"], "containers": []})
        payloads.append(payload)
        declarations.append(transit_declaration(world, payload, total=Decimal("300000.00")))

    def lodge(i: int):
        def work():
            with transaction.atomic():
                return transit_on_lodged(declaration=declarations[i], payload=payloads[i], actor=None)
        return work

    # when four lodgings race
    outcomes = _race([lodge(i) for i in range(4)])

    # then exactly two won, two were refused with bond_insufficient, and the balance is exact
    won = [o for o in outcomes if isinstance(o, TransitMovement)]
    refused = [o for o in outcomes if isinstance(o, ValidationFailed)]
    assert (len(won), len(refused)) == (2, 2)
    assert {o.code for o in refused} == {"bond_insufficient"}
    assert RegionalBond.objects.get(pk=bond.pk).balance == Decimal("100000.00")
    assert sorted(BondLedger.objects.filter(bond=bond).values_list("balance_after", flat=True)) == [
        Decimal("100000.00"), Decimal("400000.00")]
    assert TransitMovement.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_of_one_event_store_once(postgres):
    from core import clock

    world = transit_world(containers=0)
    RegionalBondFactory(principal_agent=world.agent)
    payload = transit_payload(world, transit={"e_seals": ["KE-ES-DUP1"], "containers": []})
    with transaction.atomic():
        transit_on_lodged(declaration=transit_declaration(world, payload), payload=payload, actor=None)
    body = tracking_event_body("KE-ES-DUP1", "checkpoint_passed", clock.now(), event_id="EV-DUP")

    def post():
        return tracking_event_record(event_id=body["event_id"], seal_number=body["seal_number"], kind=body["kind"],
                                     occurred_at=dt.datetime.fromisoformat(body["occurred_at"]), actor=None)

    outcomes = _race([post] * 4)

    assert sorted(o.created for o in outcomes) == [False, False, False, True]
    assert TrackingEvent.objects.count() == 1
