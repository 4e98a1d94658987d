"""The sandbox's domain policy (`core.policy`): deterministic outcomes chosen by the first letter
of a local reference (`sandbox.outcomes`), the clock trainers move (`sandbox.clock`), the simulated
single window (IDFs) and partner states (transit). Installed by `SandboxConfig.ready`; every hook is
neutral while `FORODHA_SANDBOX` is off (the letter and the clock offset are only read in sandbox
mode)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.exceptions import ErrorItem
from core.policy import Policy
from core.settings_cache import setting

from . import clock, outcomes


class SandboxPolicy(Policy):
    def lodging_errors(self, body: Any) -> list[ErrorItem]:
        return outcomes.lodging_errors(body)

    def score_override(self, *, local_reference: Any, result: Any) -> Any:
        return outcomes.score_override(local_reference=local_reference, result=result)

    def after_documentary_control(self, *, declaration: Any, actor: Any) -> None:
        outcomes.auto_query(declaration=declaration, actor=actor)

    def clock_offset(self) -> dt.timedelta:
        return clock.offset()

    def single_window_simulated(self) -> bool:
        return bool(setting("FORODHA_SANDBOX"))

    def partner_states_simulated(self) -> bool:
        return bool(setting("FORODHA_SANDBOX"))
