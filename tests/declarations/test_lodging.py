from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from core.models import OutboxMessage
from declarations.entry_numbers import entry_number_valid
from declarations.models import (
    Assessment,
    AssessmentLine,
    Declaration,
    DeclarationEvent,
    DeclarationItem,
    DeclarationVersion,
    ESlip,
)
from declarations.services import declaration_lodge
from manifests.models import BillOfLading
from notifications.models import Notification
from tests.factories.declarations import (
    World,
    body_im4,
    expected_taxes,
    idf_for,
    item,
    money,
    vehicle,
    world_create,
)

pytestmark = pytest.mark.django_db


def _post(client: APIClient, body: Any) -> Any:
    return client.post("/api/v1/declarations", body, format="json")


def test_canonical_api_body_is_accepted_as_is_with_the_kra_worked_example(client: APIClient, world: World) -> None:
    # given: the API.md example body (KES, one used car, CIF 425.71), with our PIN and B/L, plus the
    # vehicle particulars iCMS requires on a motor-vehicle item (docs/declarations.md "Vehicles")
    body = {
        "regime": "IM4", "cpc": "4000000", "office": "MBA", "importer_pin": world.trader.pin,
        "local_reference": "AGT-2026-000123", "bill_of_lading": world.bl.number, "currency": "KES",
        "invoice_amount": "425.71", "freight_amount": "0.00", "insurance_amount": "0.00", "incoterm": "CIF",
        "country_of_export": "JP",
        "items": [{"hs_code": "8703.22.90", "description": "Used motor car, 1490 cc petrol", "origin_country": "JP",
                   "packages": 1, "package_kind": "NE", "gross_weight_kg": "1150.000", "net_weight_kg": "1100.000",
                   "supplementary_quantity": "1", "supplementary_unit": "NAR", "customs_value": "425.71",
                   "vehicle": vehicle()}],
    }
    # the API.md body plus the IDF number imports must now quote (a matching single-window IDF)
    body["idf_number"] = idf_for(body).number

    # when
    response = _post(client, body)

    # then: DOMAIN.md worked example, to the cent
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "assessed"
    assert data["channel"] is None
    assert data["assessment"]["totals"] == {
        "import_duty": "149.00", "excise_duty": "114.94", "vat": "110.34", "idf": "10.64", "rdl": "8.51",
        "penalties": "0.00", "fees": "0.00", "total": "393.43",
    }
    # the sum of the lines (docs/declarations.md "Rounding"; KRA's calculator prints 393.44)
    assert data["eslip"]["amount"] == "393.43"
    assert response["ETag"] == Declaration.objects.get(pk=data["id"]).etag


def test_im4_with_20_items_against_a_seeded_manifest(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=20)
    expected = expected_taxes(body["items"], world.usd_rate)
    packages = sum(i["packages"] for i in body["items"])
    weight = sum(Decimal(i["gross_weight_kg"]) for i in body["items"])

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 201, response.json()
    data = response.json()
    declaration = Declaration.objects.get(pk=data["id"])
    totals = data["assessment"]["totals"]
    assert {k: Decimal(totals[k]) for k in expected} == expected
    assert Decimal(totals["total"]) == expected["total"]
    assert declaration.status == "assessed"
    assert declaration.entry_number == data["entry_number"]
    assert len(data["entry_number"]) == 16
    assert data["entry_number"][2:8] == "MBAIM4"
    assert entry_number_valid(data["entry_number"])
    assert DeclarationItem.objects.filter(declaration=declaration).count() == 20
    item_values = list(DeclarationItem.objects.filter(declaration=declaration).order_by("line_no")
                       .values_list("customs_value_kes", flat=True))
    assert item_values == [money(Decimal(i["customs_value"]) * world.usd_rate) for i in body["items"]]
    assessment = Assessment.objects.get(declaration=declaration)
    assert assessment.total == expected["total"]
    assert assessment.exchange_rate == world.usd_rate
    assert AssessmentLine.objects.filter(assessment=assessment, tax="import_duty").count() == 20
    # two transition events: -> registered -> assessed
    events = list(DeclarationEvent.objects.filter(declaration=declaration).order_by("id")
                  .values_list("from_status", "to_status"))
    assert events == [("", "registered"), ("registered", "assessed")]
    eslip = ESlip.objects.get(declaration=declaration)
    assert eslip.amount == expected["total"]
    assert data["eslip"] == {"reference": eslip.reference, "amount": f"{expected['total']:.2f}", "currency": "KES",
                             "due_date": (declaration.lodged_at.astimezone(dt.timezone(dt.timedelta(hours=3))).date()
                                          + dt.timedelta(days=5)).isoformat(),
                             "secured_by": None,
                             # not late: no interest, the amount due is the e-slip's
                             "late_payment_interest": "0.00", "amount_due": f"{expected['total']:.2f}",
                             "lines": [{k: line[k] for k in ("line_no", "tax", "amount", "rule", "legal_basis")}
                                       for line in data["assessment"]["lines"]]}
    assert DeclarationVersion.objects.filter(declaration=declaration).count() == 1
    # hand-off to risk through the outbox, one agent notification
    assert OutboxMessage.objects.filter(task_name="risk.score_declaration",
                                        kwargs={"declaration_id": str(declaration.pk)}).count() == 1
    assert Notification.objects.filter(declaration_id=declaration.pk, kind="accepted").count() == 1
    # B/L quantities reserved
    world.bl.refresh_from_db()
    assert world.bl.packages_reserved == packages
    assert world.bl.weight_reserved_kg == weight


