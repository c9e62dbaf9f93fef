"""ruff and mypy are part of the test command (issue 13, item 8).

Their configuration is in pyproject.toml ([tool.ruff]: pycodestyle, pyflakes, bugbear, unused arguments,
complexity ≤ 12, import order, py311 syntax; [tool.mypy]: strict on dvhpc.model and dvhpc.report, checked
elsewhere). `pip install -e '.[test]'` (tests/run-all.sh) brings both at the pinned versions; where one is
missing its test skips and says so.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib

import pytest

from conftest import REPO

LINTED = ["compiler", "tests", "tools", "bench"]


def _run_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]' brings the pinned version)")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_ruff_finds_nothing():
    proc = _run_module("ruff", "check", "--output-format", "concise", *LINTED)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_finds_nothing():
    proc = _run_module("mypy")  # what to check is [tool.mypy] packages
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_model_and_the_registry_are_strict():
    """mypy reads `strict` only globally: the strict flags are spelled out for the model and report."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    strict = [o for o in config["tool"]["mypy"]["overrides"] if "dvhpc.model.*" in o["module"]]
    assert len(strict) == 1 and "dvhpc.report.*" in strict[0]["module"]
    flags = {"disallow_untyped_defs", "disallow_incomplete_defs", "disallow_any_generics", "disallow_untyped_calls",
             "check_untyped_defs", "warn_return_any", "no_implicit_reexport", "strict_equality"}
    assert {flag for flag in flags if strict[0].get(flag) is True} == flags
    assert not strict[0].get("ignore_errors") and not strict[0].get("disable_error_code")


def test_the_tools_and_pyyaml_are_declared_for_the_tests():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    test_extra = [req.split(";")[0].strip() for req in config["project"]["optional-dependencies"]["test"]]
    names = {req.split("=")[0].split(">")[0].split("<")[0].strip().lower() for req in test_extra}
    assert {"ruff", "mypy", "pyyaml"} <= names
    assert any(req.startswith("ruff==") for req in test_extra) and any(req.startswith("mypy==") for req in test_extra)


def test_ruff_reports_what_the_configuration_selects(tmp_path):
    """The rules are really on: a file with an unused argument, a mutable default and a long line."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f(unused, items=[]):\n    return items  # " + "x" * 120 + "\n")
    proc = _run_module("ruff", "check", "--output-format", "concise", "--config", str(REPO / "pyproject.toml"),
                       str(probe))
    assert proc.returncode == 1
    assert {"ARG001", "B006", "E501"} <= {word for word in proc.stdout.split() if word[:1].isupper()}
