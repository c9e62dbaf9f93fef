"""The pre-commit hooks of issue 4: `.pre-commit-hooks.yaml` and `pre-commit try-repo`.

try-repo needs the hook repository to be a git repository with the hooks committed. The working
tree (what `git ls-files --cached --others --exclude-standard` lists: committed or not, minus
ignored files) is copied into a temporary folder and committed there, so the test sees the hooks
and the compiler as they are now. A second temporary git repository plays the user's project: a
copy of sites/ and generated/. pre-commit builds a virtualenv for the hooks and pip-installs dvhpc
into it (from PyPI: click, jsonschema, ruamel.yaml), about 10-15 s per try-repo call (3 calls).
Skipped when pre-commit is not installed (it is not in the `test` extra yet).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import REPO  # noqa: E402

pytestmark = pytest.mark.slow

HOOKS_FILE = REPO / ".pre-commit-hooks.yaml"


def _hooks() -> dict[str, dict]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(HOOKS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return {hook["id"]: hook for hook in data}


def test_hooks_file_declares_lint_and_check():
    assert HOOKS_FILE.is_file(), ".pre-commit-hooks.yaml is missing"
    hooks = _hooks()
    assert {"dvhpc-lint", "dvhpc-check"} <= set(hooks)
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook), hook  # required by pre-commit
        assert hook["language"] == "python"
    lint, check = hooks["dvhpc-lint"], hooks["dvhpc-check"]
    assert lint["entry"].split()[:2] == ["dvhpc", "lint"]
    # many files in one call, one process: pre-commit must not split the file list across workers
    assert lint.get("require_serial") is True
    files = re.compile(lint["files"])
    for path in ("sites/example.yaml", "sites/base.yml", "sites/greene.toml"):
        assert files.search(path), path
    for path in ("generated/example/run.sh", "README.md", "tests/fixtures/lint/dv301_time.yaml"):
        assert not files.search(path), path
    assert check["entry"].split()[:3] == ["dvhpc", "compile", "--check"]
    assert check.get("pass_filenames") is False
    assert "sites/" in check.get("args", []) or "sites" in check.get("args", [])
    check_files = re.compile(check["files"])
    assert check_files.search("sites/example.yaml") and check_files.search("generated/example/run.sh")


# --------------------------------------------------------------------------- pre-commit try-repo


def _pre_commit() -> str:
    beside = Path(sys.executable).parent / "pre-commit"
    found = str(beside) if beside.is_file() else shutil.which("pre-commit")
    if not found:
        pytest.skip("pre-commit is not installed (add `pre-commit` to the `test` extra)")
    return found


def _git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def _copy(paths, src: Path, dst: Path) -> None:
    for rel in paths:
        source = src / rel
        if not (source.exists() or source.is_symlink()):
            continue  # deleted in the working tree
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)


def _commit_all(folder: Path) -> None:
    _git("init", "-q", "-b", "main", cwd=folder)
    _git("add", "-A", cwd=folder)
    _git("commit", "-q", "-m", "snapshot", cwd=folder)


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(hook repository, project, PRE_COMMIT_HOME)."""
    _pre_commit()
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    root = tmp_path_factory.mktemp("precommit")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    hooks = root / "hooks"
    _copy([p for p in listed if p], REPO, hooks)
    _commit_all(hooks)
    project = root / "project"
    project.mkdir()
    shutil.copytree(REPO / "sites", project / "sites", symlinks=True)
    shutil.copytree(REPO / "generated", project / "generated", symlinks=True)
    _commit_all(project)
    return hooks, project, root / "home"


def _try_repo(repos, hook: str, *files: str) -> tuple[int, str]:
    """`pre-commit try-repo HOOKS [HOOK] --files FILES` in the project ("" = every hook)."""
    hooks, project, home = repos
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    env.update(PRE_COMMIT_HOME=str(home), NO_COLOR="1", GIT_CONFIG_GLOBAL=os.devnull)
    args = [_pre_commit(), "try-repo", str(hooks), *([hook] if hook else []), "--color", "never"]
    if files:
        args += ["--files", *files]
    proc = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr


def _status(output: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\.+(Passed|Failed|\(no files to check\)Skipped)$", output, re.M)
    assert match, output
    return match.group(1)


def test_try_repo_lint_passes_on_the_sites(repos):
    code, out = _try_repo(repos, "dvhpc-lint", "sites/example.yaml", "sites/base.yaml")
    assert (code, _status(out, "dvhpc lint")) == (0, "Passed"), out


def test_try_repo_check_passes_when_generated_is_up_to_date(repos):
    code, out = _try_repo(repos, "dvhpc-check", "sites/example.yaml")
    assert (code, _status(out, "dvhpc compile --check")) == (0, "Passed"), out


def test_try_repo_hooks_fail_on_a_broken_site(repos):
    """A rule that asks for more time than its partition allows: lint fails (DV301) and so does
    the check (compile refuses a spec with an error before it compares generated/)."""
    _, project, _ = repos
    site = project / "sites" / "example.yaml"
    original = site.read_text(encoding="utf-8")
    broken = original.replace("test_model: {use: gpu_train, time: 2h,", "test_model: {use: gpu_train, time: 9d,", 1)
    assert broken != original, "sites/example.yaml changed: update this test's edit"
    site.write_text(broken, encoding="utf-8")
    try:
        # both hooks in one try-repo call (one hook environment to build)
        code, out = _try_repo(repos, "", "sites/example.yaml")
        assert code == 1, out
        assert _status(out, "dvhpc lint") == "Failed" and _status(out, "dvhpc compile --check") == "Failed", out
        assert out.count("error[DV301]") == 2 and "sites/example.yaml:" in out, out  # one per hook
    finally:
        site.write_text(original, encoding="utf-8")
