"""The static Snakefile reader (`dvhpc lint --workflow`): reads rules without running the workflow.

The oracle is Snakemake 9.27.1's own parser (`dvhpc.rules.workflow.read_workflow`, what
`--workflow-exec` runs): for real workflows both must report the same rules, local rules,
checkpoints and rule resources.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from dvhpc.rules import snakefile_reader
from dvhpc.rules.snakefile_reader import read_snakefile

TESTS = Path(__file__).resolve().parent
WORKFLOWS = TESTS / "fixtures" / "workflow"
EXEC_HINT = "--workflow-exec would run Snakemake's parser"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root / "Snakefile"


def names(info) -> tuple:
    return info.rules, sorted(info.localrules), sorted(info.checkpoints)


# --------------------------------------------------------------------------- oracle


@pytest.fixture(scope="session")
def dynvision_workflow(tmp_path_factory) -> Path:
    """DynVision's real workflow (dynvision 0.1.0), downloaded once per session."""
    where = tmp_path_factory.mktemp("dynvision")
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-input", "dynvision==0.1.0",
                           "-d", str(where)], capture_output=True, text=True, timeout=300)
    wheels = sorted(where.glob("dynvision-0.1.0-*.whl"))
    if proc.returncode != 0 or not wheels:
        pytest.skip(f"could not download dynvision==0.1.0 with pip: {proc.stderr.strip().splitlines()[-1:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:  # the whole package: the workflow imports it
        wheel.extractall(where / "unpacked", [n for n in wheel.namelist() if n.startswith("dynvision/")])
    return where / "unpacked" / "dynvision" / "workflow" / "Snakefile"


ORACLE_CASES = {
    "fixture": WORKFLOWS / "Snakefile",
    "modules": WORKFLOWS / "oracle" / "modules" / "Snakefile",
    "tricky": WORKFLOWS / "oracle" / "tricky" / "Snakefile",
    "e2e": TESTS / "e2e" / "Snakefile",
}


def _tricky_variant(tmp_path: Path, change) -> Path:
    source = WORKFLOWS / "oracle" / "tricky"
    target = tmp_path / "variant"
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        if path.is_file():
            path.write_bytes(change(path.read_bytes()))
    return target / "Snakefile"


def _agree(snakefile: Path, tmp_path: Path, root: Path | None = None) -> None:
    """Both readers on a copy of `root` (default: the Snakefile's folder)."""
    pytest.importorskip("snakemake.api", reason="snakemake is not installed (pip install -e '.[test]')")
    from dvhpc.rules.workflow import read_workflow

    root = root or snakefile.parent
    copy = tmp_path / "copy"  # Snakemake may write next to the workflow: never into the source tree
    shutil.copytree(root, copy)
    copied = copy / snakefile.relative_to(root)
    real = read_workflow(copied)
    static = read_snakefile(copied)
    assert real.error is None, real.error
    assert static.error is None, static.error
    assert names(static) == names(real)
    assert static.rule_resources == real.rule_resources
    assert static.rules, "an oracle case without rules proves nothing"


@pytest.mark.snakemake
@pytest.mark.parametrize("case", sorted(ORACLE_CASES))
def test_static_reader_agrees_with_snakemake(case, tmp_path):
    _agree(ORACLE_CASES[case], tmp_path)


@pytest.mark.snakemake
@pytest.mark.parametrize("variant", ["tabs", "crlf"])
def test_static_reader_agrees_with_snakemake_on_tabs_and_crlf(variant, tmp_path):
    change = {"tabs": lambda b: b.replace(b"    ", b"\t"), "crlf": lambda b: b.replace(b"\n", b"\r\n")}[variant]
    snakefile = _tricky_variant(tmp_path, change)
    assert (b"\t" if variant == "tabs" else b"\r\n") in snakefile.read_bytes()
    _agree(snakefile, tmp_path / "run")


@pytest.mark.snakemake
@pytest.mark.slow
def test_static_reader_agrees_with_snakemake_on_dynvision(dynvision_workflow, tmp_path):
    """DynVision's workflow: 6 included .smk files, `use rule ... as ... with:`, a checkpoint."""
    _agree(dynvision_workflow, tmp_path, root=dynvision_workflow.parents[2])  # it imports its own package
    static = read_snakefile(dynvision_workflow)
    assert "intermediate_checkpoint_to_statedict" in static.checkpoints
    assert "train_model_distributed" in static.rules
    # nothing in it that the reader cannot follow: no DV354 notes
    assert static.notes == ()


# --------------------------------------------------------------------------- nothing runs


SLEEPER = """
import os, pathlib, time
pathlib.Path(os.environ["DVHPC_TEST_MARKER"] + ".{where}").touch()
time.sleep(float(os.environ.get("DVHPC_TEST_SLEEP", "30")))
"""


def _sleeper_workflow(root: Path) -> Path:
    return write(root, {
        "Snakefile": SLEEPER.format(where="top") + 'include: "rules/extra.smk"\n\nrule train:\n    output: "m"\n'
                     '    shell: "touch {output}"\n',
        "rules/extra.smk": SLEEPER.format(where="smk") + "\nrule plot:\n    output: \"p\"\n    shell: \"true\"\n",
        "site.yaml": """
            dvhpc: 1
            site: wfsite
            detect:
              env: {SLURM_CLUSTER_NAME: wfsite}
            slurm:
              account: mylab
              partitions:
                cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G}
            resources:
              defaults: {partition: cpu, cpus: 1, mem: 2G, time: 30min}
              rules:
                train: {cpus: 4}
                prepare: {cpus: 4}
        """,
    })


def _dvhpc(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvhpc", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=200, stdin=subprocess.DEVNULL)


def _env(tmp_path: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS.parent / "compiler"), env.get("PYTHONPATH")) if p)
    env["DVHPC_TEST_MARKER"] = str(tmp_path / "marker")
    env.update(extra)
    return env


