"""Spec values that reach a shell or a command line (issue 19, items 2, 3 and 8).

- cluster-generic: the submit command is a str.format template run with `shell=True`; every spec
  value in it is shell-quoted, so sbatch gets exactly the words resources.yaml lists (proved with
  the real Snakemake and a recording `sbatch`), and `constraint: "x|bash"` stays a constraint.
- The character classes of values that some program pastes into a shell unquoted are one table
  (`dvhpc.model.quoting.VALUE_CLASSES`); the schema's patterns are that table.
- `environment.variables` names come from an allowlist; other names need
  `environment.allow_unsafe_variables` and get a warning (checked with the real git and less).
- A value that would be read as an option (leading `-`) is refused (DV234) where the program
  takes no `--`, and follows `--` where it does.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from dvhpc.build import compile_specs
from dvhpc.emit import scripts
from dvhpc.frontend.schema import schema
from dvhpc.model.quoting import VALUE_CLASSES
from dvhpc.pipeline import check

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = shutil.which("snakemake", path=os.path.dirname(sys.executable)) or shutil.which("snakemake")


def _check(tmp_path: Path, text: str):
    (tmp_path / "spec.yaml").write_text(text)
    return check(str(tmp_path / "spec.yaml"))


def _codes(checked) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in checked.report.items]


# ---------------------------------------------------------------------------------------- one table


# schema location -> the class its pattern must be
SCHEMA_CLASSES = {
    ("$defs", "name"): "name",
    ("$defs", "envvar"): "envvar",
    ("properties", "environment", "properties", "modules", "properties", "load", "items"): "module",
    ("properties", "environment", "properties", "allow_unsafe_variables", "items"): "envvar",
    ("properties", "environment", "properties", "container", "properties", "pass_env", "items"): "envvar_pattern",
}
for _base in (("properties", "resources", "properties", "defaults"),
              ("properties", "resources", "properties", "sets", "additionalProperties"),
              ("properties", "resources", "properties", "rules", "additionalProperties", "oneOf", 0)):
    SCHEMA_CLASSES[_base + ("properties", "constraint")] = "constraint"
    SCHEMA_CLASSES[_base + ("properties", "slurm_extra", "items")] = "sbatch_flag"


def _at(node, path):
    for part in path:
        node = node[part]
    return node


@pytest.mark.parametrize("path", list(SCHEMA_CLASSES), ids=["/".join(map(str, p)) for p in SCHEMA_CLASSES])
def test_schema_patterns_are_the_shared_value_classes(path):
    node = _at(schema(), path)
    if "$ref" in node:
        node = _at(schema(), node["$ref"][2:].split("/"))
    assert node["pattern"] == VALUE_CLASSES[SCHEMA_CLASSES[path]]


def test_every_shared_class_is_used_by_the_schema():
    assert set(SCHEMA_CLASSES.values()) == set(VALUE_CLASSES)


def test_the_emitter_refuses_a_value_outside_its_class(tmp_path):
    """The profile checks what it writes against the same table (a schema gap would be a bug,
    reported as one, never a profile that runs the text)."""
    from dvhpc.emit.profile import profile_data

    checked = _check(tmp_path, "dvhpc: 1\nsite: s\nslurm: {partitions: {cpu: {default: true}}}\n"
                               "resources: {rules: {r: {constraint: a100}}}\n")
    assert checked.ok
    rule = checked.site.rules["r"]
    from dvhpc.model.keys import CONSTRAINT

    values = dict(rule.values)
    values[CONSTRAINT] = type(values[CONSTRAINT])("a100 && touch MARKER", values[CONSTRAINT].origin)
    object.__setattr__(rule, "values", values)
    with pytest.raises(ValueError, match="constraint"):
        profile_data(checked.site)


@pytest.mark.parametrize("field, value, key", [
    ("module_load", ("gcc; touch MARKER",), "environment.modules.load"),
    ("variables", "X=1;Y", "environment.variables"),
    ("pass_env", ("a[$(touch MARKER)]",), "environment.container.pass_env"),
])
def test_the_script_emitter_refuses_a_name_outside_its_class(tmp_path, field, value, key):
    """Names the scripts use unquoted (`export NAME=`, `${!name}`) or that Lmod re-reads as shell
    code are checked against the shared classes too."""
    import dataclasses

    checked = _check(tmp_path, "dvhpc: 1\nsite: s\nenvironment: {container: {image: /i.sif}, variables: {A_DIR: /a}}\n")
    env = checked.site.environment
    if field == "variables":
        env = dataclasses.replace(env, variables={value: env.variables["A_DIR"]})
    elif field == "pass_env":
        env = dataclasses.replace(env, container=dataclasses.replace(env.container, pass_env=value))
    else:
        env = dataclasses.replace(env, module_load=value)
    object.__setattr__(checked.site, "environment", env)
    with pytest.raises(ValueError, match=re.escape(key)):
        scripts.files(checked.site)


# ---------------------------------------------------------------------------------------- cluster-generic

GENERIC = """\
dvhpc: 1
site: quoted
slurm:
  account: acc
  accounting: false
  partitions: {cpu: {default: true, max_time: 1d, mem: 10G, cpus: 8}}
