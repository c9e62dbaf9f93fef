"""The equivalence harness of `dvhpc import` (issue 15): the real Snakemake 9.27.1 is the oracle.

For one profile: import -> validate -> lint -> compile, then Snakemake runs a scratch workflow
(the profile's rule names plus `free1` with threads 1 and `free8` with threads 8) once with the
original profile and once with the generated one. `sbatch` is a stub that records its argv and
fails, so every job is submitted on attempt 1, fails, and is submitted again on attempt 2
(`--retries 1`): one Snakemake run per profile covers every rule and both attempts, with no
status polling. The arguments are compared as sbatch reads them (memory in MiB, time in
minutes, options in any order; job name, log paths and the wrapped command left out).

A Snakemake 7 `cluster:` profile is run the way Snakemake 9 reads one after the documented
renames (executor cluster-generic, cluster-generic-submit-cmd/-status-cmd/-cancel-cmd).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dvhpc.tools.importing import find_profile, sbatch_args

COMPILER = Path(__file__).resolve().parents[1] / "compiler"
SNAKEMAKE = shutil.which("snakemake", path=os.path.dirname(sys.executable)) or shutil.which("snakemake")
STUB = """#!/usr/bin/env bash
rule=""
last="${@: -1}"
if [[ -f "$last" ]]; then rule=$(grep -o '"rule": *"[^"]*"' "$last" | head -1 | sed 's/.*: *"//;s/"$//'); fi
line=""; for a in "$@"; do line+=$'\\x1f'"${a//$'\\n'/ }"; done
# a line longer than PIPE_BUF is not appended atomically: concurrent submissions would interleave
{ flock 9; printf '%s\\x1e%s\\n' "$rule" "$line" >&9; } 9>>"$STUB_LOG"
exit 1
"""
# Every other SLURM client the plugin may call is a stub too, so a run never depends on this machine's
# SLURM (the suite's local cluster may be up, busy or stopped): no output means the plugin submits
# without validating or guessing an account; `sinfo` names one default partition, which the plugin
# adds to a job that names none (as on a real cluster).
QUIET = ("sacctmgr", "sshare", "sacct", "squeue", "scontrol", "scancel")
SINFO = "#!/bin/sh\nprintf 'PARTITION\\nmain*\\n'\n"
V7 = {"cluster": "cluster-generic-submit-cmd", "cluster-status": "cluster-generic-status-cmd",
      "cluster-cancel": "cluster-generic-cancel-cmd", "cluster-sidecar": "cluster-generic-sidecar-cmd",
      "cluster-cancel-nargs": "cluster-generic-cancel-nargs"}
LEFT_OUT = {"job-name", "output", "error", "parsable", "comment", "chdir", "wrap", "export", "J", "o", "e", "D"}
DEPLOYMENT = {"use-conda", "use-singularity", "use-apptainer", "use-envmodules",
              "software-deployment-method", "sdm"}
Calls = dict[str, list[dict[str, str]]]
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Outcome:
    name: str
    imported: bool = False
    crashed: bool = False
    runnable: bool = False
    equivalent: bool = False
    differences: list[str] = field(default_factory=list)
    diagnostics: str = ""
    valid: bool = False
    lint_clean: bool = False
    why_not_runnable: str = ""


class Runner:
    """Runs `dvhpc` and `snakemake` as forks of one process that imported both (tests/import_forkserver.py)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(COMPILER), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("import_forkserver.py"))],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None and json.loads(self.process.stdout.readline()).get("ready")
        self.lock = threading.Lock()

    def run(self, program: str, *args: str, cwd: Path, env: dict[str, str | None] | None = None,
            timeout: float = 120) -> Completed:
        output = cwd / f".{program}.out"
        request = {"program": program, "argv": list(args), "cwd": str(cwd), "output": str(output),
                   "env": {k: v for k, v in {**os.environ, "NO_COLOR": "1", **(env or {})}.items() if v is not None},
                   "timeout": timeout}
        assert self.process.stdin is not None and self.process.stdout is not None
        with self.lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            reply = json.loads(self.process.stdout.readline())
        text = output.read_text(errors="replace")
        output.unlink()
        return Completed(reply["returncode"], text, reply["cpu"], reply["wall"])

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@dataclass
class Completed:
    returncode: int
    output: str
    cpu: float = 0.0
    wall: float = 0.0


def stub_bin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sbatch").write_text(STUB)
    for name in QUIET:
        (folder / name).write_text("#!/bin/sh\nexit 0\n")
    (folder / "sinfo").write_text(SINFO)
    for entry in folder.iterdir():
        entry.chmod(0o755)
    return folder


