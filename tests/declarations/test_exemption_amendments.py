"""An accepted amendment moves the exemption quota like a lodging does: a new or enlarged claim
draws the difference with the same compare-and-set (refused with the same code and pointer when the
quota does not cover it), a reduced or dropped claim gives the difference back, an unchanged claim
keeps its draw. The register keeps every move (released rows, new rows, actors)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.exceptions import ValidationFailed
from declarations.models import AmendmentRequest, Declaration, DeclarationEvent
from declarations.services import amendment_request_accept, declaration_officer_amend
from manifests.models import BillOfLading
from tariff.models import ExemptionCertificate, ExemptionDrawdown, NationalMeasure, RateKind
from tariff.services import QuotaDraw, exemption_quota_redraw
from tests.factories.declarations import World, body_im4, idf_for, item, world_create
from tests.factories.manifests import BillOfLadingFactory
from tests.factories.tariff import ExemptionCertificateFactory
from tests.factories.traders import UserFactory

CAR = "1500000.00"


def _car_body(world: World, value: str = CAR, **item_overrides: Any) -> dict[str, Any]:
    body = body_im4(world, currency="KES", invoice_amount=value)
    body["items"] = [item(0, customs_value=value, packages=1, supplementary_quantity="1", **item_overrides)]
    body["idf_number"] = idf_for(body).number
    return body


def _lodge(client: APIClient, body: dict[str, Any]) -> Any:
    response = client.post("/api/v1/declarations", body, format="json")
    assert response.status_code == 201, response.json()
    return response


def _request(client: APIClient, lodged: Any, **item_changes: Any) -> dict[str, Any]:
    items = lodged.json()["declaration"]["items"]
    for name, value in item_changes.items():
        if value is None:
            items[0].pop(name, None)
        else:
            items[0][name] = value
    response = client.patch(f"/api/v1/declarations/{lodged.json()['id']}", {"items": items}, format="json",
                            HTTP_IF_MATCH=lodged["ETag"])
    assert response.status_code == 202, response.json()
    return response.json()["pending_amendment"]


def _draws(declaration_id: Any) -> list[tuple[str, str, bool]]:
    return [(str(d.amount), d.drawn_by, d.released_at is not None)
            for d in ExemptionDrawdown.objects.filter(declaration_id=declaration_id).order_by("pk")]


@pytest.fixture
def officer(db: None) -> Any:
    return UserFactory(username="valuation-officer")


@pytest.mark.django_db
def test_an_enlarged_claim_draws_the_difference_when_the_amendment_is_accepted(
    client: APIClient, world: World, officer: Any
) -> None:
    # given: a car lodged on a KES 3 m certificate, then an amendment request raising its value
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin, quota_total=Decimal("3000000.000"))
    lodged = _lodge(client, _car_body(world, exemption="DIPLOMATIC", exemption_certificate=cert.number))
    pending = _request(client, lodged, customs_value="2000000.00")
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1500000.000")  # a request alone moves nothing

    # when: the officer accepts
    amendment_request_accept(request_id=pending["id"], actor=officer)

    # then: the extra KES 500,000 is drawn; the old draw is released, the new one live, both with actors
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("2000000.000")
    assert _draws(lodged.json()["id"]) == [("1500000.000", world.user.username, True),
                                           ("2000000.000", "valuation-officer", False)]
    released = ExemptionDrawdown.objects.get(declaration_id=lodged.json()["id"], released_at__isnull=False)
    assert released.released_by == "valuation-officer"
    event = DeclarationEvent.objects.get(declaration_id=lodged.json()["id"], kind="amendment_accepted")
    assert (event.payload["exemption_quota_drawn"], event.payload["exemption_quota_released"]) == (
        "2000000.000", "1500000.000")
    assert event.actor_id == officer.pk


@pytest.mark.django_db
def test_a_claim_added_by_an_amendment_draws_the_quota(client: APIClient, world: World, officer: Any) -> None:
    # given: a car lodged with full taxes, then an amendment adding the diplomatic claim
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)
    lodged = _lodge(client, _car_body(world))
    pending = _request(client, lodged, exemption="DIPLOMATIC", exemption_certificate=cert.number)

    # when
    amendment_request_accept(request_id=pending["id"], actor=officer)

    # then
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1500000.000")
    assert _draws(lodged.json()["id"]) == [("1500000.000", "valuation-officer", False)]
    totals = client.get(f"/api/v1/declarations/{lodged.json()['id']}").json()["assessment"]["totals"]
    assert (totals["import_duty"], totals["excise_duty"], totals["vat"]) == ("0.00", "0.00", "0.00")


@pytest.mark.django_db
def test_a_reduced_claim_gives_the_difference_back(client: APIClient, world: World, officer: Any) -> None:
    # given
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)
    lodged = _lodge(client, _car_body(world, exemption="DIPLOMATIC", exemption_certificate=cert.number))
    pending = _request(client, lodged, customs_value="1100000.00")

    # when
    amendment_request_accept(request_id=pending["id"], actor=officer)

    # then: KES 400,000 back on the certificate
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1100000.000")
    assert cert.quota_left == Decimal("400000.000")
    assert _draws(lodged.json()["id"]) == [("1500000.000", world.user.username, True),
                                           ("1100000.000", "valuation-officer", False)]


@pytest.mark.django_db
def test_a_dropped_claim_gives_everything_back_and_a_later_cancellation_gives_nothing_twice(
    client: APIClient, world: World, officer: Any
) -> None:
    # given
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)
    lodged = _lodge(client, _car_body(world, exemption="DIPLOMATIC", exemption_certificate=cert.number))
    pending = _request(client, lodged, exemption=None, exemption_certificate=None)

    # when: accepted, then the declaration is cancelled
    amendment_request_accept(request_id=pending["id"], actor=officer)
    cancelled = client.post(f"/api/v1/declarations/{lodged.json()['id']}/cancel", {"reason": "wrong car"},
                            format="json")

    # then
    assert cancelled.status_code == 200, cancelled.json()
    cert.refresh_from_db()
    assert cert.quota_used == 0
    assert _draws(lodged.json()["id"]) == [("1500000.000", world.user.username, True)]
    event = DeclarationEvent.objects.get(declaration_id=lodged.json()["id"], to_status="cancelled")
    assert "exemption_quota_released" not in event.payload


@pytest.mark.django_db
def test_an_officer_amendment_that_leaves_the_claim_alone_keeps_its_draw(
    client: APIClient, world: World
) -> None:
    # given: the whole quota drawn
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)
    lodged = _lodge(client, _car_body(world, exemption="DIPLOMATIC", exemption_certificate=cert.number))
    items = lodged.json()["declaration"]["items"]
    items[0]["gross_weight_kg"] = "1180.000"
    first = ExemptionDrawdown.objects.get()

    # when
    declaration_officer_amend(declaration_id=lodged.json()["id"], body={"items": items}, reason="weighed",
                              actor=None)

    # then: the same live row, nothing released, the counter as it was, no quota figures in the event
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1500000.000")
    assert list(ExemptionDrawdown.objects.values_list("pk", "released_at")) == [(first.pk, None)]
    event = DeclarationEvent.objects.get(declaration_id=lodged.json()["id"], kind="amendment_accepted")
    assert "exemption_quota_drawn" not in event.payload


@pytest.mark.django_db
def test_an_enlargement_the_quota_no_longer_covers_is_refused_and_nothing_moves(
    client: APIClient, world: World, officer: Any
) -> None:
    # given: KES 2 m; this car drew 1.5 m and asks for 1.9 m (covered when requested)...
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin, hs_prefixes="8703",
                                       quota_total=Decimal("2000000.000"))
    lodged = _lodge(client, _car_body(world, exemption="DIPLOMATIC", exemption_certificate=cert.number))
    pending = _request(client, lodged, customs_value="1900000.00")
    # ...then another lodging takes KES 300,000 of what was left
    other = _car_body(world, value="300000.00", exemption="DIPLOMATIC", exemption_certificate=cert.number)
    other["local_reference"] = "AGT-2026-OTHER"
    _lodge(client, other)

    # when
    with pytest.raises(ValidationFailed) as refused:
        amendment_request_accept(request_id=pending["id"], actor=officer)

    # then: the lodging's code and pointer; the declaration, the request and the quota unchanged
    assert [(e.code, e.pointer) for e in refused.value.errors] == [
        ("exemption_quota_exhausted", "/items/0/exemption_certificate")]
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1800000.000")
    assert _draws(lodged.json()["id"]) == [("1500000.000", world.user.username, False)]
    assert Declaration.objects.get(pk=lodged.json()["id"]).version == 1
    assert AmendmentRequest.objects.get(pk=pending["id"]).status == "pending"


@pytest.mark.django_db
def test_the_redraw_is_a_compare_and_set_on_the_certificate() -> None:
    # given: a certificate with KES 100 left, and a declaration holding a KES 900 draw on it
    cert = ExemptionCertificateFactory(quota_total=Decimal("1000.000"), quota_used=Decimal("900.000"))
    declaration_id = uuid.uuid4()
    exemption_quota_redraw(declaration_id=declaration_id, draws=[], actor=None)  # nothing held: no-op
    ExemptionDrawdown.objects.create(certificate=cert, declaration_id=declaration_id, line_no=1,
                                     amount=Decimal("900.000"), drawn_at=cert.created_at, drawn_by="agent")

    # when: the claim grows by 101 (one more than is left), then by exactly 100
    over = exemption_quota_redraw(declaration_id=declaration_id, actor="officer",
                                  draws=[QuotaDraw(certificate_id=cert.pk, line_no=1, index=0,
                                                   amount=Decimal("1001.000"))])
    cert.refresh_from_db()
    used_after_refusal = cert.quota_used
    exact = exemption_quota_redraw(declaration_id=declaration_id, actor="officer",
                                   draws=[QuotaDraw(certificate_id=cert.pk, line_no=1, index=0,
                                                    amount=Decimal("1000.000"))])

    # then
    assert [(p.code, p.pointer) for p in over.problems] == [
        ("exemption_quota_exhausted", "/items/0/exemption_certificate")]
    assert used_after_refusal == Decimal("900.000")
    assert exact.problems == ()
    assert (exact.drawn, exact.released) == (Decimal("1000.000"), Decimal("900.000"))
    cert.refresh_from_db()
    assert cert.quota_used == cert.quota_total == Decimal("1000.000")


@pytest.mark.django_db(transaction=True)
def test_concurrent_enlargements_never_overdraw_the_quota(postgres: None) -> None:
    # given: KES 1 m; six cars of KES 100,000 lodged on their own B/Ls (600,000 used, 400,000 left),
    # each with a pending request raising it to KES 250,000 (+150,000: only two fit)
    world = world_create()
    if not NationalMeasure.objects.filter(kind="exemption", code="DIPLOMATIC").exists():
        # an earlier transactional test may have flushed the session's reference data
        NationalMeasure.objects.create(kind="exemption", code="DIPLOMATIC", rate_kind=RateKind.AD_VALOREM,
                                       ad_valorem_rate=Decimal(0), description="Diplomatic",
                                       valid_from=dt.date(2022, 7, 1))
    officer = UserFactory(username="concurrent-officer")
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin, quota_total=Decimal("1000000.000"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    requests = []
    for n in range(6):
        bill = world.bl if n == 0 else BillOfLadingFactory(
            manifest=world.manifest, consignee_pin=world.trader.pin, packages=10,
            gross_weight_kg=Decimal("10000.000"), package_kind=world.bl.package_kind)
        assert isinstance(bill, BillOfLading)
        body = _car_body(world, value="100000.00", exemption="DIPLOMATIC", exemption_certificate=cert.number)
        body.update(bill_of_lading=bill.number, local_reference=f"AGT-CONC-{n}")
        requests.append(_request(client, _lodge(client, body), customs_value="250000.00")["id"])
    assert ExemptionCertificate.objects.get(pk=cert.pk).quota_used == Decimal("600000.000")
    barrier = threading.Barrier(len(requests))
    outcomes: list[str] = []
    lock = threading.Lock()

    def accept(request_id: str) -> None:
        try:
            barrier.wait(timeout=30)
            amendment_request_accept(request_id=request_id, actor=officer)
            result = "ok"
        except ValidationFailed as exc:
            result = ",".join(sorted({e.code for e in exc.errors}))
        except Exception as exc:  # an IntegrityError from the CHECK would mean the CAS failed
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    # when
    threads = [threading.Thread(target=accept, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then: two accepted, four refused, the counter equals the live draws
    assert sorted(outcomes) == ["exemption_quota_exhausted"] * 4 + ["ok"] * 2
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("900000.000")
    live = ExemptionDrawdown.objects.filter(certificate=cert, released_at__isnull=True)
    assert sum(live.values_list("amount", flat=True)) == cert.quota_used
    assert sorted(live.values_list("amount", flat=True)) == [Decimal("100000.000")] * 4 + [
        Decimal("250000.000")] * 2
    assert AmendmentRequest.objects.filter(status="accepted").count() == 2
    assert AmendmentRequest.objects.filter(status="pending").count() == 4
