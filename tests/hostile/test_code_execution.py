"""No code execution: every spec string that reaches a generated file, with every payload.

For each (field, payload) pair the spec is either refused (exit 1 with a DVxxx diagnostic) or,
when it is accepted, compiled -- all accepted fields of one payload in one spec, for both
executors -- and then everything generated is *run*: `bash -n` and execution of bootstrap.sh
(sourced, run, and sourced into an interactive shell), run.sh, jobs.sh, wrap.sh and status.sh
with stub cluster programs on PATH; site_paths.py imported and every function called (cluster
and local); the profile read and evaluated by the real Snakemake (`--executor local -n` for the
slurm profile, a real cluster-generic run whose submit command goes through a shell with a fake
sbatch). No run may create the MARKER file anywhere.

Further vectors found while writing these tests: variable names that the generated scripts
use themselves (bash evaluates their values arithmetically), the spec's file name (it goes
into every generated header), and Snakemake options whose value is a command.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import sys
from pathlib import Path

import pytest

from hostile_lib import NOTES, StubEnv, count, markers, run_counted, snakemake_runs, toml_text

# ------------------------------------------------------------------------------ the spec

BASE = {
    "dvhpc": 1,
    "site": "hostile",
    "description": "a site",
    "detect": {"env": {"DV_DETECT": "yes*"}, "hostnames": ["login*"]},
    "slurm": {
        "account": "acc", "accounting": True, "gpu_flag": "gpus",
        "partitions": {
            "cpu": {"default": True, "max_time": "1d", "cpus": 8, "mem": "16G", "nodes": 2},
            "gpu": {"max_time": "1d", "cpus": 8, "mem": "16G", "gpus": {"tgpu": 2}},
        },
    },
    "snakemake": {"executor": "slurm", "jobs": 2, "latency_wait": "1s", "logdir": "logs/slurm",
                  "options": {"config": ["dv=1"], "apptainer-args": "--cleanenv"}},
    "resources": {
        "defaults": {"partition": "cpu", "cpus": 1, "mem": "1G", "time": "10min", "qos": "normal"},
        "sets": {"gset": {"partition": "gpu", "gpus": 1, "gpu_type": "tgpu"}},
        "rules": {"r1": {"cpus": 2, "constraint": "c1", "slurm_extra": ["--exclusive"], "retry": {"mem": "2x"}},
                  "r2": {"use": "gset"}},
    },
    "environment": {
        "modules": {"purge": True, "use": ["/opt/mods"], "load": ["gcc"]},
        "conda": "env1",
        "workdir": "work",
        "variables": {"DV_DATA_DIR": "v"},
        "require": {"python": ">=3.11", "snakemake": ">=9.19"},
        "container": {"image": "/i.sif", "overlays": ["/o.ext3"], "binds": ["/b"], "conda": "inner",
                      "pass_env": ["RANK"]},
    },
    "paths": {"p": {"cluster": "/c", "local": "/l"}, "q": "/q"},
    "datasets": {"root": "{p}/raw", "mounted": {"ds": {"path": "/m", "subsets": {"test": "val"}}}},
    "settings": {"s": {"cluster": "a", "local": "b"}},
}


def _rename(mapping: dict, old: str, new: str) -> None:
    items = [(new if k == old else k, v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)


def _venv(s, p):
    s["environment"].pop("conda", None)
    s["environment"]["venv"] = p


# field -> (setter, a valid value of the field: the "trailing newline" payload is that plus "\n")
FIELDS = {
    "site": (lambda s, p: s.__setitem__("site", p), "hostile"),
    "description": (lambda s, p: s.__setitem__("description", p), "d"),
    "detect.env.<value>": (lambda s, p: s["detect"]["env"].__setitem__("DV_DETECT", p), "yes*"),
    "detect.env.<name>": (lambda s, p: _rename(s["detect"]["env"], "DV_DETECT", p), "DV_DETECT"),
    "detect.hostnames[0]": (lambda s, p: s["detect"].__setitem__("hostnames", [p]), "login*"),
    "slurm.account": (lambda s, p: s["slurm"].__setitem__("account", p), "acc"),
    "slurm.partitions.<name>": (lambda s, p: (_rename(s["slurm"]["partitions"], "cpu", p),
                                              s["resources"]["defaults"].__setitem__("partition", p)), "cpu"),
    "resources.*.qos": (lambda s, p: s["resources"]["defaults"].__setitem__("qos", p), "normal"),
    "resources.*.constraint": (lambda s, p: s["resources"]["rules"]["r1"].__setitem__("constraint", p), "c1"),
    "resources.*.gpu_type": (lambda s, p: (_rename(s["slurm"]["partitions"]["gpu"]["gpus"], "tgpu", p),
                                           s["resources"]["sets"]["gset"].__setitem__("gpu_type", p)), "tgpu"),
    "resources.*.slurm_extra[0]": (lambda s, p: s["resources"]["rules"]["r1"].__setitem__("slurm_extra", [p]),
                                   "--exclusive"),
    "resources.rules.<name>": (lambda s, p: _rename(s["resources"]["rules"], "r1", p), "r1"),
    "resources.sets.<name>": (lambda s, p: (_rename(s["resources"]["sets"], "gset", p),
                                            s["resources"]["rules"]["r2"].__setitem__("use", p)), "gset"),
    "snakemake.logdir": (lambda s, p: s["snakemake"].__setitem__("logdir", p), "logs/slurm"),
    "snakemake.options.<name>": (lambda s, p: s["snakemake"]["options"].__setitem__(p, True), "notemp"),
    "snakemake.options.<string value>": (lambda s, p: s["snakemake"]["options"].__setitem__("apptainer-args", p),
                                         "--cleanenv"),
    "snakemake.options.<list item>": (lambda s, p: s["snakemake"]["options"].__setitem__("config", ["dv=" + p]),
                                      "1"),
    # round 2: a whole list element (each became an argv word of its own) and the other container option
    "snakemake.options.<list element>": (lambda s, p: s["snakemake"]["options"].__setitem__("rerun-triggers",
                                                                                            ["mtime", p]), "params"),
    "snakemake.options.<singularity-args>": (lambda s, p: s["snakemake"]["options"].__setitem__("singularity-args", p),
                                             "--cleanenv"),
    "environment.modules.load[0]": (lambda s, p: s["environment"]["modules"].__setitem__("load", [p]), "gcc"),
    "environment.modules.use[0]": (lambda s, p: s["environment"]["modules"].__setitem__("use", [p]), "/opt/mods"),
    "environment.conda": (lambda s, p: s["environment"].__setitem__("conda", p), "env1"),
    "environment.venv": (_venv, "venv"),
    "environment.workdir": (lambda s, p: s["environment"].__setitem__("workdir", p), "work"),
    "environment.variables.<name>": (lambda s, p: _rename(s["environment"]["variables"], "DV_DATA_DIR", p),
                                     "DV_DATA_DIR"),
    "environment.variables.<value>": (lambda s, p: s["environment"]["variables"].__setitem__("DV_DATA_DIR", p), "v"),
    "environment.require.python": (lambda s, p: s["environment"]["require"].__setitem__("python", p), ">=3.11"),
    "environment.container.image": (lambda s, p: s["environment"]["container"].__setitem__("image", p), "/i.sif"),
    "environment.container.overlays[0]": (lambda s, p: s["environment"]["container"].__setitem__("overlays", [p]),
                                          "/o.ext3"),
    "environment.container.binds[0]": (lambda s, p: s["environment"]["container"].__setitem__("binds", [p]), "/b"),
    "environment.container.conda": (lambda s, p: s["environment"]["container"].__setitem__("conda", p), "inner"),
    "environment.container.pass_env[0]": (lambda s, p: s["environment"]["container"].__setitem__("pass_env", [p]),
                                          "RANK"),
    "paths.<name>": (lambda s, p: _rename(s["paths"], "q", p), "q"),
    "paths.*.cluster": (lambda s, p: s["paths"]["p"].__setitem__("cluster", p), "/c"),
    "paths.*.local": (lambda s, p: s["paths"]["p"].__setitem__("local", p), "/l"),
    "datasets.root": (lambda s, p: s["datasets"].__setitem__("root", p), "/raw"),
    "datasets.mounted.<name>": (lambda s, p: _rename(s["datasets"]["mounted"], "ds", p), "ds"),
    "datasets.mounted.*.path": (lambda s, p: s["datasets"]["mounted"]["ds"].__setitem__("path", p), "/m"),
    "datasets.mounted.*.subsets.<name>": (lambda s, p: _rename(s["datasets"]["mounted"]["ds"]["subsets"], "test", p),
                                          "test"),
    "datasets.mounted.*.subsets.<value>": (
        lambda s, p: s["datasets"]["mounted"]["ds"]["subsets"].__setitem__("test", p), "val"),
    "settings.<name>": (lambda s, p: _rename(s["settings"], "s", p), "s"),
    "settings.*.<string value>": (lambda s, p: s["settings"]["s"].__setitem__("cluster", p), "a"),
}

PAYLOADS = {
    "cmdsubst": "$(touch MARKER)",
    "backticks": "`touch MARKER`",
    "semicolon": "x;touch MARKER",
    "andand": "x && touch MARKER",
    "pipe": "x|touch MARKER",
    "squote": "x'; touch MARKER; echo '",
    "dquote": 'x"; touch MARKER; echo "',
    "newline": "x\ntouch MARKER",
    "trailing-newline": None,  # the field's valid value + "\n" (Python's `$` matches before it)
    "u2028": "x\u2028touch MARKER #",
    "backslash": "x\\'; touch MARKER #\\",
    "percent": "%(x)s %s %n %j %%",
    "braces": "{__import__('os').system('touch MARKER')}",
    "pyimport": "__import__('os').system('touch MARKER')",
    "arith": "a[`touch MARKER`]",
    "var-then-backticks": "${HOME}`touch MARKER`",
    # round 2 (issue 19): an option word, a quoted command ended by a comment, YAML 1.1 line breaks,
    # a leading dash, values that run code when a tool reads them from its variable
    "option-word": "--set-resources=r1:mem_mb=__import__('os').system('touch MARKER')",
    "generic-submit": "--cluster-generic-submit-cmd=touch MARKER",
    "quote-hash": "--bind /tmp img.sif sh -c 'touch MARKER' #",
    "nel": "x\x85touch MARKER #",
    "u2029": "x\u2029touch MARKER #",
    "leading-dash": "--help",
    "lessopen": "|touch MARKER %s",
    "git-config": "'core.fsmonitor=touch MARKER'",
}


def payload_for(field: str, name: str) -> str:
    return FIELDS[field][1] + "\n" if name == "trailing-newline" else PAYLOADS[name]


def spec_text(spec: dict) -> str:
    return json.dumps(spec, indent=1, ensure_ascii=False) + "\n"  # JSON is YAML


def build(fields: list[str], name: str, executor: str = "slurm") -> dict:
    spec = copy.deepcopy(BASE)
    spec["snakemake"]["executor"] = executor
    # renames last (inner ones first): the other setters use the old keys
    for field in sorted(fields, key=lambda f: ("<name>" in f, -f.count("."))):
        FIELDS[field][0](spec, payload_for(field, name))
    return spec


# ------------------------------------------------------------------------------ step 1: refuse or accept


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[tuple[str, str], str]:
    """(field, payload) -> 'accepted' or the refusing codes; each refusal is checked on the spot."""
    folder = tmp_path_factory.mktemp("verdicts")
    (folder / "base.toml").write_text(toml_text(BASE))
    code, out, err = run_counted("validate", "base.toml", cwd=folder)
    assert code == 0, err
    result = {}
    for field in FIELDS:
        for name in PAYLOADS:
            # TOML here (fast); the accepted ones are compiled from YAML below
            (folder / "spec.toml").write_text(toml_text(build([field], name)))
            code, out, err = run_counted("validate", "--format", "json", "spec.toml", cwd=folder)
            count("payload cases")
            assert code in (0, 1) and "Traceback" not in err + out and "internal error" not in err, (field, name, err)
            if code == 0:
                result[(field, name)] = "accepted"
            else:
                codes = sorted({d["code"] for d in json.loads(out) if d["severity"] == "error"})
                assert codes, f"{field} / {name}: refused without a DVxxx diagnostic:\n{out}\n{err}"
                result[(field, name)] = "refused " + ",".join(codes)
    return result


def test_every_field_payload_pair_is_refused_with_a_code_or_accepted(verdicts):
    accepted = sorted(k for k, v in verdicts.items() if v == "accepted")
    assert len(verdicts) == len(FIELDS) * len(PAYLOADS)
    # What the compile-and-run test below has to prove inert (printed with -rA / on failure).
    summary = f"{len(verdicts)} field x payload pairs: {len(accepted)} accepted (compiled and run), " \
              f"{len(verdicts) - len(accepted)} refused with a DVxxx code"
    print(summary)
    NOTES.append(f"no code execution: {len(FIELDS)} fields x {len(PAYLOADS)} payloads = {summary}")
    for field, name in accepted:
        print(f"  accepted: {field} <- {name}")


# ------------------------------------------------------------------------------ step 2: compile and run

SNAKEFILE = """\
localrules: all
rule all:
    input: "r1.txt", "r2.txt"
