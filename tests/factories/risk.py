"""Factories for risk rules, reference prices, and lodged declarations in a given status
(created directly, so risk and clearance tests do not depend on the tariff engine)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import factory

from core import clock
from risk.models import ReferencePrice, RiskRule
from tests.factories.reference import CustomsOfficeFactory
from tests.factories.traders import ClearingAgentFactory, TraderFactory

_serial = itertools.count(1)


class RiskRuleFactory(factory.django.DjangoModelFactory[RiskRule]):
    class Meta:
        model = RiskRule

    code = factory.Sequence(lambda n: f"rule-{n}")
    kind = "hs_match"
    description = factory.LazyAttribute(lambda o: o.kind.replace("_", " "))
    weight = 10
    forced_lane = ""
    hs_prefixes = ""
    countries = ""
    active = True
    valid_from = factory.LazyFunction(lambda: clock.now() - dt.timedelta(days=1))
    valid_to = None


class ReferencePriceFactory(factory.django.DjangoModelFactory[ReferencePrice]):
    class Meta:
        model = ReferencePrice

    hs_prefix = "8703"
    kes_per_unit = Decimal("500.00")
    unit = "kg"
    valid_from = dt.date(2024, 1, 1)
    valid_to = None


DEFAULT_ITEM: dict[str, Any] = {
    "hs_code": "8703.22.90",
    "description": "Used motor car, 1490 cc petrol",
    "origin_country": "JP",
    "packages": 1,
    "package_kind": "NE",
    "gross_weight_kg": Decimal("1150.000"),
    "net_weight_kg": Decimal("1100.000"),
    "customs_value": Decimal("660000.00"),
    "customs_value_kes": Decimal("660000.00"),
}


def declaration_make(
    *,
    status: str = "assessed",
    agent: Any = None,
    trader: Any = None,
    items: list[dict[str, Any]] | None = None,
    lodged_at: dt.datetime | None = None,
    bill_of_lading: Any = None,
    **fields: Any,
) -> Any:
    """A lodged import declaration (IM4 at MBA) with its items, in `status`."""
    from declarations.models import Declaration, DeclarationItem

    agent = agent or ClearingAgentFactory()
    trader = trader or TraderFactory()
    now = clock.now()
    serial = next(_serial)
    declaration = Declaration.objects.create(
        regime="IM4",
        cpc="4000000",
        agent=agent,
        importer_pin=trader.pin,
        trader=trader,
        office=CustomsOfficeFactory(),
        local_reference=f"AGT-{serial:06d}",
        ucr=f"UCR{serial:010d}",
        currency="KES",
        invoice_amount=Decimal("660000.00"),
        status=status,
        entry_number=f"26MBAIM{serial:09d}",
        lodged_at=lodged_at or now,
        bill_of_lading=bill_of_lading,
        bill_of_lading_number=bill_of_lading.number if bill_of_lading is not None else "",
        created_at=now,
        updated_at=now,
        # An IM4 with tax to pay has a payment due date (null would mean nothing to pay:
        # declarations.lifecycle.no_payment_step).
        **{"payment_due_date": clock.today() + dt.timedelta(days=5), **fields},
    )
    for line_no, item in enumerate(items or [DEFAULT_ITEM], start=1):
        DeclarationItem.objects.create(declaration=declaration, line_no=line_no, **{**DEFAULT_ITEM, **item})
    return declaration