def test_customs_value_apportioned_from_item_value_freight_and_insurance(client: APIClient, world: World) -> None:
    # given: FOB item values 300 + 700 and 100 freight + 11 insurance -> 111 apportioned 33.30 / 77.70
    items = [item(0, customs_value=None, item_value="300.00"), item(1, item_value="700.00")]
    del items[1]["customs_value"]
    body = body_im4(world, freight_amount="100.00", insurance_amount="11.00", incoterm="FOB", currency="KES")
    body["items"] = items

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 201, response.json()
    values = list(DeclarationItem.objects.filter(declaration_id=response.json()["id"]).order_by("line_no")
                  .values_list("customs_value", flat=True))
    assert values == [Decimal("333.30"), Decimal("777.70")]


def test_draft_saved_then_lodged(client: APIClient, world: World) -> None:
    # given: a draft missing items
    body = body_im4(world, items=2)
    draft_body = {**body, "draft": True}
    del draft_body["items"]
    created = _post(client, draft_body)
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "draft"
    assert created.json()["entry_number"] is None
    declaration_id = created.json()["id"]

    # when: completed by PATCH and lodged
    patched = client.patch(f"/api/v1/declarations/{declaration_id}", {"items": body["items"]}, format="json",
                           HTTP_IF_MATCH=created["ETag"])
    assert patched.status_code == 200, patched.json()
    lodged = client.post(f"/api/v1/declarations/{declaration_id}/lodge")

    # then
    assert lodged.status_code == 201, lodged.json()
    assert lodged.json()["status"] == "assessed"
    assert lodged.json()["id"] == declaration_id
    events = list(DeclarationEvent.objects.filter(declaration_id=declaration_id, kind="transition")
                  .order_by("id").values_list("from_status", "to_status"))
    assert events == [("", "draft"), ("draft", "registered"), ("registered", "assessed")]
    # lodging twice is illegal
    again = client.post(f"/api/v1/declarations/{declaration_id}/lodge")
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


def test_draft_with_business_errors_cannot_be_lodged_and_stays_draft(client: APIClient, world: World) -> None:
    # given
    created = _post(client, {**body_im4(world, items=1, cpc="1000000"), "draft": True})
    declaration_id = created.json()["id"]

    # when
    lodged = client.post(f"/api/v1/declarations/{declaration_id}/lodge")

    # then
    assert lodged.status_code == 400
    assert [(e["code"], e["pointer"]) for e in lodged.json()["errors"]] == [("cpc_regime_mismatch", "/cpc")]
    assert Declaration.objects.get(pk=declaration_id).status == "draft"


