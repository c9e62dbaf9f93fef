"""Shared helpers: run dvhpc as a user would (a subprocess) or in-process (fast, for fuzzing).

Both return (exit code, stdout, stderr). Colour is off (NO_COLOR) and DVHPC_DEBUG is unset so
an internal error takes the user-facing path (one line, exit 3) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
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
