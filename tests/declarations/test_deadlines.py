"""Deadlines made real (issue 20): nothing to pay means no payment step; unpaid tax past its due
date accrues late-payment interest (Tax Procedures Act 2015 s.38: 1 % per month or part of a
month); every contingency period moves the unpaid due dates on or after its start by its length,
once, with an event per declaration, and never creates interest.

The clock is pinned at Wed 25 Nov 2026 10:00 EAT: a declaration lodged then is due on 30 Nov."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from core import clock
from core.audit import verify_chain
from declarations.enums import EventKind
from declarations.interest import late_interest, months_late
from declarations.models import DeadlineShift, Declaration, DeclarationEvent, ESlip, Payment
from declarations.services import bank_callback_headers
from declarations.services.deadlines import deadlines_shift, interest_record
from maintenance.models import MaintenanceWindow
from maintenance.services import outage_end, outage_start, window_schedule, windows_advance
from tests.factories.declarations import World, body_im4

pytestmark = pytest.mark.django_db

EAT = dt.timezone(dt.timedelta(hours=3))
DUE = dt.date(2026, 11, 30)


def _at(day: int, month: int = 11, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=EAT)


def _lodge(client: APIClient, world: World, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/declarations", body_im4(world, items=2, currency="KES", **overrides),
                           format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _read(client: APIClient, declaration_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/declarations/{declaration_id}")
    assert response.status_code == 200, response.json()
    return response.json()


def _events(declaration_id: str, kind: str) -> list[DeclarationEvent]:
    return list(DeclarationEvent.objects.filter(declaration_id=declaration_id, kind=kind).order_by("id"))


def _one_percent(amount: Decimal) -> Decimal:
    return (amount * Decimal("0.01")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- the computation -----------------------------------------------------------------------------

def test_months_are_calendar_months_and_a_month_begun_counts_whole():
    assert months_late(due_date=DUE, on=DUE) == 0
    assert months_late(due_date=DUE, on=dt.date(2026, 12, 1)) == 1  # 1 day late
    assert months_late(due_date=DUE, on=dt.date(2026, 12, 30)) == 1  # 30 days: one calendar month
    assert months_late(due_date=DUE, on=dt.date(2026, 12, 31)) == 2  # 31 days
    assert months_late(due_date=DUE, on=dt.date(2026, 12, 31), rule="whole_months") == 1
    # a due date on the 31st: its months end on the last day of shorter months
    assert months_late(due_date=dt.date(2027, 1, 31), on=dt.date(2027, 2, 28)) == 1
    assert months_late(due_date=dt.date(2027, 1, 31), on=dt.date(2027, 3, 1)) == 2


def test_one_line_per_month_rounded_half_up_and_summed():
    # 1 % of 1,234.50 = 12.345 -> 12.35 (half-up; half-even would give 12.34); two months = 24.70
    one = late_interest(base=Decimal("1234.50"), due_date=DUE, on=dt.date(2026, 12, 1), rate=Decimal("0.01"))
    two = late_interest(base=Decimal("1234.50"), due_date=DUE, on=dt.date(2026, 12, 31), rate=Decimal("0.01"))

    assert (one.months, one.per_month, one.amount) == (1, Decimal("12.35"), Decimal("12.35"))
    assert (two.months, two.per_month, two.amount) == (2, Decimal("12.35"), Decimal("24.70"))
    assert two.lines() == [{"month": 1, "from": "2026-12-01", "amount": "12.35"},
                           {"month": 2, "from": "2026-12-31", "amount": "12.35"}]


# --- late-payment interest through the API, the payment and the beat -------------------------------

def test_interest_after_one_day_late_is_one_month(client, world, pinned_clock):
    lodged = _lodge(client, world)
    total = Decimal(lodged["eslip"]["amount"])
    assert lodged["payment_due_date"] == "2026-11-30"
    assert lodged["eslip"]["late_payment_interest"] == "0.00"

    # when the clock reaches 1 Dec (1 day late)
    pinned_clock.move_to(_at(1, 12))
    data = _read(client, lodged["id"])

    # then 1 % of the unpaid tax is due on top of the e-slip, on the assessment and on the e-slip
    interest = _one_percent(total)
    assert data["assessment"]["late_payment_interest"] == {
        "as_of": "2026-12-01", "due_date": "2026-11-30", "months": 1, "rate_per_month": "0.01",
        "rule": "month_or_part", "base": f"{total:.2f}", "per_month": f"{interest:.2f}",
        "amount": f"{interest:.2f}", "lines": [{"month": 1, "from": "2026-12-01", "amount": f"{interest:.2f}"}],
        "legal_basis": "Tax Procedures Act 2015 s.38 (late payment interest: 1 % per month or part thereof)"}
    assert data["eslip"]["amount"] == f"{total:.2f}"
    assert data["eslip"]["late_payment_interest"] == f"{interest:.2f}"
    assert data["eslip"]["amount_due"] == f"{total + interest:.2f}"
    assert data["eslip"]["lines"][-1] == {
        "line_no": 0, "tax": "late_payment_interest", "amount": f"{interest:.2f}",
        "rule": f"1.00 % of KES {total:.2f} unpaid tax, month 1 (from 2026-12-01)",
        "legal_basis": "Tax Procedures Act 2015 s.38 (late payment interest: 1 % per month or part thereof)"}


def test_interest_after_31_days_is_two_months_and_the_payment_must_include_it(client, world, pinned_clock):
    lodged = _lodge(client, world)
    total = Decimal(lodged["eslip"]["amount"])
    pinned_clock.move_to(_at(31, 12))  # 31 days after 30 Nov
    interest = _one_percent(total) * 2

    # the e-slip's amount alone is refused, naming the amount due with its interest
    refused = client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                          {"amount": f"{total:.2f}", "currency": "KES", "method": "mpesa"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "amount_mismatch"
    assert refused.json()["amount_due"] == f"{total + interest:.2f}"
    assert refused.json()["late_payment_interest"] == f"{interest:.2f}"
    assert not Payment.objects.exists()

    # the amount with two months of interest is accepted, and the interest is recorded with it
    paid = client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                       {"amount": f"{total + interest:.2f}", "currency": "KES", "method": "mpesa"}, format="json")
    assert paid.status_code == 201, paid.json()
    assert Payment.objects.get(declaration_id=lodged["id"]).amount == total + interest
    [accrued] = _events(lodged["id"], EventKind.INTEREST_ACCRUED)
    assert accrued.payload["months"] == 2
    assert accrued.payload["new_months"] == [1, 2]
    assert accrued.payload["amount"] == f"{interest:.2f}"
    payment_event = DeclarationEvent.objects.filter(declaration_id=lodged["id"], to_status="paid").get()
    assert payment_event.payload["late_payment_interest"] == f"{interest:.2f}"
    assert payment_event.payload["interest_months"] == 2
    # once paid, no more interest: it stops at payment and is part of it
    pinned_clock.move_to(dt.datetime(2027, 1, 15, 10, tzinfo=EAT))
    assert _read(client, lodged["id"])["eslip"]["late_payment_interest"] == "0.00"
    assert verify_chain(DeclarationEvent.chain_spec())[1] == []


def test_the_beat_records_each_new_month_once(client, world, pinned_clock):
    on_time = _lodge(client, world)
    late = _lodge(client, world, local_reference="LATE-1")
    # on_time is paid on time
    client.post(f"/api/v1/declarations/{on_time['id']}/payments",
                {"amount": on_time["eslip"]["amount"], "currency": "KES", "method": "mpesa"}, format="json")
    etag = Declaration.objects.get(pk=late["id"]).etag_version

    pinned_clock.move_to(_at(1, 12))
    assert interest_record() == 1
    assert interest_record() == 0  # nothing new the same month
    pinned_clock.move_to(_at(31, 12))
    assert interest_record() == 1

    events = _events(late["id"], EventKind.INTEREST_ACCRUED)
    assert [(e.payload["months"], e.payload["new_months"]) for e in events] == [(1, [1]), (2, [2])]
    assert events[1].payload["amount"] == f"{_one_percent(Decimal(late['eslip']['amount'])) * 2:.2f}"
    assert _events(on_time["id"], EventKind.INTEREST_ACCRUED) == []
    # the amount due changed: so did the ETag
    assert Declaration.objects.get(pk=late["id"]).etag_version == etag + 2


# --- outages move due dates ------------------------------------------------------------------------

def test_a_five_day_outage_moves_due_dates_in_or_after_it_and_creates_no_interest(client, world, pinned_clock):
    # given one declaration due before the outage (lodged 18 Nov, due 23 Nov, unpaid) and one due
    # inside it (lodged 25 Nov, due 30 Nov), and one paid
    pinned_clock.move_to(_at(18))
    before = _lodge(client, world, local_reference="BEFORE")
    pinned_clock.move_to(_at(25))
    inside = _lodge(client, world, local_reference="INSIDE")
    paid = _lodge(client, world, local_reference="PAID")
    client.post(f"/api/v1/declarations/{paid['id']}/payments",
                {"amount": paid["eslip"]["amount"], "currency": "KES", "method": "mpesa"}, format="json")
    assert before["payment_due_date"] == "2026-11-23"

    # when an outage runs 5 days, 27 Nov 10:00 to 2 Dec 09:59 EAT (whole days, rounded up)
    pinned_clock.move_to(_at(27))
    outage_start(reason="iCMS core down at Mombasa", actor=None)
    pinned_clock.move_to(_at(1, 12))
    # (meanwhile the declaration due on 30 Nov is not late: it will move)
    assert _read(client, inside["id"])["eslip"]["late_payment_interest"] == "0.00"
    assert interest_record() == 1  # only the one due before the outage
    # (the pinned clock runs on at real speed: end it a minute short of 5 x 24 h, not a few ms over)
    pinned_clock.move_to(_at(2, 12) - dt.timedelta(minutes=1))
    outage = outage_end(actor=None)
    shift = DeadlineShift.objects.get(period=f"outage:{outage.pk}")
    assert (shift.days, shift.first_due_date, shift.done_at) == (5, dt.date(2026, 11, 27), None)
    deadlines_shift(shift_id=shift.pk)

    # then the due date inside it moved by 5 days, on the declaration and its e-slip, with an event
    moved = Declaration.objects.get(pk=inside["id"])
    assert moved.payment_due_date == dt.date(2026, 12, 5)
    assert ESlip.objects.get(declaration=moved, is_current=True).due_date == dt.date(2026, 12, 5)
    [event] = _events(inside["id"], EventKind.DEADLINE_MOVED)
    assert event.payload == {
        "period": f"outage:{outage.pk}", "source": "operator", "from": "2026-11-30", "to": "2026-12-05", "days": 5,
        "period_started_at": outage.started_at.isoformat(), "period_ended_at": outage.ended_at.isoformat()}
    assert event.actor_label == "system"
    # the one due before it did not move and keeps its interest; the paid one is left alone
    assert Declaration.objects.get(pk=before["id"]).payment_due_date == dt.date(2026, 11, 23)
    assert _events(before["id"], EventKind.DEADLINE_MOVED) == []
    assert _events(paid["id"], EventKind.DEADLINE_MOVED) == []
    # no interest for the moved one, during or after the outage, until its new due date passes
    pinned_clock.move_to(_at(5, 12))
    assert _read(client, inside["id"])["eslip"]["late_payment_interest"] == "0.00"
    assert interest_record() == 0
    assert _events(inside["id"], EventKind.INTEREST_ACCRUED) == []
    assert _read(client, before["id"])["assessment"]["late_payment_interest"]["months"] == 1
    # exactly once: the shift is done; running it again moves nothing
    shift.refresh_from_db()
    assert (shift.moved, shift.done_at is not None) == (1, True)
    deadlines_shift(shift_id=shift.pk)
    assert Declaration.objects.get(pk=inside["id"]).payment_due_date == dt.date(2026, 12, 5)
    assert len(_events(inside["id"], EventKind.DEADLINE_MOVED)) == 1
    assert verify_chain(DeclarationEvent.chain_spec())[1] == []


def test_a_buffer_window_moves_due_dates_when_it_completes(client, world, pinned_clock):
    inside = _lodge(client, world)  # due 30 Nov
    window_schedule(starts_at=_at(29), ends_at=_at(29, hour=20), reason="iCMS upgrade", mode="buffer",
                    actor=None)
    pinned_clock.move_to(_at(29, hour=21))

    windows_advance()

    window = MaintenanceWindow.objects.get()
    shift = DeadlineShift.objects.get(period=f"window:{window.pk}")
    assert (shift.source, shift.days) == ("buffer_window", 1)  # 10 hours: one day, rounded up
    deadlines_shift(shift_id=shift.pk)
    assert Declaration.objects.get(pk=inside["id"]).payment_due_date == dt.date(2026, 12, 1)
    windows_advance()  # recorded again: nothing moves twice
    assert DeadlineShift.objects.count() == 1


def test_a_chunked_shift_moves_each_declaration_once(client, world, pinned_clock):
    lodged = [_lodge(client, world, local_reference=f"CHUNK-{n}") for n in range(3)]
    pinned_clock.move_to(_at(27))
    outage_start(reason="down", actor=None)
    pinned_clock.move_to(_at(28) - dt.timedelta(minutes=1))  # a day (a few ms over would round up to 2)
    outage = outage_end(actor=None)

    shift = deadlines_shift(shift_id=DeadlineShift.objects.get(period=f"outage:{outage.pk}").pk, chunk=2)

    assert shift.moved == 3
    assert [Declaration.objects.get(pk=d["id"]).payment_due_date for d in lodged] == [dt.date(2026, 12, 1)] * 3
    assert all(len(_events(d["id"], EventKind.DEADLINE_MOVED)) == 1 for d in lodged)


# --- nothing to pay --------------------------------------------------------------------------------

def _export(world: World) -> dict[str, Any]:
    body = body_im4(world, items=1, regime="EX1", cpc="1000100", currency="KES", local_reference="TEA-1")
    for name in ("importer_pin", "bill_of_lading", "country_of_export"):
        del body[name]
    body.update(exporter_pin=world.trader.pin, country_of_destination="GB")
    return body


def test_an_export_with_nothing_to_pay_is_released_without_a_payment(client, world):
    from clearance.services import clearance_advance
    from risk.models import RiskAssessment

    # when an export assessed at KES 0.00 is lodged
    response = client.post("/api/v1/declarations", _export(world), format="json")

    # then it has no payment step: no due date, an e-slip for nothing, a nothing_to_pay event
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["assessment"]["totals"]["total"] == "0.00"
    assert (data["payment_due_date"], data["eslip"]["due_date"], data["eslip"]["amount_due"]) == (None, None, "0.00")
    [event] = _events(data["id"], EventKind.NOTHING_TO_PAY)
    assert (event.from_status, event.to_status, event.reason) == ("assessed", "assessed",
                                                                 "nothing to pay: assessed at KES 0.00")
    # a KES 0.00 "payment" is refused
    refused = client.post(f"/api/v1/declarations/{data['id']}/payments",
                          {"amount": "0.00", "currency": "KES", "method": "mpesa"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "nothing_to_pay"

    # and once scored green it moves on to release, never paid
    RiskAssessment.objects.create(declaration_id=data["id"], score=5, lane="green", hits=[],
                                  rules_version="test", scored_at=clock.now())
    outcome = clearance_advance(declaration_id=data["id"])
    assert outcome.action == "released"
    assert Declaration.objects.get(pk=data["id"]).status == "released"
    assert not Payment.objects.exists()
    transitions = list(DeclarationEvent.objects.filter(declaration_id=data["id"], kind=EventKind.TRANSITION)
                       .order_by("id").values_list("to_status", flat=True))
    assert transitions == ["registered", "assessed", "released"]


def test_scoring_a_zero_total_export_is_enough_to_move_it_on(client, world):
    from risk.services import risk_assessment_create

    data = client.post("/api/v1/declarations", _export(world), format="json").json()

    assert risk_assessment_create(declaration_id=data["id"]).ready_for_clearance is True


def test_an_import_with_tax_still_needs_its_payment(client, world):
    from clearance.services import clearance_advance
    from risk.models import RiskAssessment

    lodged = _lodge(client, world)
    RiskAssessment.objects.create(declaration_id=lodged["id"], score=5, lane="green", hits=[],
                                  rules_version="test", scored_at=clock.now())

    assert clearance_advance(declaration_id=lodged["id"]).action == "waiting_payment"
    assert _events(lodged["id"], EventKind.NOTHING_TO_PAY) == []


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_a_bank_confirmation_owes_the_interest_of_the_day_it_was_paid(client, world, pinned_clock):
    # given an e-slip due 30 Nov, confirmed by the bank on 2 Dec for a payment made on 30 Nov (on time)
    lodged = _lodge(client, world)
    pinned_clock.move_to(_at(2, 12))
    body = {"eslip_reference": lodged["eslip"]["reference"], "amount": lodged["eslip"]["amount"],
            "currency": "KES", "bank_reference": "KCB-LATE-1", "paid_at": _at(30, 11, 15).isoformat()}

    def confirm(body: dict[str, Any]) -> Any:
        raw = json.dumps(body).encode()
        return APIClient().generic("POST", "/api/v1/payments/bank-callback", raw, content_type="application/json",
                                   **{"HTTP_" + k.upper().replace("-", "_"): v
                                      for k, v in bank_callback_headers(raw).items()})

    # a payment made on 1 Dec (1 day late) for the e-slip's amount alone falls short by a month of interest
    late = confirm({**body, "paid_at": _at(1, 12, 9).isoformat(), "bank_reference": "KCB-LATE-0"})
    assert late.status_code == 400
    total = Decimal(lodged["eslip"]["amount"])
    assert late.json()["amount_due"] == f"{total + _one_percent(total):.2f}"

    # when the bank confirms the one paid on the due date (two days late to confirm)
    response = confirm(body)

    # then the e-slip's amount is the whole amount due: no interest for a payment made on time
    assert response.status_code == 201, response.json()
    assert Payment.objects.get(declaration_id=lodged["id"]).amount == Decimal(lodged["eslip"]["amount"])
    assert _events(lodged["id"], EventKind.INTEREST_ACCRUED) == []
