"""Files dvhpc writes and generated folders it reads back, under hostile names and contents.

- `init --from` / `import`: names and values from the input are YAML data (quoted keys, escaped
  comments), so no file name or profile value can add a key to the written spec;
- `init -o` / `import -o`: a symlink planted at a temporary name or at the output is never followed;
- compile keeps every file in `generated/<site>/` that is not its own (FIFO, symlink, folder).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, SITES, run_in_process, run_subprocess
from dvhpc.frontend.source import load_yaml
from dvhpc.report.diagnostics import Report
from dvhpc.tools import init as di

PARTITIONS = FIXTURES / "init" / "hpc-a" / "partitions.txt"
IMPORT_V7 = FIXTURES / "import" / "v7" / "config.yaml"

# Each would add a key (or hide the rest of a line) if it reached the YAML text unquoted.
HOSTILE_NAMES = [
    "x\nsite: injected\n",
    "x\nenvironment: {variables: {X: injected}}\n",
    "x\rlint: {ignore: [DV999]}",
    "x\u0085lint: {ignore: [DV999]}",
    "x\u2028lint: {ignore: [DV999]}",
    "x\u2029lint: {ignore: [DV999]}",
    "x\x1b[2K\x1b[1Ginjected\u202e",
]


def read_both_ways(text: str) -> tuple[dict, dict]:
    """The spec as dvhpc reads it (YAML 1.2) and as a YAML 1.1 reader (PyYAML) does."""
    report = Report()
    doc = load_yaml(text, "spec.yaml", report)
    assert doc is not None, [d.message for d in report.items]
    return doc.data, yaml.safe_load(text)


# ---------------------------------------------------------------------------- init --from (item 7)


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_init_file_name_cannot_add_keys(name, tmp_path):
    plain = di.init_site("t", [PARTITIONS]).text
    source = tmp_path / name
    source.write_bytes(PARTITIONS.read_bytes())
    text = di.init_site("t", [source]).text
    ours, pyyaml = read_both_ways(text)
    assert ours == pyyaml == read_both_ways(plain)[0]  # the name lives in a comment only
    assert all(len(line) == len(line.strip("\r\x85\u2028\u2029")) for line in text.split("\n"))
    spec = tmp_path / "t.yaml"
    spec.write_text(text)
    code, out, err = run_in_process("validate", str(spec))
    assert code == 0, out + err


def test_init_cli_with_a_hostile_file_name(tmp_path):
    source = tmp_path / HOSTILE_NAMES[1]
    source.write_bytes(PARTITIONS.read_bytes())
    out = tmp_path / "t.yaml"
    code, _, err = run_subprocess("init", "--site", "t", "--from", str(source), "-o", str(out))
    assert code == 0, err
    assert "environment" not in read_both_ways(out.read_text())[0]
    assert run_subprocess("validate", str(out))[0] == 0


# ---------------------------------------------------------------------------- import (names from a profile)


def test_import_profile_names_and_values_stay_data(tmp_path):
    """(NEL, U+2028/9 in a profile are refused by the loader: DV008.)"""
    profile = tmp_path / "config.yaml"
    profile.write_text(
        'executor: slurm\n'
        'default-resources:\n'
        '  slurm_partition: "gpu\\nenvironment: {variables: {X: injected}}"\n'
        '  mem_mb: 1000\n'
        'set-resources:\n'
        '  "r\\nsite: injected": {mem_mb: 2000}\n'
        '  "q\\tlint: {}": {runtime: 10}\n'
        '  "p\\rdetect: {}": {runtime: 10}\n'
        '"opt\\nsite: injected2": 3\n'
    )
    code, text, err = run_in_process("import", str(profile), "--site", "t")
    assert code in (0, 1) and text, err
    ours, pyyaml = read_both_ways(text)
    assert ours == pyyaml
    # nothing injected: the names are refused with a located diagnostic (they are no partition or
    # rule names a spec accepts), and what is written stays quoted data
    assert set(ours) <= {"dvhpc", "site", "description", "slurm", "snakemake", "resources", "lint"}
    assert ours["site"] == "t" and "environment" not in ours and "detect" not in ours
    assert "slurm" not in ours and "rules" not in ours["resources"]
    assert list(ours["snakemake"]["options"]) == ["opt\nsite: injected2"]
    assert err.count("error[DV506]") == 1 and err.count("warning[DV502]") == 3, err


def test_import_file_name_stays_in_its_comment(tmp_path):
    folder = tmp_path / "p\nsite: injected\n"
    folder.mkdir()
    (folder / "config.yaml").write_bytes(IMPORT_V7.read_bytes())
    code, text, err = run_in_process("import", str(folder), "--site", "t")
    assert code in (0, 1) and text, err
    ours, pyyaml = read_both_ways(text)
    assert ours == pyyaml and ours["site"] == "t"


# ---------------------------------------------------------------------------- -o and symlinks (item 10)


def _plant(tmp_path: Path, output: Path) -> tuple[Path, list[Path]]:
    """A victim file, and symlinks to it at the output and every temporary name a writer could
    predict (the old scheme: `.NAME.tmp-PID`, this process's PID and its neighbours)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    links = [output] + [output.with_name(f".{output.name}{suffix}{pid}") for suffix in (".tmp-", ".tmp")
                        for pid in range(os.getpid() - 2, os.getpid() + 3)]
    for link in links:
        link.symlink_to(victim)
    return victim, links


