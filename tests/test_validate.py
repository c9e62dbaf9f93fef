"""`dvhpc validate`: the fixtures in tests/fixtures/validate and the CLI's contract (issue 2).

Fixture cases: every `<name>.expected` in tests/fixtures/validate holds the exact first line of each
diagnostic, in order, for `dvhpc validate <name>.yaml` (or `<name>.toml`) run from that folder.
If neither file exists, `<name>.yaml` is validated anyway (a deliberately missing file).
To regenerate one after an intended message change (then review the diff!):
    cd tests/fixtures/validate && dvhpc validate NAME.yaml 2>&1 | grep -aE '^\\S+:[0-9]+:[0-9]+: ' > NAME.expected
Files without a `.expected` (base.yaml, layers/, regressions/) are helpers or bug regressions.
"""

from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import (
    HEAD_RE,
    REPO,
    SITES,
    VALIDATE_FIXTURES,
    diagnostic_heads,
    dvhpc_env,
    run_in_process,
    run_subprocess,
)

REGRESSIONS = VALIDATE_FIXTURES / "regressions"


def _spec_for(expected: Path) -> str:
    for suffix in (".yaml", ".toml"):
        candidate = expected.with_suffix(suffix)
        if candidate.exists():
            return candidate.name
    return expected.with_suffix(".yaml").name


CASES = sorted(VALIDATE_FIXTURES.glob("*.expected"))


@pytest.fixture(scope="module")
def fixture_runs():
    """All fixture cases through the real CLI (subprocesses, run concurrently: ~0.4 s each)."""
    def run(expected: Path):
        return expected.stem, run_subprocess("validate", _spec_for(expected), cwd=VALIDATE_FIXTURES)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, CASES))


def test_there_are_fixture_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("expected", CASES, ids=[c.stem for c in CASES])
def test_fixture(expected: Path, fixture_runs):
    code, out, err = fixture_runs[expected.stem]
    want = expected.read_text(encoding="utf-8").splitlines()
    assert "Traceback" not in err
    assert code == 1, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert want, f"{expected.name} is empty"
    assert diagnostic_heads(err) == want, f"full stderr:\n{err}"
    assert out == ""
    assert err.rstrip().endswith("1 of 1 spec(s) invalid")


@pytest.mark.parametrize("expected", CASES, ids=[c.stem for c in CASES])
def test_fixture_json_matches_text(expected: Path):
    """`--format json` carries exactly the same diagnostics (in-process: fast)."""
    code, out, err = run_in_process("validate", "--format", "json", _spec_for(expected), cwd=VALIDATE_FIXTURES)
    assert code == 1, err
    items = json.loads(out)
    heads = [f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}[{d['code']}]: {d['message']}" for d in items]
    assert heads == expected.read_text(encoding="utf-8").splitlines()


# --------------------------------------------------------------------------- clean specs


@pytest.mark.parametrize("spec", sorted(p.name for p in SITES.glob("*.yaml")))
def test_sites_validate_clean(spec, run_dvhpc):
    code, out, err = run_dvhpc("validate", f"sites/{spec}", cwd=REPO)
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(rf"sites/{re.escape(spec)}: ok \((site '[a-z][a-z0-9_-]*'|abstract layer), "
                        r"\d+ rules?, \d+ partitions?\)", lines[0]), lines[0]


def test_example_and_base_confirmations(run_dvhpc):
    code, out, err = run_dvhpc("validate", "sites/example.yaml", "sites/base.yaml", cwd=REPO)
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("sites/example.yaml: ok (site 'example', ")
    assert out.splitlines()[1] == "sites/base.yaml: ok (abstract layer, 0 rules, 0 partitions)"


def test_valid_spec_json_and_github_are_empty(dvhpc_main):
    assert dvhpc_main("validate", "--format", "json", "sites/example.yaml", cwd=REPO) == (0, "[]\n", "")
    assert dvhpc_main("validate", "--format", "github", "sites/example.yaml", cwd=REPO) == (0, "", "")


def test_toml_equivalent_of_the_example(run_dvhpc):
    code, out, err = run_dvhpc("validate", "example.toml", cwd=VALIDATE_FIXTURES)
    assert (code, err) == (0, "")
    assert out == "example.toml: ok (site 'example', 5 rules, 2 partitions)\n"


