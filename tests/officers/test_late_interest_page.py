"""The officer declaration page shows the late-payment interest owed today (TPA 2015 s.38)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse

from declarations.models import ESlip
from declarations.services import declaration_lodge
from tests.factories.declarations import body_im4, world_create
from tests.factories.officers import officer_create

pytestmark = pytest.mark.django_db


def test_an_unpaid_declaration_past_its_due_date_shows_its_interest(officer_client, pinned_clock):
    # given an IM4 lodged on 25 Nov (due 30 Nov), unpaid on 1 Dec
    world = world_create()
    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world, currency="KES"),
                                    actor=world.user)
    base = ESlip.objects.get(declaration=declaration, is_current=True).amount
    per_month = (base * Decimal("0.01")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    pinned_clock.move_to(dt.datetime(2026, 12, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=3))))

    # when a supervisor opens it
    response = officer_client(officer_create("supervisor")).get(
        reverse("admin:declarations_declaration_change", args=[declaration.pk]))

    # then one month of interest is shown with its base and legal basis
    assert response.status_code == 200
    html = response.content.decode()
    assert (f'<p id="late-payment-interest">Late-payment interest: <strong>KES {per_month:,.2f}</strong> — '
            f"1 month after the due date 30 Nov 2026 on KES {base:,.2f} unpaid tax, KES {per_month:,.2f} a month "
            "(Tax Procedures Act 2015 s.38 (late payment interest: 1 % per month or part thereof)).</p>") in html
