"""The one seam through which a deployment mode changes domain behaviour.

Domain services never ask "am I a training sandbox?": they ask the installed policy. Production
runs `Policy` (every hook neutral); the sandbox app installs its own in `SandboxConfig.ready`
(`sandbox.policy.SandboxPolicy`, neutral too while `FORODHA_SANDBOX` is off): the local
reference's first letter chooses the lane, the query and the refusal at validation; the clock
moved by trainers (`core.clock.now()` adds `clock_offset()`); the simulated single window that
raises IDFs; the simulated partner states that answer transit messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .exceptions import ErrorItem

_ZERO = dt.timedelta(0)


class Policy:
    """Production behaviour: no hook changes anything."""

    def lodging_errors(self, body: Any) -> list[ErrorItem]:
        """Extra refusals of a lodging body (`declaration_prepare`), with pointers into it."""
        return []

    def score_override(self, *, local_reference: Any, result: Any) -> Any:
        """The risk scoring result to store instead of `result` (a `risk.scoring.ScoreResult`)."""
        return result

    def after_documentary_control(self, *, declaration: Any, actor: Any) -> None:
        """Called once a declaration went under control for a documentary check (yellow lane)."""

    def clock_offset(self) -> dt.timedelta:
        """How far `core.clock.now()` is moved from the real (or test-pinned) time. Called on every
        request: keep it cheap."""
        return _ZERO

    def single_window_simulated(self) -> bool:
        """Whether agents raise IDFs on Forodha's simulation of the single window (`POST /api/v1/idfs`)
        rather than on the real one."""
        return False

    def partner_states_simulated(self) -> bool:
        """Whether a partner state without an endpoint is answered by the transit simulator (besides
        transit's own `TRANSIT_PARTNER_SIMULATOR` switch)."""
        return False


_installed: Policy = Policy()


def install(policy: Policy) -> None:
    global _installed
    _installed = policy


def current() -> Policy:
    return _installed