def as_snakemake9(source: Path, dest: Path) -> Path:
    """The profile folder Snakemake 9 runs: a copy of the whole folder (a profile may name its own files,
    e.g. `jobscript: job-script.sh`, which Snakemake resolves in the profile folder), with a v7 `cluster:`
    profile renamed."""
    if source.is_dir():
        shutil.copytree(source, dest)
    else:
        dest.mkdir(parents=True)
        shutil.copy(source, dest / source.name)
    found = find_profile(dest)
    assert found is not None
    data = yaml.safe_load(found.read_text())
    if isinstance(data, dict) and "cluster" in data and "executor" not in data:
        data = {V7.get(k, k): v for k, v in data.items()}
        data["executor"] = "cluster-generic"
        found.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def without_deployment(profile: Path) -> set[str]:
    """Switch software deployment off in a scratch profile copy and return what it asked for.

    conda and apptainer are not installed here, and Snakemake checks for them before it submits
    (the SLURM plugin at every submission); they change the wrapped command, not the sbatch options.
    So both runs go without, and the two profiles' deployment settings are compared on their own.
    """
    found = find_profile(profile)
    data = yaml.safe_load(found.read_text()) if found else None
    if not isinstance(data, dict) or not DEPLOYMENT & set(data):
        return set()
    methods: set[str] = set()
    for key in sorted(DEPLOYMENT & set(data)):
        value = data.pop(key)
        if key.startswith("use-"):
            if value in (True, "true", "True", "yes", "on", 1):
                methods.add(key.removeprefix("use-").replace("singularity", "apptainer"))
        else:
            methods.update(str(v).replace("singularity", "apptainer") for v in
                           (value if isinstance(value, list) else [value]))
    assert found is not None
    found.write_text(yaml.safe_dump(data, sort_keys=False))
    return methods


def rule_names(source: Path) -> list[str]:
    found = find_profile(source)
    data = yaml.safe_load(found.read_text()) if found else {}
    names: list[str] = []
    for key in ("set-resources", "set-threads"):
        value = data.get(key) if isinstance(data, dict) else None
        items = value if isinstance(value, list) else list(value or {})
        for item in items:
            name = re.split(r"[:=]", str(item))[0]
            if IDENT.fullmatch(name) and name not in names and name not in ("all", "free1", "free8"):
                names.append(name)
    return names


