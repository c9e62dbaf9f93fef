"""Concurrency: two compiles of the same site at once (different spec content, same site name,
same output root) end with one complete output -- equal to one of the two reference outputs --
never a mix, and leave no temporary folders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hostile_lib import NOTES, PYTHON, SITES, count, dvhpc_env, leftovers, tree

ROUNDS = 5


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(SITES, tmp_path / "sites")
    text = (tmp_path / "sites" / "example.yaml").read_text()
    (tmp_path / "sites" / "a.yaml").write_text(text.replace("jobs: 100", "jobs: 111"))
    (tmp_path / "sites" / "b.yaml").write_text(text.replace("jobs: 100", "jobs: 222").replace("cpus: 32", "cpus: 30"))
    return tmp_path


def _compile(project: Path, spec: str) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "dvhpc", "compile", spec], cwd=project, env=dvhpc_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_compiles_of_one_site_at_once(project):
    out = project / "generated"
    refs = {}
    for spec in ("sites/a.yaml", "sites/b.yaml"):
        proc = _compile(project, spec)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        refs[spec] = tree(out / "example")
        shutil.rmtree(out)
    assert refs["sites/a.yaml"] != refs["sites/b.yaml"]
    outcomes = []
    for round_ in range(ROUNDS):
        if round_ % 2:  # start from a previous output too, not only from nothing
            shutil.rmtree(out, ignore_errors=True)
        first, second = ("sites/a.yaml", "sites/b.yaml") if round_ % 3 else ("sites/b.yaml", "sites/a.yaml")
        procs = [_compile(project, first), _compile(project, second)]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            count("concurrent compiles")
            assert proc.returncode == 0, err
            assert "internal error" not in err
        current = tree(out / "example")
        winner = [spec for spec, ref in refs.items() if ref == current]
        assert winner, f"round {round_}: the site folder is a mix of both outputs"
        assert not leftovers(out, "example"), leftovers(out, "example")
        outcomes.append(winner[0])
    print(f"{ROUNDS} rounds, last writer: {outcomes}")
    NOTES.append(f"concurrent compiles: {ROUNDS} rounds of two at once, each ended complete ({outcomes})")