snakemake: {executor: cluster-generic, jobs: 4, logdir: "--help dir"}
resources:
  defaults: {cpus: 1, mem: 1G, time: 10min}
  rules:
    either: {constraint: "a100|h100", qos: high, slurm_extra: ["--exclusive", "--mail-type=END"]}
    payload: {constraint: "x|bash"}
    counted: {constraint: "[rack1*2&rack2*4]"}
    grouped: {constraint: "(a|b)&!c"}
"""
GENERIC_RULES = ("either", "payload", "counted", "grouped")


def _recording_cluster(bin_dir: Path, log: Path) -> None:
    """sbatch writes its argv (NUL-separated, one file per call) and reports a job id without
    running the job; squeue says every job failed, so Snakemake stops after one round."""
    bin_dir.mkdir()
    log.mkdir()
    record = f'printf "%s\\0" "$@" > "$(mktemp {shlex.quote(str(log))}/call.XXXXXX)"'
    (bin_dir / "sbatch").write_text(f"#!/bin/bash\n{record}\necho 4242\n")
    (bin_dir / "squeue").write_text("#!/bin/bash\necho FAILED\n")
    (bin_dir / "scancel").write_text("#!/bin/bash\nexit 0\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)


@pytest.mark.snakemake
def test_cluster_generic_sbatch_gets_exactly_the_resources_yaml_words(tmp_path):
    if SNAKEMAKE is None:
        pytest.skip("snakemake is not installed (pip install -e '.[test]')")
    (tmp_path / "spec.yaml").write_text(GENERIC)
    results = compile_specs([str(tmp_path / "spec.yaml")], tmp_path / "generated")
    assert all(r.plan is not None for r in results), [r.checked.report.items for r in results]
    site_dir = tmp_path / "generated" / "quoted"
    resources = YAML(typ="safe").load((site_dir / "resources.yaml").read_text())
    workflow = tmp_path / "wf"
    workflow.mkdir()
    # the job script runs the rule; it may only ever run on a node, never on the submit host
    (workflow / "Snakefile").write_text(
        "rule all:\n    input: " + ", ".join(f"'{r}.txt'" for r in GENERIC_RULES) + "\n"
        + "".join(f"rule {r}:\n    output: '{r}.txt'\n    shell: 'touch MARKER {{output}}'\n" for r in GENERIC_RULES))
    log = tmp_path / "sbatch.args"
    _recording_cluster(tmp_path / "bin", log)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "DVHPC_RUN_ID": "run"}
    proc = subprocess.run([SNAKEMAKE, "--profile", str(site_dir / "profile"), "--keep-going",
                           "--seconds-between-status-checks", "1"], check=False, cwd=workflow,
                          env=env, capture_output=True, text=True, timeout=300)
    calls = {}
    for path in log.iterdir():
        argv = path.read_text().split("\0")[:-1]
        rule = argv[1].removeprefix("--job-name=run-")
        calls[rule] = argv
    assert sorted(calls) == sorted(GENERIC_RULES), proc.stdout + proc.stderr
    for rule, argv in calls.items():
        assert argv[:5] == ["--parsable", f"--job-name=run-{rule}", f"--output=--help dir/{rule}/%j.out",
                            f"--error=--help dir/{rule}/%j.err", f"--comment=rule_{rule}"], argv
        assert argv[5:-1] == shlex.split(resources["rules"][rule]["sbatch"]), (rule, argv)
        assert argv[-1].endswith(".sh") and os.path.isabs(argv[-1])
        assert (workflow / "--help dir" / rule).is_dir()
    assert "--constraint=a100|h100" in calls["either"] and "--constraint=x|bash" in calls["payload"]
    assert not list(tmp_path.rglob("MARKER")), "a job script ran on the submit host"


def test_cluster_generic_submit_command_quotes_every_spec_value(tmp_path):
    """Values in the template itself (logdir) are shell-quoted and brace-escaped; per-rule values
    arrive through resources, quoted by Snakemake's `:q` or already joined with shell quoting."""
    checked = _check(tmp_path, GENERIC.replace('"--help dir"', '"${WORK}/x d%"'))
    assert checked.ok, _codes(checked)
    from dvhpc.emit.profile import profile_data

    data = profile_data(checked.site)
    command = data["cluster-generic-submit-cmd"]
    assert command.startswith('mkdir -p -- "${{WORK}}/x d%/{rule}" && sbatch --parsable ')
    assert '"--output=${{WORK}}/x d%%/{rule}/%j.out"' in command
    assert "--partition={resources.slurm_partition:q}" in command and "--account={resources.slurm_account:q}" in command
    flags = data["set-resources"]["either"]["dvhpc_sbatch_flags"]
    # keys.Form.STRING: a call returning the words, each shell-quoted (9.1.5 keeps a bare literal's quotes)
    words = "'--constraint=a100|h100' --qos=high --exclusive --mail-type=END"
    assert flags == f"str({words!r})"