def test_lint_workflow_does_not_run_the_snakefile(tmp_path):
    """Issue 19 item 5: `lint --workflow` ran the Snakefile's top-level code and its includes
    (a sleeping Snakefile blocked lint, CI ran a pull request's code)."""
    _sleeper_workflow(tmp_path)
    started = time.monotonic()
    proc = _dvhpc("lint", "--no-shellcheck", "--format", "json", "--workflow", "Snakefile", "site.yaml",
                  cwd=tmp_path, env=_env(tmp_path))
    elapsed = time.monotonic() - started
    assert sorted(p.name for p in tmp_path.glob("marker*")) == []
    assert elapsed < 15, elapsed  # the Snakefile sleeps 30 s if it runs
    import json

    found = {(d["code"], d["message"]) for d in json.loads(proc.stdout)}
    # the rules were read: `prepare` is not in the workflow, `plot` (from the .smk) has no entry
    assert ("DV350", "rule 'prepare' is not in the workflow Snakefile") in found, found
    assert ("DV351", "workflow rule 'plot' has no entry: it gets resources.defaults") in found, found
    assert proc.returncode == 1, proc.stderr


@pytest.mark.snakemake
def test_lint_workflow_exec_runs_the_snakefile(tmp_path):
    """`--workflow-exec` is the flag that runs the workflow's code (Snakemake's own parser)."""
    pytest.importorskip("snakemake.api")
    _sleeper_workflow(tmp_path)
    proc = _dvhpc("lint", "--no-shellcheck", "--workflow", "Snakefile", "--workflow-exec", "site.yaml",
                  cwd=tmp_path, env=_env(tmp_path, DVHPC_TEST_SLEEP="0"))
    assert sorted(p.name for p in tmp_path.glob("marker*")) == ["marker.smk", "marker.top"]
    assert "rule 'prepare' is not in the workflow" in proc.stderr, proc.stderr


def test_workflow_exec_needs_workflow_and_says_it_executes(tmp_path):
    proc = _dvhpc("lint", "--workflow-exec", "site.yaml", cwd=tmp_path, env=_env(tmp_path))
    assert proc.returncode == 2 and "--workflow-exec reads the Snakefile given with --workflow" in proc.stderr
    help_text = " ".join(_dvhpc("lint", "--help", cwd=tmp_path, env=_env(tmp_path)).stdout.split())
    assert "--workflow-exec" in help_text and "EXECUTES the workflow's code" in help_text


# --------------------------------------------------------------------------- what it reads


def test_strings_comments_and_docstrings_are_not_rules():
    info = read_snakefile(WORKFLOWS / "oracle" / "tricky" / "Snakefile")
    assert info.error is None and info.notes == ()
    assert not [r for r in info.rules if r.startswith("not_")]


def test_localrules_several_statements_and_continued_lines(tmp_path):
    snakefile = write(tmp_path, {"Snakefile": """
        localrules: a,
            b
        localrules: c, \\
            d
        rule a:
            shell: "true"
        rule b:
            shell: "true"
        rule c:
            shell: "true"
        rule d:
            localrule: False
            shell: "true"
        rule e:
            localrule: True
            shell: "true"
    """})
    info = read_snakefile(snakefile)
    assert names(info) == (("a", "b", "c", "d", "e"), ["a", "b", "c", "d", "e"], [])


