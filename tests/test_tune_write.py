"""`dvhpc tune --write` (issue 18, item 3): each proposal lands where its value comes from (the
rule's own key, the set it uses, the defaults; a new key in the rule's entry when nothing sets it),
comments, order and layout stay, the result validates, and `dvhpc diff` of before and after reads
as the proposal did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES
from test_tune import HEADER, job_row, run

SPEC = FIXTURES / "tune" / "site.yaml"


def export(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "sacct.txt"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def jobs(rule: str, count: int, elapsed: str, rss: str, **kw) -> list[str]:
    base = {"train": 500, "evaluate": 600, "plot": 700, "prep": 800}[rule]
    return [job_row(str(base + i), f"rule_{rule}_wildcards_i={i}", "COMPLETED", elapsed, rss, **kw)
            for i in range(count)]


def proposal(spec: Path, sacct: Path) -> dict[str, dict[str, dict]]:
    proc = run("tune", str(spec), "--from", str(sacct), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return {r["rule"]: {m["key"]: m for m in r["measures"]} for r in json.loads(proc.stdout)["rules"]}


def changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.splitlines(), new.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_write_edits_where_values_come_from_and_diff_reads_as_the_proposal(tmp_path):
    spec = tmp_path / "site.yaml"
    shutil.copy(SPEC, spec)
    before = tmp_path / "before.yaml"
    shutil.copy(SPEC, before)
    sacct = export(tmp_path, jobs("train", 6, "03:00:00", "20G", cpus=4, cpu="11:00:00")
                   + jobs("evaluate", 5, "00:20:00", "3G", limit="02:00:00")
                   + jobs("plot", 5, "00:01:00", "200M", req="2G", limit="00:30:00", cpus=1, cpu="00:00:50"))
    want = proposal(spec, sacct)
    proc = run("tune", str(spec), "--from", str(sacct), "--write")
    assert proc.returncode == 0, proc.stderr
    assert "also changes rule(s) evaluate (shared)" not in proc.stderr  # evaluate is tuned too: one edit for both
    new = spec.read_text()
    edits = changed_lines(SPEC.read_text(), new)
    # only the values changed: each line differs in its value alone, comments and quotes kept
    for old_line, new_line in edits:
        assert old_line.split("#")[1:] == new_line.split("#")[1:]
    assert any('time: "' in line for _, line in edits), edits  # evaluate's quoted "2h" stays quoted
    assert run("validate", str(spec)).returncode == 0

    proc = run("diff", str(before), str(spec), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    diffed = {c["item"]: {f["key"]: f for f in c["fields"]} for c in json.loads(proc.stdout)["changes"]
              if c["area"] == "rules"}
    proposed = {(rule, key): m["proposed"] for rule, ms in want.items() for key, m in ms.items() if m["changes"]}
    assert proposed, want
    shared_mem = max(want["train"]["mem"]["proposed"], want["evaluate"]["mem"]["proposed"], key=_mib)
    for (rule, key), value in proposed.items():
        field = diffed[rule][key]
        expect = shared_mem if (rule, key) in (("train", "mem"), ("evaluate", "mem")) else value
        assert field["new"] == expect, (rule, key, field)
        assert field["old"] == want[rule][key]["requested"]
        if want[rule][key]["from"].startswith("set "):
            assert field["via"] == f"via {want[rule][key]['from']}"
    # nothing else changes but what takes its value from the same place: the defaults' own item and
    # the rules that share a set or the defaults (named by tune as shared)
    also = {("defaults", key) for rule, ms in want.items() for key, m in ms.items() if m["changes"]
            and m["from"] == "defaults"}
    also |= {(other, key) for rule, ms in want.items() for key, m in ms.items() if m["changes"]
             for other in m["shared_with"]}
    assert {(rule, key) for rule, fields in diffed.items() for key in fields} == set(proposed) | also


def _mib(text: str) -> int:
    from dvhpc.model.units import Memory

    return Memory.parse(text).mib


def test_a_shared_set_is_named_when_other_rules_take_its_value(tmp_path):
    spec = tmp_path / "site.yaml"
    shutil.copy(SPEC, spec)
    sacct = export(tmp_path, jobs("train", 5, "03:00:00", "20G"))
    proc = run("tune", str(spec), "--from", str(sacct), "--write")
    assert proc.returncode == 0, proc.stderr
    assert "train: mem -> 24G (set gpu_train at" in proc.stderr
    assert "also changes rule(s) evaluate (shared)" in proc.stderr
    diffed = json.loads(run("diff", str(SPEC), str(spec), "--format", "json").stdout)
    assert {c["item"] for c in diffed["changes"] if c["area"] == "rules"} == {"train", "evaluate"}


INSERT_SPEC = """\
dvhpc: 1
site: inserts
slurm:
  partitions:
    cpu: {default: true, max_time: 1d, cpus: 8, mem: 32G, nodes: 1}
