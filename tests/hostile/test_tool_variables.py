"""`environment.variables` that make the *next* program run code (issue 19, item 3).

bootstrap.sh exports the spec's variables into the user's shell. Nothing in the generated files
runs a payload then; the programs the user starts afterwards do: git reads GIT_CONFIG_* and runs
`core.fsmonitor` on `git status`, less runs LESSOPEN, Python imports sitecustomize from
PYTHONPATH, the dynamic loader loads LD_PRELOAD, bash sources BASH_ENV, ... For each such variable
the spec is either refused with a DVxxx code, or -- after sourcing the generated bootstrap.sh -- the
real programs (git, less, python3, perl, bash, sh, node when present) run without creating MARKER.

With `environment.allow_unsafe_variables: [NAME]` the spec compiles and says so with a warning:
that escape hatch is the user's explicit decision, so its test checks the warning, not the marker.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_lib import NOTES, count, markers, run_counted

# name -> variables to set (several where a vector needs a pair); every value refers to files
# below ${HOME}, which `_plant` creates.
VECTORS: dict[str, dict[str, str]] = {
    "GIT_CONFIG_PARAMETERS": {"GIT_CONFIG_PARAMETERS": "'core.fsmonitor=touch MARKER'"},
    "GIT_CONFIG_COUNT": {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.fsmonitor",
                         "GIT_CONFIG_VALUE_0": "touch MARKER"},
    "GIT_CONFIG_GLOBAL": {"GIT_CONFIG_GLOBAL": "${HOME}/evil.gitconfig"},
    "XDG_CONFIG_HOME": {"XDG_CONFIG_HOME": "${HOME}/evilxdg"},
    "HOME": {"HOME": "${HOME}/evilhome"},
    "GIT_EXTERNAL_DIFF": {"GIT_EXTERNAL_DIFF": "${HOME}/evil.sh"},
    "LESSOPEN": {"LESSOPEN": "|touch MARKER %s"},
    "LESSCLOSE": {"LESSOPEN": "|cat %s", "LESSCLOSE": "touch MARKER %s %s"},
    "PATH": {"PATH": "${HOME}/evilbin:${PATH}"},
    "PYTHONPATH": {"PYTHONPATH": "${HOME}/evilpy"},
    "PYTHONSTARTUP": {"PYTHONSTARTUP": "${HOME}/evilpy/sitecustomize.py"},
    "PERL5OPT": {"PERL5OPT": "-Mevil", "PERL5LIB": "${HOME}/evilpl"},
    "BASH_ENV": {"BASH_ENV": "${HOME}/evil.sh"},
    "ENV": {"ENV": "${HOME}/evil.sh"},
    "PROMPT_COMMAND": {"PROMPT_COMMAND": "touch MARKER"},
    "LD_PRELOAD": {"LD_PRELOAD": "${HOME}/evil.so"},
    "LD_LIBRARY_PATH": {"LD_LIBRARY_PATH": "${HOME}/evillib"},
    "NODE_OPTIONS": {"NODE_OPTIONS": "--require ${HOME}/evil.js"},
    "EDITOR": {"GIT_EDITOR": "touch MARKER", "EDITOR": "touch MARKER"},
    "PAGER": {"GIT_PAGER": "touch MARKER;", "PAGER": "touch MARKER;"},
}

EVIL_C = '#include <stdlib.h>\n__attribute__((constructor)) static void f(void) { system("touch MARKER"); }\n'

# What a user does after `source bootstrap.sh`: ordinary programs, in the shell that sourced it.
AFTER = """\
cd {repo}
git status >/dev/null 2>&1
git diff >/dev/null 2>&1
git -c core.pager=cat log -1 >/dev/null 2>&1
less -F f.txt </dev/null >/dev/null 2>&1
python3 -c pass >/dev/null 2>&1
perl -e 1 >/dev/null 2>&1
bash -c true >/dev/null 2>&1
sh -c true >/dev/null 2>&1
ls >/dev/null 2>&1
{node}
echo done
"""


def _plant(home: Path) -> None:
    """The files the payload values point at; each creates MARKER in the folder it runs in."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "evil.sh").write_text("#!/bin/sh\ntouch MARKER\n")
    (home / "evil.sh").chmod(0o755)
    (home / "evil.gitconfig").write_text("[core]\n\tfsmonitor = touch MARKER\n")
    (home / "evilxdg" / "git").mkdir(parents=True, exist_ok=True)
    (home / "evilxdg" / "git" / "config").write_text("[core]\n\tfsmonitor = touch MARKER\n")
    (home / "evilhome").mkdir(exist_ok=True)
    (home / "evilhome" / ".gitconfig").write_text("[core]\n\tfsmonitor = touch MARKER\n")
    (home / "evilbin").mkdir(exist_ok=True)
    for tool in ("git", "less", "ls", "python3"):
        (home / "evilbin" / tool).write_text("#!/bin/sh\ntouch MARKER\n")
        (home / "evilbin" / tool).chmod(0o755)
    (home / "evilpy").mkdir(exist_ok=True)
    (home / "evilpy" / "sitecustomize.py").write_text("open('MARKER', 'w').close()\n")
    (home / "evilpl").mkdir(exist_ok=True)
    (home / "evilpl" / "evil.pm").write_text("package evil; open(my $f, '>', 'MARKER'); 1;\n")
    (home / "evil.js").write_text("require('fs').writeFileSync('MARKER', '')\n")
    if shutil.which("gcc"):
        (home / "evil.c").write_text(EVIL_C)
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(home / "evil.so"), str(home / "evil.c")],
                       capture_output=True, check=False)