def test_toml_and_yaml_example_hold_the_same_data():
    from dvhpc.pipeline import check

    toml, yaml = check(str(VALIDATE_FIXTURES / "example.toml")), check(str(VALIDATE_FIXTURES / "example.yaml"))
    assert toml.ok and yaml.ok
    assert toml.layers.data == yaml.layers.data


TOML_HEAD = 'dvhpc = 1\nsite = "mini"\n\n[slurm.partitions.cpu]\ndefault = true\nmem = "180G"\n\n'


@pytest.mark.parametrize("body, line, code", [
    ('[resources.rules.train]\ncpus = 4\npartiton = "cpu"\n', 10, "DV102"),
    ('[resources.rules]\ntrain = { cpus = 4, mem = 16 }\n', 9, "DV204"),
    ('[resources.defaults]\ntime = "2 hours"\n', 9, "DV202"),
    ('[snakemake]\njobs = "lots"\n', 9, "DV104"),
    ('[resources.rules.train]\nretry.mem = "double"\n', 9, "DV203"),
    ('[slurm]\naccounting = yes\n', 9, "DV003"),
    ('[slurm]\naccounting = true\naccounting = false\n', 10, "DV003"),
])
def test_toml_errors_have_the_right_line(tmp_path, dvhpc_main, body, line, code):
    (tmp_path / "site.toml").write_text(TOML_HEAD + body)
    status, out, err = dvhpc_main("validate", "--format", "json", "site.toml", cwd=tmp_path)
    assert status == 1, err
    items = json.loads(out)
    assert [(d["code"], d["line"]) for d in items] == [(code, line)]


# --------------------------------------------------------------------------- the issue's example


def test_unknown_key_like_the_issue(run_dvhpc):
    code, out, err = run_dvhpc("validate", "dv102_unknown_key.yaml", cwd=VALIDATE_FIXTURES)
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == ("dv102_unknown_key.yaml:41:7: error[DV102]: unknown key 'partiton' in "
                        "resources.rules.train_model (did you mean 'partition'?)")
    snippet, carets = lines[1], lines[2]
    match = re.fullmatch(r"( *)41 \| (      partiton: gpu)", snippet)
    assert match, snippet
    gutter = len(match.group(1)) + 2  # spaces + the line number
    assert carets == " " * gutter + " | " + " " * 6 + "^" * len("partiton"), repr(carets)
    assert carets.index("|") == snippet.index("|")


def test_did_you_mean_is_absent_when_nothing_is_close(run_dvhpc):
    code, _, err = run_dvhpc("validate", "dv102_unknown_top_level.yaml", cwd=VALIDATE_FIXTURES)
    assert code == 1
    assert "did you mean" not in err.splitlines()[0]
    assert "= help: allowed keys: abstract, datasets, description, detect, dvhpc," in err


# --------------------------------------------------------------------------- all at once, sorted


def test_all_problems_reported_at_once_sorted(dvhpc_main):
    code, out, err = dvhpc_main("validate", "--format", "json", "many_problems.yaml", cwd=VALIDATE_FIXTURES)
    assert code == 1
    items = json.loads(out)
    assert len(items) == 5
    assert {d["code"] for d in items} == {"DV102", "DV103", "DV204", "DV201", "DV202"}
    positions = [(d["line"], d["column"]) for d in items]
    assert positions == sorted(positions)


def test_several_specs_sorted_by_file_then_position(run_dvhpc):
    code, out, err = run_dvhpc("validate", "many_problems.yaml", "dv100_wrong_type.yaml", "example.yaml",
                               cwd=VALIDATE_FIXTURES)
    assert code == 1
    heads = [HEAD_RE.match(line) for line in diagnostic_heads(err)]
    keys = [(m["file"], int(m["line"]), int(m["column"])) for m in heads]
    assert keys == sorted(keys)
    assert keys[0][0] == "dv100_wrong_type.yaml" and len(keys) == 6
    assert out == "example.yaml: ok (site 'example', 5 rules, 2 partitions)\n"
    assert err.rstrip().endswith("2 of 3 spec(s) invalid")


# --------------------------------------------------------------------------- output formats

JSON_KEYS = {"file", "line", "column", "end_line", "end_column", "severity", "code", "message", "hint"}


