"""Exemption claims rest on a certificate from the register (tariff.ExemptionCertificate): valid for
this importer, these goods, the lodging date, with quota left; the quota is drawn at lodging and
given back on cancellation. Reduced IDF/RDL rates need their legal basis."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core import clock
from core.exceptions import ValidationFailed
from declarations.models import AssessmentLine, Declaration, DeclarationEvent
from declarations.services import declaration_lodge
from tariff.models import ExemptionCertificate, ExemptionDrawdown, NationalMeasure, RateKind
from tests.declarations.helpers import problems, row_counts
from tests.factories.declarations import World, body_im4, item, world_create
from tests.factories.tariff import ExemptionCertificateFactory

CAR_VALUE = "1500000.00"


def _diplomatic_car(world: World, **item_overrides: Any) -> dict[str, Any]:
    """The issue's case: a KES 1.5 m car claiming the diplomatic exemption."""
    return _body(world, currency="KES", invoice_amount=CAR_VALUE,
                 items=[item(0, customs_value=CAR_VALUE, packages=1, supplementary_quantity="1",
                                exemption="DIPLOMATIC", **item_overrides)])


def _body(world: World, items: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    body = body_im4(world, **overrides)
    body["items"] = items
    return body


def _post(client: APIClient, body: Any) -> Any:
    return client.post("/api/v1/declarations", body, format="json")


@pytest.mark.django_db
def test_diplomatic_claim_without_a_certificate_is_refused(client: APIClient, world: World) -> None:
    # given
    before = row_counts()

    # when
    response = _post(client, _diplomatic_car(world))

    # then: a 400 naming the missing certificate, nothing written
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert problems(response) == [("exemption_certificate_required", "/items/0/exemption_certificate")]
    assert row_counts() == before
    assert ExemptionDrawdown.objects.count() == 0


@pytest.mark.django_db
def test_diplomatic_claim_with_a_valid_certificate_is_exempt_and_draws_the_quota(
    client: APIClient, world: World
) -> None:
    # given: a certificate held by the importer for one car of up to KES 1.5 m
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)

    # when
    response = _post(client, _diplomatic_car(world, exemption_certificate=cert.number))

    # then: duty, excise and VAT exempt, IDF and RDL due (EACCMA Fifth Schedule)
    assert response.status_code == 201, response.json()
    totals = response.json()["assessment"]["totals"]
    assert (totals["import_duty"], totals["excise_duty"], totals["vat"]) == ("0.00", "0.00", "0.00")
    assert (totals["idf"], totals["rdl"]) == ("37500.00", "30000.00")
    declaration = Declaration.objects.get(pk=response.json()["id"])
    rules = dict(AssessmentLine.objects.filter(assessment__declaration=declaration).values_list("tax", "rule"))
    assert rules["import_duty"] == rules["vat"] == "exempt (DIPLOMATIC)"
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1500000.000")
    draw = ExemptionDrawdown.objects.get()
    assert (draw.certificate_id, draw.declaration_id, draw.line_no, draw.amount, draw.released_at) == (
        cert.pk, declaration.pk, 1, Decimal("1500000.000"), None)
    assert draw.drawn_by == world.user.username
    assert declaration.items.get().exemption_certificate == cert.number


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "code", "pointer"), [
    ({"holder_pin": "P099999999Z"}, "exemption_certificate_invalid", "/items/0/exemption_certificate"),
    ({"status": "suspended"}, "exemption_certificate_not_active", "/items/0/exemption_certificate"),
    ({"valid_to": "past"}, "exemption_certificate_not_in_force", "/items/0/exemption_certificate"),
    ({"exemption_code": "RELIEF"}, "exemption_code_mismatch", "/items/0/exemption"),
    ({"hs_prefixes": "8704,8711"}, "exemption_goods_not_covered", "/items/0/exemption_certificate"),
    ({"quota_total": Decimal("1000000.000")}, "exemption_quota_exhausted", "/items/0/exemption_certificate"),
])
def test_a_claim_the_certificate_does_not_support_is_refused(
    client: APIClient, world: World, change: dict[str, Any], code: str, pointer: str
) -> None:
    # given
    if change.get("valid_to") == "past":
        change = {"valid_from": clock.today() - dt.timedelta(days=400),
                  "valid_to": clock.today() - dt.timedelta(days=1)}
    cert = ExemptionCertificateFactory(**{"holder_pin": world.trader.pin, **change})
    before = row_counts()

    # when
    response = _post(client, _diplomatic_car(world, exemption_certificate=cert.number))

    # then
    assert response.status_code == 400
    assert problems(response) == [(code, pointer)]
    assert row_counts() == before
    cert.refresh_from_db()
    assert cert.quota_used == 0


@pytest.mark.django_db
def test_an_unknown_certificate_gets_the_same_answer_as_someone_elses(client: APIClient, world: World) -> None:
    response = _post(client, _diplomatic_car(world, exemption_certificate="MFA/DIP/NOPE"))

    assert response.status_code == 400
    assert problems(response) == [("exemption_certificate_invalid", "/items/0/exemption_certificate")]


@pytest.mark.django_db
def test_a_certificate_without_a_claimed_exemption_is_refused(client: APIClient, world: World) -> None:
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)
    body = _diplomatic_car(world, exemption_certificate=cert.number)
    del body["items"][0]["exemption"]

    response = _post(client, body)

    assert response.status_code == 400
    assert problems(response) == [("exemption_code_required", "/items/0/exemption")]


