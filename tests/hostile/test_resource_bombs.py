"""Resource bombs: small specs that would expand to huge work or output are refused (DV005) or
handled within the limits of README.md ("Limits": files over 5 MB, more than 200,000 nodes after
alias expansion, more than 64 levels, `extends` deeper than 32 files are refused).

Each case runs `python -m dvhpc` in a child process; its CPU time and peak memory come from
wait4()'s rusage (the child is also capped at 4 GB of address space so a runaway cannot take
the machine down). Bounds: 60 s of CPU and 1 GB of memory -- and a wall-clock timeout, so an
exponential blow-up fails in seconds instead of hanging the suite. The numbers are printed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hostile_lib import NOTES, PYTHON, count, dvhpc_env

CPU_LIMIT_S = 60
MEMORY_LIMIT_MB = 1024
ADDRESS_SPACE = 4 * 1024**3


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def measure(args: list[str], cwd: Path, timeout: float) -> dict:
    out_path, err_path = cwd / f".out-{os.getpid()}-{time.monotonic_ns()}", cwd / f".err-{time.monotonic_ns()}"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen([PYTHON, "-m", "dvhpc", *args], cwd=cwd, env=dvhpc_env(), stdout=out, stderr=err,
                                preexec_fn=_limit)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
    count("bomb runs")
    result = {
        "rc": proc.returncode, "timed_out": timed_out, "wall_s": round(time.monotonic() - started, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "maxrss_mb": round(usage.ru_maxrss / 1024),
        "stdout_bytes": out_path.stat().st_size, "stderr_bytes": err_path.stat().st_size,
        "stderr_tail": err_path.read_bytes()[-600:].decode("utf-8", "replace"),
    }
    out_path.unlink()
    err_path.unlink()
    return result


HEAD = "dvhpc: 1\nsite: bomb\n"
PARTITION = "slurm:\n  partitions:\n    cpu: {default: true, max_time: 2d, cpus: 48, mem: 180G}\n"


def merge_bomb() -> str:
    """5000 rules, each `<<: *big` with 50 keys: 250,000 nodes after expansion."""
    big = ", ".join(f"k{i}: v{i}" for i in range(50))
    return HEAD + f"x: &big {{{big}}}\nresources:\n  rules:\n" + "".join(
        f"    rule_{r}: {{<<: *big, cpus: 1}}\n" for r in range(5000))


def use_bomb() -> str:
    """5000 rules, each `use:` of three of ten sets with retries (1 restart): valid, ~4 MB of output.
    (Ten sets and 3 restarts work too, at ~17 s of CPU: the cost is linear in rules x sets.)"""
    sets = "".join(f"    s{i}: {{cpus: {i + 1}, mem: {i + 1}G, time: {i + 1}h, slurm_extra: [--exclusive, "
                   f"--mail-type=END], retry: {{mem: 2x, time: 1.5x}}}}\n" for i in range(10))
    rules = "".join(f"    rule_{r}: {{use: [s{r % 10}, s{(r + 3) % 10}, s{(r + 7) % 10}]}}\n" for r in range(5000))
    return HEAD + PARTITION + "snakemake: {restart_times: 1}\nresources:\n  sets:\n" + sets + "  rules:\n" + rules


def set_chain_bomb(levels: int = 40) -> str:
    """Sets that use the previous set twice: 2^40 applications from a 1 KB file."""
    sets = "    s0: {cpus: 1}\n" + "".join(f"    s{i}: {{use: [s{i - 1}, s{i - 1}]}}\n" for i in range(1, levels + 1))
    return HEAD + "resources:\n  sets:\n" + sets + f"  rules:\n    r: {{use: s{levels}}}\n"


def diagnostic_bomb() -> str:
    """One 2000-item list of bad sbatch flags, aliased into 20 rules: 40,000 nodes (far under the
    node limit), each one a diagnostic."""
    big = ", ".join(f"v{i}" for i in range(2000))
    return HEAD + f"big: &big [{big}]\nresources:\n  rules:\n" + "".join(
        f"    r{i}: {{slurm_extra: *big}}\n" for i in range(20))


def billion_laughs() -> str:
    text = HEAD + "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, 12):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n"
    return text


def write_extends_diamond(folder: Path, levels: int = 30) -> str:
    """f_i extends [f_{i+1}, f_{i+1}]: 30 files deep (under the 32 limit), 2^30 paths."""
    for i in range(levels):
        (folder / f"f{i}.yaml").write_text(f"dvhpc: 1\nabstract: true\nextends: [f{i + 1}.yaml, f{i + 1}.yaml]\n")
    (folder / f"f{levels}.yaml").write_text("dvhpc: 1\nabstract: true\n")
    return HEAD + "extends: [f0.yaml]\n"


# name -> (spec text or writer, command, timeout s, expected: "refused" (exit 1 with DV005/DVxxx) or "handled")
CASES = {
    "merge-key bomb: 5000 rules x <<: *big (50 keys)": (merge_bomb, "validate", 60, "refused"),
    "use bomb: 5000 rules x use: [3 of 10 sets], 1 retry": (use_bomb, "compile", 90, "handled"),
    "billion laughs: 10^12 nodes from 1 KB": (billion_laughs, "validate", 60, "refused"),
    "10 MB file": (lambda: HEAD + "description: '" + "x" * (10 * 1024 * 1024) + "'\n", "validate", 60, "refused"),
    "nesting beyond the recursion limit: 20,000 x '['": (lambda: HEAD + "x: " + "[" * 20000 + "\n", "validate", 60,
                                                          "refused"),
    "set chain: s_i uses [s_(i-1), s_(i-1)], 40 levels (1 KB)": (set_chain_bomb, "validate", 10, "either"),
    "extends diamond: f_i extends [f_(i+1), f_(i+1)], 30 files": (write_extends_diamond, "validate", 10, "either"),
    "diagnostic bomb: 2000 bad flags aliased into 20 rules (15 KB)": (diagnostic_bomb, "validate", 60, "refused"),
}

MAX_OUTPUT_BYTES = 1024 * 1024  # what a person (or a CI log) can take: a bomb must not print 30 MB


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("bombs")
    jobs = {}
    for index, (label, (make, command, timeout, _)) in enumerate(CASES.items()):
        case_dir = folder / f"case{index}"
        case_dir.mkdir()
        text = make(case_dir) if make is write_extends_diamond else make()
        (case_dir / "spec.yaml").write_text(text)
        args = [command, "spec.yaml"] + (["--out", "generated"] if command == "compile" else [])
        jobs[label] = (args, case_dir, timeout, len(text.encode()))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {label: pool.submit(measure, args, cwd, timeout) for label, (args, cwd, timeout, _) in jobs.items()}
        out = {label: {"spec_bytes": jobs[label][3], **future.result()} for label, future in futures.items()}
    lines = [f"{'case':66} {'rc':>3} {'cpu s':>7} {'wall s':>7} {'MB':>6} {'out bytes':>10}"]
    for label, r in out.items():
        rc = "T/O" if r["timed_out"] else r["rc"]
        lines.append(f"{label:66} {rc!s:>3} {r['cpu_s']:7} {r['wall_s']:7} {r['maxrss_mb']:6} "
                     f"{r['stdout_bytes'] + r['stderr_bytes']:10}")
    print("\n".join(lines))
    NOTES.extend(["resource bombs (child process, CPU s / peak MB from wait4):", *lines])
    (folder / "numbers.json").write_text(json.dumps(out, indent=1))
    return out


@pytest.mark.parametrize("label", list(CASES))
def test_bomb_is_refused_or_handled_within_limits(results, label):
    r = results[label]
    expected = CASES[label][3]
    shown = json.dumps(r, indent=1)
    assert not r["timed_out"], f"{label}: still running after {CASES[label][2]} s (killed):\n{shown}"
    assert r["rc"] in (0, 1), f"{label}: exit {r['rc']}\n{shown}"
    assert "Traceback" not in r["stderr_tail"] and "internal error" not in r["stderr_tail"], shown
    assert r["cpu_s"] < CPU_LIMIT_S, f"{label}: {r['cpu_s']} s of CPU\n{shown}"
    assert r["maxrss_mb"] < MEMORY_LIMIT_MB, f"{label}: {r['maxrss_mb']} MB\n{shown}"
    assert r["stdout_bytes"] + r["stderr_bytes"] < MAX_OUTPUT_BYTES, (
        f"{label}: a {r['spec_bytes']}-byte spec printed {r['stdout_bytes'] + r['stderr_bytes']} bytes of output\n"
        f"{shown}")
    if expected == "refused":
        assert r["rc"] == 1 and "DV" in r["stderr_tail"], shown
    elif expected == "handled":
        assert r["rc"] == 0, shown
