"""The sandbox's domain policy (`core.policy`): deterministic outcomes chosen by the first letter
of a local reference (`sandbox.outcomes`). Installed by `SandboxConfig.ready`; every hook is
neutral while `FORODHA_SANDBOX` is off (the letter is only read in sandbox mode)."""

from __future__ import annotations

from typing import Any

from core.exceptions import ErrorItem
from core.policy import Policy

from . import outcomes


class SandboxPolicy(Policy):
    def lodging_errors(self, body: Any) -> list[ErrorItem]:
        return outcomes.lodging_errors(body)

    def score_override(self, *, local_reference: Any, result: Any) -> Any:
        return outcomes.score_override(local_reference=local_reference, result=result)

    def after_documentary_control(self, *, declaration: Any, actor: Any) -> None:
        outcomes.auto_query(declaration=declaration, actor=actor)
