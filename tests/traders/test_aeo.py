from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from core.exceptions import Conflict, ValidationFailed
from tests.factories.traders import AEOProfileFactory, TraderFactory
from traders.models import AEOProfile, AEOProfileChange, Trader
from traders.selectors import aeo_in_force
from traders.services import (
    aeo_profile_change,
    aeo_profile_grant,
    trader_record_declaration,
    trader_record_offence,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user("supervisor", is_staff=True)


def test_grant_records_history(officer) -> None:  # type: ignore[no-untyped-def]
    trader = TraderFactory()
    profile = aeo_profile_grant(
        trader=trader,
        tier="national",
        valid_from=dt.date(2025, 1, 1),
        actor=officer,
        reason="audit passed",
        priority=False,
    )
    assert (profile.status, profile.priority, profile.automatic_release) == ("active", False, True)
    (change,) = AEOProfileChange.objects.filter(profile=profile)
    assert (change.actor, change.from_status, change.to_status, change.reason) == (
        officer,
        "",
        "active",
        "audit passed",
    )
    with pytest.raises(Conflict):
        aeo_profile_grant(trader=trader, valid_from=dt.date(2025, 1, 1), actor=officer)
    assert AEOProfile.objects.filter(trader=trader).count() == 1


def test_suspend_reinstate_and_revoke(officer) -> None:  # type: ignore[no-untyped-def]
    profile = AEOProfileFactory()
    aeo_profile_change(profile_id=profile.pk, status="suspended", actor=officer, reason="offence under review")
    aeo_profile_change(profile_id=profile.pk, status="active", actor=officer, reason="cleared")
    aeo_profile_change(profile_id=profile.pk, status="revoked", actor=officer, reason="fraud")
    history = list(AEOProfileChange.objects.filter(profile=profile).values_list("from_status", "to_status", "reason"))
    assert history == [
        ("active", "suspended", "offence under review"),
        ("suspended", "active", "cleared"),
        ("active", "revoked", "fraud"),
    ]
    # revocation is final: nothing changes, no history row
    with pytest.raises(Conflict) as exc:
        aeo_profile_change(profile_id=profile.pk, status="active", actor=officer)
    assert exc.value.code == "aeo_illegal_transition"
    profile.refresh_from_db()
    assert profile.status == "revoked"
    assert AEOProfileChange.objects.filter(profile=profile).count() == 3


def test_benefit_change_records_the_diff(officer) -> None:  # type: ignore[no-untyped-def]
    profile = AEOProfileFactory()
    aeo_profile_change(profile_id=profile.pk, actor=officer, reason="review", automatic_release=False)
    (change,) = AEOProfileChange.objects.filter(profile=profile)
    assert (change.from_status, change.to_status) == ("active", "active")
    assert change.payload == {"changed": {"automatic_release": ["True", "False"]}}
    # no-op change writes nothing
    aeo_profile_change(profile_id=profile.pk, actor=officer, automatic_release=False)
    assert AEOProfileChange.objects.filter(profile=profile).count() == 1


def test_unknown_fields_and_statuses_are_rejected() -> None:
    profile = AEOProfileFactory()
    with pytest.raises(ValidationFailed):
        aeo_profile_change(profile_id=profile.pk, on_watch_list=True)
    with pytest.raises(ValidationFailed):
        aeo_profile_change(profile_id=profile.pk, status="dormant")
    assert not AEOProfileChange.objects.filter(profile=profile).exists()


def test_aeo_effective_needs_active_status_and_validity() -> None:
    profile = AEOProfileFactory(valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2025, 12, 31))
    assert aeo_in_force(profile, dt.date(2025, 6, 1)) is True
    assert aeo_in_force(profile, dt.date(2026, 1, 1)) is False
    profile.status = AEOProfile.Status.SUSPENDED
    assert aeo_in_force(profile, dt.date(2025, 6, 1)) is False
    assert aeo_in_force(None, dt.date(2025, 6, 1)) is False


def test_compliance_counters() -> None:
    trader = TraderFactory()
    first = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    trader_record_declaration(trader_id=trader.pk, at=first)
    trader_record_declaration(trader_id=trader.pk, at=first + dt.timedelta(days=1))
    trader_record_offence(trader_id=trader.pk)
    t = Trader.objects.get(pk=trader.pk)
    assert (t.declarations_count, t.offences_count, t.first_declared_at) == (2, 1, first)