def test_json_shape(run_dvhpc):
    code, out, err = run_dvhpc("validate", "--format", "json", "dv102_unknown_key.yaml", "dv201_memory_unit.yaml",
                               cwd=VALIDATE_FIXTURES)
    assert code == 1
    assert err == ""  # machine formats go to stdout, nothing else on stderr
    items = json.loads(out)
    assert isinstance(items, list) and len(items) == 2
    for item in items:
        assert JSON_KEYS <= set(item), item
        assert isinstance(item["file"], str) and isinstance(item["message"], str)
        for key in ("line", "column", "end_line", "end_column"):
            assert isinstance(item[key], int) and item[key] >= 1
        assert (item["end_line"], item["end_column"]) >= (item["line"], item["column"])
        assert item["severity"] == "error"
        assert re.fullmatch(r"DV\d{3}", item["code"])
        assert item["hint"] is None or isinstance(item["hint"], str)
    unknown, memory = items
    assert (unknown["file"], unknown["line"], unknown["column"], unknown["end_line"], unknown["end_column"]) == (
        "dv102_unknown_key.yaml", 41, 7, 41, 14)
    assert unknown["hint"] is None
    assert (memory["code"], memory["line"], memory["column"], memory["end_column"]) == ("DV201", 8, 19, 21)
    assert memory["hint"].startswith("units: K, M, G, T")


def test_json_notes_name_the_first_definition(dvhpc_main):
    code, out, _ = dvhpc_main("validate", "--format", "json", "dv004_duplicate_key.yaml", cwd=VALIDATE_FIXTURES)
    assert code == 1
    (item,) = json.loads(out)
    assert (item["line"], item["column"]) == (11, 5)
    assert item["notes"] == [{"message": "first defined here", "file": "dv004_duplicate_key.yaml", "line": 9,
                              "column": 5}]


def test_duplicate_key_text_names_both_places(run_dvhpc):
    code, _, err = run_dvhpc("validate", "dv004_duplicate_key.yaml", cwd=VALIDATE_FIXTURES)
    assert code == 1
    assert "dv004_duplicate_key.yaml:11:5: error[DV004]: duplicate key 'train'" in err
    assert "  = note: dv004_duplicate_key.yaml:9:5: first defined here" in err


def test_github_annotations(run_dvhpc):
    code, out, err = run_dvhpc("validate", "--format", "github", "dv102_unknown_key.yaml", "dv201_memory_unit.yaml",
                               cwd=VALIDATE_FIXTURES)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"::error file=dv102_unknown_key\.yaml,line=41,col=7(,endLine=41)?(,endColumn=14)?,title=DV102::"
        r"unknown key 'partiton' in resources\.rules\.train_model \(did you mean 'partition'\?\)", lines[0]), lines[0]
    # the hint rides along after an escaped newline; no raw newline splits an annotation
    assert re.fullmatch(r"::error file=dv201_memory_unit\.yaml,line=8,col=19[^:]*,title=DV201::"
                        r"resources\.defaults\.mem: unknown memory unit 'Q' in '16Q'%0Aunits: K, M, G, T.*", lines[1])


def test_github_escapes_properties(tmp_path, dvhpc_main):
    folder = tmp_path / "a,b:c"
    folder.mkdir()
    (folder / "s.yaml").write_text("dvhpc: 1\nsite: Bad\n")
    code, out, _ = dvhpc_main("validate", "--format", "github", "a,b:c/s.yaml", cwd=tmp_path)
    assert code == 1
    assert out.startswith("::error file=a%2Cb%3Ac/s.yaml,line=2,col=7,")


def test_text_has_no_colour_when_not_a_tty(run_dvhpc):
    _, _, err = run_dvhpc("validate", "dv102_unknown_key.yaml", cwd=VALIDATE_FIXTURES)
    assert "\033[" not in err


# --------------------------------------------------------------------------- files and extends


def test_missing_spec_file(tmp_path, run_dvhpc):
    code, out, err = run_dvhpc("validate", "nope/site.yaml", cwd=tmp_path)
    assert code == 1
    assert diagnostic_heads(err) == [
        "nope/site.yaml:1:1: error[DV001]: cannot read 'nope/site.yaml': it does not exist"]
    assert "Traceback" not in err


def test_folder_argument_validates_every_spec_in_it(tmp_path, dvhpc_main):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text("dvhpc: 1\nsite: a\n")
    (tmp_path / "specs" / "b.toml").write_text('dvhpc = 1\nsite = "B"\n')
    (tmp_path / "specs" / "notes.txt").write_text("not a spec")
    code, out, err = dvhpc_main("validate", "specs", cwd=tmp_path)
    assert code == 1
    assert out == "specs/a.yaml: ok (site 'a', 0 rules, 0 partitions)\n"
    assert [HEAD_RE.match(h)["file"] for h in diagnostic_heads(err)] == ["specs/b.toml"]