# ---------------------------------------------------------------------------------------- variables

SAFE_NAMES = ["WANDB_DIR", "WANDB_API_KEY", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NCCL_DEBUG", "NCCL_SOCKET_IFNAME",
              "CUDA_VISIBLE_DEVICES", "TORCH_HOME", "PYTORCH_CUDA_ALLOC_CONF", "HF_HOME", "HF_DATASETS_CACHE",
              "TRANSFORMERS_CACHE", "TMPDIR", "TZ", "LANG", "LC_ALL", "DYNVISION_WORKING_DIR", "DATA_DIR",
              "PROJECT_ROOT", "MPLCONFIGDIR", "XDG_CACHE_HOME", "TF_CPP_MIN_LOG_LEVEL", "MASTER_PORT"]
UNSAFE_NAMES = ["PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "LD_LIBRARY_PATH", "LD_PRELOAD", "LD_AUDIT",
                "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_DIR", "GIT_SSH_COMMAND", "LESSOPEN", "LESSCLOSE",
                "LESS", "PERL5LIB", "PERL5OPT", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH", "ENV",
                "PROMPT_COMMAND", "PS4", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "GIT_PAGER", "SSH_AUTH_SOCK",
                "MODULEPATH", "LMOD_RC", "HOME", "XDG_CONFIG_HOME", "SNAKEMAKE_PROFILE", "SLURM_CONF",
                "APPTAINERENV_LD_PRELOAD", "SINGULARITY_BIND", "CONDA_PREFIX", "JUPYTER_CONFIG_DIR", "CUDA_HOME",
                "NCCL_NET_PLUGIN", "TORCH_EXTENSIONS_PATH", "CLASSPATH", "JAVA_TOOL_OPTIONS", "GCONV_PATH", "SCRATCH",
                "MY_VAR"]
SCRIPT_NAMES = ["IFS", "CDPATH", "SHELLOPTS", "BASH_ENV", "BASH_XTRACEFD", "DVHPC_SITE", "_dvhpc_failed", "here",
                "logdir"]


def _variables_spec(names, allow=()) -> str:
    environment = {"variables": {name: "/x" for name in names}}
    if allow:
        environment["allow_unsafe_variables"] = list(allow)
    return json.dumps({"dvhpc": 1, "site": "v", "environment": environment}) + "\n"


