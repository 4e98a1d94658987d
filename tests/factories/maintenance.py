"""Factories for maintenance windows, outages and buffered submissions (test setup only:
the behaviour under test always goes through `maintenance.services`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import factory

from maintenance.enums import OutageStatus, SubmissionPriority, SubmissionStatus, WindowMode, WindowScope
from maintenance.models import BufferedSubmission, MaintenanceWindow, Outage
from tests.factories.declarations import vehicle
from tests.factories.traders import UserFactory

BASE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class MaintenanceWindowFactory(factory.django.DjangoModelFactory[MaintenanceWindow]):
    class Meta:
        model = MaintenanceWindow

    starts_at = factory.Sequence(lambda n: BASE + dt.timedelta(days=2 + n))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(hours=8))
    scope = WindowScope.LODGING
    mode = WindowMode.REJECT
    reason = "iCMS database upgrade"
    notice_given = BASE
    created_at = BASE
    updated_at = BASE


class OutageFactory(factory.django.DjangoModelFactory[Outage]):
    class Meta:
        model = Outage

    status = OutageStatus.ACTIVE
    reason = "Data centre power failure"
    started_at = BASE


def declaration_body(*, regime: str = "IM4", hs_code: str = "8703.22.90", pin: str = "P051234567X",
                     items: int = 1) -> dict[str, object]:
    pin_key = "exporter_pin" if regime.startswith("EX") else "importer_pin"
    return {
        "regime": regime, "cpc": "4000000", "office": "MBA", pin_key: pin,
        "local_reference": f"AGT-{uuid.uuid4().hex[:8]}", "currency": "KES", "invoice_amount": "425.71",
        "items": [{"hs_code": hs_code, "description": "Goods", "origin_country": "JP", "packages": 1,
                   "package_kind": "NE", "gross_weight_kg": "10.000", "customs_value": "425.71",
                   **({"vehicle": vehicle()} if hs_code[:4] in ("8702", "8703", "8704", "8705") else {})}
                  for _ in range(items)],
    }


class BufferedSubmissionFactory(factory.django.DjangoModelFactory[BufferedSubmission]):
    class Meta:
        model = BufferedSubmission

    status = SubmissionStatus.PENDING
    priority = SubmissionPriority.NORMAL
    method = "POST"
    path = "/api/v1/declarations"
    endpoint = "declarations"
    headers = factory.LazyFunction(lambda: {"Content-Type": "application/json"})
    body = factory.LazyFunction(lambda: json.dumps(declaration_body()).encode())
    body_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.body).hexdigest())
    # The intake store has no foreign keys into the primary: `agent` (a property that sets
    # agent_id/agent_username), `outage` and `window` are parameters that fill the id columns.
    agent = factory.SubFactory(UserFactory)
    received_at = factory.Sequence(lambda n: BASE + dt.timedelta(minutes=n))
    lodged_at = factory.SelfAttribute("received_at")
    outage_id = factory.LazyAttribute(lambda o: o.outage.pk if o.outage is not None else None)
    window_id = factory.LazyAttribute(lambda o: o.window.pk if o.window is not None else None)
    receipt = factory.LazyFunction(dict)

    class Params:
        outage = None
        window = None
