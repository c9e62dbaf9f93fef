"""`dvhpc init`: parsers on recorded SLURM outputs, aggregation, the scaffolded spec (valid and
lint-clean through the real CLI), malformed input, live mode (fake runner, and the local SLURM).

Recordings in tests/fixtures/init/:
  local/        real output of the local test cluster (tests/slurm, Slurm 22.05): -o and multi-line
                scontrol, sinfo in five formats, scontrol show config, sacctmgr, sshare (aligned and -P)
  hpc-a/        a mid-size Slurm 23.02 cluster: heterogeneous nodes, two GPU types, UNLIMITED,
                MaxCPUsPerNode/MaxMemPerNode caps, a down node, Reason= with spaces, default sinfo
  old-cluster/  Slurm 20.11 multi-line scontrol without Partitions= on nodes (hostlists instead),
                per-socket GRES entries, MIG types, untyped `gpu:1`, RealMemory=1, no accounting
  sinfo-only/   sinfo alone: -o (plain, padded, `|`), -l (empty column, truncated 14-00:00:0),
                -s (NODES(A/I/O/T)); `48+` values, several GPU types per row, sshare, sacctmgr -P
  malformed/    garbage lines, bad values, duplicate and empty records, unknown and empty files
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, run_subprocess
from dvhpc.cluster.accounts import parse_accounts
from dvhpc.cluster.aggregate import aggregate, hostname_globs
from dvhpc.cluster.facts import Partition
from dvhpc.cluster.live import run_command
from dvhpc.cluster.recorded import detect_kind, from_files
from dvhpc.cluster.records import PartitionRecord
from dvhpc.cluster.scontrol import parse_config, parse_nodes, parse_partitions
from dvhpc.cluster.sinfo import parse_sinfo
from dvhpc.cluster.values import (
    expand_hostlist,
    format_duration,
    format_memory,
    parse_count,
    parse_gres,
    parse_mib,
    parse_slurm_time,
)
from dvhpc.tools import init as di
from dvhpc.tools.init import InitError

INIT = FIXTURES / "init"
HPC_A = [INIT / "hpc-a" / f for f in ("partitions.txt", "nodes.txt", "config.txt", "sacctmgr.txt")]
OLD = [INIT / "old-cluster" / f for f in ("partitions.txt", "nodes.txt", "config.txt", "sinfo.txt")]
LOCAL = [INIT / "local" / f for f in ("partitions.txt", "nodes.txt", "config.txt", "sacctmgr.txt")]


def read(*parts: str) -> str:
    return (INIT.joinpath(*parts)).read_text()


def summary(part: Partition) -> tuple:
    return (part.name, part.default, part.max_time_text, part.cpus, part.mem_text, part.nodes, part.gpus)


# ---------------------------------------------------------------------------- values


@pytest.mark.parametrize("text, seconds", [
    ("UNLIMITED", None), ("infinite", None), ("1-00:00:00", 86400), ("12:00:00", 43200), ("4:00:00", 14400),
    ("30:00", 1800), ("30", 1800), ("2-12", 216000), ("1-12:30", 131400), ("14-00:00:0", 1209600),
    ("00:30:00", 1800), ("7-00:00:00", 604800), (" 5-00:00:00 ", 432000), ("0:90", 90),
])
def test_slurm_time(text, seconds):
    assert parse_slurm_time(text) == seconds


@pytest.mark.parametrize("text", ["forever", "1:2:3:4", "", "1-", "-1", "1h"])
def test_slurm_time_rejects(text):
    with pytest.raises(ValueError):
        parse_slurm_time(text)


@pytest.mark.parametrize("seconds, text", [
    (172800, "2d"), (43200, "12h"), (129600, "1d12h"), (1800, "30min"), (5400, "1h30m"), (1209600, "14d"),
    (86400 + 60, "1d1m"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("mib, text", [(184320, "180G"), (187000, "187000M"), (8000, "8000M"), (1048576, "1T"),
                                       (65536, "64G"), (4096, "4G")])
def test_format_memory(mib, text):
    assert format_memory(mib) == text


@pytest.mark.parametrize("text, mib", [
    ("187000", 187000), ("187000M", 187000), ("2000G", 2048000), ("1.5T", 1572864), ("500000+", 500000),
    ("1024K", 1), ("8000m", 8000),
])
def test_parse_mib(text, mib):
    assert parse_mib(text) == mib


@pytest.mark.parametrize("text, expected", [
    ("48", (48, False)), ("4+", (4, True)), ("1-64", (1, True)), ("1-infinite", (1, True)), (" 32 ", (32, False)),
])
def test_parse_count(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize("text, gpus", [
    ("(null)", {}), ("", {}), ("gpu:a100:4(S:0-1)", {"a100": 4}),
    ("gpu:a100:4(S:0-1),gpu:h100:2", {"a100": 4, "h100": 2}),
    ("gpu:tesla:2(S:0),gpu:tesla:2(S:1)", {"tesla": 4}),
    ("gpu:2", {"gpu": 2}), ("gpu", {"gpu": 1}), ("gpu:v100:4,mps:400", {"v100": 4}),
    ("mps:400,shard:8", {}), ("gpu:a100_3g.20gb:2(S:0),gpu:a100_1g.5gb:3(S:1)", {"a100_3g.20gb": 2, "a100_1g.5gb": 3}),
    ("gpu:nvidia_a100-sxm4-80gb:4(S:0,2)", {"nvidia_a100-sxm4-80gb": 4}),
    ("gpu:h100:8(IDX:0-7)", {"h100": 8}), ("gpu:rtx:0", {}),
])
def test_parse_gres(text, gpus):
    assert parse_gres(text) == (gpus, [])


def test_parse_gres_reports_bad_types():
    gpus, problems = parse_gres("gpu:bad type:2,gpu:k80:2,gpu:k80:x")
    assert gpus == {"k80": 2}
    assert problems == ["GPU type 'bad type' is not a valid name; skipped",
                        "GPU type 'k80:x' is not a valid name; skipped"]


@pytest.mark.parametrize("text, names", [
    ("cn[01-03]", ["cn01", "cn02", "cn03"]), ("cn[01-02,07],gpu1", ["cn01", "cn02", "cn07", "gpu1"]),
    ("a[1-2]b[1-2]", ["a1b1", "a1b2", "a2b1", "a2b2"]), ("vm", ["vm"]), ("n[008-010]", ["n008", "n009", "n010"]),
])
def test_expand_hostlist(text, names):
    assert expand_hostlist(text) == names


@pytest.mark.parametrize("names, globs", [
    (["cn001", "cn002", "gpu01"], ["cn*", "gpu*"]), (["vm"], ["vm"]),
    (["log-1.hpc.example.edu"], ["log-*", "*.hpc.example.edu"]), (["box.local"], ["box"]), (["12"], ["12"]),
])
def test_hostname_globs(names, globs):
    assert hostname_globs(names) == globs


@pytest.mark.parametrize("value", ["yes", "No", "ON", "123", "1e5", "0x1F", "1.5", "null", "~", "a-b", "2d", "1d12h",
                                   "180G", "lab.x", "_x", "2024course", "logs/slurm", "a b", "x: y", "*", "cn*"])
def test_scalars_read_back_as_strings(value):
    import yaml
    from ruamel.yaml import YAML

    text = f"k: {di._scalar(value)}\n"
    assert yaml.safe_load(text) == {"k": value}
    assert dict(YAML(typ="safe").load(text)) == {"k": value}


# ---------------------------------------------------------------------------- recognising files


DETECT_TABLE = [
    ("local/partitions.txt", "partitions"), ("local/partitions-multiline.txt", "partitions"),
    ("local/nodes.txt", "nodes"), ("local/config.txt", "config"), ("local/sacctmgr.txt", "accounts"),
    ("local/sshare.txt", "accounts"), ("local/sshare-parsable.txt", "accounts"), ("local/sinfo.txt", "sinfo"),
    ("local/sinfo-custom.txt", "sinfo"), ("local/sinfo-Nl.txt", "sinfo"), ("local/sinfo-s.txt", "sinfo"),
    ("hpc-a/partitions.txt", "partitions"), ("hpc-a/nodes.txt", "nodes"), ("hpc-a/sinfo.txt", "sinfo"),
    ("hpc-a/config.txt", "config"), ("hpc-a/sacctmgr.txt", "accounts"),
    ("old-cluster/partitions.txt", "partitions"), ("old-cluster/nodes.txt", "nodes"),
    ("old-cluster/sinfo.txt", "sinfo"), ("old-cluster/config.txt", "config"),
    ("sinfo-only/sinfo-custom.txt", "sinfo"), ("sinfo-only/sinfo-padded.txt", "sinfo"),
    ("sinfo-only/sinfo-pipes.txt", "sinfo"), ("sinfo-only/sinfo-long.txt", "sinfo"),
    ("sinfo-only/sinfo-summary.txt", "sinfo"), ("sinfo-only/sshare.txt", "accounts"),
    ("sinfo-only/sacctmgr-parsable.txt", "accounts"),
    ("malformed/partitions.txt", "partitions"), ("malformed/nodes.txt", "nodes"), ("malformed/sinfo.txt", "sinfo"),
    ("malformed/unknown.txt", None), ("malformed/empty.txt", None),
]


@pytest.mark.parametrize("path, kind", DETECT_TABLE)
def test_detect_kind(path, kind):
    assert detect_kind(read(path)) == kind


def test_every_fixture_is_in_the_detect_table():
    assert {str(p.relative_to(INIT)) for p in INIT.rglob("*.txt")} == {path for path, _ in DETECT_TABLE}


# ---------------------------------------------------------------------------- scontrol show partition


def test_partitions_local_one_line_and_multi_line_agree():
    one = parse_partitions(read("local", "partitions.txt"))
    multi = parse_partitions(read("local", "partitions-multiline.txt"))
    assert not one.problems and not multi.problems
    strip = [(p.name, p.default, p.max_time, p.nodes, p.total_nodes, p.total_cpus, p.tres) for p in one.items]
    assert strip == [(p.name, p.default, p.max_time, p.nodes, p.total_nodes, p.total_cpus, p.tres) for p in multi.items]
    assert strip == [
        ("cpu", True, 86400, "vm", 1, 4, {"cpu": "4", "mem": "8000M", "node": "1", "billing": "4", "gres/gpu": "2"}),
        ("gpu", False, 43200, "vm", 1, 4, {"cpu": "4", "mem": "8000M", "node": "1", "billing": "4", "gres/gpu": "2"}),
    ]


@pytest.mark.parametrize("folder, expected", [
    ("hpc-a", [
        # name, default, max_time, unlimited, nodes, total_nodes, total_cpus, max cpus/node, max mem/node, def mem/cpu
        ("cpu", True, 172800, False, "cn[01-08]", 8, 400, None, None, 3800),
        ("gpu", False, 432000, False, "gpu[01-03],ga01", 4, 208, None, None, 7800),
        ("long", False, None, True, "cn[07-08]", 2, 112, None, None, 3800),
        ("interactive", False, 14400, False, "cn[01-02]", 2, 96, 8, 65536, 3800),
        ("debug", False, 1800, False, "cn01", 1, 48, None, None, 3800),
        ("scavenge", False, 86400, False, "cn[01-08],gpu[01-03],ga01", 12, 608, None, None, 3800),
    ]),
    ("old-cluster", [
        ("normal", True, 604800, False, "node[001-004]", 4, 128, None, None, None),
        ("gpu", False, 259200, False, "gpunode[1-3]", 3, 96, None, None, None),
        ("mig", False, 43200, False, "migbox", 1, 64, None, None, None),
        ("bigmem", False, None, True, "fat01", 1, 96, None, None, None),
    ]),
])
def test_partitions_table(folder, expected):
    parsed = parse_partitions(read(folder, "partitions.txt"))
    assert parsed.problems == []
    assert [(p.name, p.default, p.max_time, p.unlimited, p.nodes, p.total_nodes, p.total_cpus, p.max_cpus_per_node,
             p.max_mem_per_node, p.def_mem_per_cpu) for p in parsed.items] == expected


def test_partition_tres_and_state():
    hpc = {p.name: p for p in parse_partitions(read("hpc-a", "partitions.txt")).items}
    assert hpc["gpu"].tres["gres/gpu:h100"] == "8" and hpc["gpu"].tres["mem"] == "2186000M"
    old = {p.name: p for p in parse_partitions(read("old-cluster", "partitions.txt")).items}
    assert old["bigmem"].state == "INACTIVE" and old["normal"].tres == {}


def test_partitions_malformed_reported_not_raised():
    parsed = parse_partitions(read("malformed", "partitions.txt"), "p.txt")
    assert [p.name for p in parsed.items] == ["ok", "badtime", "minutes", "bare"]
    minutes = parsed.items[2]
    assert minutes.max_time == 5400  # MaxTime=90 is minutes
    assert [str(p) for p in sorted(parsed.problems, key=lambda p: p.line)] == [
        "p.txt:2: partition badtime: cannot read MaxTime='forever', ignored",
        "p.txt:2: partition badtime: cannot read TotalNodes='one', ignored",
        "p.txt:2: partition badtime: cannot read MaxMemPerNode='lots', ignored",
        "p.txt:3: not a `PartitionName=...` record, skipped: 'this line was pasted by mistake'",
        "p.txt:4: PartitionName without a value, skipped",
        "p.txt:7: partition ok listed again; the first record is used",
    ]


# ---------------------------------------------------------------------------- scontrol show node


def test_nodes_hpc_a():
    parsed = parse_nodes(read("hpc-a", "nodes.txt"))
    assert parsed.problems == []
    nodes = {n.name: n for n in parsed.items}
    assert len(nodes) == 12
    assert (nodes["cn01"].cpus, nodes["cn01"].mem, nodes["cn01"].gpus) == (48, 187000, {})
    assert nodes["cn01"].partitions == ["cpu", "interactive", "debug", "scavenge"]
    assert (nodes["cn08"].cpus, nodes["cn08"].mem) == (64, 257000)
    assert nodes["cn05"].state == "DOWN+DRAIN+NOT_RESPONDING"  # Reason= with spaces follows
    assert nodes["gpu02"].gpus == {"a100": 4} and nodes["ga01"].gpus == {"h100": 8}


def test_nodes_old_cluster_multi_line():
    parsed = parse_nodes(read("old-cluster", "nodes.txt"))
    assert parsed.problems == []
    assert [(n.name, n.cpus, n.mem, n.gpus, n.partitions) for n in parsed.items] == [
        ("node001", 32, 128000, {}, None), ("node002", 32, 128000, {}, None), ("node003", 32, 128000, {}, None),
        ("node004", 32, 1, {}, None),
        ("gpunode1", 32, 191000, {"tesla": 4}, None), ("gpunode2", 32, 191000, {"tesla": 4}, None),
        ("gpunode3", 32, 191000, {"tesla": 2}, None),
        ("migbox", 64, 515000, {"a100_3g.20gb": 2, "a100_1g.5gb": 3}, None),
        ("fat01", 96, 3096000, {"gpu": 1}, None),
    ]


def test_nodes_local_recording():
    (node,) = parse_nodes(read("local", "nodes.txt")).items
    assert (node.name, node.cpus, node.mem, node.gpus, node.partitions) == ("vm", 4, 8000, {"testgpu": 2},
                                                                            ["cpu", "gpu"])


def test_nodes_malformed():
    parsed = parse_nodes(read("malformed", "nodes.txt"), "n.txt")
    assert [(n.name, n.cpus, n.mem, n.gpus) for n in parsed.items] == [("n1", None, 64000, {}),
                                                                       ("n2", 16, None, {"k80": 2})]
    assert sorted(str(p) for p in parsed.problems) == [
        "n.txt:1: node n1: GPU type 'bad type' is not a valid name; skipped",
        "n.txt:1: node n1: GPU type 'k80:x' is not a valid name; skipped",
        "n.txt:1: node n1: cannot read CPUTot='lots', ignored",
        "n.txt:2: node n2: cannot read RealMemory='sixty', ignored",
        "n.txt:3: not a `NodeName=...` record, skipped: 'garbage='",
        "n.txt:4: NodeName without a value, skipped",
    ]


# ---------------------------------------------------------------------------- sinfo


def rows(path: str) -> list[tuple]:
    parsed = parse_sinfo(read(path))
    assert parsed.problems == [], parsed.problems
    return [(r.partition, r.default, r.max_time, r.unlimited, r.cpus, r.mem, r.gpus, r.nodes) for r in parsed.items]


SINFO_ONLY_ROWS = [
    ("standard", True, 129600, False, 40, 191000, {}, 212),
    ("standard", True, 129600, False, 64, 250000, {}, 36),
    ("gpu", False, 172800, False, 32, 375000, {"v100": 4}, 10),
    ("gpu", False, 172800, False, 64, 500000, {"a100": 4, "h100": 2}, 6),
    ("largemem", False, 1209600, False, 80, 2063000, {}, 4),
    ("preempt", False, None, True, 40, 191000, {"v100": 4}, 258),
]


@pytest.mark.parametrize("path, expected", [
    ("local/sinfo.txt", [("cpu", True, 86400, False, None, None, None, 1),
                         ("gpu", False, 43200, False, None, None, None, 1)]),
    ("local/sinfo-custom.txt", [("cpu", True, 86400, False, 4, 8000, {"testgpu": 2}, 1),
                                ("gpu", False, 43200, False, 4, 8000, {"testgpu": 2}, 1)]),
    ("local/sinfo-Nl.txt", [("cpu", True, None, False, 4, 8000, None, 1),
                            ("gpu", False, None, False, 4, 8000, None, 1)]),
    ("local/sinfo-s.txt", [("cpu", True, 86400, False, None, None, None, 1),
                           ("gpu", False, 43200, False, None, None, None, 1)]),
    ("hpc-a/sinfo.txt", [
        ("cpu", True, 172800, False, None, None, None, 1), ("cpu", True, 172800, False, None, None, None, 2),
        ("cpu", True, 172800, False, None, None, None, 5), ("gpu", False, 432000, False, None, None, None, 3),
        ("gpu", False, 432000, False, None, None, None, 1), ("long", False, None, True, None, None, None, 2),
        ("interactive", False, 14400, False, None, None, None, 2), ("debug", False, 1800, False, None, None, None, 1),
        ("scavenge", False, 86400, False, None, None, None, 1), ("scavenge", False, 86400, False, None, None, None, 5),
        ("scavenge", False, 86400, False, None, None, None, 6),
    ]),
    ("old-cluster/sinfo.txt", [
        ("normal", True, 604800, False, None, None, None, 1), ("normal", True, 604800, False, None, None, None, 3),
        ("gpu", False, 259200, False, None, None, None, 3), ("mig", False, 43200, False, None, None, None, 1),
        ("bigmem", False, None, True, None, None, None, 1),
    ]),
    ("sinfo-only/sinfo-custom.txt", SINFO_ONLY_ROWS),
    ("sinfo-only/sinfo-padded.txt", SINFO_ONLY_ROWS),
    ("sinfo-only/sinfo-pipes.txt", SINFO_ONLY_ROWS),
    ("sinfo-only/sinfo-long.txt", [  # RESERVATION is empty; TIMELIMIT truncated to 14-00:00:0
        ("standard", True, 129600, False, None, None, None, 180),
        ("standard", True, 129600, False, None, None, None, 68),
        ("gpu", False, 172800, False, None, None, None, 16), ("largemem", False, 1209600, False, None, None, None, 4),
    ]),
    ("sinfo-only/sinfo-summary.txt", [
        ("standard", True, 129600, False, None, None, None, 248), ("gpu", False, 172800, False, None, None, None, 16),
        ("largemem", False, 1209600, False, None, None, None, 4), ("preempt", False, None, True, None, None, None, 258),
    ]),
])
def test_sinfo_table(path, expected):
    assert rows(path) == expected


def test_sinfo_long_keeps_nodelist_after_the_empty_column():
    parsed = parse_sinfo(read("sinfo-only", "sinfo-long.txt"))
    assert [r.nodelist for r in parsed.items] == ["c[001-180]", "c[181-248]", "g[01-16]", "lm[1-4]"]


def test_sinfo_plus_values_are_flagged():
    parsed = parse_sinfo(read("sinfo-only", "sinfo-custom.txt"))
    assert [r.varies for r in parsed.items] == [(), ("cpus", "mem"), (), (), (), ("cpus", "mem")]


def test_sinfo_without_header():
    parsed = parse_sinfo("cpu*  up 2-00:00:00  4  idle cn[1-4]\n", "s")
    assert [(r.partition, r.default, r.max_time, r.nodes) for r in parsed.items] == [("cpu", True, 172800, 4)]
    assert [str(p) for p in parsed.problems] == ["s: no header line; read as sinfo's default format (sinfo -h)"]
    parsed = parse_sinfo("cpu* 48 187000\n", "s")
    assert parsed.items == [] and "run sinfo without -h" in str(parsed.problems[0])


def test_sinfo_malformed():
    parsed = parse_sinfo(read("malformed", "sinfo.txt"), "s.txt")
    assert [(r.partition, r.cpus) for r in parsed.items] == [("ok", 16)]
    assert [str(p) for p in parsed.problems] == [
        "s.txt:3: expected 6 columns, found 2, skipped",
        "s.txt:4: partition weird: not a SLURM time limit: 'never'; row skipped",
        "s.txt:5: partition odd: not a number: 'x16'; row skipped",
    ]


# ---------------------------------------------------------------------------- config and accounts


def test_config():
    local = parse_config(read("local", "config.txt"))
    assert local["ClusterName"] == "dvhpc" and local["AccountingStorageType"] == "accounting_storage/slurmdbd"
    hpc = parse_config(read("hpc-a", "config.txt"))
    assert hpc["ClusterName"] == "hpc-a" and hpc["SlurmctldHost[1]"] == "slurm-ctl2(10.10.0.6)"
    assert parse_config(read("old-cluster", "config.txt"))["AccountingStorageType"] == "accounting_storage/none"


@pytest.mark.parametrize("path, user, accounts", [
    ("local/sacctmgr.txt", None, ["defacct", "gpuproj", "root"]),
    ("local/sshare.txt", None, ["root", "defacct", "gpuproj"]),
    ("local/sshare.txt", "root", ["root", "defacct", "gpuproj"]),
    ("local/sshare.txt", "alice", []),
    ("local/sshare-parsable.txt", None, ["root", "defacct", "gpuproj"]),
    ("hpc-a/sacctmgr.txt", None, ["lab_smith", "cs_ml_shared", "ds_course_2024"]),  # repeats dropped
    ("sinfo-only/sshare.txt", None, ["physics", "bio-lab"]),
    ("sinfo-only/sacctmgr-parsable.txt", None, ["proj-climate", "training"]),
    ("sinfo-only/sacctmgr-parsable.txt", "mlee", ["proj-climate", "training"]),
])
def test_accounts(path, user, accounts):
    parsed = parse_accounts(read(path), path, user)
    assert parsed.items == accounts and parsed.problems == []


def test_accounts_of_several_users_reported():
    text = "Account|User\nlab_a|alice\nlab_b|bob\n"
    parsed = parse_accounts(text, "a.txt")
    assert parsed.items == ["lab_a", "lab_b"]
    assert "several users (alice, bob)" in str(parsed.problems[0])
    assert parse_accounts(text, "a.txt", "bob").items == ["lab_b"]


# ---------------------------------------------------------------------------- aggregation


def facts(paths, user=None):
    return from_files(paths, user)


def test_aggregate_hpc_a():
    result = facts(HPC_A)
    assert result.problems == []
    assert [summary(p) for p in result.partitions] == [
        ("cpu", True, "2d", 48, "187000M", 8, {}),
        ("gpu", False, "5d", 48, "385000M", 4, {"a100": 4, "h100": 8}),
        ("long", False, None, 48, "187000M", 2, {}),
        ("interactive", False, "4h", 8, "64G", 2, {}),  # MaxCPUsPerNode=8, MaxMemPerNode=65536
        ("debug", False, "30min", 48, "187000M", 1, {}),
        ("scavenge", False, "1d", 48, "187000M", 12, {"a100": 4, "h100": 8}),
    ]
    notes = {p.name: p.notes for p in result.partitions}
    assert "MaxTime UNLIMITED: no max_time" in notes["long"]
    assert any("48 to 64 CPUs" in n and "smallest" in n for n in notes["cpu"])
    assert "some nodes have no GPUs" in notes["scavenge"]
    assert result.accounts == ["lab_smith", "cs_ml_shared", "ds_course_2024"]
    assert (result.accounting, result.cluster_name) == (True, "hpc-a")
    assert result.hostnames == ["cn*", "gpu*", "ga*"]


def test_aggregate_old_cluster_by_hostlist():
    result = facts(OLD)
    assert [summary(p) for p in result.partitions] == [
        ("normal", True, "7d", 32, "125G", 4, {}),  # node004 RealMemory=1 left out
        ("gpu", False, "3d", 32, "191000M", 3, {"tesla": 4}),
        ("mig", False, "12h", 64, "515000M", 1, {"a100_1g.5gb": 3, "a100_3g.20gb": 2}),
        ("bigmem", False, None, 96, "3096000M", 1, {"gpu": 1}),
    ]
    notes = {p.name: p.notes for p in result.partitions}
    assert "1 node(s) report no RealMemory; left out of the minimum" in notes["normal"]
    assert "tesla GPUs per node range 2 to 4: the largest is used" in notes["gpu"]
    assert "State=INACTIVE" in notes["bigmem"]
    assert any("without a type" in n for n in notes["bigmem"])
    assert result.accounting is False and result.accounts == []


@pytest.mark.parametrize("name", ["sinfo-custom.txt", "sinfo-padded.txt", "sinfo-pipes.txt"])
def test_aggregate_sinfo_only(name):
    result = facts([INIT / "sinfo-only" / name, INIT / "sinfo-only" / "sshare.txt"])
    assert [summary(p) for p in result.partitions] == [
        ("standard", True, "1d12h", 40, "191000M", 248, {}),
        ("gpu", False, "2d", 32, "375000M", 16, {"a100": 4, "h100": 2, "v100": 4}),
        ("largemem", False, "14d", 80, "2063000M", 4, {}),
        ("preempt", False, None, 40, "191000M", 258, {"v100": 4}),
    ]
    assert result.partitions[0].notes == ["nodes differ (40 to 64+ CPUs, 191000M to 250000M+ memory): "
                                          "the smallest is used, so every node fits"]
    assert result.accounts == ["physics", "bio-lab"] and result.accounting is True
    assert result.cluster_name is None and result.hostnames == []


def test_aggregate_sinfo_node_oriented_counts_distinct_nodes():
    text = ("NODELIST NODES PARTITION STATE CPUS MEMORY\n"
            "c1 1 cpu* idle 8 16000\nc2 1 cpu* idle 8 16000\nc2 1 gpu idle 8 16000\n")
    parts = aggregate(sinfo=parse_sinfo(text).items)
    assert [(p.name, p.default, p.nodes, p.cpus) for p in parts] == [("cpu", True, 2, 8), ("gpu", False, 1, 8)]


def test_aggregate_partitions_without_nodes_notes_the_averages():
    result = facts([INIT / "hpc-a" / "partitions.txt"])
    gpu = result.partitions[1]
    assert (gpu.cpus, gpu.mem, gpu.gpus, gpu.nodes) == (None, None, {}, 4)
    assert any("about 52 CPUs per node on average" in n for n in gpu.notes)
    assert any("20 GPUs in total (TRES)" in n for n in gpu.notes)


def test_aggregate_scontrol_wins_over_sinfo_and_sinfo_fills_in():
    both = facts([INIT / "hpc-a" / "sinfo.txt", INIT / "hpc-a" / "partitions.txt", INIT / "hpc-a" / "nodes.txt"])
    assert [summary(p) for p in both.partitions] == [summary(p) for p in facts(HPC_A).partitions]
    only_sinfo = {p.name: p for p in facts([INIT / "hpc-a" / "sinfo.txt"]).partitions}
    assert (only_sinfo["cpu"].nodes, only_sinfo["cpu"].max_time_text, only_sinfo["cpu"].default) == (8, "2d", True)
    assert only_sinfo["long"].unlimited and only_sinfo["long"].max_time is None


def test_aggregate_one_default_only():
    parts = aggregate([PartitionRecord("a", default=True), PartitionRecord("b", default=True)])
    assert [p.default for p in parts] == [True, False]
    assert parts[1].notes == ["also marked default; 'a' is used as the default"]


def test_aggregate_drops_max_time_beyond_a_year():
    (part,) = aggregate([PartitionRecord("x", max_time=400 * 86400)])
    assert part.max_time is None and "outside what dvhpc accepts" in part.notes[0]


def test_from_files_order_does_not_matter():
    forward = facts(HPC_A)
    backward = facts(list(reversed(HPC_A)))
    assert [summary(p) for p in forward.partitions] == [summary(p) for p in backward.partitions]
    assert forward.accounts == backward.accounts


# ---------------------------------------------------------------------------- the scaffold


def load_yaml(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


def uncomment_examples(text: str) -> str:
    """The spec with the commented sets/rules examples switched on."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("  # Examples"):
            inside = True
            continue
        if inside and line.startswith("  # "):
            out.append(line.replace("# ", "", 1))
            continue
        inside = False
        out.append(line)
    return "\n".join(out) + "\n"