def test_folder_without_specs_is_not_silently_ok(tmp_path, dvhpc_main):
    """Bug: a folder argument with no *.yaml/*.toml expands to nothing and validate exits 0 without a word."""
    (tmp_path / "empty").mkdir()
    code, out, err = dvhpc_main("validate", "empty", cwd=tmp_path)
    assert code in (1, 2), f"exit {code}, stdout {out!r}, stderr {err!r}"
    assert "empty" in err


def test_file_too_large(tmp_path, dvhpc_main):
    spec = tmp_path / "huge.yaml"
    spec.write_text("dvhpc: 1\nsite: huge\ndescription: " + "x" * (5 * 1024 * 1024 + 10) + "\n")
    code, out, err = dvhpc_main("validate", "huge.yaml", cwd=tmp_path)
    assert code == 1
    assert diagnostic_heads(err) == ["huge.yaml:1:1: error[DV005]: file is larger than 5 MB"]


def test_byte_order_mark_is_fine(tmp_path, dvhpc_main):
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfdvhpc: 1\nsite: bom\n")
    code, out, err = dvhpc_main("validate", "bom.yaml", cwd=tmp_path)
    assert (code, err) == (0, ""), err


def test_unreadable_file(tmp_path, dvhpc_main):
    import os

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root can read anything")
    spec = tmp_path / "secret.yaml"
    spec.write_text("dvhpc: 1\nsite: s\n")
    spec.chmod(0)
    code, _, err = dvhpc_main("validate", "secret.yaml", cwd=tmp_path)
    assert code == 1
    assert "error[DV001]: cannot read 'secret.yaml'" in err


def _column_text(folder: Path, head: str) -> str:
    m = HEAD_RE.match(head)
    line = (folder / m["file"]).read_text().splitlines()[int(m["line"]) - 1]
    return line[int(m["column"]) - 1:]


@pytest.mark.parametrize("spec, entry", [
    ("dv010_missing_base.yaml", "bsae.yaml"),
    ("dv011_self.yaml", "./dv011_self.yaml"),
    ("dv011_cycle_a.yaml", "dv011_cycle_a.yaml"),
    ("dv011_cycle_b.yaml", "dv011_cycle_b.yaml"),
])
def test_extends_problems_point_at_the_entry(spec, entry, dvhpc_main):
    code, _, err = dvhpc_main("validate", spec, cwd=VALIDATE_FIXTURES)
    assert code == 1
    (head,) = diagnostic_heads(err)
    assert _column_text(VALIDATE_FIXTURES, head).startswith(entry), head


def test_extends_relative_to_the_naming_file(tmp_path, dvhpc_main):
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "common.yaml").write_text("dvhpc: 1\nabstract: true\nextends: [deeper/more.yaml]\n")
    (tmp_path / "lab" / "deeper").mkdir()
    (tmp_path / "lab" / "deeper" / "more.yaml").write_text("dvhpc: 1\nabstract: true\nslurm: {accounting: false}\n")
    (tmp_path / "site.yaml").write_text("dvhpc: 1\nsite: s\nextends: lab/common.yaml\n")
    code, out, err = dvhpc_main("validate", "site.yaml", cwd=tmp_path)
    assert (code, err) == (0, ""), err


def test_error_in_a_base_is_reported_in_the_base(tmp_path, dvhpc_main):
    (tmp_path / "base.yaml").write_text("dvhpc: 1\nabstract: true\nresources:\n  defaults: {mem: 4Q}\n")
    (tmp_path / "site.yaml").write_text("dvhpc: 1\nsite: s\nextends: base.yaml\n")
    code, _, err = dvhpc_main("validate", "site.yaml", cwd=tmp_path)
    assert code == 1
    assert diagnostic_heads(err) == [
        "base.yaml:4:19: error[DV201]: resources.defaults.mem: unknown memory unit 'Q' in '4Q'"]


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize("args", [
    ("validate",),
    ("validate", "--format", "xml", "x.yaml"),
    ("validate", "--no-such-option", "x.yaml"),
    ("no-such-command",),
])
def test_usage_errors_exit_2(args, run_dvhpc, tmp_path):
    code, out, err = run_dvhpc(*args, cwd=tmp_path)
    assert code == 2, (out, err)
    assert "Usage:" in err and "Traceback" not in err