def test_unknown_module_and_dynamic_module_rules_are_dv354_not_a_crash(tmp_path):
    snakefile = write(tmp_path, {"Snakefile": """
        module remote:
            snakefile: github("owner/repo", path="workflow/Snakefile", tag="v1")
        use rule * from remote as r_*
        use rule a, b from remote as r2_*
        use rule c from undeclared as mine
        rule own:
            shell: "true"
    """})
    info = read_snakefile(snakefile)
    assert info.error is None
    assert info.rules == ("r2_a", "r2_b", "mine", "own")
    where = [(Path(f).name, line, col) for f, line, col, _ in info.notes]
    assert where == [("Snakefile", 3, 1), ("Snakefile", 4, 1), ("Snakefile", 5, 1)]
    assert "the rules it brings in are not known" in info.notes[0][3]
    assert all(EXEC_HINT in message for *_, message in info.notes)


def test_dynamic_constructs_are_located_dv354(tmp_path):
    snakefile = write(tmp_path, {"Snakefile": """
        RULES = "rules"
        include: RULES + "/a.smk"
        include: f"{RULES}/b.smk"
        for i in range(3):
            rule:
                name: f"loop_{i}"
                shell: "true"
        if config.get("extra"):
            rule maybe:
                shell: "true"
        rule gpu:
            resources: **extra_resources
            shell: "true"
    """})
    info = read_snakefile(snakefile)
    assert info.error is None
    assert info.rules == ("maybe", "gpu")
    notes = [(line, col, message) for _, line, col, message in info.notes]
    assert [(line, col) for line, col, _ in notes] == [(2, 10), (3, 10), (6, 15), (9, 5), (12, 16)]
    assert notes[0][2] == ('include: RULES + "/a.smk" is not a plain string, so the static reader cannot tell '
                           f"which file it includes ({EXEC_HINT}, which executes the workflow's code)")
    assert "inside a `for` loop" in notes[2][2] and "inside an `if` block" in notes[3][2]


def test_includes_are_relative_to_the_including_file(tmp_path):
    snakefile = write(tmp_path, {
        "workflow/Snakefile": 'include: "rules/a.smk"\n',
        "workflow/rules/a.smk": 'include: "sub/b.smk"\nrule a:\n    shell: "true"\n',
        "workflow/rules/sub/b.smk": 'rule b:\n    shell: "true"\n',
    })
    info = read_snakefile(tmp_path / "workflow" / "Snakefile")
    assert snakefile and info.error is None and info.rules == ("b", "a")
    path, line = info.rule_locations["b"]  # shown relative to the current folder where that is shorter
    assert (os.path.abspath(path), line) == (str(tmp_path / "workflow" / "rules" / "sub" / "b.smk"), 1)


@pytest.mark.parametrize("files, message, place", [
    ({"Snakefile": 'rule a:\n    shell: "true"\ninclude: "nope.smk"\n'},
     "cannot read nope.smk: file not found", ("Snakefile", 3, 10)),
    ({"Snakefile": 'include: "a.smk"\n', "a.smk": 'include: "b.smk"\n', "b.smk": 'include: "a.smk"\n'},
     "include cycle: a.smk -> b.smk -> a.smk", ("b.smk", 1, 10)),
    ({"Snakefile": 'include: "a.smk"\ninclude: "a.smk"\n', "a.smk": 'rule a:\n    shell: "true"\n'},
     "rule name 'a' is already used by the rule at a.smk:1", ("a.smk", 1, 1)),
    ({"Snakefile": 'rule a:\n    shell: "true"\n\nrule b\n    shell: "true"\n'},
     "expected ':' after 'rule b'", ("Snakefile", 4, 7)),
    ({"Snakefile": b'rule a:\n    shell: "caf\xe9"\n'},
     "not valid UTF-8 (byte 0xe9); Snakemake reads workflows as UTF-8", ("Snakefile", 2, 16)),
    ({"Snakefile": 'rule a:\n    shell: """never closed\n'},
     "Python tokenizer: EOF in multi-line string", ("Snakefile", 2, 12)),
    ({"Snakefile": 'rule a:\n        shell: "x"\n    output: "y"\n'},
     "Python tokenizer: unindent does not match any outer indentation level", ("Snakefile", 3, None)),
])
def test_located_errors(tmp_path, monkeypatch, files, message, place):
    monkeypatch.chdir(tmp_path)  # files in messages are shown relative to the current folder
    write(tmp_path, files)
    info = read_snakefile(tmp_path / "Snakefile")
    assert info.rules == ()
    assert info.error == message
    file, line, col = info.error_location
    assert (Path(file).name, line, col if place[2] is not None else None) == place