@pytest.mark.parametrize("command", ["init", "import"])
def test_output_never_follows_a_planted_symlink(command, tmp_path):
    out = tmp_path / "t.yaml"
    victim, links = _plant(tmp_path, out)
    args = ["init", "--site", "t", "--from", str(PARTITIONS)] if command == "init" else \
        ["import", str(IMPORT_V7), "--site", "t"]
    code, _, err = run_in_process(*args, "-o", str(out))
    assert code == 2 and "--force" in err  # a link at the output is an existing output
    code, _, err = run_in_process(*args, "-o", str(out), "--force")
    assert code == 0, err
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink() and stat.S_ISREG(out.lstat().st_mode)
    assert read_both_ways(out.read_text())[0]["site"] == "t"
    assert all(link.is_symlink() for link in links[1:])  # others' names are left alone
    assert sorted(p.name for p in tmp_path.iterdir() if not p.is_symlink()) == ["t.yaml", "victim.txt"]


def test_output_replaces_a_dangling_symlink_only_with_force(tmp_path):
    out = tmp_path / "t.yaml"
    out.symlink_to(tmp_path / "would-be-created")
    args = ["init", "--site", "t", "--from", str(PARTITIONS), "-o", str(out)]
    assert run_in_process(*args)[0] == 2
    assert run_in_process(*args, "--force")[0] == 0
    assert not (tmp_path / "would-be-created").exists() and not out.is_symlink()


def test_output_folder_that_cannot_be_written_is_an_error_not_a_crash(tmp_path):
    out = tmp_path / "missing" / "t.yaml"
    code, _, err = run_in_process("init", "--site", "t", "--from", str(PARTITIONS), "-o", str(out))
    assert code == 2 and "cannot write" in err and "internal error" not in err


# ------------------------------------------------------------------ foreign files in generated/<site>/ (item 15)


def _example_project(tmp_path: Path) -> tuple[Path, Path]:
    sites = tmp_path / "sites"
    sites.mkdir()
    for name in ("base.yaml", "example.yaml"):
        (sites / name).write_bytes((SITES / name).read_bytes())
    return sites / "example.yaml", tmp_path / "generated"


def _compile(spec: Path, out: Path):
    from dvhpc.build import compile_specs

    report = Report()
    results = compile_specs([str(spec)], out, report=report)
    return results[0], report


def _plant_foreign(site: Path) -> dict[str, tuple[int, int]]:
    """A FIFO, a listening socket, a symlink, a foreign folder and a file inside one of ours."""
    import socket

    os.mkfifo(site / "progress.fifo", 0o600)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(site / "monitor.sock"))
    server.close()
    (site / "latest").symlink_to("/nowhere/run-42")
    (site / "notes" / "deep").mkdir(parents=True)
    (site / "notes" / "deep" / "todo.txt").write_text("ask admins\n")
    (site / "profile" / "mine.yaml").write_text("x: 1\n")
    names = ["progress.fifo", "monitor.sock", "latest", "notes", "notes/deep/todo.txt", "profile/mine.yaml"]
    return {name: (os.lstat(site / name).st_mode, os.lstat(site / name).st_ino) for name in names}


def _change(spec: Path) -> None:
    spec.write_text(spec.read_text().replace("jobs: ", "jobs: 1", 1))


def test_compile_keeps_fifos_sockets_links_and_folders_that_are_not_its_own(tmp_path):
    spec, out = _example_project(tmp_path)
    assert _compile(spec, out)[0].written
    site = out / "example"
    before = _plant_foreign(site)
    _change(spec)
    result, report = _compile(spec, out)
    assert result.written and not report.items, [d.message for d in report.items]
    after = {name: (os.lstat(site / name).st_mode, os.lstat(site / name).st_ino) for name in before}
    for name, (mode, inode) in before.items():
        assert stat.S_IFMT(after[name][0]) == stat.S_IFMT(mode), name
        if not stat.S_ISDIR(mode) and not stat.S_ISLNK(mode):
            assert after[name][1] == inode, f"{name}: the same file, not a copy"
    assert os.readlink(site / "latest") == "/nowhere/run-42"
    assert (site / "notes" / "deep" / "todo.txt").read_text() == "ask admins\n"