resources:
  defaults: {partition: cpu, mem: 1G}
  sets:
    light: {mem: 512M}
  rules:
    flow: {mem: 2G}  # flow mapping
    block:
      mem: 2G  # block mapping
    bare: light
"""


def test_write_inserts_a_key_nothing_sets(tmp_path):
    spec = tmp_path / "inserts.yaml"
    spec.write_text(INSERT_SPEC)
    rows = [job_row(str(900 + 10 * n + i), f"rule_{rule}_wildcards_i={i}", "COMPLETED", "00:40:00", "300M",
                    req="2G", limit="1-00:00:00", cpus=1, cpu="00:30:00")
            for n, rule in enumerate(("flow", "block", "bare")) for i in range(5)]
    shown = run("tune", str(spec), "--from", str(export(tmp_path, rows))).stdout
    assert "(not set) -> 50min" in shown and "from Snakemake/SLURM default" in shown
    proc = run("tune", str(spec), "--from", str(export(tmp_path, rows)), "--write")
    assert proc.returncode == 0, proc.stderr
    text = spec.read_text()
    assert "    flow: {mem: 384M, time: 50min}  # flow mapping" in text
    assert "    block:\n      time: 50min\n      mem: 384M  # block mapping" in text
    assert "    bare: {use: light, time: 50min}" in text
    assert "light: {mem: 384M}" in text  # bare's memory came from the set
    explained = json.loads(run("explain", str(spec), "flow", "block", "bare", "--format", "json").stdout)
    for rule in explained["rules"]:
        values = {v["key"]: v for v in rule["values"]}
        assert values["time"]["value"] == "50min (50 min)" and values["time"]["from"] == f"rule {rule['rule']}"


def test_rule_without_entry_is_dv703(tmp_path):
    spec = tmp_path / "site.toml"
    text = ('dvhpc = 1\nsite = "tomltest"\n\n[slurm.partitions.cpu]\ndefault = true\nmax_time = "1d"\ncpus = 8\n'
            'mem = "32G"\nnodes = 1\n\n[resources.defaults]\npartition = "cpu"\n\n[resources.rules.plot]\n'
            'mem = "2G"  # small\n')
    spec.write_text(text)
    rows = [job_row(str(950 + i), f"rule_plot_wildcards_i={i}", "COMPLETED", "00:40:00", "300M", req="2G",
                    limit="1-00:00:00", cpus=1, cpu="00:30:00") for i in range(5)]
    proc = run("tune", str(spec), "--from", str(export(tmp_path, rows)), "--write")
    assert proc.returncode == 0, proc.stderr
    assert "warning[DV703]: plot: add `time: 50min` to its entry by hand (a TOML spec" in proc.stderr
    assert spec.read_text() == text.replace('mem = "2G"', 'mem = "384M"')  # the value edit is made, quotes kept


def test_write_refuses_an_edit_that_does_not_mean_the_proposal(tmp_path, monkeypatch):
    from dvhpc.pipeline import check
    from dvhpc.tools.tune import Options, gather, tune
    from dvhpc.tools.tune import write as writing

    spec = tmp_path / "site.yaml"
    shutil.copy(SPEC, spec)
    sacct = export(tmp_path, jobs("plot", 5, "00:01:00", "200M", req="2G", limit="00:30:00", cpus=1))
    checked = check(str(spec))
    assert checked.site is not None and checked.layers is not None
    result = tune(checked.site, gather(checked.site, [str(sacct)], None), Options(), None)
    found = writing.plan(result, checked.layers)
    assert found.edits
    original = spec.read_text()
    monkeypatch.setattr(writing, "edited_text", lambda text, _edits: text.replace("mem: 2G", "mem: 3G"))
    with pytest.raises(writing.WriteRefused, match="would have mem 3G, not"):
        writing.write(result, found)
    monkeypatch.setattr(writing, "edited_text", lambda text, _edits: text.replace("mem: 2G", "mem: [2G"))
    with pytest.raises(writing.WriteRefused, match="would not validate"):
        writing.write(result, found)
    assert spec.read_text() == original
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.yaml.")]  # no temporary file left
