"""Sandbox behaviour enters domain code through one seam (`core.policy`, installed by the sandbox
app), never as a test of the sandbox mode inside a domain app (docs/STYLE "Layers and side effects").

The seam holds `SandboxPolicy` only in sandbox mode and the neutral `Policy` otherwise, and follows
the setting when it changes; outside sandbox mode no sandbox effect happens.

The apps below `sandbox` never read `FORODHA_SANDBOX` (`settings.FORODHA_SANDBOX`,
`setting("FORODHA_SANDBOX")`, `getattr(x, "FORODHA_SANDBOX")`); import-linter already keeps them from
importing `sandbox`. AST scan, so docstrings and comments that explain the mode do not count.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.test import override_settings

from core import clock, policy
from core.policy import Policy
from risk.scoring import Lane, ScoreResult
from sandbox import clock as sandbox_clock
from sandbox.policy import SandboxPolicy

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_APPS = ("core", "reference", "traders", "tariff", "intake", "notifications", "maintenance", "manifests",
               "declarations", "risk", "clearance", "transit", "officers")
MODE = "FORODHA_SANDBOX"
# Reads that are not a behaviour switch, with the reason.
ALLOWED = {
    # The deployment check on secrets (`manage.py check`, forodha.E001-E008): which settings may run on
    # the development defaults is a property of the configuration it is given, like production.py
    # refusing the mode; no domain behaviour depends on it.
    "core/secrets.py",
}


def mode_reads(source: str) -> list[int]:
    """Lines of `source` that read the sandbox mode."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == MODE:
            lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            lines.extend(arg.lineno for arg in node.args if isinstance(arg, ast.Constant) and arg.value == MODE)
    return sorted(lines)


def test_the_scan_sees_a_mode_switch() -> None:
    # given: the two spellings domain code used before the seam, and a docstring naming the mode
    source = ('"""Only with FORODHA_SANDBOX."""\nif not settings.FORODHA_SANDBOX:\n    pass\n'
              'if setting("FORODHA_SANDBOX"):\n    pass\n')

    # when / then
    assert mode_reads(source) == [2, 4]


def test_no_domain_app_switches_on_the_sandbox_mode() -> None:
    # given / when
    found = [f"{path.relative_to(ROOT)}:{line}" for app in DOMAIN_APPS for path in sorted((ROOT / app).rglob("*.py"))
             if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in ALLOWED
             for line in mode_reads(path.read_text())]

    # then
    assert found == [], "Ask core.policy instead of reading FORODHA_SANDBOX:\n" + "\n".join(found)


def test_outside_sandbox_mode_the_neutral_policy_is_installed(settings) -> None:
    # given / when
    settings.FORODHA_SANDBOX = False

    # then: the plain Policy, exactly (not a subclass that checks the mode)
    assert type(policy.current()) is Policy
    assert policy.current() is policy.NEUTRAL


def test_sandbox_mode_installs_the_sandbox_policy_and_switching_the_setting_follows(settings) -> None:
    # given / when: sandbox mode on
    settings.FORODHA_SANDBOX = True
    # then
    assert type(policy.current()) is SandboxPolicy

    # when switched off, then back on through override_settings, then the override ends
    settings.FORODHA_SANDBOX = False
    assert type(policy.current()) is Policy
    with override_settings(FORODHA_SANDBOX=True):
        assert type(policy.current()) is SandboxPolicy
    assert type(policy.current()) is Policy


@pytest.mark.django_db
def test_sandbox_effects_happen_only_in_sandbox_mode(settings) -> None:
    # given: a green score for a reference whose first letter asks for the red lane, and the
    # trainers' clock moved by two days (stored, shared through the cache)
    scored = ScoreResult(score=0, lane=Lane.GREEN, hits=())
    settings.FORODHA_SANDBOX = True
    sandbox_clock.set_offset(dt.timedelta(days=2).total_seconds())
    try:
        # when / then: in sandbox mode the letter forces the lane, the clock is moved, the single
        # window and the partner states are simulated
        forced = policy.current().score_override(local_reference="RAGT-1", result=scored)
        assert (forced.lane, [h.kind for h in forced.hits]) == (Lane.RED, ["sandbox"])
        assert clock.offset() == dt.timedelta(days=2)
        assert (policy.current().single_window_simulated(), policy.current().partner_states_simulated()) == (
            True, True)

        # when / then: outside sandbox mode none of it, though the offset is still stored
        settings.FORODHA_SANDBOX = False
        assert policy.current().score_override(local_reference="RAGT-1", result=scored) is scored
        assert policy.current().lodging_errors({"local_reference": "XAGT-1"}) == []
        assert clock.offset() == dt.timedelta(0)
        assert (policy.current().single_window_simulated(), policy.current().partner_states_simulated()) == (
            False, False)
    finally:
        sandbox_clock.set_offset(0.0)