CASES = {
    "hpc-a": HPC_A,
    "hpc-a-sinfo": [INIT / "hpc-a" / "sinfo.txt", INIT / "hpc-a" / "sacctmgr.txt"],
    "hpc-a-partitions-only": [INIT / "hpc-a" / "partitions.txt"],
    "old-cluster": OLD,
    "old-cluster-multiline-only": [INIT / "old-cluster" / "partitions.txt", INIT / "old-cluster" / "nodes.txt"],
    "sinfo-only": [INIT / "sinfo-only" / "sinfo-custom.txt", INIT / "sinfo-only" / "sshare.txt"],
    "sinfo-long": [INIT / "sinfo-only" / "sinfo-long.txt", INIT / "sinfo-only" / "sacctmgr-parsable.txt"],
    "sinfo-summary": [INIT / "sinfo-only" / "sinfo-summary.txt"],
    "local": LOCAL,
    "local-sinfo": [INIT / "local" / "sinfo-custom.txt", INIT / "local" / "sshare.txt", INIT / "local" / "config.txt"],
    "malformed": [INIT / "malformed" / f for f in ("partitions.txt", "nodes.txt", "sinfo.txt")],
    "accounting-no-accounts": [INIT / "hpc-a" / "partitions.txt", INIT / "hpc-a" / "nodes.txt",
                               INIT / "hpc-a" / "config.txt"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_scaffold_validates_and_lints_clean(case, tmp_path):
    result = di.init_site(case, CASES[case])
    spec = tmp_path / f"{case}.yaml"
    spec.write_text(result.text)
    examples = tmp_path / f"{case}-examples.yaml"
    examples.write_text(uncomment_examples(result.text))
    assert set(load_yaml(examples.read_text())["resources"]) == {"defaults", "sets", "rules"}
    code, out, err = run_subprocess("validate", str(spec), str(examples))
    assert code == 0, out + err
    code, out, err = run_subprocess("lint", "--no-shellcheck", str(spec), str(examples))
    assert code == 0, f"{out}{err}\n{result.text}"
    assert "2 spec(s) linted: no problems" in out and "warning" not in err, out + err


def test_scaffold_content_hpc_a():
    text = di.init_site("hpc-a", HPC_A).text
    lines = text.splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../schema/site.schema.json"
    data = load_yaml(text)
    assert list(data) == ["dvhpc", "site", "description", "detect", "slurm", "snakemake", "resources"]
    assert (data["dvhpc"], data["site"]) == (1, "hpc-a")
    assert data["detect"] == {"env": {"SLURM_CLUSTER_NAME": "hpc-a"}, "hostnames": ["cn*", "gpu*", "ga*"]}
    slurm = data["slurm"]
    assert (slurm["account"], slurm["accounting"], slurm["gpu_flag"]) == ("lab_smith", True, "gpus")
    assert "  account: lab_smith                  # yours too: cs_ml_shared, ds_course_2024" in lines
    assert slurm["partitions"] == {
        "cpu": {"default": True, "max_time": "2d", "cpus": 48, "mem": "187000M", "nodes": 8},
        "gpu": {"max_time": "5d", "cpus": 48, "mem": "385000M", "nodes": 4, "gpus": {"a100": 4, "h100": 8}},
        "long": {"cpus": 48, "mem": "187000M", "nodes": 2},
        "interactive": {"max_time": "4h", "cpus": 8, "mem": "64G", "nodes": 2},
        "debug": {"max_time": "30min", "cpus": 48, "mem": "187000M", "nodes": 1},
        "scavenge": {"max_time": "1d", "cpus": 48, "mem": "187000M", "nodes": 12, "gpus": {"a100": 4, "h100": 8}},
    }
    assert "    # long: MaxTime UNLIMITED: no max_time" in lines
    assert data["snakemake"]["executor"] == "slurm" and data["snakemake"]["jobs"] == 100
    assert data["resources"] == {"defaults": {"partition": "cpu", "cpus": 1, "mem": "4G", "time": "1h"}}
    assert "  #   gpu_job: {partition: gpu, gpus: 1, gpu_type: a100, cpus: 8, mem: 32G, time: 4h}" in lines
    assert "lint" not in data


def test_scaffold_keys_are_in_the_spec_reference():
    reference = (Path(__file__).resolve().parent.parent / "docs" / "spec.md").read_text()
    documented = set(re.findall(r"^#+ `([^`]+)`", reference, re.M))
    named = {"detect.env", "slurm.partitions", "slurm.partitions.<name>.gpus", "resources.sets", "resources.rules"}
    seen = []

    def walk(node, path):
        for key, value in node.items():
            step = "<name>" if ".".join(path) in named else key
            dotted = ".".join([*path, step])
            seen.append(re.sub(r"^resources\.(sets|rules)\.<name>\.", "resources.defaults.", dotted))
            if isinstance(value, dict):
                walk(value, [*path, step])

    for case in ("hpc-a", "accounting-no-accounts"):
        walk(load_yaml(uncomment_examples(di.init_site(case, CASES[case]).text)), [])
    assert "slurm.partitions.<name>.gpus.<name>" in seen and "lint.ignore" in seen
    assert [key for key in seen if key not in documented] == []


def test_scaffold_without_accounts_but_with_accounting_silences_dv321_with_a_comment():
    text = di.init_site("c", CASES["accounting-no-accounts"]).text
    data = load_yaml(text)
    assert "account" not in data["slurm"] and data["slurm"]["accounting"] is True
    assert data["lint"] == {"ignore": ["DV321"]}
    assert "  # account: <your account>" in text


def test_scaffold_unknown_accounting_is_off_with_a_note():
    text = di.init_site("c", [INIT / "sinfo-only" / "sinfo-summary.txt"]).text
    assert load_yaml(text)["slurm"]["accounting"] is False
    assert "not known from the input" in text
    assert "# - CPUs or memory per node unknown for standard, gpu, largemem, preempt: add the output of" in text
    assert "SLURM_CLUSTER_NAME: c}" in text and "ClusterName was not known" in text


def test_scaffold_defaults_fit_small_partitions():
    part = Partition("tiny", default=True, max_time=1800, cpus=2, mem=2000, nodes=1)
    data = load_yaml(uncomment_examples(di.scaffold("t", [part], ["acct"], True)))
    assert data["resources"]["defaults"] == {"partition": "tiny", "cpus": 1, "mem": "2000M", "time": "30min"}
    assert data["resources"]["sets"]["bigger"] == {"partition": "tiny", "cpus": 2, "mem": "1000M", "time": "20min"}


def test_scaffold_quotes_odd_names_and_skips_invalid_ones(tmp_path):
    parts = [Partition("yes", default=True, max_time=3600), Partition("123"), Partition("bad name!")]
    text = di.scaffold("odd", parts, ["on", "2024"], True)
    data = load_yaml(text)
    assert list(data["slurm"]["partitions"]) == ["yes", "123"]
    assert data["slurm"]["account"] == "on"
    assert "# partition 'bad name!' is not a valid name and was left out" in text
    spec = tmp_path / "odd.yaml"
    spec.write_text(text)
    code, out, err = run_subprocess("lint", "--no-shellcheck", str(spec))
    assert code == 0, out + err


def test_scaffold_no_partitions_is_still_valid(tmp_path):
    spec = tmp_path / "empty.yaml"
    spec.write_text(di.scaffold("empty", [], [], None))
    code, out, err = run_subprocess("lint", "--no-shellcheck", str(spec))
    assert code == 0, out + err


def test_scaffold_is_deterministic():
    first = di.init_site("hpc-a", HPC_A).text
    assert all(di.init_site("hpc-a", HPC_A).text == first for _ in range(3))
    reordered = di.init_site("hpc-a", list(reversed(HPC_A))).text
    strip = [ln for ln in first.splitlines() if not ln.startswith("#  ")]
    assert strip == [ln for ln in reordered.splitlines() if not ln.startswith("#  ")]


@pytest.mark.parametrize("site", ["Bad", "1x", "", "a b", "x" * 65])
def test_bad_site_name(site):
    with pytest.raises(InitError, match="site name"):
        di.init_site(site, HPC_A)


# ---------------------------------------------------------------------------- malformed input


def test_malformed_files_are_reported_with_file_and_line():
    result = di.init_site("broken", CASES["malformed"])
    messages = [str(p) for p in result.facts.problems]
    sources = [p.source.rsplit("/", 1)[-1] for p in result.facts.problems]
    assert sources == sorted(sources, key=["partitions.txt", "nodes.txt", "sinfo.txt"].index)
    assert len(messages) == 15
    assert any(m.endswith("partitions.txt:3: not a `PartitionName=...` record, skipped: "
                          "'this line was pasted by mistake'") for m in messages)
    assert [p.name for p in result.facts.partitions] == ["ok", "badtime", "minutes", "bare"]


@pytest.mark.parametrize("name, message", [
    ("unknown.txt", "cannot tell which command wrote this file"),
    ("empty.txt", "the file is empty"),
    ("missing.txt", "cannot read"),
])
def test_unusable_from_files_raise_init_error(name, message):
    with pytest.raises(InitError, match=message):
        di.init_site("x", [INIT / "malformed" / name])


def test_binary_garbage_does_not_crash():
    """Garbage is skipped with a problem per line, not an exception."""
    text = "\x00\xff PartitionName=\nNodeName=\x00\n" + "=" * 50
    for parser in (parse_partitions, parse_accounts):
        parsed = parser(text)
        assert parsed.items == [] and [p.line for p in parsed.problems] == [1, 2, 3], parser.__name__
    nodes = parse_nodes(text)  # line 2 is a NodeName= record
    assert [n.line for n in nodes.items] == [2] and [p.line for p in nodes.problems] == [1, 3]
    sinfo = parse_sinfo(text)
    assert sinfo.items == [] and "no sinfo header" in sinfo.problems[0].message
    assert parse_config(text) == {}


# ---------------------------------------------------------------------------- live mode (fake runner)


class FakeCluster:
    """Answers like the recorded local cluster; `missing`/`failing` commands misbehave."""

    def __init__(self, missing=(), failing=(), timeout=()):
        self.missing, self.failing, self.timeout = set(missing), set(failing), set(timeout)
        self.calls: list[list[str]] = []

    def __call__(self, args, _timeout):
        self.calls.append(args)
        key = " ".join(args[:3])
        if args[0] in self.missing:
            raise FileNotFoundError(args[0])
        if args[0] in self.failing or key in self.failing:
            return 1, "", "slurm_load_partitions: Unable to contact slurm controller (connect failure)\n"
        if args[0] in self.timeout:
            return 124, "", "timed out after 30s"
        answers = {
            "scontrol show partition": read("local", "partitions.txt"),
            "scontrol show node": read("local", "nodes.txt"),
            "scontrol show config": read("local", "config.txt"),
            "sacctmgr -n -P": read("local", "sacctmgr.txt") if "assoc" in args else "defacct\n",
            "sacct -n -X": "",
        }
        for prefix, answer in answers.items():
            if key.startswith(prefix) or " ".join(args).startswith(prefix):
                return 0, answer, ""
        raise AssertionError(f"unexpected command {args}")


def test_live_mode_with_a_fake_cluster():
    fake = FakeCluster()
    result = di.init_site("dvhpc", run=fake, user="root")
    assert [summary(p) for p in result.facts.partitions] == [
        ("cpu", True, "1d", 4, "8000M", 1, {"testgpu": 2}), ("gpu", False, "12h", 4, "8000M", 1, {"testgpu": 2}),
    ]
    assert result.facts.accounts == ["defacct", "gpuproj", "root"]  # the default account first
    assert result.facts.accounting is True and result.facts.cluster_name == "dvhpc"
    assert ["sacctmgr", "-n", "-P", "show", "assoc", "user=root", "format=account"] in fake.calls
    assert load_yaml(result.text)["slurm"]["account"] == "defacct"


def test_live_mode_without_sacct_turns_accounting_off():
    result = di.init_site("dvhpc", run=FakeCluster(failing={"sacct"}), user="root")
    assert result.facts.accounting is False and result.facts.accounts == []
    assert "sacct does not work here" in result.text


def test_live_mode_without_sacctmgr_keeps_accounting_but_lists_no_account():
    result = di.init_site("dvhpc", run=FakeCluster(missing={"sacctmgr"}), user="root")
    assert result.facts.accounting is True and result.facts.accounts == []
    assert "sacctmgr did not answer" in result.text and load_yaml(result.text)["lint"] == {"ignore": ["DV321"]}


@pytest.mark.parametrize("fake, message", [
    (FakeCluster(missing={"scontrol"}), "`scontrol` not found: no SLURM client on this machine"),
    (FakeCluster(failing={"scontrol show partition"}), "failed \\(exit 1: slurm_load_partitions: Unable to contact"),
    (FakeCluster(timeout={"scontrol"}), "failed \\(exit 124: timed out"),
])
def test_live_mode_errors_say_what_to_do(fake, message):
    with pytest.raises(InitError, match=message) as info:
        di.init_site("x", run=fake, user="u")
    assert "--from" in str(info.value) and "scontrol show partition -o > partitions.txt" in str(info.value)


def test_run_command_times_out_and_reports_missing_commands():
    assert run_command(["sleep", "5"], timeout=0.2)[0] == 124
    with pytest.raises(FileNotFoundError):
        run_command(["dvhpc-no-such-command-xyz"])


# ---------------------------------------------------------------------------- the CLI (once cli.py has `init`)


def _cli_has_init() -> bool:
    from dvhpc import cli

    return "init" in cli.cli.commands


needs_cli = pytest.mark.skipif(not _cli_has_init(), reason="`dvhpc init` is not registered in cli.py yet")


@needs_cli
def test_cli_init_from_files(tmp_path):
    out = tmp_path / "hpc-a.yaml"
    args = ["init", "--site", "hpc-a", *[x for p in HPC_A for x in ("--from", str(p))]]
    code, stdout, err = run_subprocess(*args)
    assert code == 0, err
    assert stdout == di.init_site("hpc-a", HPC_A).text
    code, _, err = run_subprocess(*args, "-o", str(out))
    assert code == 0 and out.exists(), err
    code, _, err = run_subprocess(*args, "-o", str(out))
    assert code == 2 and "--force" in err
    code, _, err = run_subprocess(*args, "-o", str(out), "--force")
    assert code == 0, err
    assert run_subprocess("lint", "--no-shellcheck", str(out))[0] == 0


@needs_cli
def test_cli_init_reports_problems_and_bad_files():
    sources = [x for p in CASES["malformed"] for x in ("--from", str(p))]
    code, stdout, err = run_subprocess("init", "--site", "b", *sources)
    assert code == 0 and "this line was pasted by mistake" in err and stdout.startswith("# yaml-language-server")
    code, _, err = run_subprocess("init", "--site", "b", "--from", str(INIT / "malformed" / "unknown.txt"))
    assert code == 2 and "cannot tell which command wrote this file" in err
    code, _, err = run_subprocess("init", "--from", str(HPC_A[0]))
    assert code == 2 and "--site" in err


# ---------------------------------------------------------------------------- live mode (real local SLURM)


def _slurm_conf() -> Path:
    return Path("/etc/slurm/slurm.conf")


@pytest.mark.slurm
def test_live_init_matches_slurm_conf(local_slurm, tmp_path):
    conf = _slurm_conf().read_text()
    wanted = {}
    for line in conf.splitlines():
        if line.startswith("PartitionName="):
            fields = dict(item.split("=", 1) for item in line.split())
            seconds = parse_slurm_time(fields["MaxTime"])
            wanted[fields["PartitionName"]] = (fields.get("Default", "NO") == "YES",
                                               format_duration(seconds) if seconds else None)
    node_line = next(ln for ln in conf.splitlines() if ln.startswith("NodeName="))
    node = dict(item.split("=", 1) for item in node_line.split())
    result = di.init_site("dvhpc-local")
    assert result.facts.problems == []
    parts = load_yaml(result.text)["slurm"]["partitions"]
    assert {name: (p.get("default", False), p.get("max_time")) for name, p in parts.items()} == wanted
    for p in parts.values():
        assert (p["cpus"], p["mem"], p["nodes"]) == (int(node["CPUs"]), format_memory(int(node["RealMemory"])), 1)
        assert p["gpus"] == {node["Gres"].split(":")[1]: int(node["Gres"].split(":")[2])}
    slurm = load_yaml(result.text)["slurm"]
    assert slurm["accounting"] is local_slurm.accounting
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
    assert load_yaml(result.text)["detect"]["env"]["SLURM_CLUSTER_NAME"] == parse_config(config)["ClusterName"]
    if local_slurm.accounting and os.geteuid() == 0:
        assert slurm["account"] == "defacct"  # root's default account, the others listed in a comment
        assert "gpuproj" in next(ln for ln in result.text.splitlines() if ln.startswith("  account:"))
    spec = tmp_path / "dvhpc-local.yaml"
    spec.write_text(result.text)
    for command in (["validate"], ["lint", "--no-shellcheck"]):
        code, out, err = run_subprocess(*command, str(spec))
        assert code == 0, out + err
