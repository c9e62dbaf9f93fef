"""`dvhpc lint --cluster` and `dvhpc snapshot` without a cluster: the facts come from command outputs
recorded on the local test cluster (tests/fixtures/cluster, played back by a fake runner), so every
parser and check runs as on the cluster; what accounting cannot tell is said to be skipped.
The same checks against the running cluster: tests/slurm/test_lint_cluster_slurm.py."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, run_in_process
from dvhpc.cluster.accounts import parse_associations, parse_qos, parse_tres
from dvhpc.cluster.facts import Association, ClusterFacts, Limits, Qos
from dvhpc.cluster.scontrol import parse_partitions
from dvhpc.tools.snapshot import take_snapshot

RECORDED = FIXTURES / "cluster"


class Recorded:
    """Plays back the outputs in tests/fixtures/cluster for the commands `dvhpc snapshot` runs."""

    ANSWERS = {"scontrol show partition": "partitions.txt", "scontrol show node": "nodes.txt",
               "scontrol show config": "config.txt", "sacctmgr -P show assoc": "assoc.txt",
               "sacctmgr -n -P show user": "defaultaccount.txt", "sacctmgr -n -P show account": "accounts.txt",
               "sacctmgr -P show qos": "qos.txt"}

    def __init__(self, missing: tuple[str, ...] = (), failing: tuple[str, ...] = ()):
        self.missing, self.failing = missing, failing
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str], _timeout: float) -> tuple[int, str, str]:
        self.calls.append(args)
        line = " ".join(args)
        if args[0] in self.missing:
            raise FileNotFoundError(args[0])
        if any(line.startswith(prefix) for prefix in self.failing):
            return 1, "", "sacctmgr: error: Problem talking to the database: Connection refused\n"
        if args[0] == "sacct":
            return 0, "", ""
        for prefix, name in self.ANSWERS.items():
            if line.startswith(prefix):
                return 0, (RECORDED / name).read_text(), ""
        raise AssertionError(f"unexpected command {args}")


SPEC = """\
dvhpc: 1
site: local
slurm:
  account: h17b_acct
  partitions:
    cpu: {default: true, max_time: 2d, cpus: 4, mem: 8000M, nodes: 1, gpus: {testgpu: 2}}
    gpu: {max_time: 12h, cpus: 4, mem: 8000M, nodes: 1, gpus: {testgpu: 2, a100: 1}}
    bigmem: {max_time: 1d, cpus: 4, mem: 8000M, nodes: 1}
snakemake: {jobs: 6, restart_times: 1}
resources:
  defaults: {partition: cpu, cpus: 1, mem: 200M, time: 5min}
  rules:
    wrong_account: {account: h17b_nosuch}
    no_access: {account: h17b_cpuonly, partition: gpu}
    over_wall: {qos: h17b_short, time: 20min}
    over_retry: {qos: h17b_short, time: 6min, retry: {time: 2x}}
    over_mem: {qos: h17b_short, mem: 2G}
    odd_gpu: {partition: gpu, gpus: 1, gpu_type: a100}
