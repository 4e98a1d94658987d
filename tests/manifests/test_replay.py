"""Replaying manifests buffered during an outage: the receipt time is the lodging time."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

from core import clock
from manifests.models import Manifest
from tests.manifests.conftest import manifest_body
from tests.manifests.test_cuscar import cuscar


def _submission(endpoint: str, body: bytes, user: Any, content_type: str = "application/json") -> Any:
    return SimpleNamespace(endpoint=endpoint, body=body, agent=user, headers={"Content-Type": content_type})


def test_buffered_json_manifest_is_judged_at_receipt(carrier_staff: Any) -> None:
    # given a sea manifest received 3 hours ago, 50 hours before its ETA (on time then)
    received = clock.now() - dt.timedelta(hours=3)
    body = manifest_body(eta=(received + dt.timedelta(hours=50)).isoformat())
    from manifests.replay import lodge_buffered

    # when it is replayed now (only 47 hours before the ETA)
    outcome = lodge_buffered(_submission("manifests", json.dumps(body).encode(), carrier_staff.user),
                             lodged_at=received, deadline_extension=dt.timedelta(hours=3))
    # then it is lodged as of its receipt, and not late
    assert outcome.lodged is True, outcome
    manifest = Manifest.objects.get(pk=outcome.resource_id)
    assert (manifest.status, manifest.late_lodging, manifest.lodged_at) == ("lodged", False, received)


def test_buffered_cuscar_and_bad_buffered_json(carrier_staff: Any) -> None:
    from manifests.replay import lodge_buffered

    eta = (clock.now() + dt.timedelta(days=10)).astimezone(dt.timezone(dt.timedelta(hours=3)))
    good = lodge_buffered(
        _submission("manifests.edifact", cuscar(eta.strftime("%Y%m%d%H%M")).encode(), carrier_staff.user,
                    "application/edifact"),
        lodged_at=clock.now(), deadline_extension=dt.timedelta(0))
    assert good.lodged is True, good
    bad = lodge_buffered(_submission("manifests", b'{"reference": "X", "bills_of_lading": "no"}', carrier_staff.user),
                         lodged_at=clock.now(), deadline_extension=dt.timedelta(0))
    assert bad.lodged is False
    assert ("not_a_list", "/bills_of_lading") in {(e.code, e.pointer) for e in bad.errors}
    assert Manifest.objects.count() == 1