def test_ordinary_research_variables_are_accepted(tmp_path):
    checked = _check(tmp_path, _variables_spec(SAFE_NAMES))
    assert checked.ok and not checked.report.items, _codes(checked)
    assert sorted(checked.site.environment.variables) == sorted(SAFE_NAMES)


@pytest.mark.parametrize("name", UNSAFE_NAMES + SCRIPT_NAMES)
def test_names_outside_the_allowlist_are_refused(tmp_path, name):
    checked = _check(tmp_path, _variables_spec([name]))
    assert not checked.ok
    assert [code for code, _ in _codes(checked)] == ["DV231"], _codes(checked)
    assert _codes(checked)[0][1].startswith(f"environment.variables.{name} ")


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_allow_unsafe_variables_lets_a_name_through_with_a_warning_naming_the_risk(tmp_path, name):
    checked = _check(tmp_path, _variables_spec([name], allow=[name]))
    assert checked.ok, _codes(checked)
    (code, message), = _codes(checked)
    assert code == "DV235" and message.startswith(f"environment.variables.{name} ")
    assert name in checked.site.environment.variables


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_internal_names_stay_refused_even_when_allowed(tmp_path, name):
    checked = _check(tmp_path, _variables_spec([name], allow=[name]))
    assert [code for code, _ in _codes(checked)] == ["DV231"], _codes(checked)


def test_allowing_one_name_allows_no_other(tmp_path):
    checked = _check(tmp_path, _variables_spec(["PYTHONPATH", "LD_PRELOAD"], allow=["PYTHONPATH"]))
    assert [(code, message.split(" ")[0]) for code, message in _codes(checked)] == [
        ("DV231", "environment.variables.LD_PRELOAD"), ("DV235", "environment.variables.PYTHONPATH")]


