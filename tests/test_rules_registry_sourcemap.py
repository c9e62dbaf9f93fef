"""Snippets come from the text the loader read (the report's source map), never from the disk at
render time: an error of a git side (`dvhpc diff HEAD:sites/x.yaml ...`) is labelled with that
revision and quotes that revision's line (issue 13, item 5)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import HEAD_RE, run_in_process  # noqa: E402

BASE = "dvhpc: 1\nabstract: true\nresources:\n  defaults: {cpus: 1, mem: 4G}\n"
SITE = """dvhpc: 1
site: x
extends: [../layers/base.yaml]
slurm:
  partitions:
    cpu: {default: true, max_time: 1d}
resources:
  rules:
    prep: {mem: 8G}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false",
                    *args], cwd=repo, capture_output=True, text=True, check=True)


@pytest.fixture
def repo(tmp_path) -> Path:
    """HEAD: a site with a typo (`partiton`) and a base with an unknown key. Work tree: both fixed,
    with other lines where HEAD had the broken ones."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    (root / "layers").mkdir(parents=True)
    (root / "sites").mkdir()
    git(root, "init", "-q")
    (root / "layers" / "base.yaml").write_text(BASE + "  colour: blue\n")
    (root / "sites" / "x.yaml").write_text(SITE.replace("prep: {mem: 8G}", "prep: {mem: 8G, partiton: cpu}"))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "broken")
    (root / "layers" / "base.yaml").write_text(BASE)
    (root / "sites" / "x.yaml").write_text(SITE.replace("resources:\n", "# a comment line\nresources:\n")
                                           + "    plot: {mem: 2G}\n    train: {mem: 4G}\n")
    return root


def blocks(err: str) -> dict[str, list[str]]:
    """head line -> the snippet lines under it."""
    out: dict[str, list[str]] = {}
    head = None
    for line in err.splitlines():
        if HEAD_RE.match(line):
            head = line
            out[head] = []
        elif head is not None and " | " in line:
            out[head].append(line)
    return out


def test_an_error_of_the_head_side_shows_heads_file_and_line(repo):
    status, out, err = run_in_process("diff", "HEAD:sites/x.yaml", "sites/x.yaml", cwd=repo)
    assert status == 2 and out == "", err
    found = blocks(err)
    site_head = "HEAD:sites/x.yaml:9:21: error[DV102]: unknown key 'partiton' in resources.rules.prep " \
                "(did you mean 'partition'?)"
    assert site_head in found, err
    snippet, carets = found[site_head]
    assert snippet.endswith("|     prep: {mem: 8G, partiton: cpu}")  # HEAD's line 9, not the work tree's
    assert carets.endswith(" " * 20 + "^" * len("partiton"))
    base_heads = [h for h in found if h.startswith("HEAD:layers/base.yaml:5:3: error[DV102]: unknown key 'colour'")]
    assert len(base_heads) == 1, err
    assert found[base_heads[0]][0].endswith("|   colour: blue")
    # the work-tree file is not named by any diagnostic: it is valid, and HEAD's errors are HEAD's
    assert not [h for h in found if h.startswith(("sites/x.yaml", "layers/base.yaml"))]


def test_a_side_read_from_a_subfolder_names_the_revision_too(repo):
    status, _, err = run_in_process("diff", "HEAD:x.yaml", "x.yaml", cwd=repo / "sites")
    assert status == 2
    heads = [HEAD_RE.match(line) for line in err.splitlines() if HEAD_RE.match(line)]
    assert {m["file"] for m in heads} == {"HEAD:x.yaml", "HEAD:../layers/base.yaml"}


def test_a_file_changed_after_it_was_read_is_quoted_as_it_was_read(tmp_path):
    """The snippet is the text that was checked: rendering never opens the file again."""
    from dvhpc.frontend.layers import SpecLoader
    from dvhpc.frontend.schema import validate
    from dvhpc.report.diagnostics import Report
    from dvhpc.report.render import text

    spec = tmp_path / "s.yaml"
    spec.write_text("dvhpc: 1\nsite: s\ncolour: blue\n")
    report = Report()
    assert not validate(SpecLoader().load(spec, report, display="s.yaml"), report)
    spec.write_text("dvhpc: 1\nsite: s\nsomething else entirely\n")
    rendered = text(report.sorted(), report.sources)
    assert "    3 | colour: blue\n" in rendered
    spec.unlink()
    assert text(report.sorted(), report.sources) == rendered