rule r1:
    output: "r1.txt"
    shell: "touch {output}"
rule r2:
    output: "r2.txt"
    shell: "touch {output}"
"""

FAKE_SBATCH = """\
#!/bin/bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
rule=''
for a in "$@"; do
  case "$a" in --job-name=*) rule=${a##*-} ;; esac
done
if [[ -n "${FAKE_RUN_JOBS:-}" ]]; then
  # run the job script as the cluster would, its own `python -m snakemake ...` call (the rule,
  # seconds of start-up) replaced by `true`; what comes before it runs as written
  for script; do :; done
  sed -E 's#[^ ]*python[0-9.]* -m snakemake .*$#true#' "$script" | sh >/dev/null 2>&1
fi
touch -- "$rule.txt"
echo 4242
"""

SITE_PATHS_PROBE = r"""
import os, runpy, sys
folder = sys.argv[1]
sys.path.insert(0, folder)
import site_paths as m
calls = 0
for flag in ("1", "0", None):
    if flag is None:
        os.environ.pop("DVHPC_ON_CLUSTER", None)
    else:
        os.environ["DVHPC_ON_CLUSTER"] = flag
    m.on_cluster()
    for name in list(m._PATHS):
        for cluster in (None, True, False):
            try:
                m.path(name, cluster)
                getattr(m.paths, name)
            except (m.SitePathError, AttributeError):
                pass
            calls += 1
    for name, (mount, subsets) in m._MOUNTED.items():
        for subset in [None, "other", *subsets]:
            try:
                m.data_base_dir(name, subset)
            except m.SitePathError:
                pass
            calls += 1
    try:
        m.data_base_dir("unmounted", "x")
    except m.SitePathError:
        pass
    for name in m._SETTINGS:
        m.setting(name)
        m.setting(name, True)
        calls += 1
    m.job_wrapper()
    repr(m.paths), dir(m.paths), list(m.paths)
try:
    runpy.run_path(os.path.join(folder, "site_paths.py"), run_name="__main__")
except SystemExit:
    pass
print("calls", calls)
"""


def compile_spec(folder: Path, spec: dict, out: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.yaml").write_text(spec_text(spec))
    code, stdout, err = run_counted("compile", "--out", str(out), "spec.yaml", cwd=folder)
    assert code == 0, f"accepted by validate but not compiled:\n{err}"
    sites = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(sites) == 1, sites
    return sites[0]


def exercise_scripts(site: Path, env: StubEnv, spec: dict, full: bool = True) -> int:
    """bash -n every script, then run every script and sub-command with stubs; returns the runs.
    Not `full`: only what differs between the executors (run.sh, status.sh)."""
    runs = 0
    scripts = sorted(site.glob("*.sh")) + sorted(site.glob("profile/*.sh"))
    for script in scripts:
        proc = env.run(["bash", "-n", str(script)])
        assert proc.returncode == 0, f"{script.name} is not valid bash:\n{proc.stderr}"
    # run.sh changes into environment.workdir: make it exist (literal text only) so run.sh gets further
    workdir = spec["environment"].get("workdir", "")
    if workdir and "$" not in workdir and not workdir.startswith("~"):
        try:
            (env.root / workdir).mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
    q = shlex.quote(str(site))
    extra = {"DV_DETECT": "yes1", "RANK": "0", "STUB_SQUEUE_STATE": "RUNNING"}
    commands = [
        ["bash", "-c", f"source {q}/bootstrap.sh; echo rc=$?"],
        ["bash", str(site / "bootstrap.sh")],
        ["bash", "-c", f"DVHPC_SKIP_CHECKS=1; source {q}/bootstrap.sh; echo rc=$?"],
        [str(site / "run.sh"), "--foreground", "--", "-n", "x y"],
        [str(site / "run.sh"), "--help"],
        [str(site / "jobs.sh"), "status"],
        [str(site / "jobs.sh"), "usage", "123"],
        [str(site / "jobs.sh"), "tail", "r1"],
        [str(site / "jobs.sh"), "limits"],
        [str(site / "jobs.sh"), "help"],
    ]
    if (site / "wrap.sh").exists():
        commands.append([str(site / "wrap.sh"), "true"])
    if (site / "profile" / "status.sh").exists():
        commands.append([str(site / "profile" / "status.sh"), "123"])
    if not full:
        commands = [c for c in commands if c[0].endswith(("run.sh", "status.sh"))]
    for args in commands:
        env.run(args, **extra)
        runs += 1
    if not full:
        return runs
    # sourced into an interactive shell, as a user does: prompts are expanded afterwards, and the
    # tools a user runs next read their variables (git: GIT_CONFIG_*, less: LESSOPEN)
    repo = env.git_repo()
    env.run(["bash", "--norc", "--noprofile", "-i"],
            stdin=f"source {q}/bootstrap.sh\ntrue\ngit -C {shlex.quote(str(repo))} status\n"
                  f"less -F {shlex.quote(str(repo / 'f.txt'))} </dev/null\necho done\nexit\n",
            **extra)
    runs += 1
    proc = env.run([sys.executable, "-c", SITE_PATHS_PROBE, str(site)], **extra)
    assert proc.returncode == 0, f"site_paths.py failed:\n{proc.stderr}"
    return runs + 1


def snakemake_jobs(site: Path, root: Path, executor: str) -> dict:
    workflow = root / f"wf-{executor}"
    workflow.mkdir(parents=True, exist_ok=True)
    (workflow / "Snakefile").write_text(SNAKEFILE)
    env = {"HOME": str(root / "home"), "DV_DETECT": "yes1", "DVHPC_RUN_ID": "hostile"}
    if executor == "slurm":
        argv = ["--profile", str(site / "profile"), "--executor", "local", "-n", "--cores", "2", "--quiet", "rules"]
        return {"cwd": str(workflow), "argv": argv, "env": env, "label": f"{site} (slurm profile, local -n)"}
    fake = root / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "sbatch").write_text(FAKE_SBATCH)
    for name in ("squeue", "sacct"):
        (fake / name).write_text("#!/bin/bash\necho COMPLETED\n")
    (fake / "scancel").write_text("#!/bin/bash\nexit 0\n")
    (fake / "scontrol").write_text("#!/bin/bash\nexit 0\n")
    for path in fake.iterdir():
        path.chmod(0o755)
    env.update(PATH=f"{fake}{os.pathsep}{os.environ['PATH']}", FAKE_LOG=str(root / "sbatch.log"))
    argv = ["--profile", str(site / "profile"), "--seconds-between-status-checks", "0",
            "--max-status-checks-per-second", "100"]
    return {"cwd": str(workflow), "argv": argv, "env": env, "label": f"{site} (cluster-generic, real run)"}


@pytest.fixture(scope="module")
def payload_runs(verdicts, tmp_path_factory) -> dict[str, list[str]]:
    """Compile each payload's accepted fields (both executors) and run everything generated;
    payload -> the problems seen (empty: proven inert). One Snakemake batch for all payloads."""
    top = tmp_path_factory.mktemp("payload-runs")
    problems: dict[str, list[str]] = {name: [] for name in PAYLOADS}
    jobs = []
    compiled = script_runs = 0
    for name in PAYLOADS:
        fields = [f for f in FIELDS if verdicts[(f, name)] == "accepted"]
        # venv excludes conda; the site name is in every header (a broken header would hide the rest);
        # a list element of a choices option that Snakemake refuses would stop its run before the rest
        alone = ("environment.venv", "site", "snakemake.options.<list element>")
        groups = [[f for f in fields if f not in alone]] + [[f] for f in alone if f in fields]
        for group_index, group in enumerate(groups):
            if not group:
                continue
            for executor in ("slurm", "cluster-generic"):
                root = top / name / f"{group_index}-{executor}"
                spec = build(group, name, executor)
                try:
                    site = compile_spec(root, spec, root / "generated")
                    compiled += 1
                    script_runs += exercise_scripts(site, StubEnv(root), spec, full=executor == "slurm")
                except AssertionError as exc:
                    problems[name].append(f"{executor}, fields {group}: {exc}")
                    continue
                if group_index == 0 or executor == "cluster-generic":
                    job = snakemake_jobs(site, root, executor)
                    job["payload"] = name
                    jobs.append(job)
    for job in snakemake_runs(jobs):
        if job["rc"] != 0:
            problems[job["payload"]].append(f"{job['label']}: snakemake exited {job['rc']}\n"
                                            f"{job['stdout'][-2000:]}\n{job['stderr'][-2000:]}")
        elif "cluster-generic" in job["label"] and not (Path(job["cwd"]) / "r1.txt").exists():
            problems[job["payload"]].append(f"{job['label']}: nothing was submitted")
    for name in PAYLOADS:
        found = markers(top / name)
        if found:
            problems[name].insert(0, f"EXECUTED: {[str(p.relative_to(top)) for p in found]}")
    count("payload compiles", compiled)
    count("payload script/module runs", script_runs)
    count("payload snakemake runs", len(jobs))
    return problems


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_accepted_payloads_compile_to_inert_scripts_modules_and_profiles(payload_runs, verdicts, name):
    fields = [f for f in FIELDS if verdicts[(f, name)] == "accepted"]
    assert not payload_runs[name], (f"payload {name!r} accepted in {fields}:\n" + "\n".join(payload_runs[name]))


# ------------------------------------------------------------------------------ found vectors

ARITH = "a[`touch MARKER`]"


@pytest.mark.parametrize("name,value", [
    # names the generated scripts use for their own variables; bash evaluates these arithmetically
    ("foreground", ARITH),        # run.sh: (( foreground )) after sourcing bootstrap.sh
    ("_dvhpc_failed", ARITH),     # bootstrap.sh: (( _dvhpc_failed > 0 ))
    ("_dvhpc_nounset", ARITH),    # bootstrap.sh: (( _dvhpc_nounset ))
    ("here", "/tmp/elsewhere"),   # run.sh: the profile path is "$here/profile"
    # prompt strings: command substitution at every prompt of the shell that sourced bootstrap.sh
    ("PS1", "`touch MARKER`"),
    ("PS0", "`touch MARKER`"),
])
def test_variable_names_used_by_the_scripts_or_the_shell_are_refused_or_inert(tmp_path, name, value):
    spec = {"dvhpc": 1, "site": "vars", "environment": {"variables": {name: value}}}
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "spec.yaml").write_text(spec_text(spec))
    code, out, err = run_counted("compile", "--out", str(folder / "generated"), "spec.yaml", cwd=folder)
    if code == 1:
        assert "DV" in err, err
        return
    assert code == 0, err
    site = folder / "generated" / "vars"
    env = StubEnv(folder)
    env.run([str(site / "run.sh"), "--foreground", "x"], DVHPC_SKIP_CHECKS="1")
    env.run(["bash", "-c", f"source {shlex.quote(str(site))}/bootstrap.sh"], DVHPC_SKIP_CHECKS="1")
    env.run(["bash", "--norc", "--noprofile", "-i"],
            stdin=f"source {shlex.quote(str(site))}/bootstrap.sh\ntrue\nexit\n", DVHPC_SKIP_CHECKS="1")
    log = next(iter(folder.glob("logs/slurm/*.log")), None)
    assert not markers(tmp_path), (f"environment.variables.{name}: {value!r} was executed by the generated "
                                   f"scripts: {markers(tmp_path)}")
    if name == "here":
        calls = (folder / "calls.log").read_text() if (folder / "calls.log").exists() else ""
        assert "/tmp/elsewhere/profile" not in calls, "a spec variable redirected run.sh to another profile"
        assert log is not None or "profile" in calls


SPEC_FILE_NAMES = {
    # a spec file name reaches the header comment of every generated file
    "newline-shell": "a\ntouch MARKER\n.yaml",
    "newline-python": "a\n__import__('os').system('touch MARKER')\n#.yaml",
    "cr-python": "a\r__import__('os').system('touch MARKER')\r#.yaml",
    # PyYAML (Snakemake's profile reader) breaks lines at U+2028: a profile key of our choosing
    "u2028-profile": "a\u2028set-threads: {all: \"__import__('os').system('touch MARKER') or 1\"} #.yaml",
}


@pytest.mark.parametrize("label", sorted(SPEC_FILE_NAMES))
def test_spec_file_names_cannot_inject_into_generated_files(tmp_path, label):
    name = SPEC_FILE_NAMES[label]
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / name).write_text("dvhpc: 1\nsite: fname\nsnakemake: {latency_wait: 1s}\n")
    code, out, err = run_counted("compile", "--out", "generated", name, cwd=folder)
    if code == 1:
        assert "DV" in err, err
        return
    assert code == 0, err
    site = folder / "generated" / "fname"
    env = StubEnv(folder)
    for script in sorted(site.glob("*.sh")):
        env.run(["bash", str(script), "help"], DVHPC_SKIP_CHECKS="1")
    proc = env.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import site_paths",
                    str(site)])
    workflow = folder / "wf"
    workflow.mkdir()
    (workflow / "Snakefile").write_text(SNAKEFILE)
    [job] = snakemake_runs([{"cwd": str(workflow), "argv": ["--profile", str(site / "profile"), "--executor", "local",
                                                             "-n", "--cores", "1"], "env": {}}])
    assert not markers(tmp_path), (f"spec file name {name!r} injected code into the generated files "
                                   f"(ran: {[str(p) for p in markers(tmp_path)]}); python: {proc.stderr[-300:]}")


COMMAND_OPTIONS = {
    # Snakemake options whose value is run as a command; no shell syntax needed. precommand runs
    # in every job script (on the compute node); the sidecar command runs on the login node when
    # the workflow starts -- here a script that came with the same pull request as the spec.
    "precommand": "touch MARKER",
    "cluster-generic-sidecar-cmd": "../pr-files/sidecar",
}


def test_snakemake_options_that_run_commands_are_refused_or_inert(tmp_path):
    """A spec is untrusted input (it arrives through pull requests): an option that runs its value
    as a command must be refused like the shell syntax DV231 already refuses (or never run)."""
    jobs = []
    for option, value in COMMAND_OPTIONS.items():
        spec = copy.deepcopy(BASE)
        spec["snakemake"]["executor"] = "cluster-generic"
        spec["snakemake"]["options"] = {option: value}
        root = tmp_path / option
        root.mkdir()
        (root / "pr-files").mkdir()
        (root / "pr-files" / "sidecar").write_text("#!/bin/sh\ntouch MARKER\n")
        (root / "pr-files" / "sidecar").chmod(0o755)
        (root / "spec.yaml").write_text(spec_text(spec))
        code, out, err = run_counted("compile", "--out", str(root / "generated"), "spec.yaml", cwd=root)
        if code == 1:
            assert "DV" in err, err
            continue
        assert code == 0, err
        job = snakemake_jobs(root / "generated" / "hostile", root, "cluster-generic")
        job["env"]["FAKE_RUN_JOBS"] = "1"
        jobs.append(job)
    if jobs:
        snakemake_runs(jobs)
    ran = sorted({str(p.relative_to(tmp_path)).split("/")[0] for p in markers(tmp_path)})
    assert not ran, f"accepted snakemake.options ran their value as a command: {ran}"
