"""The apps stand in layers (README "Architecture"), checked by import-linter's contracts in
pyproject.toml, which also see imports inside functions."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def _lint(config: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [LINT_IMPORTS, "--no-cache", *([str(config)] if config else [])]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_the_layers_and_core_contracts_are_kept() -> None:
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_every_project_app_is_in_a_layer() -> None:
    layers = _contracts()["layers"]["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    project_apps = {config.name.split(".")[0] for config in apps.get_app_configs()
                    if (ROOT / config.name.split(".")[0]).is_dir()}
    assert project_apps - named == set()
    assert named - project_apps == {"config"}


def test_every_ignored_import_gives_its_reason() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    lines = text.splitlines()
    if "ignore_imports = [" not in lines:  # no exception at all (since the webhooks move)
        assert "ignore_imports" not in text
        return
    start = lines.index("ignore_imports = [")
    end = lines.index("]", start)
    for number in range(start + 1, end):
        if lines[number].strip().startswith('"'):
            assert lines[number - 1].strip().startswith("#"), f"no reason given above {lines[number].strip()}"


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    # given: the same contract with declarations put above transit and risk, which import it
    contract = _contracts()["layers"]
    layers = list(contract["layers"])
    upper, lower = layers.index("transit | risk"), layers.index("declarations")
    layers[upper], layers[lower] = layers[lower], layers[upper]
    roots = "\n".join(f"    {name}" for name in _root_packages())
    config = tmp_path / "swapped.ini"
    config.write_text("[importlinter]\nroot_packages =\n" + roots + "\n\n[importlinter:contract:swapped]\n"
                      "name = swapped\ntype = layers\nlayers =\n" + "\n".join(f"    {x}" for x in layers) + "\n")
    # when
    result = _lint(config)
    # then: the tool sees the (now upward) imports and fails
    assert result.returncode == 1
    assert "risk is not allowed to import declarations" in result.stdout or \
        "transit is not allowed to import declarations" in result.stdout


def _root_packages() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
