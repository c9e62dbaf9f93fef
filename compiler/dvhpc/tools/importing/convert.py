"""The import itself: a profile's keys, resources and submit template -> spec values.

Each resource value is evaluated as Snakemake would for the jobs that matter (attempts 1-3,
threads 1 and 8, an input of 0 and of 1000 MB): a value that depends only on the attempt becomes
a base value and a retry factor, a memory that grows with threads becomes memory per CPU, and
anything else a spec cannot say is a located error. What the original leaves unset stays unset.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from dvhpc.model import keys
from dvhpc.model.keys import Kind
from dvhpc.model.quoting import VALUE_CLASSES
from dvhpc.report.diagnostics import Report
from dvhpc.tools.importing import comments, sbatch_args, snakevalues, template
from dvhpc.tools.importing.snakevalues import Job, Unevaluable, Unparsable
from dvhpc.tools.importing.yaml11 import Profile

# the resources the SLURM executor plugin reads, -> spec key (the registry's import aliases)
PLUGIN_NAMES = {alias: key for key in keys.KEYS for alias in key.aliases}
SETTINGS = {
    "jobs": "jobs", "j": "jobs", "restart-times": "restart_times", "retries": "restart_times",
    "latency-wait": "latency_wait", "keep-going": "keep_going", "rerun-incomplete": "rerun_incomplete",
    "printshellcmds": "printshellcmds", "slurm-logdir": "logdir", "slurm-keep-successful-logs": "keep_successful_logs",
    "slurm-delete-logfiles-older-than": "delete_logs_older_than",
    "cores": "cores", "c": "cores",  # with a remote executor: caps each job's threads (snakemake/rules.py)
}
GENERATED = {  # what dvhpc writes itself, so the profile's own is not imported
    "executor": "snakemake.executor", "cluster-status": "the generated status.sh",
    "cluster-generic-status-cmd": "the generated status.sh", "cluster-cancel": "scancel",
    "cluster-generic-cancel-cmd": "scancel", "slurm-status-command": "slurm.accounting",
    "cluster": "the generated submit command", "cluster-generic-submit-cmd": "the generated submit command",
    "jobscript": "Snakemake's own job script (a custom one runs site code dvhpc does not read)",
}
NO_EQUIVALENT = {"cluster-config": "{cluster.x} placeholders were removed in Snakemake 8",
                 "cluster-sync": "Snakemake 8 removed it", "drmaa": "Snakemake 8 removed DRMAA"}
JOBS = [Job(1, 1), Job(2, 1), Job(3, 1)]
ERROR, WARNING, INFO = "DV501", "DV502", "DV503"
REFUSED, QUIRK, INEXPRESSIBLE, SNAKEMAKE_REFUSES = "DV504", "DV505", "DV506", "DV507"


def retry_factor(first: int, second: int) -> Fraction | None:
    """The shortest decimal factor f (1 <= f <= 100) with first * f rounded down == second: what a spec's
    `retry` must say so that attempt 2 asks for exactly what the profile's expression gives
    (dvhpc grows a request in integer arithmetic, rounding down)."""
    if not 0 < first <= second <= 100 * first:
        return None
    for digits in range(0, 10):
        scale = 10**digits
        factor = Fraction(-(-second * scale // first), scale)  # ceil(second / first) at this precision
        if first * factor.numerator // factor.denominator == second:
            return factor
    return None


@dataclass
class Layer:
    values: dict = field(default_factory=dict)   # spec key name -> value
    notes: list[str] = field(default_factory=list)


class Converter:
    def __init__(self, profile: Profile, report: Report, executor: str | None):
        self.profile = profile
        self.report = report
        self.asked_executor = executor
        self.executor = "slurm"
        self.template: template.Template | None = None
        self.settings: dict = {}
        self.options: dict = {}
        self.gpu_flag: str | None = None
        self.restart_times = 0
        self.defaults = Layer()
        self.rules: dict[str, Layer] = {}

    def say(self, code: str, message: str, *path: Any, hint: str | None = None) -> None:
        self.report.add(code, message, self.profile.where(*path), hint=hint)

    # ------------------------------------------------------------------ executor

    def choose_executor(self, data: dict) -> bool:
        """False when the profile is not a SLURM profile (said as DV504)."""
        named = data.get("executor")
        command = data.get("cluster") or data.get("cluster-generic-submit-cmd")
        if isinstance(named, dict):  # measured: Snakemake 9.27.1 ignores it and runs the jobs locally
            self.say(WARNING, "'executor' is a mapping, which Snakemake 9 ignores (it reads an executor name; "
                     "the mapping's keys belong at the top level), so this profile names no executor", "executor")
            named = None
        if "drmaa" in data and named is None and command is None:
            self.say(REFUSED, "the profile submits through DRMAA ('drmaa'); Snakemake 8 removed it and dvhpc builds "
                     "SLURM profiles only", "drmaa", hint="rewrite the drmaa arguments as resources")
            return False
        if isinstance(command, str):
            self.template = template.read(command)
            where = "cluster" if "cluster" in data else "cluster-generic-submit-cmd"
            system = template.NOT_SLURM.get(self.template.submitter or "")
            if system:
                self.say(REFUSED, f"the submit command runs '{self.template.submitter}' ({system}), not sbatch; "
                         "dvhpc builds SLURM profiles only", where)
                return False
            if named not in (None, "cluster-generic"):
                self.say(WARNING, f"'{where}' is ignored: the executor is '{named}'", where)
                self.template = None
            else:
                self.executor = "cluster-generic"
                if "cluster" in data:
                    self.say(INFO, "'cluster:' is Snakemake 7; Snakemake 9 reads it as executor: cluster-generic "
                             "with cluster-generic-submit-cmd", "cluster")
                return True
        if named is None and data.get("slurm") is True:
            self.say(INFO, "'slurm: true' is Snakemake 7's SLURM support; it became executor: slurm", "slurm")
            return True
        if named is None:
            if self.asked_executor:
                self.executor = self.asked_executor
                self.say(INFO, f"the profile names no executor; imported as executor: {self.executor} (--executor)",
                         hint=None)
                return True
            self.say(REFUSED, "the profile names no executor, so Snakemake 9 runs its jobs on this machine; "
                     "not imported as a SLURM profile", hint="pass --executor slurm to import it as one")
            return False
        if named in ("slurm", "cluster-generic"):
            self.executor = named
            if named == "cluster-generic":
                self.say(INEXPRESSIBLE, "executor cluster-generic without a submit command; Snakemake refuses it",
                         "executor")
            return True
        self.say(REFUSED, f"executor '{named}' is not SLURM; dvhpc builds profiles for the slurm and "
                 "cluster-generic (sbatch) executors only", "executor")
        return False

    # ------------------------------------------------------------------ top level

    def run(self) -> bool:
        data = self.profile.data
        if not self.choose_executor(data):
            return False
        restart = data.get("restart-times", data.get("retries", 0))
        self.restart_times = restart if isinstance(restart, int) and not isinstance(restart, bool) else 0
        if self.template is not None:
            self.read_template()
        for key, value in data.items():
            self.top_level(str(key), value)
        self.defaults = self.layer(data.get("default-resources"), ("default-resources",))
        self.read_rules(data)
        return True

    def top_level(self, key: str, value: Any) -> None:
        if key in ("default-resources", "set-resources", "set-threads", "slurm") or value is None:
            return
        if key in SETTINGS:
            self.setting(SETTINGS[key], value, key)
        elif key in GENERATED:
            self.say(INFO, f"'{key}' is not imported: dvhpc writes {GENERATED[key]}", key)
        elif key in NO_EQUIVALENT:
            self.say(INEXPRESSIBLE, f"'{key}' has no Snakemake 9 equivalent ({NO_EQUIVALENT[key]}); not imported", key,
                     hint="move its values into resources")
        elif key == "resources" and isinstance(value, (dict, list)):
            self.options[key] = [f"{k}={v}" for k, v in value.items()] if isinstance(value, dict) else value
        elif isinstance(value, dict):
            if key in ("config", "groups", "group-components", "set-scatter", "set-resource-scopes", "batch",
                       "consider-ancient"):  # Snakemake passes these as KEY=VALUE words
                self.options[key] = [f"{k}={snakevalues.profile_text(v)}" for k, v in value.items()]
                self.say(INFO, f"'{key}' (a mapping) kept as the {len(value)} KEY=VALUE words Snakemake makes of it",
                         key)
            else:
                self.say(WARNING, f"'{key}' holds a mapping, which Snakemake 9 ignores in a profile; not imported",
                         key)
        else:
            self.options[key] = value

    def setting(self, key: str, value: Any, original: str) -> None:
        if key == "latency_wait" and isinstance(value, int):
            value = f"{value}s"
        elif key == "delete_logs_older_than" and isinstance(value, int) and value <= 0:
            self.options[original] = value  # 0 switches the plugin's log clean-up off
            return
        elif key == "delete_logs_older_than" and isinstance(value, int):
            value = f"{value}d"
        elif key in ("keep_going", "rerun_incomplete", "printshellcmds", "keep_successful_logs"):
            text = str(value).lower()
            if text not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
                self.say(SNAKEMAKE_REFUSES, f"'{original}: {value}' is not a flag value; Snakemake refuses it",
                         original)
                return
            value = text in ("true", "yes", "on", "1")
        elif key == "logdir" and isinstance(value, str) and comments.PLACEHOLDER.search(value):
            value, names = comments.placeholders_as_variables(value)
            self.say(WARNING, f"'{original}' holds the placeholder(s) {', '.join(f'<{n}>' for n in names)}, which "
                     f"Snakemake would use as a literal folder name; written as {value}, expanded when the job runs",
                     original, hint=f"set {', '.join(names)} in the environment, or write the real folder in the spec")
        elif key == "latency_wait" and isinstance(value, str) and value.strip().isdigit():
            value = f"{int(value)}s"  # Snakemake's argparse reads "90" as 90 seconds
        elif key == "cores" and not (isinstance(value, int) or str(value).isdigit()):
            self.say(INEXPRESSIBLE, f"'{original}: {value}' caps each job's threads at the CPUs of the machine "
                     "Snakemake runs on; a spec needs a number; not imported", original,
                     hint="set snakemake.cores to the cap in the new spec")
            return
        elif isinstance(value, str) and key in ("jobs", "restart_times", "cores"):
            if value.isdigit():
                value = int(value)
            elif not (key == "jobs" and value == "unlimited"):
                self.say(SNAKEMAKE_REFUSES, f"'{original}: {value}' is not a number; Snakemake refuses it", original)
                return
        self.settings[key] = value

    # ------------------------------------------------------------------ template

    def read_template(self) -> None:
        assert self.template is not None
        where = "cluster" if "cluster" in self.profile.data else "cluster-generic-submit-cmd"
        if self.template.submitter != "sbatch":
            self.say(INEXPRESSIBLE, f"the submit command runs '{self.template.submitter}', a script dvhpc cannot read; "
                     "its sbatch options are not imported", where, hint="write its resources into the new spec")
            return
        for problem in filter(None, self.template.problems):
            self.say(INEXPRESSIBLE, f"submit command: {problem}; not imported", where)
        for key, (flag, value) in self.template.fixed.items():
            self.defaults_from_flag(key, flag, value, where)
        if self.template.extra:
            self.template_extra = list(self.template.extra)
        if not self.template.sends_cpus:
            self.say(QUIRK, "the submit command sends no --cpus-per-task, so SLURM gives every job 1 CPU whatever its "
                     "threads; kept as cpus: 1 in resources.defaults", where,
                     hint="remove cpus: 1 from resources.defaults to give each job its rule's threads")
            self.pending_cpus = 1

    template_extra: list[str] = []
    pending_cpus: int | None = None
    fixed_defaults: dict = {}

    def defaults_from_flag(self, key: keys.Key, flag: str, value: str, where: str) -> None:
        converted = self.flag_value(key, value, "")
        if converted is None:
            self.say(INEXPRESSIBLE, f"submit command: --{flag}={value} cannot be read as {key.name}; not imported",
                     where)
            return
        self.fixed_defaults = {**self.fixed_defaults, key.name: converted}
        self.say(INFO, f"submit command: the fixed --{flag} {value} became {key.name} in resources.defaults", where)

    def flag_value(self, key: keys.Key, text: str, suffix: str) -> Any:
        """A value as sbatch reads it in `--<flag>=<text><suffix>`."""
        if key.kind is Kind.DURATION:
            minutes = sbatch_args.minutes(text + suffix)
            return None if minutes is None else f"{minutes}min"
        if key.kind is Kind.MEMORY:
            mib = sbatch_args.mebibytes(text + suffix)
            return None if mib is None else f"{mib}M"
        if key.kind is Kind.COUNT:
            if key is keys.GPUS:
                digits = text.rsplit(":", 1)[-1]
                return int(digits) if digits.isdigit() else None
            return int(text) if text.isdigit() else None
        return text

    # ------------------------------------------------------------------ resources

    def items(self, raw: Any, path: tuple) -> list[tuple[str, str, tuple]]:
        """(name, expression text, path) of a resources entry, in every form Snakemake accepts."""
        if raw is None:
            return []
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, dict):
            return [(str(k), snakevalues.profile_text(v), path + (k,)) for k, v in raw.items()]
        if isinstance(raw, list):
            found = []
            for index, item in enumerate(raw):
                name, eq, text = str(item).partition("=")
                if not eq:
                    self.say(SNAKEMAKE_REFUSES, f"'{item}' is not NAME=VALUE; Snakemake refuses it", *path, index)
                    continue
                found.append((name.strip(), text, path + (index,)))
            return found
        self.say(SNAKEMAKE_REFUSES, f"{path[0]} is a {type(raw).__name__}; Snakemake wants a mapping or a list", *path)
        return []

    def layer(self, raw: Any, path: tuple) -> Layer:
        layer = Layer()
        entries = self.items(raw, path)
        names = {name for name, _, _ in entries}
        if {"mem", "mem_mb"} <= names or {"disk", "disk_mb"} <= names:
            both = "mem and mem_mb" if {"mem", "mem_mb"} <= names else "disk and disk_mb"
            self.say(SNAKEMAKE_REFUSES, f"{'/'.join(map(str, path))} sets both {both}; Snakemake 9 refuses a resource "
                     "given in two units", *path, hint="keep one of them")
        for name, text, where in entries:
            self.resource(layer, name, text, where)
        return layer

    def read_rules(self, data: dict) -> None:  # noqa: C901 -- list and mapping forms of two keys
        raw = data.get("set-resources")
        if isinstance(raw, list):
            grouped: dict[str, list] = {}
            for index, item in enumerate(raw):
                rule, colon, rest = str(item).partition(":")
                if not colon:
                    self.say(SNAKEMAKE_REFUSES, f"'{item}' is not RULE:NAME=VALUE; Snakemake refuses it",
                             "set-resources", index)
                    continue
                name, _, text = rest.partition("=")
                grouped.setdefault(rule, []).append((name, text, ("set-resources", index)))
            for rule, entries in grouped.items():
                layer = self.rules.setdefault(rule, Layer())
                for name, text, where in entries:
                    self.resource(layer, name, text, where)
        elif isinstance(raw, dict):
            for rule, entries in raw.items():
                if not isinstance(entries, dict):
                    self.say(SNAKEMAKE_REFUSES, f"set-resources: {rule} is not a mapping of resources; Snakemake 9 "
                             "refuses the profile ('Expected two-level mapping')", "set-resources", rule)
                    continue
                self.rules[str(rule)] = self.layer(entries, ("set-resources", rule))
        threads = data.get("set-threads")
        pairs: list[tuple[str, Any, tuple]] = []
        if isinstance(threads, dict):
            pairs = [(str(k), v, ("set-threads", k)) for k, v in threads.items()]
        elif isinstance(threads, list):
            for index, item in enumerate(threads):
                rule, _, text = str(item).partition("=")
                pairs.append((rule, text, ("set-threads", index)))
        for rule, value, where in pairs:
            count = value if isinstance(value, int) else (int(value) if str(value).strip().isdigit() else None)
            if count is None or isinstance(value, bool):
                self.say(INEXPRESSIBLE, f"set-threads {rule}: {value!r} is not a whole number; a spec cannot "
                         "express it; not imported", *where)
                continue
            layer = self.rules.setdefault(rule, Layer())
            if layer.values.get("cpus", count) != count:
                self.say(WARNING, f"set-threads {rule}={count} and cpus_per_task {layer.values['cpus']} differ; "
                         "cpus_per_task kept (it is what SLURM gets)", *where)
                continue
            layer.values["cpus"] = count

    def resource(self, layer: Layer, name: str, text: str, path: tuple) -> None:  # noqa: C901
        key, suffix = self.target(name)
        if key is None:
            sent = "the submit command" if self.executor == "cluster-generic" else "the SLURM executor plugin"
            self.say(INFO, f"resource '{name}' is not sent to SLURM by {sent}; a spec has no key for it; not imported",
                     *path)
            return
        try:
            values = [snakevalues.evaluate(text, job) for job in JOBS]
            by_threads = snakevalues.evaluate(text, Job(1, 8))
            by_input = snakevalues.evaluate(text, Job(1, 1, 1000.0))
        except Unevaluable as exc:
            self.say(INEXPRESSIBLE, f"{name}: '{text}' uses {exc}, which dvhpc does not evaluate; not imported", *path)
            return
        if by_input != values[0]:
            self.say(INEXPRESSIBLE, f"{name}: '{text}' depends on input.size_mb, which a spec cannot express; "
                     f"kept its value for an input of 0 MB ({values[0]})", *path)
        if values[0] is None:
            self.say(INFO, f"{name}: {text!r} is None, so Snakemake drops the resource; not imported", *path)
            return
        try:
            converted = [self.convert(key, name, value, suffix, path) for value in values]
            threaded = self.convert(key, name, by_threads, suffix, path)
        except Unparsable as exc:
            self.say(SNAKEMAKE_REFUSES, f"{name}: {exc}; Snakemake refuses it", *path)
            return
        if any(value is None for value in converted):
            return
        if threaded != converted[0]:
            if key.kind is Kind.MEMORY and key is keys.MEM and isinstance(converted[0], int) \
                    and threaded == 8 * converted[0]:
                key = keys.MEM_PER_CPU
                self.say(INFO, f"{name}: '{text}' grows with threads; it became mem_per_cpu {converted[0]}M", *path)
            else:
                self.say(INEXPRESSIBLE, f"{name}: '{text}' depends on threads in a way a spec cannot express; "
                         f"kept its value for 1 thread", *path)
        self.check_comment(layer, key, name, text, converted[0], path)
        self.store(layer, key, converted, name, text, path)

    def check_comment(self, layer: Layer, key: keys.Key, name: str, text: str, value: Any, path: tuple) -> None:
        """`runtime: 1800  # 30 minutes`: Snakemake's meaning is kept, and the disagreement said."""
        if key.kind not in (Kind.MEMORY, Kind.DURATION) or not text.strip().isdigit() or not isinstance(value, int):
            return
        line = self.profile.where(*path).line
        found = comments.disagreement(self.profile.lines[line - 1] if 0 < line <= len(self.profile.lines) else "",
                                      "time" if key.kind is Kind.DURATION else "size", value)
        if found is None:
            return
        said, means = found
        unit = "minutes" if key.kind is Kind.DURATION else "MB"
        self.say(WARNING, f"{name}: comment says {said}, value means {means} (Snakemake reads {name} in {unit}); "
                 "kept the value's meaning", *path, hint=f"if {said} was meant, change {key.name} in the new spec")
        layer.notes.append(f"{key.name}: the old comment said {said}; the value means {means}")

    def target(self, name: str) -> tuple[keys.Key | None, str]:
        if self.template is not None:
            filled = self.template.filled.get(name)
            return (filled[0], filled[2]) if filled else (None, "")
        if name == "gres":
            return keys.GPUS, "gres"
        return PLUGIN_NAMES.get(name), ""

    def convert(self, key: keys.Key, name: str, value: Any, suffix: str, path: tuple) -> Any:
        """The spec value (MiB / minutes / count / text) a job gets from `value`."""
        if self.template is not None:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            converted = self.flag_value(key, str(value), suffix)
            if converted is None:
                raise Unparsable(f"--{self.template.filled[name][1]}={value}{suffix} is not what sbatch accepts")
            if key.kind in (Kind.NAME, Kind.CONSTRAINT):
                return self.name_value(key, name, converted, path)
            return int(converted[:-3] if converted.endswith("min") else converted[:-1]) \
                if key.kind in (Kind.MEMORY, Kind.DURATION) else converted
        parsed, dropped = snakevalues.as_snakemake(name, value)
        if dropped:
            unit = "MB" if name in snakevalues.SIZED else "min"
            self.say(QUIRK, f"{name}: Snakemake reads {value!r} as {parsed} {unit}"
                     f" and ignores '{dropped}'; kept {parsed} on every attempt", *path,
                     hint=f"to grow per attempt write {name}: \"{parsed} * attempt\" in the profile, or retry: "
                     f"{{{key.name}: 2x}} in the spec")
        if key is keys.TASKS and isinstance(parsed, str) and parsed.isdigit():
            parsed = int(parsed)  # the plugin pastes tasks into `--ntasks=` as text (nodes it checks for int)
        if key.kind in (Kind.MEMORY, Kind.DURATION, Kind.COUNT):
            if isinstance(parsed, float) and parsed.is_integer():
                parsed = int(parsed)
            if isinstance(parsed, bool) or not isinstance(parsed, (int, float)):
                raise Unparsable(f"{value!r} is not a number")
            return int(parsed)
        return self.name_value(key, name, str(parsed), path)

    def name_value(self, key: keys.Key, name: str, text: str, path: tuple) -> str | None:
        """A partition/account/QOS/constraint text, when the spec's value class for the key accepts it."""
        if key.value_class == "runtime_name":  # os.path.expandvars reads $VAR as ${VAR}
            text = re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", r"${\1}", text)
        pattern = VALUE_CLASSES[key.value_class].removesuffix("$") + r"\Z" if key.value_class else ""
        if not pattern or all(re.fullmatch(pattern, part)  # sbatch takes several partitions as a comma list
                              for part in (text.split(",") if key is keys.PARTITION else (text,))):
            return text
        if text == "" and key in (keys.CONSTRAINT, keys.QOS):
            # the plugin (and a template's `--constraint={resources.constraint}`) sends an empty flag for ''
            self.say(WARNING, f"{name}: '' makes Snakemake send an empty {key.sbatch} "
                     "(no value, overriding one from the SBATCH_* environment); a spec sends none; not imported",
                     *path, hint=f"set {key.name} in the new spec if the jobs need one")
        elif text == "":
            self.say(INFO, f"{name}: '' is empty, so the job gets SLURM's default; not imported", *path)
        elif "$" in text or "<" in text:
            self.say(INEXPRESSIBLE, f"{name}: {text!r} is a placeholder or environment variable (Snakemake "
                     "expands $VARS when it runs); a spec needs the real value; not imported", *path,
                     hint=f"set {key.name} in the new spec")
        else:
            self.say(INEXPRESSIBLE, f"{name}: {text!r} is not a SLURM {key.name} a spec accepts; not imported", *path)
        return None

    def store(self, layer: Layer, key: keys.Key, values: list, name: str, text: str, path: tuple) -> None:
        first = values[0]
        if name == "gres" and self.template is None:
            self.gres(layer, first, path)
            return
        if key is keys.SLURM_EXTRA:
            self.extra(layer, str(first), path)
            return
        if key.kind is Kind.MEMORY:
            if key is keys.MEM and first == 0:
                self.say(INFO, f"{name}: 0 makes the executor plugin send no --mem; not imported", *path)
                return
            layer.values[key.name] = f"{first // 1024}G" if first % 1024 == 0 else f"{first}M"
        elif key.kind is Kind.DURATION:
            if first == 0:
                self.say(INFO, f"{name}: 0 sends no --time; not imported", *path)
                return
            layer.values[key.name] = f"{first // 60}h" if first % 60 == 0 else f"{first}min"
        else:
            layer.values[key.name] = first
        if key is keys.GPUS and self.template is None:
            self.gpu_flag = self.gpu_flag or "gpus"
        if key is keys.GPUS and self.template is not None:
            flag = self.template.filled.get(name, (0, ""))[1]
            self.gpu_flag = self.gpu_flag or ("gres" if flag == "gres" else "gpus")
        if values[1] != first:
            self.attempts(layer, key, values, text, path)

    def attempts(self, layer: Layer, key: keys.Key, values: list, text: str, path: tuple) -> None:
        if not key.scales or not values[0]:
            self.say(INEXPRESSIBLE, f"'{text}' changes per attempt, which a spec cannot express for {key.name}; "
                     "kept the first attempt's value", *path)
            return
        factor = retry_factor(values[0], values[1])
        if factor is None:
            self.say(INEXPRESSIBLE, f"'{text}' shrinks or grows more than 100x on attempt 2, which a spec cannot "
                     f"express for {key.name}; kept the first attempt's value", *path)
            return
        shown = f"{Decimal(factor.numerator) / factor.denominator:f}x"
        layer.values.setdefault("retry", {})[key.name] = shown
        third = values[0] * factor.numerator ** 2 // factor.denominator ** 2
        exact = self.restart_times < 2 or third == values[2]
        self.say(INFO if exact else WARNING, f"'{text}' became {values[0]} with retry factor {shown}"
                 + ("" if exact else f" (attempt 3 gets {third} instead of {values[2]}; "
                    f"restart-times is {self.restart_times})"), *path)

    def gres(self, layer: Layer, text: str, path: tuple) -> None:
        parts = text.split(":")
        if parts[0] != "gpu" or not parts[-1].isdigit() or len(parts) > 3:
            self.say(INEXPRESSIBLE, f"gres '{text}' is not a GPU request; a spec cannot express it", *path)
            return
        layer.values["gpus"] = int(parts[-1])
        if len(parts) == 3:
            layer.values["gpu_type"] = parts[1]
        self.gpu_flag = self.gpu_flag or "gres"

    FORBIDDEN = {"job-name", "output", "error", "parsable", "export", "comment", "chdir", "account", "partition",
                 "mem", "mem-per-cpu", "ntasks", "ntasks-per-gpu", "cpus-per-task", "cpus-per-gpu", "time",
                 "constraint", "qos", "nodes", "clusters", "gres", "gpus"}  # the plugin's validate_slurm_extra

    def extra(self, layer: Layer, text: str, path: tuple) -> None:
        """slurm_extra: one flag per item; flags the registry has keys for become those keys."""
        try:
            words = shlex.split(text)
        except ValueError:
            self.say(SNAKEMAKE_REFUSES, f"slurm_extra {text!r} has unbalanced quotes", *path)
            return
        options, rest = sbatch_args.parse(words)
        kept = [f"--{o.name}" + ("" if o.value is None else f"={o.value}") if len(o.name) > 1 else
                f"-{o.name}" for o in options if o.name not in template.FLAG_KEYS and o.name != "ntasks-per-node"
                and not (o.name in self.FORBIDDEN and self.template is None)]  # a spec refuses those (DV232)
        for option in options:
            key = template.FLAG_KEYS.get(option.name) or (keys.TASKS_PER_NODE if option.name == "ntasks-per-node"
                                                          else None)
            if option.name in self.FORBIDDEN and self.template is None:
                self.say(SNAKEMAKE_REFUSES, f"slurm_extra: the SLURM executor plugin refuses --{option.name} in "
                         "slurm_extra (every such job fails)" + (f"; it became {key.name}" if key else
                                                                 "; not imported"), *path,
                         hint=f"use the resource for {key.name if key else option.name}")
            if key is None:
                continue
            value = self.flag_value(key, option.value or "", "")
            if value is None:
                self.say(INEXPRESSIBLE, f"slurm_extra: --{option.name}={option.value} cannot be read as {key.name}",
                         *path)
                continue
            layer.values[key.name] = value
            if key is keys.GPUS:
                if option.value and option.value.count(":") >= 1 and not option.value.split(":")[-2] == "gpu":
                    gpu_type = self.name_value(keys.GPU_TYPE, "gpu type", option.value.split(":")[-2], path)
                    if gpu_type is not None:
                        layer.values["gpu_type"] = gpu_type
                self.gpu_flag = self.gpu_flag or {"gres": "gres", "gpus": "gpus"}.get(option.name, "gpus-per-node")
            self.say(INFO, f"slurm_extra: --{option.name}={option.value} became {key.name}", *path)
        if rest:
            self.say(INEXPRESSIBLE, f"slurm_extra: {' '.join(rest)!r} is not an sbatch option; not imported", *path)
        layer.values["slurm_extra"] = kept
