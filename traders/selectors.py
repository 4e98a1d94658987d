"""Reads of parties. Agent isolation lives here: an agent sees a trader only through a valid
authorisation, and anything else is reported as "not found" (never "forbidden", which would
confirm that the PIN exists)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from core import clock
from core.exceptions import NotFound
from traders.models import AEOProfile, AgentAuthorisation, AgentStaff, ClearingAgent, Trader
from traders.validators import is_valid_kra_pin


def agent_for_user(user: object) -> ClearingAgent | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    # Token authentication (core.authentication) already joined the staff row and its agent.
    descriptor = getattr(type(user), "agent_staff", None)
    if descriptor is not None and descriptor.is_cached(user):
        cached = descriptor.related.get_cached_value(user)
        return cached.agent if cached is not None else None
    try:
        staff = AgentStaff.objects.select_related("agent").get(user_id=user.pk)  # type: ignore[attr-defined]
    except AgentStaff.DoesNotExist:
        return None
    return staff.agent


def _authorisations_on(on: dt.date) -> Q:
    return Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))


def aeo_in_force(profile: AEOProfile | None, on: dt.date) -> bool:
    """An AEO's benefits apply on `on`: the profile is active and `on` is within its validity
    (suspended or revoked profiles, and those not yet or no longer valid, give none)."""
    if profile is None or profile.status != AEOProfile.Status.ACTIVE:
        return False
    return profile.valid_from <= on and (profile.valid_to is None or on <= profile.valid_to)


def aeo_in_force_q(on: dt.date) -> Q:
    """`aeo_in_force` as a filter of AEO profiles."""
    return (Q(status=AEOProfile.Status.ACTIVE, valid_from__lte=on)
            & (Q(valid_to__isnull=True) | Q(valid_to__gte=on)))


def agent_authorised_for(*, agent: ClearingAgent, pin: str, on: dt.date) -> bool:
    if not is_valid_kra_pin(pin):
        return False
    return AgentAuthorisation.objects.filter(_authorisations_on(on), agent=agent, trader__pin=pin).exists()


def trader_get_for_agent(*, agent: ClearingAgent, pin: str, on: dt.date | None = None) -> Trader:
    """The trader with `pin` if `agent` is authorised for it on `on` (default: today), else NotFound."""
    day = on or clock.today()
    if is_valid_kra_pin(pin):
        trader = (
            Trader.objects.select_related("aeo")
            .filter(
                pin=pin,
                authorisations__in=AgentAuthorisation.objects.filter(_authorisations_on(day), agent=agent),
            )
            .distinct()
            .first()
        )
        if trader is not None:
            return trader
    raise NotFound(
        detail=f"No trader with PIN {pin!r} that this agent is authorised to act for.",
        code="trader_not_found",
    )


def traders_for_agent(*, agent: ClearingAgent, pins: set[str], on: dt.date) -> dict[str, Trader]:
    """`trader_get_for_agent` for many PINs in one query: the traders among `pins` this agent is
    authorised for on `on`, by PIN (the contingency replay prefetches a chunk's)."""
    valid = {pin for pin in pins if isinstance(pin, str) and is_valid_kra_pin(pin)}
    if not valid:
        return {}
    return {trader.pin: trader for trader in (
        Trader.objects.select_related("aeo")
        .filter(pin__in=valid,
                authorisations__in=AgentAuthorisation.objects.filter(_authorisations_on(on), agent=agent))
        .distinct())}


def trader_get(pin: str) -> Trader | None:
    if not is_valid_kra_pin(pin):
        return None
    return Trader.objects.select_related("aeo").filter(pin=pin).first()


def agent_licence_valid(agent: ClearingAgent, on: dt.date) -> bool:
    return agent.licence_valid_from <= on <= agent.licence_valid_to


def agent_traders(*, agent: ClearingAgent, on: dt.date) -> list[Trader]:
    return list(
        Trader.objects.filter(
            authorisations__in=AgentAuthorisation.objects.filter(_authorisations_on(on), agent=agent)
        ).distinct()
    )
