"""Sandbox behaviour enters domain code through one seam (`core.policy`, installed by the sandbox
app), never as a test of the sandbox mode inside a domain app (docs/STYLE "Layers and side effects").

The apps below `sandbox` never read `FORODHA_SANDBOX` (`settings.FORODHA_SANDBOX`,
`setting("FORODHA_SANDBOX")`, `getattr(x, "FORODHA_SANDBOX")`); import-linter already keeps them from
importing `sandbox`. AST scan, so docstrings and comments that explain the mode do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

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
