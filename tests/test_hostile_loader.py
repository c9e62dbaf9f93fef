"""Hostile input to the loader and the diagnostic renderers (issue 19, items 6, 11, 12, 13, 14).

- YAML 1.1 line breaks (U+0085, U+2028, U+2029) are refused anywhere (DV008): PyYAML, which reads
  Snakemake's profiles, ends a comment at them, YAML 1.2 does not.
- Numbers of more than MAX_DIGITS digits are refused at load (DV005), before any conversion.
- A spec file name that is not UTF-8 is reported escaped, never a crash.
- FIFOs, devices and /dev/stdin are refused without being waited on (DV007).
- A file that is not a dvhpc spec shows nothing of its content in any output format (DV007).
- Control and bidi characters are escaped in every diagnostic format.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HEAD_RE, VALIDATE_FIXTURES, diagnostic_heads, dvhpc_env, run_in_process
from dvhpc.frontend.source import MAX_DIGITS

BASE = VALIDATE_FIXTURES / "base.yaml"
SITE = "dvhpc: 1\nsite: t\nextends: base.yaml\n"
FORMATS = ("text", "json", "github", "sarif")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(BASE, tmp_path / "base.yaml")
    return tmp_path


def run(*args, cwd: Path, timeout: float = 60, stdin=subprocess.DEVNULL) -> tuple[int, bytes, bytes]:
    """`python -m dvhpc ARGS` with raw bytes out (file names need not be UTF-8); a hang fails the test."""
    proc = subprocess.run([sys.executable, "-m", "dvhpc", *args], cwd=cwd, env=dvhpc_env(), capture_output=True,
                          timeout=timeout, stdin=stdin)
    return proc.returncode, proc.stdout, proc.stderr


def heads(err: str) -> list[tuple[str, str]]:
    """(file:line:col, code) of each text diagnostic."""
    return [(f"{m['file']}:{m['line']}:{m['column']}", m["code"]) for m in map(HEAD_RE.match, diagnostic_heads(err))]


def formats_output(command: str, *args: str, cwd: Path) -> dict[str, tuple[str, str]]:
    """(stdout, stderr) of a failing `dvhpc COMMAND ARGS` in each diagnostics format it has (in-process)."""
    out = {}
    for fmt in FORMATS if command == "lint" else FORMATS[:3]:
        code, stdout, stderr = run_in_process(command, "--format", fmt, *args, cwd=cwd)
        assert code == 1, (fmt, code, stdout, stderr)
        assert "internal error" not in stderr
        out[fmt] = stdout, stderr
    return out


# --------------------------------------------------------------------------- item 6: YAML 1.1 line breaks


def test_yaml_1_1_readers_end_a_comment_at_nel():
    """The oracle: PyYAML (Snakemake reads profiles with it) and the C parser's YAML 1.1 reading end
    a comment at U+0085, so the text after it becomes keys; a YAML 1.2 reader keeps it a comment."""
    yaml = pytest.importorskip("yaml")
    text = "site: t # c\x85environment: {variables: {X: injected}}\n"
    assert yaml.safe_load(text) == {"site": "t", "environment": {"variables": {"X": "injected"}}}


def test_nel_in_a_comment_exports_nothing(project):
    """Before: `compile` wrote a bootstrap.sh that exports X (the positive control below shows the
    same spec with a newline does). Now the spec is refused at the exact place of the character."""
    # the payload, with a variable name from the safe set (X itself is now refused, DV231)
    payload = "site: t # c{line_break}environment: {{variables: {{INJECTED_DIR: injected}}}}\n"
    control = project / "control"
    control.mkdir()
    shutil.copy(BASE, control / "base.yaml")
    head = "dvhpc: 1\nextends: base.yaml\n"
    (control / "t.yaml").write_text(head + payload.format(line_break="\n"), encoding="utf-8")
    assert run_in_process("compile", "t.yaml", "--out", "out", cwd=control)[0] == 0
    # a bare environment: the checks of python and snakemake fail fast, the variables are set anyway
    script = 'source ./bootstrap.sh >/dev/null 2>&1; printf %s "${INJECTED_DIR-unset}"'
    sourced = subprocess.run(["bash", "-c", script],
                             cwd=control / "out" / "t", capture_output=True, text=True, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(project)})
    assert sourced.stdout == "injected"

    (project / "t.yaml").write_text(head + payload.format(line_break="\x85"), encoding="utf-8")
    code, out, err = run_in_process("compile", "t.yaml", "--out", "out", cwd=project)
    assert code == 1, err
    assert heads(err) == [("t.yaml:3:12", "DV008")]
    assert not (project / "out").exists()


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize("line, expected_column", [
    ("site: t  # note{c}environment: {{variables: {{X: y}}}}", 16),   # ends a comment
    ("description: one{c}two", 17),                                 # inside a plain value
    ("description: 'one{c}two'", 18),                               # inside a quoted value
    ("\"k{c}ey\": 1", 3),                                           # inside a key
])
def test_yaml_1_1_line_breaks_are_refused_where_they_are(project, char, line, expected_column):
    head = "dvhpc: 1\nextends: base.yaml\n" + ("description: d\n" if line.startswith("site") else "site: t\n")
    (project / "s.yaml").write_text(head + line.format(c=char) + "\n", encoding="utf-8")
    code, _, err = run_in_process("validate", "s.yaml", cwd=project)
    assert code == 1
    assert heads(err) == [(f"s.yaml:4:{expected_column}", "DV008")], err


@pytest.mark.parametrize("escape", ["\\N", "\\L", "\\P", "\\x85", "\\u2028", "\\u2029", "\\U00000085"])
def test_escaped_yaml_1_1_line_breaks_in_values_and_keys_are_refused(project, escape):
    (project / "s.yaml").write_text(SITE + f'description: "a{escape}b"\n"k{escape}": 1\n', encoding="utf-8")
    code, _, err = run_in_process("validate", "s.yaml", cwd=project)
    assert code == 1
    assert heads(err) == [("s.yaml:4:14", "DV008"), ("s.yaml:5:1", "DV008")], err


@pytest.mark.parametrize("text, where", [
    ('dvhpc = 1\nsite = "t"\nextends = "base.yaml"\ndescription = "a\\u2028b"\n', "s.toml:4:15"),
    ('dvhpc = 1\nsite = "t"\nextends = "base.yaml"\n# a comment\u2029description = "x"\n', "s.toml:4:12"),
    ('dvhpc = 1\nsite = "t"\nextends = "base.yaml"\n[settings]\n"k\\u0085" = 1\n', "s.toml:5:1"),
])
def test_toml_line_breaks_are_refused_too(project, text, where):
    """Their values reach the same generated files (read by YAML 1.1 tools and shells)."""
    (project / "s.toml").write_text(text, encoding="utf-8")
    code, _, err = run_in_process("validate", "s.toml", cwd=project)
    assert code == 1
    assert heads(err) == [(where, "DV008")], err


def test_import_reads_a_profile_as_snakemake_does_across_a_nel(tmp_path):
    """Snakemake (PyYAML, YAML 1.1) reads `set-resources` as a key after the NEL, where YAML 1.2 sees a
    comment. `import` reads profiles as Snakemake does (issue 15), so the rule `evil` Snakemake would
    run is imported, not silently dropped as a comment."""
    import yaml

    text = "executor: slurm\njobs: 10 # c\x85set-resources: {evil: {mem_mb: 1}}\n"
    assert yaml.safe_load(text)["set-resources"] == {"evil": {"mem_mb": 1}}  # what Snakemake reads
    profile = tmp_path / "config.yaml"
    profile.write_text(text, encoding="utf-8")
    code, out, err = run_in_process("import", str(profile), "--site", "x", cwd=tmp_path)
    assert code == 0, err
    spec = yaml.safe_load(out)
    assert spec["resources"]["rules"] == {"evil": {"mem": "1M"}} and spec["snakemake"]["jobs"] == 10


# --------------------------------------------------------------------------- item 11: huge numbers, non-UTF-8 names

BIG = "9" * 5000


@pytest.mark.parametrize("name, text, where", [
    ("mem.yaml", SITE + f"resources: {{defaults: {{mem: {BIG}G}}}}\n", "mem.yaml:4:29"),
    ("time.yaml", SITE + f"resources: {{defaults: {{time: {BIG}h}}}}\n", "time.yaml:4:30"),
    ("retry.yaml", SITE + f"resources: {{defaults: {{retry: {{mem: {BIG}x}}}}}}\n", "retry.yaml:4:37"),
    ("latency.yaml", SITE + f"snakemake: {{latency_wait: {BIG}s}}\n", "latency.yaml:4:27"),
    ("cpus.yaml", SITE + f"resources: {{defaults: {{cpus: {BIG}}}}}\n", "cpus.yaml:4:30"),
    ("underscores.yaml", SITE + "snakemake: {jobs: 1" + "_9" * 4400 + "}\n", "underscores.yaml:4:19"),
    ("hex.yaml", SITE + "snakemake: {jobs: 0x" + "f" * 4000 + "}\n", "hex.yaml:4:19"),
    ("int.toml", 'dvhpc = 1\nsite = "t"\nextends = "base.yaml"\n[resources.defaults]\ncpus = ' + BIG + "\n",
     "int.toml:5:8"),
    ("mem.toml", 'dvhpc = 1\nsite = "t"\nextends = "base.yaml"\n[resources.defaults]\nmem = "' + BIG + 'G"\n',
     "mem.toml:5:7"),
])
@pytest.mark.parametrize("command", ["validate", "compile"])
def test_numbers_too_long_to_convert_are_a_located_error(project, name, text, where, command):
    """Before: exit 3 (Python refuses int <-> str of over 4,300 digits). Now DV005 at the number."""
    (project / name).write_text(text, encoding="utf-8")
    code, out, err = run_in_process(command, name, "--out", "out", cwd=project) if command == "compile" \
        else run_in_process(command, name, cwd=project)
    assert code == 1, err
    assert heads(err) == [(where, "DV005")], err


def test_the_digit_limit_is_exact(project):
    (project / "ok.yaml").write_text(SITE + f"settings: {{x: {'1' * MAX_DIGITS}}}\n")
    (project / "no.yaml").write_text(SITE + f"settings: {{x: {'1' * (MAX_DIGITS + 1)}}}\n")
    assert run_in_process("validate", "ok.yaml", cwd=project)[0] == 0
    code, _, err = run_in_process("validate", "no.yaml", cwd=project)
    assert heads(err) == [("no.yaml:4:15", "DV005")]
    assert f"number with {MAX_DIGITS + 1} digits" in err


NOT_UTF8 = os.fsdecode(b"s\xff\x1b[2J.yaml")  # a name that is not UTF-8, with a terminal escape too


@pytest.mark.parametrize("args", [
    ("validate", NOT_UTF8), ("validate", "--format", "json", NOT_UTF8), ("validate", "--format", "github", NOT_UTF8),
    ("lint", "--no-shellcheck", NOT_UTF8), ("lint", "--no-shellcheck", "--format", "sarif", NOT_UTF8),
    ("compile", NOT_UTF8, "--out", "out"), ("diff", NOT_UTF8, "base.yaml"), ("explain", NOT_UTF8, "--all"),
])
def test_spec_names_that_are_not_utf8_are_shown_escaped(project, args):
    """Before: `compile` and `diff` exited 3 (UnicodeEncodeError). Now a located DV002, the name escaped."""
    (project / NOT_UTF8).write_text(SITE)
    code, out, err = run(*args, cwd=project)
    assert code in (1, 2), (out, err)
    output = out + err
    assert b"internal error" not in output
    assert b"\xff" not in output and b"\x1b" not in output
    assert b"s\\xff\\x1b[2J.yaml" in output.replace(b"\\\\", b"\\")
    assert b"DV002" in output


# --------------------------------------------------------------------------- item 12: FIFOs and devices


@pytest.mark.parametrize("spec_text, where", [
    (SITE.replace("base.yaml", "[base.yaml, pipe]"), "s.yaml:3:22"),
    (SITE.replace("base.yaml", "/dev/stdin"), "s.yaml:3:10"),
])
@pytest.mark.parametrize("command", ["validate", "lint", "compile"])
def test_extends_naming_a_fifo_or_stdin_is_refused_not_waited_on(project, spec_text, where, command):
    """Before: dvhpc hung reading the FIFO (and /dev/stdin, a pipe nobody writes to)."""
    os.mkfifo(project / "pipe")
    (project / "s.yaml").write_text(spec_text)
    extra = ("--no-shellcheck",) if command == "lint" else ()
    code, out, err = run(command, *extra, "s.yaml", cwd=project, timeout=30, stdin=subprocess.PIPE)
    assert code == 1, err
    assert heads(err.decode()) == [(where, "DV007")], err
    assert b"is not a regular file: it is a FIFO" in err


def test_a_fifo_as_the_spec_is_refused_not_waited_on(project):
    os.mkfifo(project / "pipe.yaml")
    code, out, err = run("validate", "pipe.yaml", cwd=project, timeout=30)
    assert code == 1, err
    assert heads(err.decode()) == [("pipe.yaml:1:1", "DV007")]


def test_a_folder_argument_with_a_fifo_in_it_does_not_hang(project):
    (project / "sites").mkdir()
    (project / "sites" / "a.yaml").write_text(SITE.replace("base.yaml", "../base.yaml"))
    os.mkfifo(project / "sites" / "b.yaml")
    code, out, err = run("validate", "sites", cwd=project, timeout=30)
    assert code == 1
    assert heads(err.decode()) == [("sites/b.yaml:1:1", "DV007")]
    assert out.decode().startswith("sites/a.yaml: ok")


def test_a_device_is_refused_before_it_is_opened(project):
    (project / "s.yaml").write_text(SITE.replace("base.yaml", "/dev/zero"))
    code, _, err = run_in_process("validate", "s.yaml", cwd=project)
    assert heads(err) == [("s.yaml:3:10", "DV007")]
    assert "'/dev/zero' is not a regular file: it is a character device" in err


# --------------------------------------------------------------------------- item 13: no content of other files

TOKEN = "SECRET_TOKEN_7f3a9c"
SECRETS = {
    "shadow": f"root:$6${TOKEN}$x:19000:0:99999:7:::\nuser:{TOKEN}:19000::::::\n".encode(),
    "mapping.yaml": f"password: {TOKEN}\n{TOKEN}_key: 1\n".encode(),
    "broken.yaml": f"password: [{TOKEN}\n".encode(),
    "tabs.yaml": f"a:\n\t{TOKEN}: 1\n".encode(),
    "binary.bin": b"\x00\xff" + TOKEN.encode() + b"\n\x1b[2J",
    "latin1.txt": TOKEN.encode() + b" caf\xe9\n",
    "nel.yaml": f"a: 1 # x\x85{TOKEN}: 2\n".encode(),
    "long.yaml": f"{TOKEN}: {'9' * 200}\n".encode(),
    "secret.toml": f'password = "{TOKEN}"\n[{TOKEN}]\nx = 1\n'.encode(),
    "dupes.yaml": f"{TOKEN}: 1\n{TOKEN}: 2\n".encode(),
    "list.yaml": f"- {TOKEN}\n".encode(),
    "empty.yaml": b"",
}


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_a_file_that_is_not_a_spec_shows_nothing_of_itself(project, secret):
    """Before: `extends: /etc/shadow` printed its lines inside DV102 messages and snippets. Now one
    DV007 at the entry (or at the file named on the command line), and no byte of it in any format."""
    (project / secret).write_bytes(SECRETS[secret])
    (project / "via-extends.yaml").write_text(SITE.replace("base.yaml", f"[base.yaml, {secret}]"))
    (project / "via-absolute.yaml").write_text(SITE.replace("base.yaml", f"{project / secret}"))
    os.symlink(secret, project / "link.yaml")
    for spec, where in (("via-extends.yaml", "via-extends.yaml:3:22"), ("via-absolute.yaml", "via-absolute.yaml:3:10"),
                        (secret, f"{secret}:1:1"), ("link.yaml", "link.yaml:1:1")):
        outputs = {}
        for command in ("validate", "lint", "compile"):
            extra = ("--no-shellcheck",) if command == "lint" else ()
            outputs.update({f"{command} {fmt}": out + err
                            for fmt, (out, err) in formats_output(command, *extra, spec, cwd=project).items()})
        code, out, err = run_in_process("diff", spec, spec, cwd=project)
        outputs["diff"] = out + err
        for label, text in outputs.items():
            assert TOKEN not in text, f"{label} of {spec} shows the secret:\n{text}"
        text = outputs["validate text"]
        assert heads(text) == [(where, "DV007")], text
        assert "is not a dvhpc spec (its content is not shown)" in text
        assert "  1 | " not in text  # no snippet of the file


def test_a_spec_with_an_error_still_shows_its_lines(project):
    """The rule is about other files: a spec (it names `dvhpc`) keeps its snippets, even broken."""
    (project / "s.yaml").write_text("dvhpc: 1\nsite: t\nslurm: {partitions: [x}\n")
    code, _, err = run_in_process("validate", "s.yaml", cwd=project)
    assert [code for _, code in heads(err)] == ["DV003"]
    assert "    3 | slurm: {partitions: [x}\n" in err


# --------------------------------------------------------------------------- item 14: escapes in every format

# C0 (but the newline that ends our own lines), DEL, C1, bidi controls, line/paragraph separators
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
PAYLOAD = "\\e[2J\\a\\u202e\\x9b31m"  # YAML double-quoted escapes: ESC[2J, BEL, RLO, C1 CSI


def _strings(data) -> list[str]:
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(data, list):
        return [s for item in data for s in _strings(item)]
    return [data] if isinstance(data, str) else []


def test_control_and_bidi_characters_are_escaped_in_every_format(project):
    (project / "s.yaml").write_text(
        SITE + f'"key{PAYLOAD}": 1\nresources:\n  defaults: {{mem: "4{PAYLOAD}"}}\n'
        f'  rules:\n    "r{PAYLOAD}": {{use: ["set{PAYLOAD}"]}}\n')
    (project / "raw.yaml").write_bytes(SITE.encode() + b"description: x\nraw\x1b[2J\x07: 1\n")
    (project / "binary.yaml").write_bytes(SITE.encode() + b"description: \x1b[2J\xc2\x9b\xe2\x80\xae\xff\n")
    name = "n\x1b[2J\u202e.yaml"
    (project / name).write_text(SITE + "resources: {defaults: {mem: 4Q}}\n")
    for spec in ("s.yaml", "raw.yaml", "binary.yaml", name):
        for command in ("validate", "lint"):
            extra = ("--no-shellcheck",) if command == "lint" else ()
            for fmt, (out, err) in formats_output(command, *extra, spec, cwd=project).items():
                assert not UNSAFE.search(out + err), (command, fmt, spec, out + err)
                if fmt in ("json", "sarif"):  # also once decoded, as a code-scanning UI shows it
                    assert not any(UNSAFE.search(s) for s in _strings(json.loads(out))), (command, fmt, spec)
    _, _, err = run_in_process("validate", "s.yaml", cwd=project)
    assert "unknown key 'key\\x1b[2J\\x07\\u202e\\x9b31m' in the top level" in err
    _, _, err = run_in_process("validate", "binary.yaml", cwd=project)
    assert heads(err) == [("binary.yaml:4:20", "DV002")]  # the column counts characters, not bytes
    shown = "description: \\x1b[2J\\x9b\\u202e"
    assert f"    4 | {shown}\ufffd\n      | {' ' * len(shown)}^\n" in err
    _, _, err = run_in_process("validate", "raw.yaml", cwd=project)
    assert heads(err) == [("raw.yaml:5:4", "DV003")]
    assert "    5 | raw\\x1b[2J\\x07: 1\n      |    ^^^^\n" in err  # the caret under the escaped character


def test_text_renderer_escapes_file_names_notes_and_hints():
    from dvhpc.report.diagnostics import Location, Note, Report
    from dvhpc.report.render import github, json_, text
    from dvhpc.report.sarif import sarif

    report = Report()
    where = Location("f\x1b]0;t\x07.yaml", 1, 1)
    report.add("DV102", "m\x9b1m", where, hint="h\u202e", notes=(Note("n\x7f", where),))
    report.add("DV102", "name not UTF-8", Location(os.fsdecode(b"b\xfe.yaml"), 1, 1))
    for rendered in (text(report.items, {}), json_(report.items), github(report.items), sarif(report.items)):
        assert not UNSAFE.search(rendered) and not re.search("[\ud800-\udfff]", rendered), rendered
    assert "f\\x1b]0;t\\x07.yaml:1:1: error[DV102]: m\\x9b1m" in text(report.items, {})
    assert "b\\xfe.yaml:1:1" in text(report.items, {})
    assert '"uri": "b%FE.yaml"' in sarif(report.items)
