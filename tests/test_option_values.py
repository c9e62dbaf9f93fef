"""`snakemake.options` values are data: checked the way Snakemake 9.27.1 reads them (issue 19, items 1, 4, 9).

The oracle is the real Snakemake: `snakemake.cli.parse_args` (the parser `snakemake --profile DIR`
uses, ConfigArgParse included) reads the profile dvhpc emits for each case, and a second parse
reads the command line dvhpc means (`--opt v1 v2`, `--opt=value`, `--flag`). Whenever dvhpc
accepts a value, both parses must succeed and give the same namespace: the option has the spec's
value and no other option appeared. Whenever they differ or Snakemake refuses, dvhpc must refuse
with a located diagnostic. The issue's payloads run against the real program with marker files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dvhpc.emit.profile import PROFILE, files
from dvhpc.model import snakemake_options as so
from dvhpc.pipeline import check

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SNAKEMAKE = shutil.which("snakemake", path=str(VENV_BIN)) or shutil.which("snakemake")
SNAKEFILE = 'rule all:\n    input: "a.txt"\nrule make_a:\n    output: "a.txt"\n    shell: "touch {output}"\n'
BASE = {"dvhpc": 1, "site": "opt", "snakemake": {"executor": "slurm", "latency_wait": "5s"}}

ACCEPT, REFUSE = True, False
# (option, value, does dvhpc accept it); run-neutral accepted cases also go into one real dry run.
CASES = [
    ("rerun-triggers", ["mtime"], ACCEPT),
    ("rerun-triggers", ["mtime", "params"], ACCEPT),
    ("rerun-triggers", "mtime", ACCEPT),
    ("rerun-triggers", ["mtime", "bogus"], REFUSE),  # a choice Snakemake does not know
    ("rerun-triggers", "mtime params", REFUSE),  # one word with a space is not two choices
    ("rerun-triggers", [], REFUSE),  # nargs='+'
    ("rerun-triggers", ["mtime", "--nolock"], REFUSE),  # becomes an option of its own
    ("rerun-triggers", ["mtime", "--latency-wait=1"], REFUSE),
    ("software-deployment-method", ["conda", "apptainer"], ACCEPT),
    ("software-deployment-method", "conda apptainer", REFUSE),
    ("max-jobs-per-second", 30, ACCEPT),
    ("max-jobs-per-second", "30", ACCEPT),
    ("max-jobs-per-second", 2.5, REFUSE),  # type=int
    ("max-jobs-per-second", "many", REFUSE),
    ("max-jobs-per-second", True, REFUSE),
    ("max-status-checks-per-second", 0.5, ACCEPT),
    ("max-status-checks-per-second", "fast", REFUSE),  # type=float
    ("local-cores", 2, ACCEPT),
    ("local-cores", [1, 2], REFUSE),  # one value, not a list
    ("nolock", True, ACCEPT),
    ("nolock", False, ACCEPT),
    ("nolock", "maybe", REFUSE),  # a flag
    ("nolock", "yes", REFUSE),  # Snakemake takes it; dvhpc wants a YAML boolean
    ("nolock", [True], REFUSE),
    ("show-failed-logs", True, ACCEPT),
    ("keep-incomplete", True, ACCEPT),
    ("scheduler", "greedy", ACCEPT),
    ("scheduler", "fastest", REFUSE),
    ("conda-frontend", "mamba", ACCEPT),
    ("conda-frontend", ["conda"], REFUSE),
    ("shadow-prefix", "/tmp/dvhpc-shadow", ACCEPT),
    ("shadow-prefix", "-x", REFUSE),  # the job's command line would read it as an option
    ("shadow-prefix", ".", REFUSE),  # Snakemake replaces it by the profile folder
    ("shadow-prefix", "..", REFUSE),
    ("shadow-prefix", "../run.sh", REFUSE),
    ("shadow-prefix", "../../x", ACCEPT),
    ("shadow-prefix", "status.sh", REFUSE),
    ("shadow-prefix", "", REFUSE),
    ("shadow-prefix", "it's", REFUSE),  # repr() would double-quote it in the job's command line
    ("cache", ["make_a", "all"], ACCEPT),
    ("cache", ["make_a", "--forceall"], REFUSE),
    ("envvars", ["WANDB_API_KEY"], ACCEPT),
    ("apptainer-args", "--nv --bind=/data:/data", ACCEPT),
    ("apptainer-args", "--cleanenv", ACCEPT),
    ("apptainer-args", "--bind /tmp img.sif sh -c 'touch M' #", REFUSE),
    ("singularity-args", "--bind /tmp img.sif sh -c touch", REFUSE),
    ("slurm-array-limit", 100, ACCEPT),
    ("slurm-array-limit", "lots", REFUSE),
    ("slurm-efficiency-threshold", 0.8, ACCEPT),
    ("slurm-jobname-prefix", "lab", ACCEPT),
    ("conda-cleanup-pkgs", "cache", REFUSE),  # a mode: cleans up instead of running (every run of the profile)
    ("conda-cleanup-pkgs", "all", REFUSE),
    ("jobname", "smk.{rule}.{jobid}.sh", ACCEPT),
    ("jobname", '{jobid}".sh', REFUSE),
    ("help", True, REFUSE),
]
# accepted cases that change what a dry run does (or that a slurm dry run would not take)
NOT_IN_DRY_RUN = {"cache", "software-deployment-method", "apptainer-args", "shadow-prefix", "conda-frontend",
                  "conda-cleanup-pkgs", "jobname"}


def _spec(options: dict) -> str:
    spec = json.loads(json.dumps(BASE))
    spec["snakemake"]["options"] = options
    return json.dumps(spec) + "\n"


def _checked(folder: Path, options: dict):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.yaml").write_text(_spec(options))
    return check(str(folder / "spec.yaml"))


def _emitted(folder: Path, option: str, value) -> tuple[bool, list, Path]:
    """dvhpc's verdict and diagnostics, and the profile it emits -- or would emit, were the value
    accepted (the base site with the option put back, rendered by the same emitter)."""
    checked = _checked(folder, {option: value})
    site = checked.site
    if site is None:
        base = _checked(folder / "base", {})
        assert base.ok, base.report.items
        options = dataclasses.replace(base.site.snakemake, options={option: value})
        site = dataclasses.replace(base.site, snakemake=options)
    profile = folder / "profile"
    profile.mkdir(exist_ok=True)
    (profile / Path(PROFILE).name).write_text(files(site)[PROFILE].content)
    return checked.ok, checked.report.items, profile


def _meant(option: str, value) -> list[str]:
    """The command line dvhpc means by the spec value."""
    if isinstance(value, bool):
        return [f"--{option}"] if value else []
    if isinstance(value, list):
        return [f"--{option}", *map(str, value)]
    return [f"--{option}={value}"]


ORACLE = textwrap.dedent("""
    import contextlib, enum, io, json, pathlib, sys
    from snakemake.cli import parse_args

    def norm(value, depth=0):
        # comparable form: some parsed values are objects without __eq__ (DefaultResources, ...)
        if isinstance(value, (str, int, float, type(None), enum.Enum, pathlib.PurePath)) or depth > 6:
            return value if depth <= 6 else repr(type(value))
        if isinstance(value, dict):
            return {repr(k): norm(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [norm(v, depth + 1) for v in value]
        if isinstance(value, (set, frozenset)):
            return sorted(repr(norm(v, depth + 1)) for v in value)
        if callable(value):
            return getattr(value, "__qualname__", repr(type(value)))
        if hasattr(value, "__dict__"):
            return [type(value).__name__, norm(vars(value), depth + 1)]
        return repr(value)

    def parse(argv):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                _, args = parse_args(argv)
        except SystemExit as exc:
            last = err.getvalue().strip().splitlines()[-1:]
            return None, f"exit {exc.code}: {last[0]}" if last else f"exit {exc.code}"
        except Exception as exc:  # a Snakemake parse function that raises
            return None, repr(exc)[:300]
        return {k: norm(v) for k, v in vars(args).items() if k != "profile"}, ""

    out = []
    for case in json.load(sys.stdin):
        got, why = parse(["--profile", case["profile"], "-n"])
        meant, why_meant = parse(["--profile", case["base"], "-n", *case["meant"]])
        agrees = got is not None and meant is not None and got == meant
        if got is not None and meant is not None and not agrees:
            differ = sorted(k for k in set(got) | set(meant) if got.get(k) != meant.get(k))
            why = "parsed differently: " + ", ".join(differ)
        out.append({"agrees": agrees, "why": why or why_meant})
    print(json.dumps(out))
""")


def _snakemake_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _need_snakemake():
    pytest.importorskip("snakemake.cli", reason="snakemake is not installed (pip install -e '.[test]')")
    if SNAKEMAKE is None:
        pytest.skip("the snakemake command is not installed")


# ------------------------------------------------------------------------------ the oracle


@pytest.mark.snakemake
def test_dvhpc_accepts_only_what_snakemake_reads_as_the_spec_value(tmp_path):
    _need_snakemake()
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    base = _emitted(tmp_path / "base-case", "show-failed-logs", False)[2]
    cases = []
    for n, (option, value, expected) in enumerate(CASES):
        ok, items, profile = _emitted(tmp_path / f"case{n}", option, value)
        cases.append({"option": option, "value": value, "expected": expected, "ok": ok, "items": items,
                      "profile": str(profile), "base": str(base), "meant": _meant(option, value)})
    asked = [{key: case[key] for key in ("profile", "base", "meant")} for case in cases]
    proc = subprocess.run([sys.executable, "-c", ORACLE], input=json.dumps(asked), cwd=tmp_path, text=True,
                          capture_output=True, timeout=300, env=_snakemake_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    verdicts = json.loads(proc.stdout)
    wrong = []
    for case, verdict in zip(cases, verdicts, strict=True):
        label = f"{case['option']}: {case['value']!r}"
        if case["ok"] != case["expected"]:
            wrong.append(f"{label}: dvhpc {'accepts' if case['ok'] else 'refuses'} it, expected the opposite "
                         f"({[d.message for d in case['items']]})")
        if case["ok"] and not verdict["agrees"]:
            wrong.append(f"{label}: dvhpc accepts it, but Snakemake does not read it as meant: {verdict['why']}")
        if not verdict["agrees"]:
            located = [d for d in case["items"] if d.location is not None and d.location.line]
            if case["ok"] or not located:
                wrong.append(f"{label}: Snakemake: {verdict['why']}; dvhpc must refuse it at a location")
    assert not wrong, "\n".join(wrong)
    # the table is a real oracle: Snakemake refuses or misreads a good part of it
    assert sum(not v["agrees"] for v in verdicts) >= 15, verdicts


@pytest.mark.snakemake
def test_accepted_values_together_pass_a_real_dry_run(tmp_path):
    _need_snakemake()
    options = {}
    for option, value, expected in CASES:
        if expected and option not in NOT_IN_DRY_RUN:
            options[option] = value  # the last accepted value of an option wins
    checked = _checked(tmp_path / "spec", options)
    assert checked.ok, [d.message for d in checked.report.items]
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / Path(PROFILE).name).write_text(files(checked.site)[PROFILE].content)
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    proc = subprocess.run([SNAKEMAKE, "--profile", str(profile), "-n", "--jobs", "1"], cwd=tmp_path, text=True,
                          capture_output=True, timeout=300, env=_snakemake_env(WANDB_API_KEY="x"))  # envvars
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "make_a" in proc.stdout + proc.stderr


# ------------------------------------------------------------------ the issue's payloads

PAYLOADS = [
    # item 1: a list element becomes an option that Snakemake evaluates as Python (at -n)
    ("rerun-triggers", ["mtime", "--set-resources=make_a:mem_mb=__import__('os').system('touch MARKER')"], "-n"),
    # item 1: ... or that switches the executor and sets its submit command (at submission)
    ("rerun-triggers", ["mtime", "--executor=cluster-generic", "--cluster-generic-submit-cmd=touch MARKER"], "run"),
    ("cache", ["make_a", "--precommand=touch MARKER"], "-n"),
    # item 9: the renamed solver path option is executed as the ILP solver
    ("scheduler-ilp-solver-path", "/tmp", "-n"),
    ("scheduler-solver-path", "/tmp", "-n"),
]


@pytest.mark.snakemake
@pytest.mark.parametrize(("option", "value", "mode"), PAYLOADS, ids=[f"{p[0]}-{i}" for i, p in enumerate(PAYLOADS)])
def test_issue_payloads_are_refused_and_run_nothing(tmp_path, option, value, mode):
    """dvhpc compile refuses with a located error; had it written a profile, the real Snakemake
    would run it (before the fix it did: the marker appeared)."""
    from conftest import run_in_process

    work = tmp_path / "w"
    work.mkdir()
    (work / "Snakefile").write_text(SNAKEFILE)
    (work / "spec.yaml").write_text(_spec({option: value}))
    code, out, err = run_in_process("compile", "--out", "generated", "spec.yaml", cwd=work)
    profile = work / "generated" / "opt" / "profile"
    if code == 0:  # what the refusal prevents
        argv = [SNAKEMAKE, "--profile", str(profile)] + (["-n"] if mode == "-n" else ["--jobs", "1"])
        try:
            subprocess.run(argv, cwd=work, capture_output=True, timeout=30, env=_snakemake_env())
        except subprocess.TimeoutExpired:
            pass  # a cluster-generic run waits for its job forever; the submission has happened
    assert not list(tmp_path.rglob("MARKER")), f"{option}: {value!r} ran code"
    assert code == 1, (code, err)
    assert "spec.yaml:" in err and ("DV343" in err or "DV231" in err), err
    assert not profile.exists()


def _apptainer_command(args: str, tmp_path: Path) -> list[str]:
    """The job command Snakemake builds for a container rule (its own shellcmd), run by bash with a
    recording `apptainer` first on PATH: the argv apptainer would get."""
    stub = tmp_path / "bin"
    stub.mkdir(parents=True, exist_ok=True)
    record = tmp_path / "argv.json"
    (stub / "apptainer").write_text(f"#!{sys.executable}\nimport json, sys\n"
                                    f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    (stub / "apptainer").chmod(0o755)
    code = textwrap.dedent("""
        import sys
        from snakemake.deployment import singularity
        singularity.Singularity().binary = "apptainer"
        print(singularity.shellcmd("/images/job.sif", "touch a.txt", args=sys.argv[1]))
    """)
    line = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, check=True,
                          timeout=120, cwd=tmp_path).stdout.strip().splitlines()[-1]
    env = {"PATH": f"{stub}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, timeout=60, capture_output=True)
    return json.loads(record.read_text()) if record.exists() else []


@pytest.mark.snakemake
def test_apptainer_args_stay_options_of_the_engine(tmp_path):
    """Item 4: Snakemake splices apptainer-args unquoted between `exec` and the image. What dvhpc
    accepts leaves the image and the job's command where they are; the payload moves them."""
    _need_snakemake()
    payload = "--bind /tmp img.sif sh -c 'touch MARKER' #"
    argv = _apptainer_command(payload, tmp_path / "payload")  # what the payload does when emitted
    assert argv[-3:] == ["sh", "-c", "touch MARKER"], argv
    assert [p.code for p in so.check_value("apptainer-args", payload)] == ["DV343"]
    for n, accepted in enumerate(("--nv --bind=/data:/data", "--cleanenv -B=/scratch --env=OMP_NUM_THREADS=1")):
        assert so.check_value("apptainer-args", accepted) == [], accepted
        argv = _apptainer_command(accepted, tmp_path / f"accepted{n}")
        assert argv[-4:] == ["/images/job.sif", "sh", "-c", "touch a.txt"], argv
        assert accepted.split() == argv[argv.index("--home") + 2:-4], argv


# ------------------------------------------------------------- the table and its review


def test_every_option_has_a_reviewed_class():
    classes = {info.value_class for info in so.options().values()}
    assert classes == {"data", "command", "mode", "shell-word", "shell-words"}
    commands = {name for name, info in so.options().items() if info.value_class == "command"}
    assert {"scheduler-ilp-solver-path", "scheduler-solver-path", "precommand", "snakefile", "profile",
            "workflow-profile", "jobscript", "js", "cluster-generic-sidecar-cmd", "wrapper-prefix"} <= commands
    assert so.options()["singularity-args"].value_class == "shell-words"
    assert so.options()["singularity-args"].option == "apptainer-args"  # aliases share their action


def test_generator_refuses_an_unreviewed_option():
    """A new (or renamed) option of a future Snakemake fails the generator until someone reviews it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_snakemake_options", ROOT / "tools" / "gen_snakemake_options.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    table = so.load()["options"]
    renamed = dict(table, **{"scheduler-ilp-solver-exe": dict(table["scheduler-ilp-solver-path"],
                                                               option="scheduler-ilp-solver-exe")})
    with pytest.raises(SystemExit, match="not reviewed.*scheduler-ilp-solver-exe"):
        gen._check_review(renamed)
    gen._check_review(dict(table))


@pytest.mark.parametrize(("option", "value", "index"), [
    ("rerun-triggers", ["mtime", "--set-resources=r:mem_mb=1"], 1),
    ("cache", ["a", "b", "-c1"], 2),
])
def test_list_elements_are_values_never_options(tmp_path, option, value, index):
    checked = _checked(tmp_path, {option: value})
    [diag] = checked.report.items
    assert diag.code == "DV343" and f"{option}[{index}]" in diag.message
    assert diag.location.line == 1 and diag.location.column > 1  # at the element itself


def test_validate_lint_and_compile_refuse_alike(tmp_path):
    from conftest import run_in_process

    (tmp_path / "spec.yaml").write_text(_spec({"rerun-triggers": ["mtime", "--nolock"]}))
    for command in (["validate"], ["lint", "--no-shellcheck"], ["compile", "--out", "g"]):
        code, out, err = run_in_process(*command, "spec.yaml", cwd=tmp_path)
        assert code == 1 and "DV343" in out + err, (command, out, err)
    assert not (tmp_path / "g").exists()


# ------------------------------------------------------------------ options that replace the run

MODE_VALUES = {"flag": True, "store": "x"}


@pytest.mark.parametrize("option", sorted(n for n, info in so.options().items() if info.value_class == "mode"))
def test_options_that_replace_the_run_are_refused_unless_off(tmp_path, option):
    """A profile option such as `delete-all-output: true` or `unlock: true` makes every run of the
    profile do that instead of running the workflow: refused on its key; switched off it is harmless."""
    info = so.options()[option]
    value = MODE_VALUES["flag" if info.action == "flag" else "store"]
    if info.takes_list:
        value = [value]
    checked = _checked(tmp_path / "on", {option: value})
    assert [(d.code, d.location.line) for d in checked.report.items] == [("DV343", 1)], checked.report.items
    assert "instead of running the workflow" in checked.report.items[0].message
    if info.action == "flag":
        assert _checked(tmp_path / "off", {option: False}).ok


@pytest.mark.snakemake
def test_a_mode_option_in_a_profile_really_replaces_the_run(tmp_path):
    """The oracle for the refusal: the real Snakemake with `delete-all-output: true` in the profile
    deletes the workflow's outputs instead of making them -- on every run of that profile."""
    _need_snakemake()
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "a.txt").write_text("results\n")
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "config.yaml").write_text("cores: 1\ndelete-all-output: true\n")
    proc = subprocess.run([SNAKEMAKE, "--profile", str(profile)], cwd=tmp_path, text=True, capture_output=True,
                          timeout=300, env=_snakemake_env())
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert not (tmp_path / "a.txt").exists(), "Snakemake kept the output: the mode option did not apply"
