"""Broken generated folders: `compile --check` and `diff` read `generated/<site>/` back, and a folder
is anybody's files. Whatever is in it -- unclosed brackets, wrong types, aliases, bytes that are not
UTF-8, a folder or a FIFO where a file should be, a damaged MANIFEST.json -- the answer is a DV403
at a file:line:col inside the folder (exit 1 for --check, 2 for diff), never an internal error.

200 seeded mutations of the real output of sites/example.yaml go through the library functions
in-process; a handful go through the command line.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from conftest import SITES, run_subprocess
from dvhpc.build import compile_specs
from dvhpc.emit.yamlout import dump
from dvhpc.report.diagnostics import Report
from dvhpc.tools.diff import DiffError, compare, folder_view, view_of

SEEDS = 200
YAML_FILES = ("resources.yaml", "profile/profile.v9+.yaml")  # example.yaml requires >=9.19
TEXT_FILES = ("MANIFEST.json", "run.sh", "site_paths.py")

# Lines that break a YAML file, or keep it YAML but not of the shape dvhpc writes.
SNIPPETS = [
    "key: [unclosed", "rules: []", "defaults: 7", "rules: 7", "rules:", "defaults: [1, 2]", "attempts: 5",
    "attempts: [1, 2]", "attempts: [{x: 1}]", "  attempts: [[]]", "mem: {human: [1]}", "a: &x [1]\nb: *x",
    "x: !!python/name:os.system ''", "x: !custom 3", "- a", "? [a]\n: b", "{a: b}: c", "x: " + "[" * 200,
    "x: 1" + "0" * 5000, "x: 0x" + "f" * 200, "\t- tab", "%YAML 1.1", "---\na: 1\n---\nb: 2", "x: .inf",
    "x: ~", "'unterminated", "\"\\x\"", "x: |\n  text", "sbatch: [1]", "partition: {a: b}", "~: 1", "1: 2",
    "true: false", "null:", "x: \u0085y", "x: \u2028", "'\ud800'",
]
# Whole-file contents of the same kind; MANIFEST.json gets JSON-shaped ones too.
CONTENTS = ["", "7", "[]", "null", "{", "rules: {a: 1}", "- 1\n- 2", "\x00\x01", "[" * 5000 + "]" * 5000,
            '{"files": []}', '{"files": {"../x": "0"}}', '{"files": {"\\u0000": "0"}}', '{"files": {"a": 1}}',
            '{"files": {"/etc/passwd": "0"}}', '{"files": {"": "0"}}', '{"files": {"profile": "0"}}', "[1]",
            '{"files": {"resources.yaml": "0", "nope/../../x": "0"}}', '{"files": null}', "\ufeff{}"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """sites/ with example.yaml and its base, a pristine generated/example/ of it, and a stale
    spec (one value changed), so that --check compares the folder."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(SITES, root / "sites")
    report = Report()
    [result] = compile_specs([str(root / "sites" / "example.yaml")], root / "pristine", report=report)
    assert result.written, [d.message for d in report.items]
    spec = root / "sites" / "example.yaml"
    spec.write_text(spec.read_text().replace("cpus: 16, mem: 80G", "cpus: 16, mem: 120G"))
    return root


def _rewrite_line(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    index = rng.randrange(len(lines))
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip(" "))] if rng.random() < 0.5 else ""
    lines[index] = indent + rng.choice(SNIPPETS)
    return "\n".join(lines)


def _retype(rng: random.Random, data):
    """The data with one node, anywhere, replaced by a value of another kind."""
    if isinstance(data, dict) and data and rng.random() < 0.8:
        key = rng.choice(list(data))
        return {**data, key: _retype(rng, data[key])}
    if isinstance(data, list) and data and rng.random() < 0.8:
        index = rng.randrange(len(data))
        return data[:index] + [_retype(rng, data[index])] + data[index + 1:]
    return rng.choice([7, "x", None, True, [], {}, [1, {"a": []}], {"attempt": "x"}, 1.5])


