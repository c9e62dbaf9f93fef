"""The resource-key registry: one declaration per key, and everything that derives from it."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvhpc.model import keys
from dvhpc.model.keys import Kind
from dvhpc.model.units import Duration, Factor, Memory, Scaled

ROOT = Path(__file__).resolve().parent.parent


def test_schema_request_properties_are_the_registry():
    """schema/site.schema.json's resource requests are generated from the registry (tools/gen_schema_keys.py)."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_schema_keys.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads((ROOT / "schema" / "site.schema.json").read_text())
    resources = schema["properties"]["resources"]["properties"]
    for request in (resources["defaults"], resources["sets"]["additionalProperties"],
                    resources["rules"]["additionalProperties"]["oneOf"][0]):
        assert list(request["properties"]) == ["use"] + [key.name for key in keys.KEYS]
        assert set(request["properties"]["retry"]["properties"]) == {key.name for key in keys.SCALED}


def test_spec_md_documents_every_key():
    spec = (ROOT / "docs" / "spec.md").read_text()
    for key in keys.KEYS:
        assert f"`resources.defaults.{key.name}`" in spec or f"resources.defaults.{key.name}" in spec, key.name


def test_declarations_are_consistent():
    names = [key.name for key in keys.KEYS]
    assert len(names) == len(set(names))
    profile_names = [key.snakemake for key in keys.KEYS if key.snakemake]
    assert len(profile_names) == len(set(profile_names))
    aliases = [alias for key in keys.KEYS for alias in key.aliases]
    assert len(aliases) == len(set(aliases)), "an import alias means one key"
    for key in keys.KEYS:
        assert all(other in keys.BY_NAME and key.name in keys.BY_NAME[other].replaces for other in key.replaces)
        assert key.scales == (key.kind in (Kind.MEMORY, Kind.DURATION)), key
        assert dict(key.alias_scale).keys() <= set(key.aliases)
        assert key.doc.endswith(".") and key.engine_default
    assert set(keys.PROFILE_ORDER) == set(keys.RESOURCES_YAML_ORDER) == set(keys.KEYS)


def test_every_table_derives_from_the_registry():
    from dvhpc.resolve.resolver import MANAGED_FLAGS
    from dvhpc.tools import diff, explain, importer

    for key in keys.KEYS:
        assert key.name in dict(diff.RULE_FIELDS)
        for alias in key.aliases:
            assert importer.ALIASES[alias] is key
        for flag in (key.sbatch, key.sbatch_short):
            if flag:
                assert MANAGED_FLAGS[flag] in (key.name, "gpus + gpu_type")
                assert importer.TEMPLATE_FLAGS[flag.lstrip("-")] == key.name
        if key.snakemake:
            assert key.snakemake in explain.emitted_as(key)
    assert diff.UNIT == {key.name: "MiB" if key.kind is Kind.MEMORY else "min" for key in keys.SCALED}


# ----------------------------------------------------------------------------- scaled requests

FACTORS = st.builds(lambda n, d: Factor(Fraction(n, d)), st.integers(1, 400), st.integers(1, 8)).filter(
    lambda f: 1 <= f.value <= 100)


@given(st.integers(1, 2**30), FACTORS, st.one_of(st.none(), st.integers(1, 2**31)), st.integers(1, 5))
@settings(max_examples=400, deadline=None, derandomize=True)
def test_expression_evaluates_to_the_attempt_value(base, factor, cap, attempt):
    """Snakemake evaluates the profile's expression with Python: it gives exactly what resources.yaml
    says for each attempt (integer arithmetic both; no float rounding)."""
    scaled = Scaled(Memory(base), factor, Memory(cap) if cap else None)
    expression = scaled.expression()
    value = eval(expression, {"__builtins__": {"int": int, "min": min}}, {"attempt": attempt})  # noqa: S307
    assert value == scaled.at(attempt).count
    assert scaled.at(attempt).count == min(base * factor.value ** (attempt - 1) // 1,
                                           max(cap, base) if cap else 10**40)


@given(st.integers(1, 366 * 1440), FACTORS, st.one_of(st.none(), st.integers(1, 366 * 1440)), st.integers(1, 5))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_duration_expression_in_whole_minutes(minutes, factor, cap, attempt):
    scaled = Scaled(Duration(minutes * 60), factor, Duration(cap * 60) if cap else None)
    value = eval(str(scaled.expression()), {"__builtins__": {"int": int, "min": min}}, {"attempt": attempt})  # noqa: S307
    assert value == scaled.at(attempt).count == scaled.at(attempt).minutes