def test_compile_without_hard_links_recreates_a_fifo_and_refuses_to_drop_a_socket(tmp_path, monkeypatch):
    spec, out = _example_project(tmp_path)
    _compile(spec, out)
    site = out / "example"
    _plant_foreign(site)
    old_resources = (site / "resources.yaml").read_text()

    def no_links(*_args, **_kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    _change(spec)
    result, report = _compile(spec, out)
    assert not result.written
    [diag] = report.items
    assert diag.code == "DV402" and "monitor.sock (a socket" in diag.message and "move it out" in diag.message
    assert (site / "resources.yaml").read_text() == old_resources  # the old output is intact
    assert stat.S_ISSOCK(os.lstat(site / "monitor.sock").st_mode)
    (site / "monitor.sock").unlink()
    result, report = _compile(spec, out)
    assert result.written and not report.items
    assert stat.S_ISFIFO(os.lstat(site / "progress.fifo").st_mode)
    assert (site / "notes" / "deep" / "todo.txt").read_text() == "ask admins\n"


# ---------------------------------------------------------------------------- what diff and explain print (item 14)

PAYLOADS = ["![x](http://e/x.png)", "<img src=x onerror=alert(1)>", "@someone", "a`b``c", "x | y", "line\nbreak",
            "\x1b[2J\x1b[31mred", "rtl\u202eevil", "nel\u0085x", "[link](http://e)", "**bold** _it_", "`"]
_UNSAFE_OUTPUT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def _hostile_folders(tmp_path: Path) -> tuple[str, str, int]:
    """Two generated folders of one site; the second's resources.yaml holds a rule per payload
    (the payload as its name and its partition) and a changed partition per payload."""
    from dvhpc.build import compile_specs
    from dvhpc.emit.yamlout import dump
    from dvhpc.tools.diff import read_generated_yaml

    spec = FIXTURES / "diff" / "set_value" / "old.yaml"
    for out in ("out1", "out2"):
        compile_specs([str(spec)], tmp_path / out, report=Report())
    resources = tmp_path / "out2" / "mini" / "resources.yaml"
    data = read_generated_yaml(resources.read_text(), "resources.yaml")
    for number, payload in enumerate(PAYLOADS):
        data["rules"][payload] = {**data["rules"]["prep"], "partition": payload}
        data["rules"][f"rule{number}"] = {**data["rules"]["prep"], "partition": payload}
    resources.write_text(dump(data))
    return str(tmp_path / "out1" / "mini"), str(tmp_path / "out2" / "mini"), 2 * len(PAYLOADS)


def test_diff_markdown_quotes_every_value(tmp_path):
    old, new, changes = _hostile_folders(tmp_path)
    code, out, err = run_in_process("diff", old, new, "--format", "markdown")
    assert code == 1, err
    items = [line for line in out.splitlines() if line.startswith("- ")]
    assert len(items) == changes  # no value started a line of its own
    outside = _CODE_SPAN.sub("", out)
    for rendered in ("![", "<img", "@someone", "](", "**bold**", "_it_", "\x1b", "\u202e", "\u0085"):
        assert rendered not in outside, rendered
    assert not _UNSAFE_OUTPUT.search(out)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_diff_text_and_json_escape_control_characters(tmp_path, fmt):
    import json

    old, new, changes = _hostile_folders(tmp_path)
    code, out, err = run_in_process("diff", old, new, "--format", fmt)
    assert code == 1, err
    assert not _UNSAFE_OUTPUT.search(out)
    if fmt == "json":
        items = {c["item"] for c in json.loads(out)["changes"]}
        assert set(PAYLOADS) <= items  # the data itself is intact, only its printing is escaped
    else:
        assert sum(line.startswith("  ") for line in out.splitlines()) == changes


def test_compile_check_drift_and_explain_escape_control_characters(tmp_path):
    from dvhpc.emit.yamlout import dump
    from dvhpc.tools.diff import read_generated_yaml

    spec = tmp_path / "t\x1b]0;owned\x07\u202e.yaml"  # explain names the file of every value
    spec.write_text("dvhpc: 1\nsite: t\nslurm:\n  partitions:\n    cpu: {default: true}\n"
                    "resources:\n  defaults: {cpus: 1, mem: 1G, time: 1h}\n  rules:\n    a: {mem: 2G}\n")
    code, out, err = run_in_process("explain", str(spec), "--all")
    assert code == 0, err
    assert not _UNSAFE_OUTPUT.search(out) and "t\\x1b]0;owned\\x07\\u202e.yaml:9:" in out
    assert run_in_process("compile", str(spec), "--out", str(tmp_path / "g"))[0] == 0
    resources = tmp_path / "g" / "t" / "resources.yaml"
    data = read_generated_yaml(resources.read_text(), "resources.yaml")
    data["rules"]["\x1b[2Jwiped\u202e"] = data["rules"]["a"]
    resources.write_text(dump(data))
    code, out, err = run_in_process("compile", str(spec), "--out", str(tmp_path / "g"), "--check")
    assert code == 1 and "  rules: \\x1b[2Jwiped\\u202e: removed" in out.splitlines(), out + err
    assert not _UNSAFE_OUTPUT.search(out + err)
