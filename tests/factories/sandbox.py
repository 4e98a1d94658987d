"""Test helpers for the training sandbox: a lodged-and-arrived world for deterministic-outcome
tests (over the real reference data), and the sandbox-mode switch."""

from __future__ import annotations

from typing import Any

from declarations.models import Declaration
from tests.factories.declarations import World, body_im4, world_create


def sandbox_world() -> World:
    """An agent with a token, an importer and a discharged manifest with a roomy B/L."""
    return world_create(bl_packages=1000, bl_weight="900000.000")


def outcome_body(world: World, local_reference: str, **overrides: Any) -> dict[str, Any]:
    return body_im4(world, local_reference=local_reference, **overrides)


def lodge_pay_score_advance(world: World, local_reference: str) -> Declaration:
    """Through the real services: lodge, score, pay the e-slip, advance clearance."""
    from clearance.services import clearance_advance
    from declarations.models import ESlip
    from declarations.services import declaration_lodge, declaration_pay
    from risk.services import risk_assessment_create

    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=outcome_body(world, local_reference),
                                    actor=world.user)
    risk_assessment_create(declaration_id=declaration.pk)
    eslip = ESlip.objects.get(declaration=declaration, is_current=True)
    declaration_pay(declaration_id=declaration.pk, agent=world.agent, amount=eslip.amount, currency="KES",
                    method="mpesa", actor=world.user)
    clearance_advance(declaration_id=declaration.pk)
    declaration.refresh_from_db()
    return declaration