def workflow(folder: Path, rules: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    every = [*rules, "free1", "free8"]
    lines = ["rule all:", "    input: " + ", ".join(f"'{r}.txt'" for r in every), "    localrule: True"]
    for rule in every:
        threads = 8 if rule == "free8" else 1
        lines += [f"rule {rule}:", f"    output: '{rule}.txt'", f"    threads: {threads}",
                  "    shell: 'touch {output}'"]
    (folder / "Snakefile").write_text("\n".join(lines) + "\n")


def submissions(runner: Runner, profile: Path, work: Path, bin_dir: Path) -> tuple[Calls | None, str]:
    """rule -> the normalised sbatch arguments of each attempt (None when nothing reached sbatch), and
    what Snakemake said when it refused a job or the profile."""
    log = work / "sbatch.log"
    env = {"PATH": f"{bin_dir}:{os.path.dirname(SNAKEMAKE or '')}:{os.environ['PATH']}", "STUB_LOG": str(log),
           "SNAKEMAKE_PROFILE": None}
    run = runner.run("snakemake", "--profile", str(profile.resolve()), "--retries", "1", "--keep-going", "-j", "50",
               "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "0",
               "--max-status-checks-per-second", "100", "--latency-wait", "0", cwd=work, env=env)
    said = snakemake_says(run)
    if not log.exists():
        return None, said
    calls: Calls = {}
    for line in log.read_text().split("\n"):
        if not line:
            continue
        rule, _, argv = line.partition("\x1e")
        words = argv.split("\x1f")[1:]
        args = normalise(words)
        rule = rule or args.pop("_rule", "")
        args.pop("_rule", None)
        calls.setdefault(rule, []).append(args)
    return calls, said


def snakemake_says(run: Completed) -> str:
    """Why Snakemake did not submit a job: its own error message."""
    lines = run.output.splitlines()
    for line in lines:
        if "Job submission failed with exception:" in line:
            return line.split("exception:", 1)[1].strip()
    if "WorkflowError:" in lines:
        return " ".join(lines[lines.index("WorkflowError:") + 1:][:2]).strip()
    if run.returncode == 0:
        return "Snakemake ran every job on this machine (it read no executor from the profile)"
    return lines[-1] if lines else f"exit {run.returncode}"


def normalise(words: list[str]) -> dict[str, str]:
    options, _ = sbatch_args.parse(words)
    found: dict[str, str] = {}
    for option in options:
        if option.name == "comment" and option.value:
            found["_rule"] = option.value.removeprefix("rule_").split("_wildcards_")[0]
        if option.name in LEFT_OUT:
            continue
        value = option.value if option.value is not None else ""
        if option.name == "time":
            value = str(sbatch_args.minutes(value))
        elif option.name in ("mem", "mem-per-cpu"):
            value = str(sbatch_args.mebibytes(value))
        found[option.name] = value
    found.setdefault("cpus-per-task", "1")
    found.setdefault("ntasks", "1")
    found.setdefault("nodes", "1")
    if "mem-per-cpu" in found and found["mem-per-cpu"] != "None":
        found["mem"] = str(int(found.pop("mem-per-cpu")) * int(found["cpus-per-task"] or 1))
    return found


def compare(before: dict, after: dict) -> list[str]:
    differences = []
    for rule in sorted(set(before) | set(after)):
        old, new = before.get(rule, []), after.get(rule, [])
        for attempt in range(max(len(old), len(new))):
            a = old[attempt] if attempt < len(old) else None
            b = new[attempt] if attempt < len(new) else None
            if a is None or b is None:
                side = "the original" if a is None else "the generated profile"
                differences.append(f"{rule} attempt {attempt + 1}: (no submission) from {side}")
            elif a != b:
                keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                differences.append(f"{rule} attempt {attempt + 1}: " + ", ".join(
                    f"{k} {a.get(k)} -> {b.get(k)}" for k in keys))
    return differences


def check_profile(runner: Runner, source: Path, tmp: Path, bin_dir: Path) -> Outcome:
    outcome = Outcome(source.name)
    source = source.resolve()
    spec = tmp / "sites" / "imported.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    imported = runner.run("dvhpc", "import", str(source), "--site", "imported", "-o", str(spec), cwd=tmp)
    outcome.diagnostics = imported.output
    outcome.crashed = imported.returncode not in (0, 1) or "Traceback" in imported.output
    outcome.imported = spec.exists()
    rules = rule_names(source)
    original = tmp / "original"
    workflow(original, rules)
    original_profile = as_snakemake9(source, original / "prof")
    deployment = without_deployment(original_profile)
    before, said = submissions(runner, original_profile, original, bin_dir)
    never = sorted(rule for rule in [*rules, "free1", "free8"] if len((before or {}).get(rule, [])) < 2)
    outcome.runnable = bool(before) and not never
    if not outcome.runnable:
        outcome.why_not_runnable = (f"Snakemake submits no job of {', '.join(never)}: " if before else "") + said
    if not outcome.imported:
        return outcome
    outcome.valid = runner.run("dvhpc", "validate", str(spec), cwd=tmp).returncode == 0
    outcome.lint_clean = runner.run("dvhpc", "lint", "--no-shellcheck", str(spec), cwd=tmp).returncode == 0
    compiled = runner.run("dvhpc", "compile", str(spec), "--out", str(tmp / "generated"), cwd=tmp)
    if compiled.returncode != 0 or not before:
        outcome.differences = ["compile failed"] if compiled.returncode else []
        return outcome
    generated = tmp / "generated-run"
    workflow(generated, rules)
    generated_profile = tmp / "generated" / "imported" / "profile"  # scratch output: changed in place
    kept = without_deployment(generated_profile)
    after = submissions(runner, generated_profile, generated, bin_dir)[0] or {}
    outcome.differences = compare(before, after)
    if kept != deployment:
        outcome.differences.append(f"software deployment {sorted(deployment)} -> {sorted(kept)}")
    outcome.equivalent = not outcome.differences
    return outcome


# an sbatch option that differs -> words one of the import's warnings or errors must name
_NAMED_BY = {"cpus-per-task": ("cpus", "threads"), "mem": ("mem",), "time": ("time", "runtime"),
             "gres": ("gpu", "gres"), "gpus": ("gpu",), "ntasks": ("tasks",), "ntasks-per-node": ("tasks",)}


def reported(outcome: Outcome) -> bool:
    """Every difference is reported: each sbatch option that differs is named by a warning or error of
    the import (a job that was not submitted at all: by any error)."""
    said = [line for line in outcome.diagnostics.splitlines() if re.search(r"(warning|error)\[DV5\d\d\]", line)]
    for difference in outcome.differences:
        for option in re.findall(r"(?:: |, )([a-z-]+|\(no submission\)) ", difference):
            words = ("error",) if option == "(no submission)" else _NAMED_BY.get(option, (option,))
            if not any(word in line for line in said for word in words):
                return False
    return bool(said) or not outcome.differences
