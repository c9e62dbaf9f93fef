"""`dvhpc import`: turn a hand-written Snakemake profile into a site spec that means the same.

Over 400 lines: one reader of every profile dialect (v9/v8 keys, v7 sbatch templates) with its
spec writer; issue 15 (import fidelity) splits it when it reworks the reading.

Reads Snakemake 9/8 profiles (`executor: slurm`, default-/set-resources, set-threads, plugin
settings) and Snakemake 7 `cluster:` sbatch templates. Every decision is said plainly: as a
diagnostic with the original file:line, and as a comment in the new spec. Nothing is dropped
silently: what cannot be mapped is reported.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from dvhpc.frontend.source import Document, load
from dvhpc.model import keys
from dvhpc.model.keys import Kind
from dvhpc.model.units import KIB, Duration, Memory
from dvhpc.report.diagnostics import Location, Report, Severity

PROFILE_NAMES = ("config.v9+.yaml", "profile.v9+.yaml", "config.v8+.yaml", "profile.yaml", "config.yaml")
PLACEHOLDER = re.compile(r"<[A-Za-z_][^<>]*>")

# Snakemake profile keys -> spec keys under `snakemake:` (value converters below)
SETTINGS = {
    "jobs": "jobs", "j": "jobs", "restart-times": "restart_times", "retries": "restart_times",
    "latency-wait": "latency_wait", "keep-going": "keep_going", "rerun-incomplete": "rerun_incomplete",
    "printshellcmds": "printshellcmds", "slurm-logdir": "logdir",
    "slurm-keep-successful-logs": "keep_successful_logs",
    "slurm-delete-logfiles-older-than": "delete_logs_older_than",
}
BOOLEAN_SETTINGS = {"keep_going", "rerun_incomplete", "printshellcmds", "keep_successful_logs"}
DROPPED = {
    "executor": "decided by snakemake.executor",
    "cluster-status": "dvhpc generates the status script",
    "cluster-generic-status-cmd": "dvhpc generates the status script",
    "cluster-cancel": "dvhpc uses scancel", "cluster-generic-cancel-cmd": "dvhpc uses scancel",
    "slurm-status-command": "dvhpc sets it from slurm.accounting",
}
_DURATION_WORDS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
                   "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
                   "d": 86400, "day": 86400, "days": 86400}
_COMMENT_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|[smhd])\b", re.I)
# a hand-written profile's resource name -> the spec key it means (the registry's import aliases)
ALIASES = {alias: key for key in keys.KEYS for alias in key.aliases}
# an sbatch option of a Snakemake 7 `cluster:` template (without dashes) -> the spec key it sets
TEMPLATE_FLAGS = {flag.lstrip("-"): key.name for key in keys.KEYS for flag in (key.sbatch, key.sbatch_short) if flag}
_TEMPLATE_FLAG = re.compile(r"--?([A-Za-z][A-Za-z0-9-]*)(?:[= ]|$)")


@dataclass
class Imported:
    """The result: the spec as YAML text and what the import found."""

    text: str
    report: Report


@dataclass
class _Rule:
    values: dict = field(default_factory=dict)   # spec key -> value
    notes: list[str] = field(default_factory=list)
    line: int = 0


class Importer:
    def __init__(self, doc: Document, report: Report, site: str):
        self.doc = doc
        self.report = report
        self.site = site
        self.settings: dict = {}
        self.options: dict = {}
        self.header: list[str] = []
        self.gpu_flag: str | None = None
        self.executor = "slurm"
        self.restart_times = 0
        self.aliases: dict[str, str] = {}  # template resource name -> profile resource it stands for

    # ------------------------------------------------------------------ helpers

    def loc(self, *path) -> Location:
        return self.doc.where(tuple(path))

    def comment(self, *path) -> str:
        line = self.loc(*path).line
        if not 1 <= line <= len(self.doc.lines):
            return ""
        text = self.doc.lines[line - 1]
        quote = None
        for index, char in enumerate(text):
            if char in "'\"" and quote in (None, char):
                quote = None if quote else char
            elif char == "#" and quote is None and (index == 0 or text[index - 1] in " \t"):
                return text[index + 1:].strip()
        return ""

    def say(self, severity: Severity, message: str, *path, hint: str | None = None) -> None:
        code = {Severity.ERROR: "DV501", Severity.WARNING: "DV502", Severity.INFO: "DV503"}[severity]
        self.report.add(code, message, self.loc(*path), hint=hint)

    @staticmethod
    def literal(value):
        """A profile value as Snakemake would see it: quoted strings hold Python literals."""
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("str(") and stripped.endswith(")"):  # keys.Form.STRING: str('cpu')
                inner = stripped[4:-1].strip()
                if inner[:1] in ("'", '"'):
                    stripped = inner
            if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
                try:
                    return ast.literal_eval(stripped)
                except (ValueError, SyntaxError):
                    return stripped[1:-1]
            if re.fullmatch(r"-?\d+", stripped):
                return int(stripped)
            if stripped.lower() in ("true", "false", "yes", "no"):
                return stripped.lower() in ("true", "yes")
        return value

    # ------------------------------------------------------------------ top level

    def run(self) -> str:  # noqa: C901 -- one pass over the profile's keys; issue 15 rewrites the importer
        data = self.doc.data if isinstance(self.doc.data, dict) else {}
        if "cluster" in data or "cluster-generic-submit-cmd" in data:
            self.executor = "cluster-generic"
        rt = data.get("restart-times", data.get("retries", 0))
        self.restart_times = self.literal(rt) if isinstance(self.literal(rt), int) else 0
        template_values: dict = {}
        for key, raw in data.items():
            value = self.literal(raw)
            if key in ("default-resources", "set-resources", "set-threads"):
                continue
            if key in ("cluster", "cluster-generic-submit-cmd"):
                template_values = self.template(str(value), key)
            elif key in SETTINGS:
                self.setting(SETTINGS[key], value, key)
            elif key in DROPPED:
                self.say(Severity.INFO, f"'{key}' is not imported: {DROPPED[key]}", key)
            elif key in ("cluster-config", "cluster-sync", "drmaa"):
                self.say(Severity.ERROR, f"'{key}' has no Snakemake 9 equivalent and is not imported", key,
                         hint="move its values into resources")
            elif isinstance(value, dict):
                self.say(Severity.WARNING, f"'{key}' holds a mapping Snakemake ignores; not imported", key)
            else:
                self.options[key] = value
                if PLACEHOLDER.search(str(value)):
                    self.say(Severity.WARNING, f"placeholder left in '{key}': {value}", key)
        defaults = self.resources(data.get("default-resources"), ("default-resources",))
        for key, value in template_values.items():
            defaults.values.setdefault(key, value)
        rules = {}
        raw_rules = data.get("set-resources") or {}
        if isinstance(raw_rules, list):
            raw_rules = self.list_to_rules(raw_rules)
        for name, raw in raw_rules.items():
            rules[name] = self.resources(raw, ("set-resources", name))
        threads = data.get("set-threads") or {}
        if isinstance(threads, list):  # ["rule=8", ...]
            threads = dict(str(item).partition("=")[::2] for item in threads)
        for name, raw in (threads.items() if isinstance(threads, dict) else []):
            value = self.literal(raw)
            rule = rules.setdefault(name, _Rule(line=self.loc("set-threads", name).line))
            if isinstance(value, int):
                if rule.values.get("cpus", value) != value:
                    self.say(Severity.WARNING, f"set-threads {name}={value} disagrees with cpus_per_task "
                             f"{rule.values['cpus']}; cpus_per_task kept (it is what SLURM gets)", "set-threads", name)
                rule.values.setdefault("cpus", value)
            else:
                self.say(Severity.WARNING, f"set-threads expression '{raw}' for {name} is not imported",
                         "set-threads", name)
        account = self.lift_account(defaults, rules)
        return self.render(defaults, rules, account)

    def setting(self, key: str, value, original: str) -> None:
        if key == "latency_wait":
            self.settings[key] = f"{value}s" if isinstance(value, int) else str(value)
        elif key == "delete_logs_older_than":
            self.settings[key] = f"{value}d" if isinstance(value, int) else str(value)
        elif key == "logdir":
            text = str(value)
            for placeholder in PLACEHOLDER.findall(text):
                name = re.sub(r"[^A-Za-z0-9_]", "_", placeholder[1:-1]).upper().strip("_")
                text = text.replace(placeholder, "${" + name + "}")
                self.say(Severity.WARNING, f"placeholder {placeholder} in '{original}' became ${{{name}}}: set it in "
                         "the environment where run.sh starts", original)
            home = re.match(r"/home/([^/]+)(?=/|$)", text)
            if home:
                text = "${HOME}" + text[home.end():]
                self.say(Severity.WARNING, f"'{original}' hard-codes the home folder of user '{home.group(1)}'; "
                         "it became ${HOME} (the same for that user, right for everyone else)", original)
            self.settings[key] = text
        elif key in BOOLEAN_SETTINGS:
            self.settings[key] = bool(value)
        else:
            self.settings[key] = value
        data = self.doc.data
        if isinstance(data, dict) and isinstance(data.get(original), str) and key not in ("logdir",):
            self.say(Severity.INFO, f"'{original}: {data[original]!r}' was a quoted string; written typed",
                     original)

    def list_to_rules(self, items: list) -> dict:
        rules: dict = {}
        for item in items:
            rule, _, assignment = str(item).partition(":")
            key, _, value = assignment.partition("=")
            rules.setdefault(rule, {})[key] = value
        return rules

    # ------------------------------------------------------------------ resources

    def resources(self, raw, path: tuple) -> _Rule:
        rule = _Rule(line=self.loc(*path).line)
        if isinstance(raw, list):  # ["k=v", ...]
            raw = dict(str(item).partition("=")[::2] for item in raw)
        for key, value in (raw or {}).items():
            self.resource(rule, key, value, path + (key,))
        return rule

    def resource(self, rule: _Rule, key: str, raw, path: tuple) -> None:  # noqa: C901 -- a case per key kind; issue 15
        key = self.aliases.get(key, key)
        value = self.literal(raw)
        text = str(value)
        if key == "slurm_extra" and PLACEHOLDER.search(text):
            # `--gpus-per-node=<GPU_TYPE>:1`: keep the count, the type is unknown
            for placeholder in sorted(set(PLACEHOLDER.findall(text))):
                self.say(Severity.WARNING, f"placeholder {placeholder} in slurm_extra dropped; set gpu_type in the "
                         "new spec if a GPU type is needed", *path)
                rule.notes.append(f"{placeholder} in slurm_extra dropped: set gpu_type")
            text = re.sub(PLACEHOLDER.pattern + ":?", "", text)
        elif PLACEHOLDER.search(text):
            self.say(Severity.WARNING, f"placeholder left in {'/'.join(map(str, path))}: {text}; not imported", *path,
                     hint="set the real value in the spec")
            rule.notes.append(f"{key} was the placeholder {text}")
            return
        spec_key = ALIASES.get(key)
        if key == "gres":
            self.gres(rule, text, path)
        elif spec_key is None or spec_key is keys.RETRY:
            self.say(Severity.WARNING, f"resource '{key}' has no dvhpc key; not imported", *path,
                     hint="dvhpc's resource keys are listed in docs/spec.md")
        elif spec_key.kind is Kind.DURATION:
            self.runtime(rule, value, path, spec_key.name, dict(spec_key.alias_scale).get(key, 1))
        elif spec_key.kind is Kind.MEMORY:
            self.memory(rule, spec_key.name, key, value, path, dict(spec_key.alias_scale).get(key, 1))
        elif spec_key is keys.CPUS:
            if not isinstance(value, int):
                self.say(Severity.WARNING, f"{key}: '{raw}' is not a number; not imported", *path)
                return
            earlier = rule.values.get("_cpus_key")
            if "cpus" in rule.values and rule.values["cpus"] != value:
                self.say(Severity.WARNING, f"{key}={value} disagrees with {rule.values['cpus']} set before; "
                         "cpus_per_task wins (it is what SLURM gets)", *path)
                if key != "cpus_per_task":
                    return
            elif "cpus" in rule.values:
                rule.notes.append(f"{earlier} and {key} merged into cpus")
            rule.values["cpus"] = value
            rule.values["_cpus_key"] = key
        elif spec_key.kind in (Kind.NAME, Kind.CONSTRAINT):
            rule.values[spec_key.name] = str(value)
        elif spec_key.kind is Kind.COUNT:
            if isinstance(value, int):
                rule.values[spec_key.name] = value
                if spec_key is keys.GPUS:
                    self.gpu_flag = self.gpu_flag or "gpus"
            else:
                self.say(Severity.WARNING, f"{key}: '{raw}' is not a number; not imported", *path)
        else:  # slurm_extra
            self.extra(rule, text, path)

    def scaled(self, value, path) -> tuple[object, bool]:
        """`X * attempt` / `attempt * X` -> (X, True); anything else unchanged."""
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(.+?)\s*\*\s*attempt\s*|\s*attempt\s*\*\s*(.+?)\s*", value)
            if match:
                base = self.literal(match.group(1) or match.group(2))
                exact = self.restart_times <= 1
                self.say(Severity.INFO if exact else Severity.WARNING,
                         f"'{value}' became a retry factor 2x" + ("" if exact else
                         " (attempt 3 and later double instead of growing linearly; "
                         f"restart-times is {self.restart_times})"),
                         *path)
                return base, True
        return value, False

    def runtime(self, rule: _Rule, value, path, spec_key: str = "time", scale: int = 1) -> None:
        value, retry = self.scaled(value, path)
        if isinstance(value, int):  # Snakemake's runtime (and sbatch --time) reads a number as minutes
            duration = Duration(value * scale * 60)
        else:
            try:
                duration = Duration.parse(str(value))
            except ValueError:
                self.say(Severity.ERROR, f"runtime '{value}' cannot be read as a duration; not imported", *path)
                return
        rule.values[spec_key] = str(duration)
        if retry:
            rule.values.setdefault("retry", {})[spec_key] = "2x"
        said = self.comment_seconds(self.comment(*path))
        if said is not None and said != duration.seconds:
            self.say(Severity.WARNING, f"comment says {Duration(said)}, value means {duration} "
                     f"(Snakemake reads runtime: {value} as minutes); kept {duration}", *path,
                     hint=f"if {Duration(said)} was meant, change time to {Duration(said)} in the new spec")
            rule.notes.append(f"time: the old comment said {Duration(said)}; the value means {duration}")

    @staticmethod
    def comment_seconds(comment: str) -> int | None:
        match = _COMMENT_DURATION.search(comment)
        if not match:
            return None
        unit = match.group(2).lower()
        return int(float(match.group(1)) * _DURATION_WORDS.get(unit, _DURATION_WORDS.get(unit.rstrip("s"), 60)))

    def memory(self, rule: _Rule, spec_key: str, key: str, value, path, scale: int = 1) -> None:
        value, retry = self.scaled(value, path)
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            mib = int(value * scale)  # mem_mb / disk_mb: Snakemake passes the number, SLURM reads MiB
        else:
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*", str(value), re.I)
            if not match:
                self.say(Severity.ERROR, f"{key} '{value}' cannot be read as memory; not imported", *path)
                return
            number, unit, binary = float(match.group(1)), match.group(2).upper(), match.group(3)
            if key.endswith("_mb"):
                mib = int(number)
            else:  # `mem: 16G` is read by Snakemake (humanfriendly) as decimal: 16000 MB
                factor = {"": 1e-6, "K": 1e-3, "M": 1, "G": 1e3, "T": 1e6}[unit] if not binary else \
                    {"": 1 / KIB**2, "K": 1 / KIB, "M": 1, "G": KIB, "T": KIB**2}[unit] * 1.048576
                mib = int(-(-number * factor // 1))
                if not binary and unit in ("G", "T"):
                    rule.notes.append(f"{spec_key}: Snakemake read '{value}' as {mib} MB, kept as {mib}M "
                                      f"(SLURM's {value} would be {int(number * (KIB if unit == 'G' else KIB**2))}M)")
        memory = Memory(mib)
        rule.values[spec_key] = str(memory) if memory.mib % KIB == 0 else f"{mib}M"
        if retry:
            rule.values.setdefault("retry", {})[spec_key] = "2x"

    def gres(self, rule: _Rule, text: str, path) -> None:
        match = re.fullmatch(r"gpu(?::([A-Za-z0-9_.-]+))?:(\d+)", text)
        if not match:
            self.say(Severity.WARNING, f"gres '{text}' is not a GPU request; not imported", *path)
            return
        rule.values["gpus"] = int(match.group(2))
        if match.group(1):
            rule.values["gpu_type"] = match.group(1)
        self.gpu_flag = self.gpu_flag or "gres"

    def extra(self, rule: _Rule, text: str, path) -> None:
        try:
            flags = shlex.split(text)
        except ValueError:
            self.say(Severity.ERROR, f"slurm_extra '{text}' has unbalanced quotes; not imported", *path)
            return
        kept = []
        for flag in flags:
            name, _, value = flag.partition("=")
            gpu = re.fullmatch(r"(?:gpu:)?(?:([A-Za-z][A-Za-z0-9_.-]*):)?(\d+)", value) if value else None
            if name in ("--gpus-per-node", "--gpus", "--gres") and gpu:
                if "gpus" in rule.values and rule.values["gpus"] != int(gpu.group(2)):
                    self.say(Severity.WARNING, f"{flag} disagrees with gpu={rule.values['gpus']}; the flag wins", *path)
                rule.values["gpus"] = int(gpu.group(2))
                if gpu.group(1):
                    rule.values["gpu_type"] = gpu.group(1)
                style = {"--gpus-per-node": "gpus-per-node", "--gpus": "gpus", "--gres": "gres"}[name]
                if name == "--gres":
                    self.say(Severity.WARNING, f"'{flag}' in slurm_extra is refused by snakemake-executor-plugin-slurm "
                             "2.x; it became gpus/gpu_type (gpu_flag: gres)", *path)
                self.gpu_flag = self.gpu_flag or style
                rule.notes.append(f"{flag} in slurm_extra became gpus/gpu_type")
            elif name == "--ntasks-per-node" and value.isdigit():
                rule.values["tasks_per_node"] = int(value)
            else:
                kept.append(flag)
        if kept:
            rule.values["slurm_extra"] = kept

    def template(self, command: str, key: str) -> dict:
        """Snakemake 7 `cluster:` sbatch templates: {resources.x} placeholders back to spec keys."""
        values: dict = {}
        self.say(Severity.INFO, f"'{key}' sbatch template read: dvhpc generates the submit command "
                 "(executor: cluster-generic)", key)
        kept = []
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        known = {**TEMPLATE_FLAGS, "gres": "gres", "gpus": "gres"}
        skip = {"parsable", "output", "o", "error", "e", "job-name", "J"}
        for word in words:
            match = _TEMPLATE_FLAG.match(word)
            if not match or word in ("sbatch",):
                continue
            flag = match.group(1)
            _, _, value = word.partition("=")
            if flag in skip:
                continue
            if flag in known and value and not value.startswith("{"):
                counted = known[flag] in keys.BY_NAME and keys.BY_NAME[known[flag]].kind is Kind.COUNT
                values[known[flag]] = self.literal(value) if counted else value
                self.say(Severity.INFO, f"fixed sbatch flag '{word}' became {known[flag]} in resources.defaults", key)
            elif flag in known:
                # {resources.x}: x carries this flag's value (named as the template author liked)
                placeholder = re.fullmatch(r"\{resources\.([A-Za-z_][A-Za-z0-9_]*)\}", value)
                if placeholder:
                    target = keys.BY_NAME.get(known[flag])
                    self.aliases[placeholder.group(1)] = (target.snakemake or target.name) if target else known[flag]
            else:
                kept.append(word)
        if kept:
            values["slurm_extra"] = kept
            self.say(Severity.INFO, f"fixed flags kept in resources.defaults.slurm_extra: {' '.join(kept)}", key)
        if "time" in values:
            given = str(values["time"])
            values["time"] = str(Duration.parse(given if ":" in given else f"{given}min"))
        return values

    def lift_account(self, defaults: _Rule, rules: dict[str, _Rule]) -> str | None:
        accounts = {r.values.get("account") for r in [defaults, *rules.values()] if r.values.get("account")}
        if len(accounts) != 1:
            return None
        account = accounts.pop()
        for rule in [defaults, *rules.values()]:
            rule.values.pop("account", None)
        self.say(Severity.INFO, f"account '{account}' was repeated in every rule; lifted into slurm.account",
                 "set-resources")
        return account

    # ------------------------------------------------------------------ output

    def render(self, defaults: _Rule, rules: dict[str, _Rule], account: str | None) -> str:
        from dvhpc.emit.yamlout import key as yaml_key
        from dvhpc.emit.yamlout import scalar
        from dvhpc.report.textsafe import printable

        lines = [
            "# yaml-language-server: $schema=../schema/site.schema.json",
            f"# Imported by dvhpc from {self.doc.file}. Decisions are commented; review them.",
            "dvhpc: 1",
            f"site: {self.site}",
            "description: " + scalar(f"Imported from {Path(self.doc.file).name}"),
            "",
            "slurm:",
        ]
        if account:
            lines.append(f"  account: {scalar(account)}   # was repeated in every rule")
        else:
            lines.append("  # account: <set it>   # no single account in the profile")
        lines.append("  accounting: true")
        if self.gpu_flag:
            lines.append(f"  gpu_flag: {self.gpu_flag}   # the GPU request style the profile used")
        partitions = sorted({r.values["partition"] for r in [defaults, *rules.values()] if r.values.get("partition")})
        if partitions:
            lines.append("  partitions:   # names from the profile; "
                         "add limits (max_time, cpus, mem, gpus) to check requests")
            lines += [f"    {yaml_key(name)}: {{}}" for name in partitions]
        lines += ["", "snakemake:", f"  executor: {self.executor}"]
        for key, value in self.settings.items():
            lines.append(f"  {yaml_key(key)}: {scalar(value)}")
        if self.options:
            lines.append("  options:")
            for key, value in self.options.items():
                rendered = "[" + ", ".join(scalar(v) for v in value) + "]" if isinstance(value, list) else scalar(value)
                lines.append(f"    {yaml_key(key)}: {rendered}")
        lines += ["", "resources:"]
        lines += self.render_rule("defaults", defaults, 2)
        if rules:
            lines.append("  rules:")
            for name, rule in rules.items():
                lines += self.render_rule(name, rule, 4)
        # every entry is one line: names from the profile are quoted keys above, and what reaches a
        # comment (its file name, notes) has its line breaks and control characters escaped here
        return "\n".join(printable(line) for line in lines) + "\n"

    def render_rule(self, name: str, rule: _Rule, indent: int) -> list[str]:
        from dvhpc.emit.yamlout import key as yaml_key
        from dvhpc.emit.yamlout import scalar

        def plain_or_quoted(value) -> str:  # 2x, 120G, 1d12h stay plain as a person writes them
            return value if isinstance(value, str) and re.fullmatch(r"[0-9][0-9A-Za-z.]*", value) else scalar(value)

        pad = " " * indent
        out = [f"{pad}# {note}" for note in rule.notes]
        items = []
        for key in (key.name for key in keys.KEYS):  # (keys starting with _ are bookkeeping, not written)
            if key not in rule.values:
                continue
            value = rule.values[key]
            if isinstance(value, list):
                items.append(f"{key}: [" + ", ".join(scalar(v) for v in value) + "]")
            elif isinstance(value, dict):
                inner = ", ".join(f"{yaml_key(k)}: {plain_or_quoted(v)}" for k, v in value.items())
                items.append(f"{key}: {{{inner}}}")
            else:
                items.append(f"{key}: {plain_or_quoted(value)}")
        out.append(f"{pad}{yaml_key(name)}: {{{', '.join(items)}}}")
        return out


def find_profile(path: Path) -> Path | None:
    if path.is_file():
        return path
    for name in PROFILE_NAMES:
        if (path / name).is_file():
            return path / name
    return None


def import_profile(path: str, site: str) -> Imported:
    report = Report()
    found = find_profile(Path(path))
    if found is None:
        report.add("DV001", f"no Snakemake profile in '{path}' (looked for {', '.join(PROFILE_NAMES)})",
                   Location(path, 1, 1))
        return Imported("", report)
    doc = load(found, str(found), report)
    if doc is None:
        return Imported("", report)
    if not isinstance(doc.data, dict):
        report.add("DV100", "a Snakemake profile must be a mapping", doc.where(()))
        return Imported("", report)
    text = Importer(doc, report, site).run()
    return Imported(text, report)
