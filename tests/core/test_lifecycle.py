"""Every status lifecycle's transition table and its one guard, `transition_check`.

For each table: the exact moves allowed (so a change to a lifecycle is a visible change here), and
a refused move raising the lifecycle's 409 problem with the move and the allowed targets.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from clearance.lifecycle import OFFICER_TASK
from core.exceptions import Conflict
from core.lifecycle import Lifecycle
from declarations import lifecycle as declarations_lifecycle
from intake.lifecycle import SUBMISSION
from maintenance.services import OUTAGE, WINDOW
from manifests import lifecycle as manifests_lifecycle
from notifications.webhooks.lifecycle import SUBSCRIPTION
from tests.factories.traders import TraderFactory
from traders.models import Trader
from traders.services import AEO
from transit import lifecycle as transit_lifecycle


def _table(lifecycle: Lifecycle) -> dict[str, list[str]]:
    return {status: sorted(targets) for status, targets in lifecycle.transitions.items()}


@pytest.mark.parametrize(("lifecycle", "expected"), [
    (declarations_lifecycle.AMENDMENT, {"pending": ["accepted", "rejected"], "accepted": [], "rejected": []}),
    (manifests_lifecycle.BILL, {"open": ["settled"], "settled": []}),
    (manifests_lifecycle.WRITE_OFF, {"reserved": ["released", "settled"], "settled": [], "released": []}),
    (OFFICER_TASK, {"open": ["assigned", "done"], "assigned": ["assigned", "done"], "done": []}),
    (transit_lifecycle.ALERT, {"open": ["acknowledged", "investigating", "resolved"],
                               "acknowledged": ["investigating", "resolved"], "investigating": ["resolved"],
                               "resolved": []}),
    (transit_lifecycle.PARTNER_MESSAGE, {"pending": ["delivered", "failed"], "delivered": [], "failed": [],
                                         "accepted": []}),
    (AEO, {"active": ["revoked", "suspended"], "suspended": ["active", "revoked"], "revoked": []}),
    (manifests_lifecycle.MANIFEST, {"draft": ["lodged"], "lodged": ["arrived"], "arrived": ["closed", "discharged"],
                                    "discharged": ["closed"], "closed": []}),
    (WINDOW, {"scheduled": ["active", "cancelled", "completed"], "active": ["cancelled", "completed"],
              "completed": [], "cancelled": []}),
    (OUTAGE, {"active": ["ended"], "ended": []}),
    (SUBMISSION, {"pending": ["replaying"], "replaying": ["lodged", "pending", "rejected"], "lodged": [],
                  "rejected": []}),
    (SUBSCRIPTION, {"active": ["suspended"], "suspended": ["active"]}),
])
def test_each_table_is_exactly_the_documented_one(lifecycle: Lifecycle, expected: dict[str, list[str]]) -> None:
    assert _table(lifecycle) == expected


@pytest.mark.parametrize(("lifecycle", "from_status", "to_status", "code", "detail", "allowed"), [
    (declarations_lifecycle.AMENDMENT, "accepted", "rejected", "amendment_already_decided",
     "An amendment request cannot go from 'accepted' to 'rejected'.", []),
    (manifests_lifecycle.BILL, "settled", "open", "illegal_transition",
     "A bill of lading cannot go from 'settled' to 'open'.", []),
    (manifests_lifecycle.WRITE_OFF, "settled", "released", "illegal_transition",
     "A write-off cannot go from 'settled' to 'released'.", []),
    (manifests_lifecycle.WRITE_OFF, "released", "settled", "illegal_transition",
     "A write-off cannot go from 'released' to 'settled'.", []),
    (OFFICER_TASK, "done", "assigned", "task_done", "An officer task cannot go from 'done' to 'assigned'.", []),
    (OFFICER_TASK, "open", "open", "task_done", "An officer task cannot go from 'open' to 'open'.",
     ["assigned", "done"]),
    (transit_lifecycle.ALERT, "investigating", "acknowledged", "illegal_alert_transition",
     "A transit alert cannot go from 'investigating' to 'acknowledged'.", ["resolved"]),
    (transit_lifecycle.PARTNER_MESSAGE, "failed", "delivered", "illegal_transition",
     "A partner message cannot go from 'failed' to 'delivered'.", []),
    (transit_lifecycle.PARTNER_MESSAGE, "accepted", "pending", "illegal_transition",
     "A partner message cannot go from 'accepted' to 'pending'.", []),
    (AEO, "revoked", "active", "aeo_illegal_transition", "An AEO profile cannot go from 'revoked' to 'active'.", []),
    (manifests_lifecycle.MANIFEST, "lodged", "discharged", "illegal_transition",
     "A manifest cannot go from 'lodged' to 'discharged'.", ["arrived"]),
    (WINDOW, "completed", "active", "illegal_transition", "A maintenance window cannot go from 'completed' to "
     "'active'.", []),
    (OUTAGE, "ended", "ended", "illegal_transition", "An outage cannot go from 'ended' to 'ended'.", []),
    (SUBMISSION, "pending", "lodged", "illegal_transition",
     "A buffered submission cannot go from 'pending' to 'lodged'.", ["replaying"]),
    (SUBMISSION, "rejected", "pending", "illegal_transition",
     "A buffered submission cannot go from 'rejected' to 'pending'.", []),
    (SUBSCRIPTION, "active", "active", "webhook_not_suspended",
     "A webhook subscription cannot go from 'active' to 'active'.", ["suspended"]),
])
def test_the_guard_refuses_a_move_outside_the_table(
    lifecycle: Lifecycle, from_status: str, to_status: str, code: str, detail: str, allowed: list[str],
) -> None:
    # given / when
    assert lifecycle.transition_allowed(from_status, to_status) is False
    with pytest.raises(Conflict) as refused:
        lifecycle.transition_check(from_status, to_status)

    # then
    problem = refused.value
    assert (problem.status, problem.code, problem.detail) == (409, code, detail)
    assert problem.extra == {"from": from_status, "to": to_status, "allowed": allowed}
    assert [(e.code, e.pointer) for e in problem.errors] == [(code, "/status")]


@pytest.mark.parametrize("lifecycle", [
    declarations_lifecycle.AMENDMENT, manifests_lifecycle.BILL, manifests_lifecycle.WRITE_OFF, OFFICER_TASK,
    transit_lifecycle.ALERT, transit_lifecycle.PARTNER_MESSAGE, AEO, manifests_lifecycle.MANIFEST,
    transit_lifecycle.MOVEMENT, WINDOW, OUTAGE, SUBMISSION, SUBSCRIPTION,
])
def test_the_guard_lets_every_move_of_the_table_through(lifecycle: Lifecycle) -> None:
    for from_status, targets in lifecycle.transitions.items():
        for to_status in targets:
            assert lifecycle.transition_allowed(from_status, to_status) is True
            lifecycle.transition_check(from_status, to_status)  # no exception


def test_an_unknown_status_has_no_way_out() -> None:
    with pytest.raises(Conflict) as refused:
        manifests_lifecycle.BILL.transition_check("lost", "settled")
    assert refused.value.extra == {"from": "lost", "to": "settled", "allowed": []}


def test_the_declaration_guard_adds_the_no_payment_moves_only_without_a_payment_step() -> None:
    # given: assessed -> released skips payment: for a declaration with nothing to pay (IM8 secured
    # by bond, or assessed at KES 0.00), not for one with duty to pay
    # when / then
    declarations_lifecycle.transition_check("assessed", "released", no_payment_step=True)
    with pytest.raises(Conflict) as refused:
        declarations_lifecycle.transition_check("assessed", "released")
    assert refused.value.code == "illegal_transition"
    assert refused.value.detail == "A declaration cannot go from 'assessed' to 'released'."
    assert refused.value.extra == {"from": "assessed", "to": "released",
                                   "allowed": ["cancelled", "paid", "queried", "rejected"]}
    with pytest.raises(Conflict) as refused_no_payment:
        declarations_lifecycle.transition_check("assessed", "exited", no_payment_step=True)
    assert refused_no_payment.value.extra["allowed"] == ["cancelled", "paid", "queried", "rejected", "released",
                                                         "under_control"]


def test_nothing_to_pay_is_a_secured_transit_or_a_zero_total() -> None:
    assert declarations_lifecycle.nothing_to_pay(regime="IM8", total=Decimal("125000.00")) is True
    assert declarations_lifecycle.nothing_to_pay(regime="EX1", total=Decimal("0.00")) is True
    assert declarations_lifecycle.nothing_to_pay(regime="IM4", total=Decimal("0.01")) is False
    assert declarations_lifecycle.lifecycle_for(no_payment_step=True) is declarations_lifecycle.NO_PAYMENT_DECLARATION
    assert declarations_lifecycle.lifecycle_for(no_payment_step=False) is declarations_lifecycle.DECLARATION


def test_terminal_statuses_are_those_without_a_way_out() -> None:
    assert manifests_lifecycle.WRITE_OFF.terminal == {"settled", "released"}
    assert OFFICER_TASK.terminal == {"done"}
    assert declarations_lifecycle.DECLARATION.terminal == declarations_lifecycle.TERMINAL


@pytest.mark.parametrize("value", ["im8", "IM4", "", None])
def test_only_im8_is_a_secured_transit(value: str | None) -> None:
    assert declarations_lifecycle.is_secured_transit(value) is False
    assert declarations_lifecycle.is_secured_transit("IM8") is True


TRADER = Lifecycle("a trader", {Trader.Status.ACTIVE: {Trader.Status.SUSPENDED}, Trader.Status.SUSPENDED: ()})


@pytest.mark.django_db
def test_update_moves_only_the_rows_still_in_the_from_status() -> None:
    # given: one active and one suspended trader
    active, suspended = TraderFactory(status="active"), TraderFactory(status="suspended")

    # when: compare-and-set active -> suspended over both
    moved = TRADER.update(Trader.objects.filter(pk__in=[active.pk, suspended.pk]), Trader.Status.ACTIVE,
                          Trader.Status.SUSPENDED, watch_reason="audit")

    # then
    assert moved == 1
    active.refresh_from_db()
    suspended.refresh_from_db()
    assert (active.status, active.watch_reason) == ("suspended", "audit")
    assert (suspended.status, suspended.watch_reason) == ("suspended", "")


@pytest.mark.django_db
def test_update_refuses_a_move_outside_the_table_before_writing() -> None:
    # given
    trader = TraderFactory(status="suspended")

    # when
    with pytest.raises(Conflict) as refused:
        TRADER.update(Trader.objects.filter(pk=trader.pk), [Trader.Status.ACTIVE, Trader.Status.SUSPENDED],
                      Trader.Status.ACTIVE)

    # then: nothing written (active -> active is not in the table either)
    assert refused.value.extra["from"] == "active"
    trader.refresh_from_db()
    assert trader.status == "suspended"