def test_float_arithmetic_is_not_used():
    """1.1x of 10 MiB at attempt 3: 12.1 -> 12 exactly (10 * 1.1 ** 2 is 12.100000000000001 in floats,
    and some bases land below the integer)."""
    scaled = Scaled(Memory(100), Factor.parse("1.1x"))
    assert scaled.expression() == "100 * 11 ** (attempt - 1) // 10 ** (attempt - 1)"
    assert [scaled.at(n).mib for n in (1, 2, 3, 4)] == [100, 110, 121, 133]
    assert Scaled(Memory(81920), Factor.parse("2x"), Memory(368640)).expression() == \
        "min(int(81920 * 2 ** (attempt - 1)), 368640)"


def test_cap_below_the_base_keeps_the_base():
    scaled = Scaled(Memory(4096), Factor.parse("2x"), Memory(1024))
    assert [scaled.at(n).mib for n in (1, 2)] == [4096, 4096] and scaled.is_capped(2) and not scaled.is_capped(1)


@pytest.mark.parametrize("key", keys.KEYS, ids=lambda k: k.name)
def test_every_key_has_its_forms(key):
    """A key says what the engine does without it, and how each backend sends it (or that it does not)."""
    assert key.generic is not None
    if key.kind in (Kind.NAME, Kind.CONSTRAINT):
        assert key.value_class


# ----------------------------------------------------------------------------- two keys added by declaration

NEW_KEYS_SPEC = """\
dvhpc: 1
site: newkeys
slurm:
  account: lab
  gpu_flag: gpus
  partitions:
    cpu: {default: true, max_time: 1d, mem: 100G, cpus: 32}
    gpu: {max_time: 1d, mem: 200G, cpus: 32, gpus: {a100: 4}}
snakemake: {restart_times: 1, jobs: 4}
resources:
  defaults: {cpus: 2, mem: 4G, time: 1h}
  rules:
    per_gpu: {partition: gpu, gpus: 2, gpu_type: a100, cpus_per_gpu: 8, mem: 32G, time: 2h}
    per_cpu: {cpus: 4, mem_per_cpu: 3G, time: 30min, retry: {mem_per_cpu: 2x}}
"""


def _checked(tmp_path, text):
    from dvhpc.pipeline import check

    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    return check(str(spec))


def test_cpus_per_gpu_and_mem_per_cpu_compile(tmp_path):
    """cpus_per_gpu (new: only its declaration) and mem_per_cpu reach the profile as the slurm
    plugin's cpus_per_gpu and mem_mb_per_cpu, and resources.yaml's sbatch words follow."""
    from dvhpc.emit.profile import profile_data
    from dvhpc.emit.resources import resources_data

    checked = _checked(tmp_path, NEW_KEYS_SPEC)
    assert checked.ok, [d.message for d in checked.report.items]
    profile = profile_data(checked.site)
    per_gpu = profile["set-resources"]["per_gpu"]
    assert per_gpu["cpus_per_gpu"] == 8 and per_gpu["cpus_per_task"] == 0  # the defaults' cpus switched off
    assert "per_gpu" not in profile["set-threads"]  # its threads stay the workflow's
    per_cpu = profile["set-resources"]["per_cpu"]
    assert per_cpu["mem_mb_per_cpu"] == "int(3072 * 2 ** (attempt - 1))"
    rules = resources_data(checked.site)["rules"]
    assert rules["per_gpu"]["sbatch"] == "-A lab -p gpu -t 120 --mem 32768 --cpus-per-gpu=8 --gpus=a100:2"
    assert [a["sbatch"] for a in rules["per_cpu"]["attempts"]] == [
        "-A lab -p cpu -t 30 --mem-per-cpu 3072 --ntasks=1 --cpus-per-task=4",
        "-A lab -p cpu -t 30 --mem-per-cpu 6144 --ntasks=1 --cpus-per-task=4"]
    assert "engine_defaults" not in rules["per_gpu"]  # cpus_per_gpu stands in for cpus


def test_cpus_and_cpus_per_gpu_exclude_each_other(tmp_path):
    checked = _checked(tmp_path, NEW_KEYS_SPEC.replace("cpus_per_gpu: 8,", "cpus_per_gpu: 8, cpus: 4,"))
    assert [d.code for d in checked.report.items] == ["DV104"]
    assert "'cpus' or 'cpus_per_gpu'" in checked.report.items[0].message


def test_import_reads_the_new_keys(tmp_path):
    from dvhpc.tools.importer import import_profile

    (tmp_path / "config.yaml").write_text(
        "executor: slurm\nset-resources:\n  r: {cpus_per_gpu: 8, gpu: 1, mem_mb_per_cpu: 2048, runtime: 30}\n")
    text = import_profile(str(tmp_path / "config.yaml"), "imp").text
    assert "r: {mem_per_cpu: 2G, time: 30min, gpus: 1, cpus_per_gpu: 8}" in text