def test_late_entry_is_flagged_with_a_penalty_line(client: APIClient, db: Any) -> None:
    # given: goods discharged 30 days ago (EACCMA s.34: 21 days)
    late = world_create(discharged_days_ago=30)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {late.token}")

    # when
    response = _post(api, body_im4(late, items=1, currency="KES"))

    # then
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["late_entry"] is True
    assert data["assessment"]["totals"]["penalties"] == "10000.00"
    penalty = [line for line in data["assessment"]["lines"] if line["tax"] == "late_entry_penalty"]
    assert len(penalty) == 1
    assert penalty[0]["amount"] == "10000.00"
    taxes = expected_taxes(body_im4(late, items=1)["items"], Decimal(1))
    assert Decimal(data["assessment"]["totals"]["total"]) == taxes["total"] + Decimal("10000.00")


def test_contingency_replay_uses_receipt_time_and_extends_deadlines(db: Any) -> None:
    # given: discharged 24 days ago, received during an outage 22 days ago... i.e. 2 days after discharge + 20
    world = world_create(discharged_days_ago=24)
    from core import clock

    received = clock.now() - dt.timedelta(days=4)  # 20 days after discharge: on time
    # when
    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world, currency="KES"),
                                    received_at=received, deadline_extension=dt.timedelta(hours=30),
                                    actor=world.user)

    # then
    assert declaration.lodged_at == received
    assert declaration.late_entry is False
    local = received.astimezone(dt.timezone(dt.timedelta(hours=3))).date()
    assert declaration.payment_due_date == local + dt.timedelta(days=5 + 2)


def test_deadline_extension_relieves_a_late_entry(db: Any) -> None:
    # given: 23 days after discharge, an outage of 3 days
    world = world_create(discharged_days_ago=23)

    # when
    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world, currency="KES"),
                                    deadline_extension=dt.timedelta(days=3), actor=world.user)

    # then
    assert declaration.late_entry is False


def test_export_uses_exporter_pin_and_no_bl(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=1, regime="EX1", cpc="1000100", currency="KES")
    for name in ("importer_pin", "bill_of_lading", "country_of_export"):
        del body[name]
    body.update(exporter_pin=world.trader.pin, country_of_destination="DE")

    # when
    response = _post(client, body)

    # then
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["entry_number"][2:8] == "MBAEX1"
    assert data["assessment"]["totals"]["total"] == "0.00"
    assert BillOfLading.objects.get(pk=world.bl.pk).packages_reserved == 0