def _user_session(folder: Path, bootstrap: Path) -> subprocess.CompletedProcess:
    """Source bootstrap.sh in bash, then use the real git and less in a repository."""
    repo = folder / "repo"
    repo.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "LC_ALL": "C", "TERM": "dumb", "DVHPC_SKIP_CHECKS": "1"}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    (repo / "f.txt").write_text("one\n")
    for args in (["init", "-q"], ["add", "f.txt"], ["commit", "-q", "-m", "one"]):
        subprocess.run(git + args, check=True, capture_output=True, env=env)
    (repo / "f.txt").write_text("two\n")
    script = (f"source {shlex.quote(str(bootstrap))}\ncd {shlex.quote(str(repo))}\ngit status >/dev/null 2>&1\n"
              + ("less -F f.txt </dev/null >/dev/null 2>&1\n" if shutil.which("less") else "") + "echo done\n")
    return subprocess.run(["bash", "--norc", "--noprofile", "-c", script], check=False, cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")
@pytest.mark.parametrize("variables", [{"GIT_CONFIG_PARAMETERS": "'core.fsmonitor=touch MARKER'"},
                                       {"LESSOPEN": "|touch MARKER %s"}], ids=["git", "less"])
def test_tool_variables_are_refused_before_git_or_less_can_run_them(tmp_path, variables):
    spec = json.dumps({"dvhpc": 1, "site": "v", "environment": {"variables": variables}}) + "\n"
    checked = _check(tmp_path, spec)
    if checked.ok:  # what the refusal prevents: the next git status / less runs the payload
        (tmp_path / "bootstrap.sh").write_text(scripts.bootstrap(checked.site))
        proc = _user_session(tmp_path, tmp_path / "bootstrap.sh")
        assert "done" in proc.stdout, proc.stderr
        assert not list(tmp_path.rglob("MARKER")), f"{variables} ran code after sourcing bootstrap.sh"
    assert [code for code, _ in _codes(checked)] == ["DV231"], _codes(checked)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")
def test_an_allowed_unsafe_variable_is_exported_and_warned_about(tmp_path):
    spec = _variables_spec([], allow=[]).replace('"variables": {}', '"variables": {"GIT_CONFIG_PARAMETERS": '
                                                 + json.dumps("'core.fsmonitor=touch MARKER'") + '}, '
                                                 '"allow_unsafe_variables": ["GIT_CONFIG_PARAMETERS"]')
    from conftest import run_in_process

    (tmp_path / "spec.yaml").write_text(spec)
    code, _, err = run_in_process("compile", "--out", str(tmp_path / "gen"), "spec.yaml", cwd=tmp_path)
    assert code == 0, err
    warning = r"spec\.yaml:1:\d+: warning\[DV235\]: environment\.variables\.GIT_CONFIG_PARAMETERS .*git"
    assert re.search(warning, err), err
    proc = _user_session(tmp_path, tmp_path / "gen" / "v" / "bootstrap.sh")
    assert "done" in proc.stdout
    assert list(tmp_path.rglob("MARKER")), "the explicit escape hatch exports the variable as written"


# ---------------------------------------------------------------------------------------- leading '-'

DASH_FIELDS = {
    "environment.modules.load[0]": "environment: {modules: {load: [VALUE]}}",
    "environment.modules.use[0]": "environment: {modules: {use: [VALUE]}}",
    "environment.conda": "environment: {conda: VALUE}",
    "environment.container.image": "environment: {container: {image: VALUE}}",
    "environment.container.overlays[0]": "environment: {container: {image: /i.sif, overlays: [VALUE]}}",
    "environment.container.binds[0]": "environment: {container: {image: /i.sif, binds: [VALUE]}}",
    "environment.container.conda": "environment: {container: {image: /i.sif, conda: VALUE}}",
}


@pytest.mark.parametrize("key", list(DASH_FIELDS))
@pytest.mark.parametrize("value", ["--help", "-x", "--version"])
def test_a_leading_dash_is_refused_where_the_program_reads_options(tmp_path, key, value):
    checked = _check(tmp_path, "dvhpc: 1\nsite: s\n" + DASH_FIELDS[key].replace("VALUE", json.dumps(value)) + "\n")
    assert [code for code, _ in _codes(checked)] == ["DV234"], _codes(checked)
    assert _codes(checked)[0][1].startswith(f"{key}: {value!r} begins with '-': ")


@pytest.mark.parametrize("key", list(DASH_FIELDS))
def test_a_dash_inside_a_value_is_fine(tmp_path, key):
    checked = _check(tmp_path, "dvhpc: 1\nsite: s\n" + DASH_FIELDS[key].replace("VALUE", '"a-b/--c"') + "\n")
    assert checked.ok, _codes(checked)


def test_leading_dash_venv_workdir_and_logdir_follow_double_dash(tmp_path):
    """Programs that take `--` get it: bootstrap.sh sources a `-v` venv's activate script, run.sh
    and jobs.sh change into and create `--help` folders."""
    checked = _check(tmp_path, "dvhpc: 1\nsite: s\n"
                               "snakemake: {logdir: --help, run_logdir: --runs, snakefile: -w/Snakefile}\n"
                               "environment: {workdir: -w, venv: -v}\n")
    assert checked.ok, _codes(checked)
    site = tmp_path / "site"
    (site / "profile").mkdir(parents=True)
    for name, item in scripts.files(checked.site).items():
        (site / name).write_text(item.content)
        (site / name).chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "snakemake").write_text('#!/bin/bash\necho "snakemake in $PWD"\n')
    (bin_dir / "snakemake").chmod(0o755)
    (tmp_path / "-w").mkdir()
    (tmp_path / "-w" / "Snakefile").write_text("")
    (tmp_path / "-v" / "bin").mkdir(parents=True)
    (tmp_path / "-v" / "bin" / "activate").write_text("VIRTUAL_ENV=activated\n")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "DVHPC_SKIP_CHECKS": "1"}
    proc = subprocess.run([str(site / "run.sh"), "--foreground"], check=False, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert f"snakemake in {tmp_path / '-w'}" in proc.stdout
    assert len(list((tmp_path / "-w" / "--runs").glob("snakecharm_*.log"))) == 1
    proc = subprocess.run(["bash", "-c", 'source "$1/bootstrap.sh"; echo "rc=$? $VIRTUAL_ENV"', "bash", str(site)],
                          check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    assert proc.stdout == "rc=0 activated\n", proc.stderr
    proc = subprocess.run([str(site / "jobs.sh"), "tail", "r"], check=False, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "no log files of rule 'r'" in proc.stderr, proc.stderr