def mutate(folder: Path, rng: random.Random) -> str:
    """Damage the folder one way; returns what was done (for the failure message)."""
    kind = rng.choice(["line", "line", "content", "bytes", "retype", "retype", "filesystem", "manifest"])
    name = rng.choice(YAML_FILES + TEXT_FILES)
    path = folder / name
    if kind == "line" and name != "MANIFEST.json":
        path.write_text(_rewrite_line(rng, path.read_text()))
    elif kind == "content":
        path.write_text(rng.choice(CONTENTS))
    elif kind == "bytes":
        raw = path.read_bytes()
        at = rng.randrange(len(raw) + 1)
        path.write_bytes(raw[:at] + rng.choice([b"\xff", b"\xc3", b"\x00", b"\xc2\x85", b"\xed\xa0\x80"]) + raw[at:])
    elif kind == "retype":
        name = rng.choice(YAML_FILES + ("MANIFEST.json",))
        path = folder / name
        if name == "MANIFEST.json":
            path.write_text(json.dumps(_retype(rng, json.loads(path.read_text()))))
        else:
            import yaml

            data = _retype(rng, yaml.safe_load(path.read_text()))
            path.write_text(dump(data) if isinstance(data, dict) else json.dumps(data))
    elif kind == "filesystem":
        name = rng.choice(YAML_FILES + TEXT_FILES + ("profile",))
        path = folder / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        how = rng.choice(["folder", "fifo", "link", "link-out", "missing"])
        if how == "folder":
            (path / "inner").mkdir(parents=True)
        elif how == "fifo":
            os.mkfifo(path)
        elif how == "link":
            path.symlink_to(folder / "run.sh")
        elif how == "link-out":
            path.symlink_to("/etc/passwd")
        kind = f"{kind}:{how}"
    else:
        path = folder / "MANIFEST.json"
        name = "MANIFEST.json"
        path.write_text(rng.choice(CONTENTS))
    return f"{kind} {name}"


def _damaged(project: Path, seed: int) -> tuple[Path, str]:
    out = project / f"case-{seed}"
    shutil.copytree(project / "pristine", out, symlinks=True)
    return out, mutate(out / "example", random.Random(seed))


def _assert_located_in(diag, folder: Path, what: str) -> None:
    assert diag.code == "DV403", (what, diag)
    assert diag.location.file.startswith(str(folder)) and diag.location.line >= 1 and diag.location.column >= 1, \
        (what, diag)


@pytest.mark.parametrize("chunk", range(4))
def test_fuzzed_folders_give_dv403_never_a_crash(project, chunk):
    spec = str(project / "sites" / "example.yaml")
    spec_view = view_of(spec, Report())
    outcomes = {"read": 0, "dv403": 0}
    for seed in range(chunk, SEEDS, 4):
        out, what = _damaged(project, seed)
        folder = out / "example"
        try:  # diff: the folder against the spec
            compare(folder_view(folder), spec_view)
            outcomes["read"] += 1
        except DiffError as exc:
            assert exc.diagnostic is not None, (what, str(exc))
            _assert_located_in(exc.diagnostic, folder, what)
            outcomes["dv403"] += 1
        report = Report()  # compile --check of the stale spec against the damaged folder
        [result] = compile_specs([spec], out, check_only=True, report=report)
        assert result.plan is not None and result.plan.stale, what
        for diag in report.items:
            _assert_located_in(diag, folder, what)
        shutil.rmtree(out)
    assert outcomes["dv403"] > 0


@pytest.mark.parametrize("damage, where", [
    (lambda site: (site / "profile" / "profile.v9+.yaml").write_text("key: [unclosed\n"),
     "profile/profile.v9+.yaml:2:1"),
    (lambda site: (site / "resources.yaml").write_text("rules: []\n"), "resources.yaml:1:8"),
    (lambda site: (site / "resources.yaml").write_text("defaults: 7\n"), "resources.yaml:1:11"),
    (lambda site: (site / "MANIFEST.json").write_text('{"files": [1]}'), "MANIFEST.json:1:1"),
    (lambda site: (site / "resources.yaml").write_bytes(b"site: \"\xff\"\n"), "resources.yaml:1:8"),
    (lambda site: ((site / "resources.yaml").unlink(), (site / "resources.yaml").mkdir()), "resources.yaml:1:1"),
])
def test_broken_folder_through_the_cli(project, tmp_path, damage, where):
    shutil.copytree(project / "sites", tmp_path / "sites")
    shutil.copytree(project / "pristine", tmp_path / "generated")
    damage(tmp_path / "generated" / "example")
    code, out, err = run_subprocess("compile", "sites/example.yaml", "--check", cwd=tmp_path)
    assert code == 1 and "internal error" not in err and "Traceback" not in err, err
    assert f"generated/example/{where}: error[DV403]: " in err, err
    assert "generated/example: out of date" in out
    code, out, err = run_subprocess("diff", "generated/example", "sites/example.yaml", cwd=tmp_path)
    assert code == 2 and "internal error" not in err and "Traceback" not in err, err
    assert f"generated/example/{where}: error[DV403]: " in err, err


def test_the_documented_dv403_example_is_what_diff_prints(project, tmp_path):
    from dvhpc.report.codes import RULES

    shutil.copytree(project / "pristine", tmp_path / "generated")
    (tmp_path / "generated" / "example" / "resources.yaml").write_text("rules: []\n")
    with pytest.raises(DiffError) as caught:
        folder_view(tmp_path / "generated" / "example")
    assert caught.value.diagnostic.message == RULES["DV403"].message
