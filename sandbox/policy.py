"""The sandbox's domain policy (`core.policy`): deterministic outcomes chosen by the first letter
of a local reference (`sandbox.outcomes`), the clock trainers move (`sandbox.clock`), the simulated
single window (IDFs) and partner states (transit).

Installed only in sandbox mode: `policy_install` puts `SandboxPolicy` in place when
`FORODHA_SANDBOX` is on and the neutral `core.policy.NEUTRAL` otherwise; `SandboxConfig.ready` calls
it at start-up and connects `mode_changed` to Django's `setting_changed`, so switching the setting
(`override_settings`, pytest's `settings` fixture) switches the policy. The hooks therefore never
re-check the mode: outside sandbox mode no hook here runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from core import policy as core_policy
from core.exceptions import ErrorItem
from core.policy import Policy

from . import clock, outcomes

MODE = "FORODHA_SANDBOX"


class SandboxPolicy(Policy):
    """Sandbox mode's policy (installed only in that mode, see the module docstring)."""

    def lodging_errors(self, body: Any) -> list[ErrorItem]:
        return outcomes.lodging_errors(body)

    def score_override(self, *, local_reference: Any, result: Any) -> Any:
        return outcomes.score_override(local_reference=local_reference, result=result)

    def after_documentary_control(self, *, declaration: Any, actor: Any) -> None:
        outcomes.auto_query(declaration=declaration, actor=actor)

    def clock_offset(self) -> dt.timedelta:
        return clock.offset()

    def single_window_simulated(self) -> bool:
        return True

    def partner_states_simulated(self) -> bool:
        return True


def policy_for_mode() -> Policy:
    """`SandboxPolicy` in sandbox mode, the neutral default otherwise."""
    return SandboxPolicy() if getattr(settings, MODE) else core_policy.NEUTRAL


def policy_install() -> None:
    """Install the policy of the current mode as the domain policy."""
    core_policy.install(policy_for_mode())


def mode_changed(*, setting: str, **kwargs: Any) -> None:
    """`setting_changed` receiver: the mode switched (the new value is already in settings, on
    entering an override and on leaving it), so the policy follows."""
    if setting == MODE:
        policy_install()
