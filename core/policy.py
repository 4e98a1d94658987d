"""The one seam through which a deployment mode changes domain behaviour.

Domain services never ask "am I a training sandbox?": they ask the installed policy. Outside
sandbox mode the installed policy is `NEUTRAL`, a plain `Policy` (every hook neutral), so
production runs no sandbox code at all. In sandbox mode (`FORODHA_SANDBOX`) the sandbox app
installs `sandbox.policy.SandboxPolicy` instead (`SandboxConfig.ready`, and again whenever Django
announces a change of `FORODHA_SANDBOX`, as `override_settings` and pytest's `settings` fixture
do): the local reference's first letter chooses the lane, the query and the refusal at
validation; the clock moved by trainers (`core.clock.now()` adds `clock_offset()`); the simulated
single window that raises IDFs; the simulated partner states that answer transit messages. Its
hooks do not re-check the mode: being installed is the check.
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


# The default: installed until (and unless) a deployment mode installs its own.
NEUTRAL: Policy = Policy()
_installed: Policy = NEUTRAL


def install(policy: Policy) -> None:
    """Make `policy` the one `current()` answers (the sandbox app: `sandbox.policy.policy_install`)."""
    global _installed
    _installed = policy


def current() -> Policy:
    return _installed