def test_idempotency_key_lodges_once(client: APIClient, world: World) -> None:
    # given
    body = body_im4(world, items=2, currency="KES")

    # when
    first = client.post("/api/v1/declarations", body, format="json", HTTP_IDEMPOTENCY_KEY="lodge-1")
    second = client.post("/api/v1/declarations", body, format="json", HTTP_IDEMPOTENCY_KEY="lodge-1")
    other_body = client.post("/api/v1/declarations", {**body, "local_reference": "X"}, format="json",
                             HTTP_IDEMPOTENCY_KEY="lodge-1")

    # then
    assert first.status_code == second.status_code == 201
    assert second.json()["entry_number"] == first.json()["entry_number"]
    assert second["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 422
    assert Declaration.objects.filter(agent=world.agent).count() == 1


def test_replay_callable_lodges_a_buffered_body_at_its_receipt_time(world: World) -> None:
    # given: a body buffered during an outage 2 hours ago (what maintenance.replay passes in)
    import json
    from types import SimpleNamespace

    from core import clock
    from declarations.replay import lodge_buffered

    received = clock.now() - dt.timedelta(hours=2)
    submission = SimpleNamespace(endpoint="declarations", path="/api/v1/declarations", agent=world.user,
                                 body=json.dumps(body_im4(world, currency="KES")).encode())

    # when
    outcome = lodge_buffered(submission, lodged_at=received, deadline_extension=dt.timedelta(hours=2))

    # then
    assert outcome.lodged is True
    declaration = Declaration.objects.get(pk=outcome.resource_id)
    assert declaration.entry_number == outcome.entry_number
    assert declaration.lodged_at == received


def test_replay_callable_reports_validation_problems(world: World) -> None:
    import json
    from types import SimpleNamespace

    from declarations.replay import lodge_buffered

    submission = SimpleNamespace(endpoint="declarations", path="/api/v1/declarations", agent=world.user,
                                 body=json.dumps(body_im4(world, cpc="1000000")).encode())
    from core import clock

    outcome = lodge_buffered(submission, lodged_at=clock.now(),
                             deadline_extension=dt.timedelta(0))
    assert outcome.lodged is False
    assert [(e.code, e.pointer) for e in outcome.errors] == [("cpc_regime_mismatch", "/cpc")]
    assert Declaration.objects.count() == 0


def test_a_20_item_lodging_runs_a_fixed_set_of_statements(client: APIClient, world: World) -> None:
    """The lodging hot path (docs/performance.md): token + agent in one query, the B/L write-off
    in one conditional UPDATE + one INSERT, the declaration row written once (last, with its entry
    number), no savepoints, no chain-head read for a new declaration, one indexed IDF look-up,
    items and assessment lines by COPY (not captured here: they bypass the ORM)."""
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert _post(client, body_im4(world, items=20, local_reference="WARM-UP")).status_code == 201  # caches, counter
    body = body_im4(world, items=20)
    with CaptureQueriesContext(connection) as ctx:
        response = _post(client, body)

    assert response.status_code == 201, response.json()
    statements = [q["sql"] for q in ctx.captured_queries]
    # (the test runs inside a transaction: the lodging's own is a savepoint, and the post-commit
    # outbox hand-off does not run)
    assert Counter(sql.split()[0].upper() for sql in statements) == {
        "SELECT": 4, "INSERT": 9, "UPDATE": 3, "SAVEPOINT": 1, "RELEASE": 1}  # SELECT 4: the IDF look-up
    assert not [sql for sql in statements if "manifests_writeoff" in sql and sql.startswith("SELECT")]
    # and everything the COPY wrote is there, with exact values
    declaration = Declaration.objects.get(pk=response.json()["id"])
    items = list(DeclarationItem.objects.filter(declaration=declaration).order_by("line_no"))
    assert [i.line_no for i in items] == list(range(1, 21))
    assert [str(i.gross_weight_kg) for i in items] == [b["gross_weight_kg"] for b in body["items"]]
    lines = AssessmentLine.objects.filter(assessment__declaration=declaration)
    assert sum(line.amount for line in lines) == Assessment.objects.get(declaration=declaration).total
    assert response.json()["assessment"]["lines"] == [
        {k: (str(v) if k in ("base", "amount") else v) for k, v in row.items()}
        for row in lines.order_by("id").values("line_no", "tax", "base", "rule", "amount", "legal_basis",
                                               "exchange_rates")
    ]


def test_every_tax_line_cites_its_law_and_the_exchange_rate_it_used(client: APIClient, world: World) -> None:
    # given: one car declared in USD
    body = body_im4(world)

    # when
    response = _post(client, body)

    # then: the header names the rate's date; each line its legal basis and the USD rate with its date
    assert response.status_code == 201, response.json()
    data = response.json()
    rate_date = clock.today().replace(day=1).isoformat()  # the seed fixes rates on the 1st of each month
    assert data["assessment"]["exchange_rate_date"] == rate_date
    usd = [{"currency": "USD", "kes_per_unit": f"{world.usd_rate:.6f}", "date": rate_date}]
    basis = {line["tax"]: (line["legal_basis"], line["exchange_rates"]) for line in data["assessment"]["lines"]}
    assert basis == {
        "import_duty": ("EAC Gazette stay of application for Kenya; KRA template 2025", usd),
        "excise_duty": ("Excise Duty Act 2015 First Schedule Part I; KRA template 2025", usd),
        "vat": ("VAT Act 2013 s.5(2)(a)", usd),
        "idf": ("Miscellaneous Fees and Levies Act 2016 s.7 (rate per DOMAIN.md, 2025)", usd),
        "rdl": ("Miscellaneous Fees and Levies Act 2016 s.8 (rate per DOMAIN.md, 2025)", usd),
    }
    # the e-slip itemises what is paid and under which law
    assert [(line["tax"], line["amount"], line["legal_basis"]) for line in data["eslip"]["lines"]] == [
        (line["tax"], line["amount"], line["legal_basis"]) for line in data["assessment"]["lines"]]
    stored = AssessmentLine.objects.get(assessment__declaration_id=data["id"], tax="vat")
    assert (stored.legal_basis, stored.exchange_rates) == ("VAT Act 2013 s.5(2)(a)", usd)
    # a detail read renders the same
    again = client.get(f"/api/v1/declarations/{data['id']}").json()
    assert again["assessment"] == data["assessment"]
    assert again["eslip"] == data["eslip"]