"""


def line_of(text: str, marker: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if marker in line)


def lint(tmp_path, spec: str, facts: ClusterFacts) -> tuple[int, list[dict]]:
    (tmp_path / "site.yaml").write_text(spec)
    (tmp_path / "cluster.json").write_text(facts.to_json())
    status, out, err = run_in_process("lint", "--no-shellcheck", "--format", "json", "site.yaml",
                                      "--cluster", "cluster.json", cwd=tmp_path)
    assert "Traceback" not in err and "internal error" not in err, err
    return status, json.loads(out)


def test_snapshot_records_associations_qos_and_access_from_the_recorded_cluster():
    runner = Recorded()
    facts = take_snapshot(runner, user="root")
    assert facts.user == "root" and facts.default_account == "defacct" and facts.accounting
    assert facts.accounts[0] == "defacct" and set(facts.accounts) == {"defacct", "gpuproj", "root", "h17b_acct",
                                                                      "h17b_cpuonly"}
    assert facts.cluster_accounts == ["defacct", "gpuproj", "h17b_acct", "h17b_cpuonly", "root"]
    by_account = {a.account: a for a in facts.associations or []}
    assert by_account["h17b_cpuonly"].partition == "cpu" and by_account["h17b_acct"].partition is None
    assert by_account["h17b_acct"].qos == ["h17b_short", "normal"]
    short = {q.name: q for q in facts.qos or []}["h17b_short"]
    assert short.limits == Limits(max_wall=600, max_tres_per_job={"cpu": 2, "mem": 1024}, max_jobs=4, max_submit=8)
    assert short.flags == ["DenyOnLimit"]
    assert [p.allow_accounts for p in facts.partitions] == [None, None]  # AllowAccounts=ALL
    assert ClusterFacts.from_json(facts.to_json()) == facts


def test_lint_cluster_reports_each_problem_on_its_line(tmp_path):
    status, found = lint(tmp_path, SPEC, take_snapshot(Recorded(), user="root"))
    assert status == 1
    errors = {(d["code"], d["line"]) for d in found if d["severity"] == "error"}
    assert errors == {
        ("DV601", line_of(SPEC, "cpu: {default")),  # max_time 2d in the spec, 1d on the cluster
        ("DV601", line_of(SPEC, "gpu: {max_time")),  # a100 in the spec, not on the cluster
        ("DV600", line_of(SPEC, "bigmem:")),
        ("DV610", line_of(SPEC, "wrong_account:")),
        ("DV612", line_of(SPEC, "no_access:")),
        ("DV615", line_of(SPEC, "over_wall:")),
        ("DV615", line_of(SPEC, "over_retry:")),
        ("DV615", line_of(SPEC, "over_mem:")),
        ("DV604", line_of(SPEC, "odd_gpu:")),
    }
    messages = {d["message"] for d in found}
    assert "partition 'cpu': max_time 2d in the spec, 1d on the cluster" in messages
    assert "rule 'over_retry': time 12min at attempt 2 exceeds QOS 'h17b_short' MaxWall 10min" in messages
    assert "rule 'over_mem': mem 2G exceeds QOS 'h17b_short' MaxTRESPerJob mem 1G" in messages
    assert ("rule 'no_access': account 'h17b_cpuonly' may not use partition 'gpu' "
            "(root's associations with it are for partition cpu)") in messages
    assert "partition 'gpu': gpus a100: 1, testgpu: 2 in the spec, testgpu: 2 on the cluster" in messages
    [drift, _] = [d for d in found if d["code"] == "DV601"]
    assert drift["fields"] == {"partition": "cpu", "key": "max_time", "spec": 172800, "cluster": 86400}
    assert not [d for d in found if d["code"] == "DV620"]


CLEAN_PARTITIONS = SPEC.split("resources:")[0].replace("max_time: 2d", "max_time: 1d").replace(
    ", a100: 1", "").replace("    bigmem: {max_time: 1d, cpus: 4, mem: 8000M, nodes: 1}\n", "")


def test_snakemake_jobs_against_qos_submit_and_run_limits(tmp_path):
    spec = CLEAN_PARTITIONS.replace("jobs: 6", "jobs: 9") + \
        "resources:\n  rules:\n    short: {qos: h17b_short, time: 5min}\n"
    _, found = lint(tmp_path, spec, take_snapshot(Recorded(), user="root"))
    assert [(d["code"], d["line"], d["message"]) for d in found if d["code"].startswith("DV6")] == [
        ("DV616", line_of(spec, "jobs: 9"), "snakemake.jobs 9 exceeds QOS 'h17b_short' MaxSubmit 8")]
    _, found = lint(tmp_path, spec.replace("jobs: 9", "jobs: 5"), take_snapshot(Recorded(), user="root"))
    assert [d["code"] for d in found if d["code"].startswith("DV6")] == ["DV617"]


@pytest.mark.parametrize("runner, why", [
    (Recorded(missing=("sacctmgr",)), "`sacctmgr show assoc` was not found (no accounting client here)"),
    (Recorded(failing=("sacctmgr",)), "`sacctmgr show assoc` failed (exit 1: sacctmgr: error: Problem talking"),
    (Recorded(missing=("sacct",)), "accounting is off on this cluster (sacct does not work)"),
])
def test_without_accounting_the_account_and_qos_checks_say_they_were_skipped(tmp_path, runner, why):
    facts = take_snapshot(runner, user="root")
    assert facts.associations is None and facts.accounting_skipped is not None
    status, found = lint(tmp_path, SPEC, facts)
    [skipped] = [d for d in found if d["code"] == "DV620"]
    assert skipped["severity"] == "info" and skipped["message"].startswith(
        "account and QOS checks skipped: " + why)
    assert skipped["line"] == line_of(SPEC, "account: h17b_acct")
    codes = {d["code"] for d in found}
    assert not codes & {"DV610", "DV611", "DV612", "DV613", "DV614", "DV615"}  # not run, so not passed either
    assert {"DV600", "DV601", "DV604"} <= codes and status == 1  # what scontrol tells is still checked


def test_a_version_1_snapshot_is_read_and_its_missing_accounting_is_skipped(tmp_path):
    document = json.loads(take_snapshot(Recorded(), user="root").to_json())
    old = {"format": "dvhpc-cluster-facts", "version": 1,
           "partitions": [{k: v for k, v in p.items() if k not in ("allow_accounts", "deny_accounts", "allow_qos",
                                                                   "deny_qos", "qos")}
                          for p in document["partitions"]]}
    (tmp_path / "site.yaml").write_text(SPEC)
    (tmp_path / "old.json").write_text(json.dumps(old))
    status, out, _ = run_in_process("lint", "--no-shellcheck", "--format", "json", "site.yaml", "--cluster",
                                    "old.json", cwd=tmp_path)
    found = json.loads(out)
    assert status == 1 and "DV620" in {d["code"] for d in found} and "DV600" in {d["code"] for d in found}


def test_partition_access_lists_from_scontrol_refuse_accounts_and_qos(tmp_path):
    text = (RECORDED / "partitions.txt").read_text().replace(
        "PartitionName=gpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL",
        "PartitionName=gpu AllowGroups=ALL AllowAccounts=gpuproj,defacct AllowQos=normal")
    [cpu, gpu] = parse_partitions(text).items
    assert (cpu.allow_accounts, gpu.allow_accounts, gpu.allow_qos) == (None, ["gpuproj", "defacct"], ["normal"])
    facts = take_snapshot(Recorded(), user="root")
    facts.partitions[1].allow_accounts, facts.partitions[1].allow_qos = ["gpuproj", "defacct"], ["normal"]
    spec = CLEAN_PARTITIONS + "resources:\n  rules:\n    train: {partition: gpu, time: 5min}\n" \
        "    fast: {partition: gpu, account: gpuproj, qos: h17b_short, time: 5min}\n"
    _, found = lint(tmp_path, spec, facts)
    assert [(d["code"], d["line"], d["message"]) for d in found if d["code"].startswith("DV6")] == [
        ("DV612", line_of(spec, "account: h17b_acct"),
         "rule 'train': account 'h17b_acct' may not use partition 'gpu' (the partition allows only gpuproj, defacct)"),
        ("DV614", line_of(spec, "fast:"), "rule 'fast': QOS 'h17b_short' is not allowed for account 'gpuproj' "
                                          "(it allows normal)"),
    ]


def test_clean_spec_has_no_cluster_findings(tmp_path):
    spec = CLEAN_PARTITIONS.replace("jobs: 6", "jobs: 4") + \
        "resources:\n  rules:\n    a: {qos: h17b_short, time: 5min, cpus: 2, mem: 1G, retry: {time: 2x}}\n" \
        "    b: {account: h17b_cpuonly}\n    c: {partition: gpu, gpus: 2, gpu_type: testgpu}\n"
    status, found = lint(tmp_path, spec, take_snapshot(Recorded(), user="root"))
    assert (status, [d for d in found if d["code"].startswith("DV6")]) == (0, [])


@pytest.mark.parametrize("text, found", [
    ("cpu=2,gres/gpu=1,mem=1G", {"cpu": 2, "gres/gpu": 1, "mem": 1024}),
    ("mem=1500M,node=2,gres/gpu:a100=4", {"mem": 1500, "node": 2, "gres/gpu:a100": 4}),
    ("", {}),
])
def test_tres_limits_are_typed(text, found):
    assert parse_tres(text) == found


def test_malformed_accounting_rows_are_problems_not_exceptions():
    parsed = parse_associations("Account|User|Partition|QOS|Def QOS|MaxWall|MaxTRES|MaxJobs|MaxSubmit\n"
                                "lab|alice||normal||1-00:00:00|cpu=x||\nok|alice|cpu|normal||||3|\n")
    assert parsed.items == [Association("ok", "alice", "cpu", ["normal"], None, Limits(max_jobs=3))]
    assert [p.line for p in parsed.problems] == [2]
    parsed = parse_qos("Name|MaxWall|MaxTRES|MaxJobsPU|MaxSubmitPU|Flags\nbad name|||||\nq|2-00:00:00||||\n")
    assert parsed.items == [Qos("q", Limits(max_wall=2 * 86400))] and len(parsed.problems) == 1


def test_an_unreadable_snapshot_is_a_usage_error(tmp_path):
    (tmp_path / "site.yaml").write_text(SPEC)
    (tmp_path / "bad.json").write_text('{"format": "dvhpc-cluster-facts", "version": 2, "qos": [{"nam": "x"}]}')
    for name, message in (("missing.json", "missing.json: cannot read"), ("bad.json", "unknown key 'nam'")):
        status, _, err = run_in_process("lint", "--no-shellcheck", "site.yaml", "--cluster", name, cwd=tmp_path)
        assert status == 2 and "dvhpc lint: --cluster: " in err and message in err