def test_internal_error_exits_3_in_process(monkeypatch, dvhpc_main):
    import dvhpc.pipeline

    def boom(*_args, **_kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(dvhpc.pipeline, "check", boom)
    code, out, err = dvhpc_main("validate", "sites/example.yaml", cwd=REPO)
    assert code == 3
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "internal error (RuntimeError: kaboom)" in lines[0] and "bug" in lines[0]


def test_internal_error_exits_3_in_a_subprocess():
    import subprocess

    script = ("import sys, dvhpc.pipeline\n"
              "def boom(*a, **k):\n    raise RuntimeError('kaboom')\n"
              "dvhpc.pipeline.check = boom\n"
              "sys.argv = ['dvhpc', 'validate', 'sites/example.yaml']\n"
              "from dvhpc.cli import main\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=dvhpc_env(), capture_output=True, text=True)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr and "internal error" in proc.stderr


def test_debug_env_shows_the_traceback(monkeypatch):
    """DVHPC_DEBUG=1 re-raises (for developers); without it the user gets one line."""
    import dvhpc.pipeline
    from dvhpc import cli

    def kaboom(*_args, **_kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(dvhpc.pipeline, "check", kaboom)
    monkeypatch.setenv("DVHPC_DEBUG", "1")
    monkeypatch.setattr(sys, "argv", ["dvhpc", "validate", str(SITES / "example.yaml")])
    with pytest.raises(RuntimeError, match="kaboom"):
        cli.main()


# --------------------------------------------------------------------------- regressions (compiler bugs)
# Each of these documents a bug found while writing the fixtures; see the report for the fix.


def _json_diags(name: str) -> tuple[int, list[dict], str]:
    assert (REGRESSIONS / name).exists(), name
    code, out, err = run_in_process("validate", "--format", "json", f"regressions/{name}", cwd=VALIDATE_FIXTURES)
    try:
        items = json.loads(out) if out.strip() else []
    except json.JSONDecodeError:
        items = []
    return code, items, err


def test_float_where_an_integer_is_required_is_a_diagnostic_not_a_crash():
    """`restart_times: 1.0` passed the schema (jsonschema counts 1.0 as an integer) and crashed resolve."""
    code, items, err = _json_diags("dv100_float_count.yaml")
    assert code == 1, f"exit {code}: {err}"
    assert [(d["code"], d["line"], d["column"]) for d in items] == [("DV100", 8, 18)]


def test_invalid_map_key_points_at_the_key():
    code, items, err = _json_diags("dv103_key_name.yaml")
    assert code == 1
    assert [(d["code"], d["line"], d["column"]) for d in items] == [("DV103", 10, 5)]
    assert "'9lives'" in items[0]["message"]


def test_unused_set_with_unknown_use_is_reported():
    code, items, err = _json_diags("dv210_unused_set.yaml")
    assert code == 1, "an unknown set in an unused set's `use` passes silently"
    assert [(d["code"], d["line"], d["column"]) for d in items] == [("DV210", 9, 16)]


def test_unused_set_using_itself_is_reported():
    code, items, err = _json_diags("dv213_unused_self.yaml")
    assert code == 1, "a set that uses itself passes silently when no rule uses it"
    assert [(d["code"], d["line"], d["column"]) for d in items] == [("DV213", 9, 14)]


def test_second_default_partition_is_the_one_reported():
    """The error goes on the later `default: true` (file order), the note on the first one."""
    code, items, err = _json_diags("dv230_default_order.yaml")
    assert code == 1
    (item,) = items
    assert (item["line"], item["column"]) == (7, 20), item
    assert item["notes"][0]["line"] == 5


@pytest.mark.parametrize("name, line, column, codes", [
    ("dv006_python_tag.yaml", 2, 7, {"DV006"}),  # !!python/name:... was read as a plain string
    ("dv006_tagged_mapping.yaml", 3, 11, {"DV006"}),  # tags on mappings/sequences were never checked
    ("dv006_bad_explicit_bool.yaml", 3, 21, {"DV003", "DV006"}),  # !!bool "maybe" silently became false
])
def test_unsupported_tags_are_refused(name, line, column, codes):
    code, items, err = _json_diags(name)
    assert code == 1, f"{name} validated although it uses an unsupported YAML tag"
    assert [(d["line"], d["column"]) for d in items] == [(line, column)]
    assert items[0]["code"] in codes