@pytest.mark.django_db
def test_cancellation_gives_the_quota_back_once(client: APIClient, world: World) -> None:
    # given: a lodged claim
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)
    lodged = _post(client, _diplomatic_car(world, exemption_certificate=cert.number)).json()

    # when
    response = client.post(f"/api/v1/declarations/{lodged['id']}/cancel", {"reason": "wrong vehicle"},
                           format="json")
    again = client.post(f"/api/v1/declarations/{lodged['id']}/cancel", {"reason": "again"}, format="json")

    # then: the whole amount is back, the draw is marked released with its actor, the event says so
    assert response.status_code == 200, response.json()
    assert again.status_code == 409
    cert.refresh_from_db()
    assert cert.quota_used == 0
    draw = ExemptionDrawdown.objects.get()
    assert draw.released_at is not None
    assert draw.released_by == world.user.username
    event = DeclarationEvent.objects.get(declaration_id=lodged["id"], to_status="cancelled")
    assert event.payload["exemption_quota_released"] == "1500000.000"


@pytest.mark.django_db
def test_reduced_idf_and_rdl_need_a_legal_basis(client: APIClient, world: World) -> None:
    # given: plastics from China (no EAC/COMESA origin, no certificate) claiming both reductions
    body = _body(world, items=[item(2, idf_reduced=True, rdl_reduced=True)])

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 400
    assert problems(response) == [("reduction_without_basis", "/items/0/idf_reduced")]


@pytest.mark.django_db
def test_reduced_idf_on_a_certificate_that_grants_it(client: APIClient, world: World) -> None:
    # given: an investment certificate covering plastics with the reduced IDF/RDL
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin, category="investment", exemption_code="RELIEF",
                                       hs_prefixes="3926", reduces_idf_rdl=True)
    body = _body(world, currency="KES", items=[item(2, customs_value="10000.00", exemption="RELIEF",
                                                       exemption_certificate=cert.number, idf_reduced=True,
                                                       rdl_reduced=True)])

    # when
    response = _post(client, body)

    # then: 1.5 % each on KES 10,000
    assert response.status_code == 201, response.json()
    totals = response.json()["assessment"]["totals"]
    assert (totals["idf"], totals["rdl"]) == ("150.00", "150.00")


@pytest.mark.django_db
def test_reduced_idf_for_comesa_origin_with_a_certificate_of_origin(client: APIClient, world: World) -> None:
    # given: goods of Ugandan origin (COMESA) with a COO attached, no EAC preference claimed
    body = _body(world, currency="KES", items=[item(2, origin_country="UG", customs_value="10000.00",
                                                       idf_reduced=True)],
                    documents=[{"kind": "COO", "reference": "COMESA-UG-1234", "issued_on": "2026-11-01"}])

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 201, response.json()
    assert response.json()["assessment"]["totals"]["idf"] == "150.00"


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_claims_never_overdraw_the_quota(postgres: None) -> None:
    # given: a certificate worth exactly 7 cars of KES 200,000 and 20 agents' threads claiming one each
    world = world_create(bl_packages=100)
    if not NationalMeasure.objects.filter(kind="exemption", code="DIPLOMATIC").exists():
        NationalMeasure.objects.create(kind="exemption", code="DIPLOMATIC", rate_kind=RateKind.AD_VALOREM,
                                       ad_valorem_rate=Decimal(0), description="Diplomatic",
                                       valid_from=dt.date(2022, 7, 1))
    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin, quota_total=Decimal("1400000.000"))
    body = _body(world, currency="KES", invoice_amount="200000.00",
                 items=[item(0, customs_value="200000.00", packages=1, exemption="DIPLOMATIC",
                                exemption_certificate=cert.number)])
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def lodge() -> None:
        try:
            barrier.wait(timeout=30)
            declaration_lodge(agent=world.agent, user=world.user, payload=body, actor=world.user)
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
    threads = [threading.Thread(target=lodge) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then: exactly 7 lodged, 13 refused for the quota, the counter is exact
    assert sorted(outcomes) == ["exemption_quota_exhausted"] * 13 + ["ok"] * 7
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1400000.000")
    assert ExemptionDrawdown.objects.filter(certificate=cert).count() == 7
    assert Declaration.objects.filter(status="assessed").count() == 7
    assert ExemptionCertificate.objects.get(pk=cert.pk).quota_left == 0


@pytest.mark.django_db
def test_an_officer_amendment_of_a_claim_that_used_the_whole_quota_is_not_refused(
    client: APIClient, world: World
) -> None:
    # given: a lodged claim that took the certificate's whole quota
    from declarations.services import declaration_officer_amend

    cert = ExemptionCertificateFactory(holder_pin=world.trader.pin)
    lodged = _post(client, _diplomatic_car(world, exemption_certificate=cert.number)).json()
    items = lodged["declaration"]["items"]
    items[0]["description"] = "Motor car for the mission, chassis checked"
    items[0]["gross_weight_kg"] = "100.400"

    # when: the officer amends it (its own draw counts as available to it)
    declaration = declaration_officer_amend(declaration_id=lodged["id"], body={"items": items},
                                            reason="weight corrected after examination", actor=None)

    # then: amended, the quota unchanged (no second draw)
    assert declaration.version == 2
    cert.refresh_from_db()
    assert cert.quota_used == Decimal("1500000.000")
    assert ExemptionDrawdown.objects.filter(certificate=cert).count() == 1
