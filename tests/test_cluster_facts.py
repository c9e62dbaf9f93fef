"""The cluster facts' JSON form (`cluster.json`): it round-trips exactly for every recorded cluster
style, names the unit of each number, and a malformed document is refused with the key that is wrong."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from conftest import FIXTURES
from dvhpc.cluster import facts as cluster_facts
from dvhpc.cluster.facts import Association, ClusterFacts, ClusterFactsError, Limits, Partition, Qos
from dvhpc.cluster.recorded import from_files
from dvhpc.cluster.records import Problem

INIT = FIXTURES / "init"
RECORDED = {
    "hpc-a": [INIT / "hpc-a" / f for f in ("partitions.txt", "nodes.txt", "config.txt", "sacctmgr.txt")],
    "old-cluster": [INIT / "old-cluster" / f for f in ("partitions.txt", "nodes.txt", "config.txt", "sinfo.txt")],
    "sinfo-only": [INIT / "sinfo-only" / "sinfo-long.txt", INIT / "sinfo-only" / "sacctmgr-parsable.txt"],
    "local": [INIT / "local" / f for f in ("partitions.txt", "nodes.txt", "config.txt", "sshare.txt")],
    "malformed": [INIT / "malformed" / f for f in ("partitions.txt", "nodes.txt", "sinfo.txt")],
}


@pytest.mark.parametrize("style", sorted(RECORDED))
def test_facts_round_trip_through_json(style):
    facts = from_files(RECORDED[style])
    text = facts.to_json()
    again = ClusterFacts.from_json(text)
    assert again == facts
    assert again.to_json() == text


def test_round_trip_keeps_not_known_and_unlimited_apart():
    facts = ClusterFacts(partitions=[Partition("long", unlimited=True), Partition("new", notes=["Grüße ✓"])],
                         accounting=None, problems=[Problem("x.txt", 0, "whole file")])
    again = ClusterFacts.from_json(facts.to_json())
    assert again == facts
    assert again.accounting is None and again.partitions[0].unlimited and again.partitions[1].max_time is None


def test_numbers_carry_their_unit_in_the_key():
    document = json.loads(from_files(RECORDED["hpc-a"]).to_json())
    assert document["format"] == "dvhpc-cluster-facts" and document["version"] == 2
    cpu = document["partitions"][0]
    assert (cpu["name"], cpu["max_time_seconds"], cpu["mem_mib"], cpu["cpus"]) == ("cpu", 2 * 86400, 187000, 48)
    assert document["partitions"][1]["gpus"] == {"a100": 4, "h100": 8}
    assert document["accounts"] == ["lab_smith", "cs_ml_shared", "ds_course_2024"]


def test_every_field_has_a_json_key():
    """A field added to a dataclass without a JSON key would be lost in a snapshot."""
    assert {f.name for f in fields(Partition)} == set(cluster_facts._PARTITION_KEYS)
    assert {f.name for f in fields(Problem)} == set(cluster_facts._PROBLEM_KEYS)
    assert {f.name for f in fields(ClusterFacts)} == set(cluster_facts._FACTS_KEYS) | {"partitions", "problems",
                                                                                         "associations", "qos"}
    assert {f.name for f in fields(Association)} == set(cluster_facts._ASSOCIATION_KEYS) | {"limits"}
    assert {f.name for f in fields(Qos)} == set(cluster_facts._QOS_KEYS) | {"limits"}
    assert {f.name for f in fields(Limits)} == set(cluster_facts._LIMITS_KEYS)


def test_accounting_details_round_trip_and_none_stays_not_known():
    facts = ClusterFacts(
        partitions=[Partition("gpu", allow_accounts=["lab"], deny_qos=["long"], qos="gpuqos")],
        user="alice", default_account="lab", cluster_accounts=["lab", "other"],
        associations=[Association("lab", "alice", "gpu", ["normal", "short"], "normal",
                                  Limits(3600, {"cpu": 8, "mem": 16384, "gres/gpu:a100": 2}, 10, 50))],
        qos=[Qos("short", Limits(max_wall=600), ["DenyOnLimit"])])
    again = ClusterFacts.from_json(facts.to_json())
    assert again == facts
    document = json.loads(facts.to_json())
    assert document["associations"][0]["limits"]["max_wall_seconds"] == 3600
    unknown = ClusterFacts.from_json(ClusterFacts(accounting_skipped="sacctmgr was not found").to_json())
    assert unknown.associations is None and unknown.qos is None and unknown.cluster_accounts is None
    assert unknown.accounting_skipped == "sacctmgr was not found"


def test_keys_left_out_take_their_defaults():
    text = json.dumps({"format": "dvhpc-cluster-facts", "version": 1, "partitions": [{"name": "cpu"}]})
    assert ClusterFacts.from_json(text) == ClusterFacts(partitions=[Partition("cpu")])


def _document(**changes: object) -> str:
    document = json.loads(from_files(RECORDED["hpc-a"]).to_json())
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return json.dumps(document)


@pytest.mark.parametrize("text, message", [
    ("{", "snap.json: not JSON"),
    ("[]", "snap.json: expected an object, found []"),
    (json.dumps({"format": "other", "version": 1}), "not a dvhpc cluster facts document"),
    (_document(version=3), "not a dvhpc cluster facts document"),
    (_document(accounts="lab"), 'snap.json: accounts: expected a list, found "lab"'),
    (_document(accounts__0=7), "snap.json: accounts[0]: expected a string, found 7"),
    (_document(accounting="yes"), "snap.json: accounting: expected true or false"),
    (_document(partitions__0__cpus=True), "partitions[0].cpus: expected a whole number of at least 0, found true"),
    (_document(partitions__0__mem_mib=-1), "partitions[0].mem_mib: expected a whole number of at least 0"),
    (_document(partitions__0__max_time_seconds="2d"), "partitions[0].max_time_seconds: expected a whole number"),
    (_document(partitions__1__gpus__a100=1.5), "partitions[1].gpus.a100: expected a whole number"),
    (_document(partitions__0__mem=187000), "partitions[0]: unknown key 'mem'"),
    (_document(snapshot_of="x"), "snap.json: unknown key 'snapshot_of'"),
    (_document(partitions__0=[]), "partitions[0]: expected an object"),
    (json.dumps({"format": "dvhpc-cluster-facts", "version": 1, "partitions": [{}]}),
     "partitions[0]: 'name' is missing"),
    (json.dumps({"format": "dvhpc-cluster-facts", "version": 1, "problems": [{"source": "x", "line": 1}]}),
     "problems[0]: 'message' is missing"),
])
def test_malformed_documents_name_the_wrong_key(text, message):
    with pytest.raises(ClusterFactsError) as info:
        ClusterFacts.from_json(text, "snap.json")
    assert message in str(info.value)
