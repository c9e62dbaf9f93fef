"""No escape from the output folder: whatever the spec says and whatever was planted in
`generated/`, `dvhpc compile` writes only below OUT/<site>/ (plus its lock and temporary
siblings in OUT/). Victim folders outside are compared byte for byte before and after.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hostile_lib import SITES, leftovers, run_counted, tree


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project (sites/ with the example) and two victim folders beside it, with content."""
    shutil.copytree(SITES, tmp_path / "project" / "sites")
    for name in ("victim", "victim2"):
        victim = tmp_path / name
        (victim / "sub").mkdir(parents=True)
        (victim / "file").write_text(f"{name} data\n")
        (victim / "sub" / "deep").write_text("deep\n")
        (victim / "config.v9+.yaml").write_text("# not yours\n")
    return tmp_path / "project"


def victims(project: Path) -> dict:
    return {name: tree(project.parent / name) for name in ("victim", "victim2")}


def compile_(project: Path, *args: str, spec: str = "sites/example.yaml") -> tuple[int, str, str]:
    return run_counted("compile", *args, spec, cwd=project)


def bump(project: Path, jobs: int) -> None:
    """Change the spec so the next compile rewrites the folder."""
    spec = project / "sites" / "example.yaml"
    text = spec.read_text()
    import re

    spec.write_text(re.sub(r"jobs: \d+", f"jobs: {jobs}", text, count=1))


def outside_writes(project: Path, before: dict) -> None:
    after = victims(project)
    for name in before:
        assert after[name] == before[name], (
            f"compile wrote outside the output folder, into {name}: "
            f"{sorted(set(after[name].items()) ^ set(before[name].items()))}")


@pytest.mark.parametrize("site", ["..", ".", "../victim", "/abs", "a/../../victim", "x/y", "..\\victim", "~",
                                  "victim/..", "a\x00b", "-rf", ".hidden", "A", "a" * 65, ""])
def test_site_names_that_are_paths_are_refused(project, site):
    spec = project / "sites" / "evil.yaml"
    spec.write_text(json.dumps({"dvhpc": 1, "site": site}))
    before = victims(project)
    code, out, err = compile_(project, spec="sites/evil.yaml")
    assert code == 1 and ("DV103" in err or "DV100" in err), err
    assert not (project / "generated").exists() or not any((project / "generated").iterdir())
    outside_writes(project, before)


def test_paths_in_the_spec_are_never_written_at_compile_time(project):
    """Absolute and `..` paths in runtime fields are text for run time; compile creates none."""
    victim = project.parent / "victim"
    spec = project / "sites" / "paths.yaml"
    spec.write_text(json.dumps({
        "dvhpc": 1, "site": "paths",
        "snakemake": {"logdir": str(victim / "logs"), "options": {"shadow-prefix": "../../victim/shadow"}},
        "environment": {"workdir": "../victim", "venv": str(victim / "venv"),
                        "variables": {"X_DIR": "../../../victim/x"},
                        "container": {"image": str(victim / "i.sif"), "binds": ["../victim:/b"]}},
        "paths": {"p": str(victim), "q": "../../victim/q"},
        "datasets": {"root": "{p}/../victim2", "mounted": {"d": str(victim / "d")}},
    }))
    before = victims(project)
    code, out, err = compile_(project, spec="sites/paths.yaml")
    assert code == 0, err
    outside_writes(project, before)


PLANTS = {
    # relative path in generated/example -> target ("victim", "victim/file", ...) and kind
    "file symlink on a generated script": ("run.sh", "victim/file"),
    "file symlink on MANIFEST.json": ("MANIFEST.json", "victim/file"),
    "file symlink on a file in a generated folder": ("profile/config.v9+.yaml", "victim/file"),
    "folder symlink on a generated folder": ("profile", "victim"),
    "folder symlink that is not ours": ("data", "victim2"),
    "dangling file symlink on a generated file": ("jobs.sh", "victim/new-file"),
}


@pytest.mark.parametrize("label", list(PLANTS))
def test_symlinks_planted_in_the_site_folder(project, label):
    relative, target = PLANTS[label]
    assert compile_(project)[0] == 0
    site = project / "generated" / "example"
    planted = site / relative
    if planted.is_dir() and not planted.is_symlink():
        shutil.rmtree(planted)
    else:
        planted.unlink(missing_ok=True)
    os.symlink(project.parent / target, planted)
    before = victims(project)
    bump(project, 101)
    code, out, err = compile_(project, "--force")
    assert code in (0, 1) and "Traceback" not in err and "internal error" not in err, err
    outside_writes(project, before)
    bump(project, 102)
    code, out, err = compile_(project, "--force")
    outside_writes(project, before)
    assert not leftovers(project / "generated", "example")


def test_output_folder_that_is_a_symlink_is_refused(project):
    victim = project.parent / "victim"
    os.symlink(victim, project / "generated")
    before = victims(project)
    code, out, err = compile_(project)
    assert code == 1 and "symlink" in err, err
    outside_writes(project, before)
    code, out, err = run_counted("compile", "--out", "generated/", "sites/example.yaml", cwd=project)
    assert code == 1, err
    outside_writes(project, before)


def test_symlinked_lock_file_is_not_followed(project):
    """OUT/.<site>.lock is opened for every compile: a planted link must not create or change
    a file elsewhere."""
    out = project / "generated"
    out.mkdir()
    os.symlink(project.parent / "victim" / "created-by-lock", out / ".example.lock")
    os.symlink(project.parent / "victim" / "file", out / ".other.lock")
    before = victims(project)
    code, out_, err = compile_(project)
    assert code in (0, 1) and "internal error" not in err, err
    outside_writes(project, before)


def test_planted_temporary_and_old_folders_are_not_followed(project):
    """Leftover names the writer cleans up (.<site>.tmp-*, .<site>.old-*) planted as symlinks
    to a victim: the victim is neither changed, nor copied in, nor kept linked after two runs."""
    out = project / "generated"
    out.mkdir()
    os.symlink(project.parent / "victim", out / ".example.old-1")
    os.symlink(project.parent / "victim2", out / ".example.tmp-1")
    before = victims(project)
    compile_(project)
    code, out_, err = compile_(project)
    assert code in (0, 1) and "internal error" not in err, err
    outside_writes(project, before)
    site = out / "example"
    assert not site.is_symlink(), "the site folder became a symlink to the victim"
    assert not (site / "file").exists() and not (site / "sub").exists(), \
        "the victim's files were copied into the output"
    assert not leftovers(out, "example"), f"planted links left behind: {leftovers(out, 'example')}"