def _spec(variables: dict[str, str], allow: list[str] | None = None) -> str:
    environment: dict = {"variables": variables}
    if allow:
        environment["allow_unsafe_variables"] = allow
    return json.dumps({"dvhpc": 1, "site": "vars", "environment": environment}) + "\n"


def _user_session(folder: Path, site: Path) -> subprocess.CompletedProcess:
    """Source bootstrap.sh in an interactive bash with the real tools on PATH, then use them."""
    home = folder / "home"
    repo = folder / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "f.txt").write_text("one\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "USER": "tester", "LC_ALL": "C", "TERM": "dumb",
           "DVHPC_SKIP_CHECKS": "1"}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    for args in (["init", "-q"], ["add", "f.txt"], ["commit", "-q", "-m", "one"]):
        subprocess.run(git + args, check=True, capture_output=True, env=env)
    (repo / "f.txt").write_text("two\n")
    node = "node -e 0 >/dev/null 2>&1" if shutil.which("node") else ""
    script = (f"source {shlex.quote(str(site / 'bootstrap.sh'))}\n"
              + AFTER.format(repo=shlex.quote(str(repo)), node=node))
    return subprocess.run(["bash", "--norc", "--noprofile", "-i"], input=script + "exit\n", cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60)


def _control_marker(folder: Path) -> bool:
    """The planted files really do run code when the tools are pointed at them (else the test
    below proves nothing): git with the evil config, python with the evil path."""
    home = folder / "home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / "evil.gitconfig"),
           "PYTHONPATH": str(home / "evilpy")}
    repo = folder / "control"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, capture_output=True)
    subprocess.run(["git", "status"], cwd=repo, env=env, capture_output=True)
    subprocess.run([sys.executable, "-c", "pass"], cwd=repo, env=env, capture_output=True)
    found = markers(repo)
    return bool(found)


def test_the_planted_payload_files_do_run_code(tmp_path):
    _plant(tmp_path / "home")
    assert _control_marker(tmp_path), "the control run created no MARKER: the payload files are broken"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, str]:
    results = {}
    for label, variables in VECTORS.items():
        folder = tmp_path_factory.mktemp(label.lower())
        _plant(folder / "home")
        (folder / "spec.yaml").write_text(_spec(variables))
        code, out, err = run_counted("compile", "--out", str(folder / "generated"), "spec.yaml", cwd=folder)
        count("variable vectors")
        assert code in (0, 1) and "Traceback" not in err, (label, code, err)
        if code == 1:
            assert "DV231" in err, f"{label}: refused without DV231:\n{err}"
            results[label] = "refused"
            continue
        proc = _user_session(folder, folder / "generated" / "vars")
        assert "done" in proc.stdout, (label, proc.stdout[-500:], proc.stderr[-500:])
        found = markers(folder)
        results[label] = f"EXECUTED {[str(p.relative_to(folder)) for p in found]}" if found else "inert"
    refused = sum(v == "refused" for v in results.values())
    NOTES.append(f"tool variables: {len(results)} vectors, {refused} refused, "
                 f"{sum(v == 'inert' for v in results.values())} inert, "
                 f"{sum(v.startswith('EXECUTED') for v in results.values())} executed")
    return results


@pytest.mark.parametrize("label", list(VECTORS))
def test_variables_that_make_tools_run_code_are_refused_or_inert(outcomes, label):
    assert not outcomes[label].startswith("EXECUTED"), (
        f"environment.variables {VECTORS[label]} made a program run code after bootstrap.sh: {outcomes[label]}")


@pytest.mark.parametrize("name", ["PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "GIT_CONFIG_PARAMETERS", "LESSOPEN"])
def test_unsafe_names_are_refused_by_default(tmp_path, name):
    (tmp_path / "spec.yaml").write_text(_spec({name: "/opt/x"}))
    code, out, err = run_counted("validate", "spec.yaml", cwd=tmp_path)
    assert code == 1 and "DV231" in err and f"environment.variables.{name}" in err, err
    assert "spec.yaml:1:" in err, "the refusal is located"


def test_allow_unsafe_variables_is_an_explicit_decision_with_a_warning(tmp_path):
    (tmp_path / "spec.yaml").write_text(_spec({"PYTHONPATH": "${HOME}/lib/python"}, allow=["PYTHONPATH"]))
    code, out, err = run_counted("compile", "--out", str(tmp_path / "generated"), "spec.yaml", cwd=tmp_path)
    assert code == 0, err
    assert "DV235" in err and "PYTHONPATH" in err, err
    bootstrap = (tmp_path / "generated" / "vars" / "bootstrap.sh").read_text()
    assert "PYTHONPATH" in bootstrap
    # the name must be listed: allowing one name does not allow another
    (tmp_path / "spec.yaml").write_text(_spec({"PYTHONPATH": "/x", "LD_PRELOAD": "/y.so"}, allow=["PYTHONPATH"]))
    code, out, err = run_counted("validate", "spec.yaml", cwd=tmp_path)
    assert code == 1 and "LD_PRELOAD" in err and "DV231" in err, err


def test_ordinary_workflow_variables_stay_accepted(tmp_path):
    variables = {"WANDB_DIR": "${SCRATCH}/wandb", "OMP_NUM_THREADS": "4", "NCCL_DEBUG": "INFO",
                 "CUDA_VISIBLE_DEVICES": "0", "HF_HOME": "${SCRATCH}/hf", "TORCH_HOME": "${SCRATCH}/torch",
                 "DYNVISION_WORKING_DIR": "/scratch/x"}
    (tmp_path / "spec.yaml").write_text(_spec(variables))
    code, out, err = run_counted("validate", "spec.yaml", cwd=tmp_path)
    assert code == 0, err
    assert "DV235" not in err
