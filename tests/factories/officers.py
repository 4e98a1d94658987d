"""Officers (users in the officer groups, assigned to an office) and declarations waiting in the
officers' queues, put there by the real clearance service (scored + paid -> under control)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from clearance.models import OfficerTask
from core import clock
from declarations.models import Declaration
from officers.groups import groups_sync
from officers.models import OfficerProfile
from risk.models import RiskAssessment
from tests.factories.reference import CustomsOfficeFactory
from tests.factories.risk import declaration_make

_n = itertools.count(1)
PASSWORD = "Correct-Horse-Battery-9"

LANE_SCORES = {"green": 5, "blue": 35, "yellow": 60, "red": 90}


def officer_create(group: str = "officer", *, office: str = "MBA", username: str | None = None,
                   with_profile: bool = True) -> Any:
    """An active staff user in `group` (groups synced first), assigned to `office`."""
    if not Group.objects.filter(name=group).exists():
        groups_sync(create_missing_permissions=True)
    user = get_user_model().objects.create_user(
        username=username or f"{group.replace(' ', '_')}{next(_n)}", password=PASSWORD, is_staff=True,
    )
    user.groups.add(Group.objects.get(name=group))
    if with_profile:
        OfficerProfile.objects.create(user=user, office=CustomsOfficeFactory(code=office))
    return user


def declaration_in_queue(lane: str = "yellow", *, office: str = "MBA", hits: list[dict[str, Any]] | None = None,
                         age: dt.timedelta | None = None, **fields: Any) -> Declaration:
    """A paid declaration scored `lane`, advanced by `clearance_advance`: yellow/red end up
    under control with a live officer task (documentary check / inspection)."""
    from clearance.services import clearance_advance

    declaration = declaration_make(status="paid", channel=lane, **fields)
    if office != "MBA":
        Declaration.objects.filter(pk=declaration.pk).update(office=CustomsOfficeFactory(code=office))
    RiskAssessment.objects.create(
        declaration=declaration, score=LANE_SCORES[lane], lane=lane,
        hits=hits if hits is not None else [
            {"rule_id": 1, "kind": "hs_match", "weight": LANE_SCORES[lane], "forced_lane": None,
             "reason": f"hs match: item 1 HS 8703.22.90 matches 8703 ({lane})"},
        ],
        rules_version="test-rules-0001", scored_at=clock.now(),
    )
    clearance_advance(declaration_id=declaration.pk)
    if age is not None:
        OfficerTask.objects.filter(declaration=declaration).update(created_at=clock.now() - age)
    declaration.refresh_from_db()
    return declaration


def live_task(declaration: Declaration) -> OfficerTask:
    return OfficerTask.objects.get(declaration=declaration, status__in=["open", "assigned"])


def lodged_under_control(lane: str = "yellow") -> tuple[Declaration, Any]:
    """A declaration through the REAL lodging, scoring, payment and clearance services (tariff
    world from tests.factories.declarations): under control in `lane`, with its assessment,
    e-slip, payment, lodged version and events. Returns (declaration, world)."""
    from clearance import tasks as clearance_tasks
    from declarations.models import ESlip
    from declarations.services import declaration_lodge, declaration_pay
    from risk import tasks as risk_tasks
    from tests.factories.declarations import body_im4, world_create
    from tests.factories.risk import RiskRuleFactory

    world = world_create()
    RiskRuleFactory(code=f"officers-{lane}-{next(_n)}", kind="hs_match", hs_prefixes="8703",
                    weight=LANE_SCORES[lane])
    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world), actor=world.user)
    risk_tasks.score_declaration(str(declaration.pk))
    eslip = ESlip.objects.get(declaration=declaration, is_current=True)
    declaration_pay(declaration_id=declaration.pk, agent=world.agent, amount=eslip.amount, currency=eslip.currency,
                    method="mpesa", actor=world.user)
    clearance_tasks.advance_clearance(str(declaration.pk))
    declaration.refresh_from_db()
    return declaration, world
