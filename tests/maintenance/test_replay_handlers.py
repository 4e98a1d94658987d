"""The replay handlers registry (maintenance.replay_handlers): declarations and manifests register
who lodges their buffered submissions in their AppConfig.ready, the replay dispatches to them by
endpoint, and a missing registration stops the replay instead of skipping."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from core.exceptions import ServiceUnavailable
from declarations import replay as declarations_replay
from declarations.models import Declaration
from maintenance import replay_handlers, services
from maintenance.enums import SubmissionStatus
from maintenance.intake import LODGING_ENDPOINTS
from maintenance.models import BufferedSubmission
from manifests import replay as manifests_replay
from manifests.models import Manifest
from tests.factories.declarations import body_im4, world_create
from tests.factories.maintenance import BufferedSubmissionFactory, OutageFactory
from tests.factories.manifests import carrier_with_token, reference_rows
from tests.manifests.conftest import manifest_body

from .conftest import T0

H = dt.timedelta(hours=1)


def test_declarations_and_manifests_register_a_handler_for_every_lodging_endpoint():
    handlers = replay_handlers.registrations()
    assert set(handlers) == {endpoint.name for endpoint in LODGING_ENDPOINTS}
    assert {kind: (h.lodge, h.lodge_chunk) for kind, h in handlers.items()} == {
        "declarations": (declarations_replay.lodge_buffered, declarations_replay.lodge_buffered_chunk),
        "declarations.lodge": (declarations_replay.lodge_buffered, None),
        "manifests": (manifests_replay.lodge_buffered, None),
        "manifests.edifact": (manifests_replay.lodge_buffered, None),
    }
    assert replay_handlers.check_registered() == []


def test_only_lodging_endpoints_take_a_handler():
    # the re-dispatched requests (bank callback, arrival, ...) are maintenance's own
    with pytest.raises(ValueError, match="not a lodging endpoint"):
        replay_handlers.register("payments.bank_callback", lodge=declarations_replay.lodge_buffered)
    assert "payments.bank_callback" not in replay_handlers.registrations()


@pytest.fixture
def spies(monkeypatch):
    """Each registered handler wrapped (in the registry only): which one saw which submission."""
    seen: list[tuple[str, str]] = []
    for kind, handler in replay_handlers.registrations().items():
        def lodge(submission, *, _kind=kind, _real=handler.lodge, **kwargs):
            seen.append((_kind, "lodge"))
            return _real(submission, **kwargs)

        chunk = None
        if handler.lodge_chunk is not None:
            def chunk(items, *, _kind=kind, _real=handler.lodge_chunk):
                seen.extend((_kind, "chunk") for _item in items)
                return _real(items)

        monkeypatch.setitem(replay_handlers._handlers, kind,
                            dataclasses.replace(handler, lodge=lodge, lodge_chunk=chunk))
    return seen


def _buffer_both(outage):
    world = world_create()
    declaration = BufferedSubmissionFactory(
        agent=world.staff.user, outage=outage, received_at=T0 - 30 * dt.timedelta(minutes=1),
        body=json.dumps(body_im4(world, local_reference="REPLAYED-1")).encode())
    reference_rows()
    carrier_staff, _token = carrier_with_token()
    manifest = BufferedSubmissionFactory(
        agent=carrier_staff.user, outage=outage, received_at=T0 - 20 * dt.timedelta(minutes=1),
        endpoint="manifests", path="/api/v1/manifests",
        body=json.dumps(manifest_body(eta=(T0 + 3 * 24 * H).isoformat())).encode())
    return declaration, manifest


@pytest.mark.django_db
@pytest.mark.parametrize("set_based", [False, True])
def test_the_default_replay_lodges_through_the_registered_handlers(clock, settings, spies, set_based):
    # given a buffered declaration and a buffered manifest, received during an outage
    settings.CONTINGENCY_REPLAY_SET_BASED = set_based
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    declaration, manifest = _buffer_both(outage)
    clock.set(T0 + dt.timedelta(minutes=10))
    # when the replay runs with no lodge callable of its own
    report = services.replay_buffered(actor=None)
    # then each went to the handler of its endpoint (the declaration through the chunk when set-based)
    assert (report.lodged, report.rejected, report.errored) == (2, 0, 0)
    assert sorted(spies) == sorted([("declarations", "chunk" if set_based else "lodge"), ("manifests", "lodge")])
    declaration.refresh_from_db()
    manifest.refresh_from_db()
    assert (declaration.status, manifest.status) == (SubmissionStatus.LODGED, SubmissionStatus.LODGED)
    assert Declaration.objects.get(local_reference="REPLAYED-1").lodged_at == declaration.lodged_at
    assert Manifest.objects.get(pk=manifest.result["resource_id"]).reference == "MSC-KE-2026-0042"


@pytest.mark.django_db
def test_without_the_declarations_registration_nothing_is_replayed(clock, monkeypatch):
    monkeypatch.delitem(replay_handlers._handlers, "declarations")
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    _buffer_both(outage)
    with pytest.raises(ServiceUnavailable, match="declarations"):
        services.replay_buffered(actor=None)
    assert set(BufferedSubmission.objects.values_list("status", flat=True)) == {SubmissionStatus.PENDING}
    assert (Declaration.objects.count(), Manifest.objects.filter(reference="MSC-KE-2026-0042").count()) == (0, 0)
