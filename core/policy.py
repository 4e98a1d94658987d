"""The one seam through which a deployment mode changes domain behaviour.

Domain services never ask "am I a training sandbox?": they ask the installed policy. Production
runs `Policy` (every hook neutral); the sandbox app installs its own in `SandboxConfig.ready`
(`sandbox.policy.SandboxPolicy`: the local reference's first letter chooses the lane, the query
and the refusal at validation, and only while `FORODHA_SANDBOX` is on). The sandbox clock offset
is read by `core.clock` itself (below every app), not through this seam.
"""

from __future__ import annotations

from typing import Any

from .exceptions import ErrorItem


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


_installed: Policy = Policy()


def install(policy: Policy) -> None:
    global _installed
    _installed = policy


def current() -> Policy:
    return _installed