def test_fifo_and_device_include_targets_never_block(tmp_path):
    os.mkfifo(tmp_path / "fifo.smk")
    write(tmp_path, {"Snakefile": 'include: "fifo.smk"\n'})
    started = time.monotonic()
    info = read_snakefile(tmp_path / "Snakefile")
    assert time.monotonic() - started < 5
    assert info.error.endswith("fifo.smk is not a regular file")
    write(tmp_path, {"Snakefile": 'include: "/dev/zero"\n'})
    assert read_snakefile(tmp_path / "Snakefile").error == "/dev/zero is not a regular file"
    # a symlink to a regular file is followed, as Snakemake does
    write(tmp_path, {"real.smk": 'rule r:\n    shell: "true"\n', "Snakefile": 'include: "link.smk"\n'})
    (tmp_path / "link.smk").symlink_to("real.smk")
    assert read_snakefile(tmp_path / "Snakefile").rules == ("r",)


def test_a_fifo_as_the_workflow_never_blocks(tmp_path):
    os.mkfifo(tmp_path / "Snakefile")
    info = read_snakefile(tmp_path / "Snakefile")
    assert info.error is not None and info.rules == ()


def test_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(snakefile_reader, "MAX_FILE_BYTES", 1000)
    write(tmp_path, {"Snakefile": "# padding\n" * 200})
    info = read_snakefile(tmp_path / "Snakefile")
    assert "is larger than 1,000 bytes" in info.error and info.error_location[1:] == (1, 1)
    monkeypatch.undo()
    monkeypatch.setattr(snakefile_reader, "MAX_TOTAL_BYTES", 1500)
    write(tmp_path, {"Snakefile": 'include: "a.smk"\n' + "# padding\n" * 90, "a.smk": "# padding\n" * 90})
    info = read_snakefile(tmp_path / "Snakefile")
    assert info.error == "the workflow's files are larger than 1,500 bytes together"
    assert (Path(info.error_location[0]).name, info.error_location[1]) == ("Snakefile", 1)
    monkeypatch.undo()
    # a module read again for each `use rule` counts each time
    monkeypatch.setattr(snakefile_reader, "MAX_LINES_READ", 500)
    uses = "".join(f"use rule * from m as m{i}_*\n" for i in range(100))
    write(tmp_path, {"Snakefile": 'module m:\n    snakefile: "m.smk"\n' + uses,
                     "m.smk": "".join(f'rule a{j}:\n    shell: "true"\n' for j in range(10))})
    assert read_snakefile(tmp_path / "Snakefile").error == "more than 500 lines read (includes and modules)"
    monkeypatch.undo()
    chain = {f"f{i}.smk": f'include: "f{i + 1}.smk"\n' for i in range(40)}
    write(tmp_path, {"Snakefile": 'include: "f0.smk"\n', **chain, "f40.smk": ""})
    info = read_snakefile(tmp_path / "Snakefile")
    assert info.error == f"includes nested deeper than {snakefile_reader.MAX_INCLUDE_DEPTH} files"
    assert Path(info.error_location[0]).name == "f30.smk"


def test_lint_reports_dv354_and_dv353_with_places(tmp_path):
    write(tmp_path, {
        "wf/Snakefile": 'include: config["extra"]\nrule train:\n    shell: "true"\nrule prepare:\n    shell: "true"\n',
    })
    shutil.copy(_sleeper_workflow(tmp_path / "sleeper").parent / "site.yaml", tmp_path / "site.yaml")
    proc = _dvhpc("lint", "--no-shellcheck", "--workflow", "wf/Snakefile", "site.yaml", cwd=tmp_path,
                  env=_env(tmp_path))
    from dvhpc.report.codes import RULES

    assert f"wf/Snakefile:1:10: warning[DV354]: {RULES['DV354'].message}\n" in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "wf" / "Snakefile").write_bytes(b'rule train:\n    shell: "\xff"\n')
    proc = _dvhpc("lint", "--no-shellcheck", "--workflow", "wf/Snakefile", "site.yaml", cwd=tmp_path,
                  env=_env(tmp_path))
    assert "wf/Snakefile:2:13: error[DV353]: cannot read the workflow: not valid UTF-8 (byte 0xff)" in proc.stderr
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
