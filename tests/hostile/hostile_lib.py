"""Shared helpers of the hostile-input tests (tests/hostile/): counting in-process runs, the
accepted outcomes, file-tree snapshots, a stub environment for the generated scripts, and a
Snakemake runner that imports Snakemake once and forks per run.

Not a conftest.py on purpose: tests/test_*.py do `from conftest import ...`, and a second
conftest module would shadow the first on sys.path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REPO = TESTS.parent
SITES = REPO / "sites"
CORPUS = HERE / "corpus"
STUB = TESTS / "stubs" / "stub.sh"
PYTHON = sys.executable
SNAKEMAKE_FORK = HERE / "snakemake_fork.py"

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import dvhpc_env, run_in_process  # noqa: E402

# Every in-process dvhpc run made through `run_counted`, by command; printed at the end of the
# session by the terminal summary of tests/conftest.py (and quoted in the closing note of issue 8).
COUNTS: dict[str, int] = {}


def count(kind: str, n: int = 1) -> None:
    COUNTS[kind] = COUNTS.get(kind, 0) + n


def run_counted(*args: str, cwd: Path | str | None = None) -> tuple[int, str, str]:
    code, out, err = run_in_process(*args, cwd=cwd)
    count(args[0])
    return code, out, err


def assert_calm(command: str, code: int, out: str, err: str, label: str) -> None:
    """The promise for hostile input: exit 0 or 1 (diff: also 2 = a side is invalid), a message,
    never a traceback or an internal error."""
    allowed = (0, 1, 2) if command == "diff" else (0, 1)
    shown = f"{label}: `dvhpc {command}` exited {code}\n--- stdout\n{out[-2000:]}\n--- stderr\n{err[-3000:]}"
    assert code in allowed, shown
    for stream in (out, err):
        assert "Traceback" not in stream, shown
        assert "internal error" not in stream, shown
    if code != 0 and command in ("validate", "compile"):
        assert "DV" in err or "error" in err.lower() or "stale" in out, shown


def four_commands(folder: Path, name: str, reference: str, label: str) -> list[int]:
    """validate, lint --no-shellcheck, compile --out TMP and diff (file vs reference) on one file."""
    codes = []
    for args in (("validate", name), ("lint", "--no-shellcheck", name),
                 ("compile", "--out", str(folder / "out"), name), ("diff", name, reference)):
        code, out, err = run_counted(*args, cwd=folder)
        assert_calm(args[0], code, out, err, label)
        codes.append(code)
    return codes


# ------------------------------------------------------------------------------ file trees


def tree(folder: Path) -> dict[str, object]:
    """Every entry below `folder` (not following symlinks): files by content, links by target."""
    result: dict[str, object] = {}
    if not folder.exists() and not folder.is_symlink():
        return result
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                result[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                result[rel] = ("dir", oct(path.stat().st_mode & 0o777))
            else:
                result[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), oct(path.stat().st_mode & 0o777))
    return result


def leftovers(out: Path, site: str) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith((f".{site}.tmp-", f".{site}.old-")))


# ------------------------------------------------------------------------------ stub environment

SYSTEM_TOOLS = ("bash", "env", "dirname", "date", "tr", "mkdir", "tee", "nohup", "cat", "sleep", "find", "tail",
                "id", "touch", "rm", "ls", "head", "sort", "chmod", "grep", "printf", "true", "cut", "sed",
                "git", "less")
STUBS = ("module", "conda", "python", "python3", "snakemake", "sbatch", "squeue", "sacct", "sstat", "sinfo",
         "scontrol", "apptainer", "singularity")


class StubEnv:
    """A PATH of stub cluster programs (tests/stubs/stub.sh) and a few system tools, a HOME and
    the variables the hostile specs refer to; everything below `root`."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        for tool in SYSTEM_TOOLS:
            found = shutil.which(tool)
            if found and not (self.bin / tool).exists():
                (self.bin / tool).symlink_to(found)
        for name in STUBS:
            if not (self.bin / name).exists():
                (self.bin / name).symlink_to(STUB)
        (root / "home").mkdir(exist_ok=True)
        (root / "scratch").mkdir(exist_ok=True)
        self.vars = {"PATH": str(self.bin), "HOME": str(root / "home"), "USER": "tester", "LC_ALL": "C",
                     "SCRATCH": str(root / "scratch"), "STUB_LOG": str(root / "calls.log"), "TERM": "dumb"}

    def git_repo(self) -> Path:
        """A git work tree with one committed and one changed file (git status reads config and
        runs core.fsmonitor; git diff runs an external diff program)."""
        repo = self.root / "repo"
        if not (repo / ".git").exists():
            repo.mkdir(exist_ok=True)
            (repo / "f.txt").write_text("one\n")
            git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
            for args in (["init", "-q"], ["add", "f.txt"], ["commit", "-q", "-m", "one"]):
                subprocess.run(git + args, check=True, capture_output=True,
                               env={**self.vars, "PATH": os.environ["PATH"]})
            (repo / "f.txt").write_text("two\n")
        return repo

    def run(self, args, cwd: Path | None = None, timeout: float = 30, stdin: str | None = None,
            **extra: str) -> subprocess.CompletedProcess:
        env = {**self.vars, **extra}
        return subprocess.run(args, cwd=cwd or self.root, env=env, capture_output=True, text=True,
                              timeout=timeout, input=stdin)


def markers(root: Path) -> list[Path]:
    """Files a payload's `touch MARKER` created (folders named after a payload are fine: inert text)."""
    return [p for p in root.rglob("MARKER")]


# ------------------------------------------------------------------------------ snakemake


def snakemake_runs(jobs: list[dict], parallel: int = 2, timeout: float = 170) -> list[dict]:
    """Run the real Snakemake for each job {cwd, argv, env}: one process imports it and forks per
    job (import once, ~1 s per run instead of ~3 s). Returns the jobs with rc, stdout, stderr."""
    spec = json.dumps({"jobs": jobs, "parallel": parallel})
    proc = subprocess.run([PYTHON, str(SNAKEMAKE_FORK)], input=spec, capture_output=True, text=True,
                          timeout=timeout, env=dvhpc_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


@contextlib.contextmanager
def chdir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


# ------------------------------------------------------------------------------ TOML out


def toml_value(value) -> str:
    """A TOML value (inline tables, JSON-escaped strings: both are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_text(data: dict) -> str:
    """A spec as TOML (~3x faster to load than YAML: the payload table validates hundreds)."""
    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in data.items())


# Lines for the end-of-session summary (test_zz_summary.py): measured numbers worth quoting.
NOTES: list[str] = []
