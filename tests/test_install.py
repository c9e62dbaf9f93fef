"""A real, non-editable `pip install .` into a fresh venv: the wheel must carry everything
(`dvhpc schema` needs site.schema.json inside the package) and work outside the repository.

The source is copied to a temp folder first so the in-tree build (build/, *.egg-info) never
touches the working copy. pip may use its cache; this takes ~15-60 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SOURCES = ["pyproject.toml", "README.md", "LICENSE", "compiler", "schema"]


def _run(cmd, cwd, timeout=900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DVHPC_DEBUG", "PIP_REQUIRE_VIRTUALENV")}
    env.update(NO_COLOR="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=ignore)
        elif path.exists():
            shutil.copy2(path, src / name)
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", venv], cwd=root)
    assert made.returncode == 0, made.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    pip = _run([bindir / "python", "-m", "pip", "install", str(src)], cwd=root)
    assert pip.returncode == 0, f"pip install failed:\n{pip.stdout[-4000:]}\n{pip.stderr[-4000:]}"
    work = root / "work"  # outside the repository, with its own copy of the sites
    shutil.copytree(REPO / "sites", work / "sites")
    return {"bin": bindir, "work": work, "venv": venv}


def test_installed_package_is_not_the_working_copy(installed):
    proc = _run([installed["bin"] / "python", "-c", "import dvhpc, sys; print(dvhpc.__file__)"], cwd=installed["work"])
    assert proc.returncode == 0, proc.stderr
    location = Path(proc.stdout.strip()).resolve()
    assert str(location).startswith(str(installed["venv"].resolve())), location
    assert not str(location).startswith(str(REPO.resolve()))
    schema_file = location.parent / "site.schema.json"
    assert schema_file.is_file() and not schema_file.is_symlink()


def test_schema_from_the_wheel(installed):
    proc = _run([installed["bin"] / "dvhpc", "schema"], cwd=installed["work"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads((REPO / "schema" / "site.schema.json").read_text(encoding="utf-8"))


def test_validate_from_the_wheel(installed):
    proc = _run([installed["bin"] / "dvhpc", "validate", "sites/example.yaml"], cwd=installed["work"])
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout.startswith("sites/example.yaml: ok (site 'example', ")


def test_validate_errors_from_the_wheel(installed):
    bad = installed["work"] / "bad.yaml"
    bad.write_text("dvhpc: 1\nsite: bad\nresources:\n  defaults: {mem: 16}\n")
    proc = _run([installed["bin"] / "dvhpc", "validate", "bad.yaml"], cwd=installed["work"])
    assert proc.returncode == 1
    assert proc.stderr.startswith("bad.yaml:4:19: error[DV204]: resources.defaults.mem: memory '16' has no unit")
    assert "Traceback" not in proc.stderr


def test_module_entry_point_and_markdown_from_the_wheel(installed):
    proc = _run([installed["bin"] / "python", "-m", "dvhpc", "schema", "--markdown"], cwd=installed["work"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (REPO / "docs" / "spec.md").read_text(encoding="utf-8")
