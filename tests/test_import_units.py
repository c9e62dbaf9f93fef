"""`dvhpc import` item by item (issue 15), in-process and fast: no Snakemake run (the corpus harness,
tests/test_import_corpus.py, is where the real Snakemake judges the results)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvhpc.tools.importing import import_profile
from dvhpc.tools.importing.convert import retry_factor
from dvhpc.tools.importing.snakevalues import Job, evaluate


def imported(tmp_path: Path, text: str, executor: str | None = None) -> tuple[str, str]:
    (tmp_path / "config.yaml").write_text(text)
    result = import_profile(str(tmp_path / "config.yaml"), "imp", executor)
    said = "\n".join(f"{d.location.line}:{d.location.column} {d.code} {d.message}" for d in result.report.items)
    return result.text, said


def test_yaml_1_1_scalars_are_read_as_pyyaml_reads_them(tmp_path):
    text, _ = imported(tmp_path, "executor: slurm\ndefault-resources:\n  runtime: 1:30\n  mem_mb: 0700\n")
    assert "time: 90min" in text       # sexagesimal 1:30 = 90 to PyYAML, minutes to Snakemake
    assert "mem: 448M" in text         # octal 0700 = 448


def test_string_default_resources_no_longer_crash(tmp_path):
    text, _ = imported(tmp_path, 'executor: slurm\njobs: 10\ndefault-resources: "mem_mb=5980"\n')
    assert "mem: 5980M" in text


def test_list_form_diagnostics_point_at_their_item(tmp_path):
    _, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  - runtime=60\n  - mem_mb=input.size_mb\n")
    assert "4:5 DV506" in said


def test_80g_times_attempt_keeps_snakemakes_reading_and_says_so(tmp_path):
    text, said = imported(tmp_path, 'executor: slurm\ndefault-resources:\n  mem: "80G * attempt"\n')
    assert "mem: 80000M" in text and "retry" not in text
    assert "3:8 DV505" in said and "ignores '* attempt'" in said


@pytest.mark.parametrize("profile, named", [("executor: lsf\n", "lsf"), ("cluster: bsub -n 1\n", "bsub")])
def test_other_executors_are_refused_by_name(tmp_path, profile, named):
    text, said = imported(tmp_path, profile)
    assert text == "" and "DV504" in said and named in said


def test_no_executor_is_not_promoted_unless_asked(tmp_path):
    assert imported(tmp_path, "jobs: 4\n")[0] == ""
    assert "executor: slurm" in imported(tmp_path, "jobs: 4\n", executor="slurm")[0]


def test_comment_disagreeing_with_value_is_a_located_warning(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  runtime: 1800  # 30 minutes\n")
    assert "3:12 DV502 runtime: comment says 30min, value means 1d6h" in said
    assert "time: 30h" in text and "# time: the old comment said 30min; the value means 1d6h" in text


def test_placeholder_logdir_becomes_a_run_time_variable(tmp_path):
    text, said = imported(tmp_path, 'executor: slurm\nslurm-logdir: "<PROJECT>/logs"\n')
    assert 'logdir: "${PROJECT}/logs"' in text and "DV502" in said


def test_several_partitions_become_a_partition_list(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  - slurm_partition=vcpu,hpcpu\n")
    assert 'partition: ["vcpu", "hpcpu"]' in text and "vcpu: {}" in text and "hpcpu: {}" in text
    assert "DV506" not in said


def test_environment_variables_in_account_are_kept_for_run_time(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  slurm_account: $LAB\n"
                                    "  qos: ${QOS}\n")
    assert 'account: "${LAB}"' in text and 'qos: "${QOS}"' in text and "DV506" not in said


def test_cores_is_the_thread_cap_not_jobs(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\njobs: 20\ncores: 4\n")
    assert "  cores: 4" in text and "  jobs: 20" in text and "DV506" not in said
    text, said = imported(tmp_path, "executor: slurm\ncores: all\n")
    assert "cores" not in text.split("snakemake:")[1] and "DV506" in said and "cores: all" in said


def test_unknown_names_are_text_as_in_python():
    assert evaluate("a100|h100", Job()) == "a100|h100"
    assert evaluate("vcpu,hpcpu", Job()) == "vcpu,hpcpu"
    assert evaluate("8000 + attempt * 2048", Job(2)) == 12096


def test_retry_factor_gives_attempt_2_exactly():
    factor = retry_factor(10048, 12096)
    assert factor is not None and 10048 * factor.numerator // factor.denominator == 12096
    assert retry_factor(1000, 2000) == 2 and retry_factor(2000, 1000) is None


def test_mem_and_mem_mb_together_is_what_snakemake_refuses(tmp_path):
    _, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  mem: 4G\n  mem_mb: 4000\n")
    assert "DV507" in said and "mem and mem_mb" in said


def test_template_flags_written_with_a_space_are_read_as_sbatch_reads_them(tmp_path):
    text, said = imported(tmp_path, 'cluster: "sbatch --partition gpu --account lab1 -t 120 -c {threads}"\n')
    assert 'account: "lab1"' in text and 'defaults: {partition: "gpu", time: 120min}' in text
    assert "--time 120 became time" in said


def test_a_flag_without_value_swallows_the_next_flag_and_says_so(tmp_path):
    text, said = imported(tmp_path, 'cluster: "sbatch -A --cpus-per-task={threads} --mem={resources.mem_mb}"\n')
    assert "DV506" in said and "'--account' takes the next word '--cpus-per-task={threads}'" in said
    assert "cpus: 1" in text  # sbatch got no --cpus-per-task: SLURM gives 1 CPU, as before


def test_config_values_in_a_template_are_named(tmp_path):
    text, said = imported(tmp_path, 'cluster: "sbatch --account={config[acct]} -c {threads}"\n')
    assert "1:10 DV506 submit command: '--account={config[acct]}' takes its value from {config[acct]}" in said
    assert "account:" not in text.split("lint:")[0]


@pytest.mark.parametrize("executor_line, refused", [("executor: slurm\n", True), ("", False)])
def test_qos_nodes_ntasks_become_keys_and_export_is_never_an_invalid_spec(tmp_path, executor_line, refused):
    if executor_line:
        profile = executor_line + ("default-resources:\n"
                                   "  slurm_extra: \"'--qos=high --nodes=2 --ntasks=4 --export=ALL'\"\n")
    else:
        profile = 'cluster: "sbatch --qos=high --nodes=2 --ntasks=4 --export=ALL -c {threads}"\n'
    text, said = imported(tmp_path, profile)
    assert 'qos: "high", nodes: 2, tasks: 4' in text
    # the plugin refuses --export in slurm_extra (DV507, dropped); an sbatch template may send it
    assert ("--export" not in text.split("resources:")[1]) is refused
    assert ("DV507 slurm_extra: the SLURM executor plugin refuses --export" in said) is refused


def test_multi_word_slurm_extra_is_split_per_flag(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\nset-resources:\n  r1:\n"
                                    "    slurm_extra: \"'--ntasks-per-node=4 --exclusive'\"\n")
    assert 'r1: {tasks_per_node: 4, slurm_extra: ["--exclusive"]}' in text


def test_config_and_group_components_are_kept_as_snakemake_uses_them(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\nconfig:\n  a: 1\ngroup-components:\n  g: 2\n")
    assert 'config: ["a=1"]' in text and 'group-components: ["g=2"]' in text


def test_flags_are_booleans_as_snakemake_reads_them(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\nuse-conda: False\nnolock: True\nkeep-going: on\n")
    assert "use-conda: false" in text and "nolock: true" in text and "keep_going: true" in text
    assert "DV506" not in said and '"False"' not in text and '"True"' not in text


def test_empty_constraint_is_a_warning_naming_what_snakemake_sends(tmp_path):
    text, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  constraint: ''\n")
    assert "3:3 DV502 constraint: '' makes Snakemake send an empty --constraint" in said


def test_mem_in_defaults_and_mem_mb_in_a_rule_is_the_rules_value(tmp_path):
    # Snakemake 9.27.1 (dry run): default-resources mem: 4G, set-resources a: mem_mb: 3000 -> rule a mem_mb=3000;
    # both in one layer -> ResourceDuplicationError (test above)
    text, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  mem: 4G\nset-resources:\n  a:\n"
                                    "    mem_mb: 3000\n")
    assert "defaults: {mem: 4000M}" in text and "a: {mem: 3000M}" in text and "DV507" not in said


def test_tasks_from_threads_is_named_not_called_refused(tmp_path):
    # happ's profile: the plugin pastes the string into --ntasks=, so a job of 8 threads gets 8 tasks
    text, said = imported(tmp_path, "executor: slurm\ndefault-resources:\n  tasks: f\"{threads}\"\n")
    assert "DV506 tasks: 'f\"{threads}\"' depends on threads" in said and "DV507" not in said


@pytest.mark.parametrize("key", ["weird.opt", "'sp ace'", "bad/name", "no_such-opt", '"x:y"'])
def test_an_option_name_the_spec_refuses_is_reported_not_written(tmp_path, key):
    """Any option name dvhpc's validator refuses (DV103) is refused at import, located, and left out,
    so the written spec validates (a name with a dot passed through before)."""
    from dvhpc.pipeline import check

    text, said = imported(tmp_path, f"executor: slurm\njobs: 10\n{key}: 3\n")
    assert "3:" in said and "DV506" in said and "is not imported: invalid name" in said
    assert "options:" not in text
    (tmp_path / "spec.yaml").write_text(text)
    assert not check(str(tmp_path / "spec.yaml")).report.has_errors
