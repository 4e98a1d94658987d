"""Replay: priority order, exactly-once after an interrupted run, deadline extension, outcomes,
notifications, the outage report, and two replayers racing on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from core.exceptions import ValidationFailed, error
from maintenance import replay_handlers, services
from maintenance.enums import SubmissionPriority, SubmissionStatus, WindowMode
from maintenance.models import BufferedSubmission, OutageReport
from maintenance.services import ReplayOutcome
from tests.factories.maintenance import (
    BufferedSubmissionFactory,
    MaintenanceWindowFactory,
    OutageFactory,
    declaration_body,
)

from .conftest import T0

H = dt.timedelta(hours=1)


class FakeLodge:
    """Stands in for the declarations app. Writes a row in the same database (a Group named
    after the submission) so exactly-once is visible in the data, not only in the call log."""

    def __init__(self, interrupt_at: int | None = None, reject: set[str] | None = None,
                 crash: set[str] | None = None, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.calls: list[tuple[uuid.UUID, dt.datetime, dt.timedelta]] = []
        self.interrupt_at = interrupt_at
        self.reject = reject or set()
        self.crash = crash or set()
        self._lock = threading.Lock()

    def __call__(self, submission, *, lodged_at, deadline_extension):
        with self._lock:
            self.calls.append((submission.id, lodged_at, deadline_extension))
            n = len(self.calls)
        Group.objects.create(name=f"lodged-{submission.id}")
        if self.interrupt_at is not None and n == self.interrupt_at:
            raise KeyboardInterrupt("worker killed")
        ref = json.loads(bytes(submission.body))["local_reference"]
        if ref in self.crash:
            raise RuntimeError("bug in lodging")
        if ref in self.reject:
            raise ValidationFailed(errors=[error("unknown_bill_of_lading", "No such B/L.", "/bill_of_lading")])
        if ref in self.refuse:
            return ReplayOutcome(lodged=False, code="duplicate", detail="Already lodged as 26MBAIM1.")
        return ReplayOutcome(lodged=True, entry_number=f"26MBAIM{n:09d}", resource_id=str(uuid.uuid4()))


def _sub(outage, received_minutes, priority=SubmissionPriority.NORMAL, ref=None, **kwargs):
    body = declaration_body()
    body["local_reference"] = ref or f"REF-{received_minutes}"
    return BufferedSubmissionFactory(outage=outage, received_at=T0 + dt.timedelta(minutes=received_minutes),
                                     priority=priority, body=json.dumps(body).encode(), **kwargs)


def _lodged_groups() -> list[str]:
    return sorted(Group.objects.filter(name__startswith="lodged-").values_list("name", flat=True))


@pytest.mark.django_db
def test_replay_order_manifests_perishables_aeo_then_receipt_time(clock, notices):
    # given an outage of 5 h with mixed submissions
    outage = OutageFactory(started_at=T0 - 5 * H, ended_at=T0, status="ended")
    late_normal = _sub(outage, 30)
    early_normal = _sub(outage, 10)
    aeo = _sub(outage, 40, SubmissionPriority.AEO)
    perishable_late = _sub(outage, 50, SubmissionPriority.PERISHABLE)
    perishable_early = _sub(outage, 45, SubmissionPriority.PERISHABLE)
    manifest = _sub(outage, 55, SubmissionPriority.MANIFEST)
    lodge = FakeLodge()
    # when
    report = services.replay_buffered(actor=None, lodge=lodge, batch_size=2)
    # then
    assert [c[0] for c in lodge.calls] == [manifest.id, perishable_early.id, perishable_late.id, aeo.id,
                                           early_normal.id, late_normal.id]
    assert (report.processed, report.lodged, report.rejected, report.errored, report.remaining) == (6, 6, 0, 0, 0)


@pytest.mark.django_db
def test_receipt_time_is_the_lodgement_time_and_deadlines_move_by_the_outage_length(clock, notices):
    # given a 5-day outage (the Nov 2024 Mombasa one) and a buffer window of 8 h
    outage = OutageFactory(started_at=T0 - dt.timedelta(days=5), ended_at=T0, status="ended")
    window = MaintenanceWindowFactory(starts_at=T0 - 10 * H, ends_at=T0 - 2 * H, mode=WindowMode.BUFFER,
                                      status="completed")
    in_outage = _sub(outage, -3000)
    in_window = BufferedSubmissionFactory(window=window, received_at=T0 - 9 * H)
    lodge = FakeLodge()
    # when
    services.replay_buffered(actor=None, lodge=lodge)
    # then
    assert sorted(lodge.calls, key=lambda c: c[1]) == [
        (in_outage.id, in_outage.received_at, dt.timedelta(days=5)),
        (in_window.id, T0 - 9 * H, dt.timedelta(hours=8)),
    ]


@pytest.mark.django_db
def test_outcomes_are_stored_notified_and_reported(clock, notices):
    # given
    outage = OutageFactory(started_at=T0 - 2 * H, ended_at=T0 - H, status="ended")
    ok = _sub(outage, -100, ref="OK-1")
    bad = _sub(outage, -90, ref="BAD-1")
    refused = _sub(outage, -80, ref="DUP-1")
    clock.set(T0 + 30 * dt.timedelta(minutes=1))
    # when
    report = services.replay_buffered(actor=None, lodge=FakeLodge(reject={"BAD-1"}, refuse={"DUP-1"}))
    # then
    ok.refresh_from_db()
    bad.refresh_from_db()
    assert (ok.status, bad.status) == (SubmissionStatus.LODGED, SubmissionStatus.REJECTED)
    assert ok.result["entry_number"] == "26MBAIM000000001"
    assert bad.result["errors"] == [{"code": "unknown_bill_of_lading", "detail": "No such B/L.",
                                     "pointer": "/bill_of_lading"}]
    assert (report.lodged, report.rejected) == (1, 2)
    refused.refresh_from_db()
    assert (refused.status, refused.result["code"]) == (SubmissionStatus.REJECTED, "duplicate")
    # the rejected lodgements' own writes (raised or returned) were rolled back, the accepted one's kept
    assert _lodged_groups() == [f"lodged-{ok.id}"]
    kinds = [(c["kind"], c["payload"]["outcome"], c["payload"]["submission_id"], c["user"]) for c in notices["agent"]]
    assert kinds == [("contingency", "lodged", str(ok.id), ok.agent),
                     ("contingency", "rejected", str(bad.id), bad.agent),
                     ("contingency", "rejected", str(refused.id), refused.agent)]
    assert notices["agent"][0]["payload"]["entry_number"] == "26MBAIM000000001"
    assert notices["agent"][1]["payload"]["errors"][0]["code"] == "unknown_bill_of_lading"
    outage_report = OutageReport.objects.get(outage=outage)
    assert (outage_report.submissions, outage_report.lodged, outage_report.rejected, outage_report.pending) == (
        3, 1, 2, 0)
    assert outage_report.drained_at == T0 + 30 * dt.timedelta(minutes=1)
    assert outage_report.time_to_drain == dt.timedelta(minutes=90)
    assert outage_report.oldest_wait == dt.timedelta(minutes=130)  # received T0-100 min, done T0+30 min
    assert outage_report.replay_started_at == T0 + 30 * dt.timedelta(minutes=1)


@pytest.mark.django_db
def test_exactly_once_after_an_interrupted_run(clock, notices):
    # given five pending submissions
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    subs = [_sub(outage, m) for m in range(5)]
    # when the first run (committing every 2 rows) is killed while lodging the third
    first = FakeLodge(interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        services.replay_buffered(actor=None, lodge=first, batch_size=10, commit_every=2)
    # then: the first pair committed, the third rolled back with its lodgement, the rest still claimed
    statuses = dict(BufferedSubmission.objects.values_list("id", "status"))
    assert [statuses[s.id] for s in subs] == ["lodged", "lodged", "replaying", "replaying", "replaying"]
    assert _lodged_groups() == sorted([f"lodged-{subs[0].id}", f"lodged-{subs[1].id}"])
    # when restarted
    second = FakeLodge()
    report = services.replay_buffered(actor=None, lodge=second, batch_size=10, commit_every=2)
    # and run once more for good measure
    third = FakeLodge()
    services.replay_buffered(actor=None, lodge=third)
    # then: every submission lodged exactly once
    assert report.reclaimed == 3
    assert [c[0] for c in second.calls] == [s.id for s in subs[2:]]
    assert third.calls == []
    assert _lodged_groups() == sorted(f"lodged-{s.id}" for s in subs)
    assert set(BufferedSubmission.objects.values_list("status", flat=True)) == {"lodged"}
    assert len(notices["agent"]) == 5


@pytest.mark.django_db
def test_unexpected_error_leaves_the_submission_pending_for_the_next_run(clock, notices):
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    broken = _sub(outage, 1, ref="CRASH")
    fine = _sub(outage, 2)
    report = services.replay_buffered(actor=None, lodge=FakeLodge(crash={"CRASH"}))
    broken.refresh_from_db()
    assert (report.errored, report.lodged, report.remaining) == (1, 1, 1)
    assert (broken.status, broken.attempts, broken.last_error) == ("pending", 1, "RuntimeError: bug in lodging")
    assert _lodged_groups() == [f"lodged-{fine.id}"]
    assert [c["payload"]["submission_id"] for c in notices["agent"]] == [str(fine.id)]
    # next run (bug fixed) lodges it
    again = services.replay_buffered(actor=None, lodge=FakeLodge())
    assert (again.lodged, again.remaining) == (1, 0)


@pytest.mark.django_db
def test_a_lodging_endpoint_without_replay_handler_is_a_clear_503_and_nothing_moves(clock, monkeypatch):
    from core.exceptions import ServiceUnavailable

    # given the manifests app's handler missing (its AppConfig.ready did not register it)
    monkeypatch.delitem(replay_handlers._handlers, "manifests")
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    sub = _sub(outage, 1)  # a declaration: its own handler is there, the replay still refuses
    # when / then
    with pytest.raises(ServiceUnavailable) as exc:
        services.replay_buffered(actor=None)
    assert exc.value.code == "replay_unavailable"
    assert "manifests" in exc.value.detail
    sub.refresh_from_db()
    assert (sub.status, sub.attempts) == (SubmissionStatus.PENDING, 0)
    # and `manage.py check` names it
    assert [m.id for m in replay_handlers.check_registered()] == ["maintenance.E001"]


@pytest.mark.django_db(transaction=True)
def test_two_replayers_racing_lodge_each_submission_once(postgres, clock, notices):
    # given 40 pending submissions
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    subs = [_sub(outage, m) for m in range(40)]
    lodge = FakeLodge()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            services.replay_buffered(actor=None, lodge=lodge, batch_size=3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # then
    assert errors == []
    called = [c[0] for c in lodge.calls]
    assert sorted(called) == sorted(s.id for s in subs)
    assert len(called) == len(set(called)) == 40
    assert _lodged_groups() == sorted(f"lodged-{s.id}" for s in subs)
    assert set(BufferedSubmission.objects.values_list("status", flat=True)) == {"lodged"}


@pytest.mark.django_db
def test_real_notifications_reach_every_agent_and_the_submitter(clock, django_capture_on_commit_callbacks):
    # given two agent firms, one with the staff user who submitted during an outage
    from notifications.models import Notification
    from tests.factories.traders import AgentStaffFactory, ClearingAgentFactory

    other_firm = ClearingAgentFactory()
    staff = AgentStaffFactory()
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    submission = _sub(outage, 1, agent=staff.user)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.window_schedule(starts_at=T0 + 30 * H, ends_at=T0 + 31 * H, reason="Upgrade", actor=None)
        services.replay_buffered(actor=None, lodge=FakeLodge())
    # then
    scheduled = Notification.objects.filter(kind="maintenance", payload__event="maintenance_scheduled")
    assert sorted(scheduled.values_list("agent_id", flat=True)) == sorted([other_firm.id, staff.agent.id])
    lodged = Notification.objects.get(kind="contingency", payload__outcome="lodged")
    assert lodged.agent_id == staff.agent.id
    assert lodged.payload["submission_id"] == str(submission.id)
    assert lodged.payload["entry_number"] == "26MBAIM000000001"


@pytest.mark.django_db
def test_an_interruption_rolls_back_the_whole_uncommitted_chunk(clock, notices):
    # given
    outage = OutageFactory(started_at=T0 - H, ended_at=T0, status="ended")
    subs = [_sub(outage, m) for m in range(4)]
    # when killed at the 2nd lodgement of a 4-row chunk
    with pytest.raises(KeyboardInterrupt):
        services.replay_buffered(actor=None, lodge=FakeLodge(interrupt_at=2), commit_every=4)
    # then nothing of the chunk stays: no lodgement row, no final status
    assert _lodged_groups() == []
    assert set(BufferedSubmission.objects.values_list("status", flat=True)) == {"replaying"}
    # and the restart lodges all four once
    again = FakeLodge()
    assert services.replay_buffered(actor=None, lodge=again, commit_every=4).lodged == 4
    assert sorted(c[0] for c in again.calls) == sorted(s.id for s in subs)
    assert _lodged_groups() == sorted(f"lodged-{s.id}" for s in subs)
