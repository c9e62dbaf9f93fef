"""Stage 4, resolve: turn the validated, merged spec into the typed `Site` model.

Units are parsed here (once), resource sets are applied (defaults < sets in `use` order < the
rule's own keys), every value keeps its origin, and references (sets, partitions, GPU types,
`{path}` names) are checked. Run-time variables are checked for syntax and kept, never expanded.

Over 400 lines as one class on purpose: every part reads the same merged layers and reports into one
Report at the spec's locations; the natural next seam is environment/paths/datasets (from `environment`).
"""

from __future__ import annotations

import re
from functools import partial

from dvhpc.frontend.layers import Layers
from dvhpc.model import keys, safe_variables
from dvhpc.model.keys import Key
from dvhpc.model.site import (
    DEFAULT_LOGDIR,
    DEFAULT_RUN_LOGDIR,
    Attempt,
    Container,
    Detect,
    Environment,
    Executor,
    GpuFlag,
    MountedDataset,
    Origin,
    Partition,
    PathEntry,
    Place,
    Resources,
    RuntimeText,
    Setting,
    Site,
    SnakemakeSettings,
    Sourced,
)
from dvhpc.model.units import Duration, Factor, Memory, Scaled, UnitError
from dvhpc.model.versions import check_snakemake_range
from dvhpc.report.diagnostics import Location, Note, Report, closest, dotted
from dvhpc.resolve import runner
from dvhpc.resolve.unknown import UNKNOWN

# sbatch flags the slurm executor plugin sets itself (its validate_slurm_extra) -> what to use instead:
# the flags of the registry's keys, and those no key stands for.
_PLUGIN_FLAGS: dict[str, str] = {
    "--job-name": "(set by Snakemake)", "-J": "(set by Snakemake)", "--output": "(set by Snakemake)",
    "-o": "(set by Snakemake)", "--error": "(set by Snakemake)", "-e": "(set by Snakemake)",
    "--parsable": "(set by Snakemake)", "--export": "(set by Snakemake)", "--comment": "(set by Snakemake)",
    "--workdir": "(set by Snakemake)", "-D": "(set by Snakemake)", "--clusters": "(not supported)",
    "--ntasks-per-gpu": "tasks", "--cpus-per-gpu": "cpus",
}
MANAGED_FLAGS: dict[str, str] = {
    **_PLUGIN_FLAGS,
    **{flag: key.name for key in keys.KEYS for flag in (key.sbatch, key.sbatch_short) if flag},
    "--gres": "gpus + gpu_type", "--gpus": "gpus + gpu_type",
}

# Profile keys dvhpc writes itself, with the aliases Snakemake accepts for them.
GENERATED_OPTIONS = {
    "executor": "snakemake.executor", "e": "snakemake.executor",
    "jobs": "snakemake.jobs", "j": "snakemake.jobs",
    # with a remote executor --cores is no alias of --jobs: it caps each job's threads (snakemake/rules.py)
    "cores": "snakemake.cores", "c": "snakemake.cores",
    "restart-times": "snakemake.restart_times", "retries": "snakemake.restart_times",
    "latency-wait": "snakemake.latency_wait", "output-wait": "snakemake.latency_wait", "w": "snakemake.latency_wait",
    "keep-going": "snakemake.keep_going", "k": "snakemake.keep_going",
    "rerun-incomplete": "snakemake.rerun_incomplete", "ri": "snakemake.rerun_incomplete",
    "printshellcmds": "snakemake.printshellcmds", "p": "snakemake.printshellcmds",
    "slurm-logdir": "snakemake.logdir", "slurm-keep-successful-logs": "snakemake.keep_successful_logs",
    "slurm-delete-logfiles-older-than": "snakemake.delete_logs_older_than",
    "resources": "snakemake.resources", "res": "snakemake.resources",
    "default-resources": "resources.defaults", "default-res": "resources.defaults",
    "set-resources": "resources.rules", "set-threads": "resources.rules (cpus)",
    "slurm-status-command": "slurm.accounting",
    "cluster-generic-submit-cmd": "snakemake.executor: cluster-generic",
    "cluster-generic-status-cmd": "snakemake.executor: cluster-generic",
    "cluster-generic-cancel-cmd": "snakemake.executor: cluster-generic",
    "snakefile": "snakemake.snakefile", "s": "snakemake.snakefile",
}


# Names a spec may never export, not even with allow_unsafe_variables: the generated scripts' own
# variables (bash evaluates some of those arithmetically) and names that change how bash runs them.
# Every other name is checked against the safe set (dvhpc.model.safe_variables).
RESERVED_VARIABLES = {
    "SHELLOPTS", "BASHOPTS", "IFS", "CDPATH", "GLOBIGNORE", "POSIXLY_CORRECT",
    "here", "foreground", "logdir", "stamp", "label", "base", "log", "n", "cmd", "pid", "engine", "image",
    "options", "inner", "pass_env", "name", "sub", "state", "jobid", "rule", "lines", "newest", "want", "have",
    "dir", "file", "id", "status", "dvhpc_env", "a",
    # run.sh's stale check (stale.sh) and jobs.sh status
    "allow_stale", "allow", "changed", "found", "line", "manifest", "path", "project", "stale", "sum", "out",
    "part", "used", "limit", "nodes", "cpus", "mem", "tres", "per_job", "per_node", "per_task", "reason", "comment",
    "count", "type", "request",
}
RESERVED_PREFIXES = ("_dvhpc", "DVHPC_", "BASH_")
# Options whose value Snakemake runs as a command or loads as code: the reviewed "command" class of
# the generated option table (dvhpc.model.snakemake_options), which fails to generate while any option of
# the pinned Snakemake is unreviewed -- not a list here that a renamed option slips past.

def managed_flag(flag: str) -> str | None:
    """The plugin-managed sbatch flag `flag` stands for, if any: sbatch also reads `-c4` as
    `-c 4` and any unambiguous prefix of a long option (`--part=gpu`)."""
    name = flag.split("=", 1)[0]
    if not name.startswith("--"):
        name = name[:2]
        return name if name in MANAGED_FLAGS else None
    if name in MANAGED_FLAGS:
        return name
    matches = [full for full in MANAGED_FLAGS if full.startswith("--") and full.startswith(name) and len(name) > 3]
    return matches[0] if matches else None


# spec name -> (key, its unit parser): one look-up per key of every layer of every rule
_KEY_PARSERS = {key.name: (key, keys.parser(key)) for key in keys.KEYS}

_VAR = r"\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)"
_TOKEN = re.compile(rf"({_VAR})|(\{{[A-Za-z_][A-Za-z0-9_]*\}})|([${{}}])")


def runtime_refs(text: str) -> tuple[list[str], str | None]:
    """The `{name}` references in a run-time string, or an error message for bad syntax."""
    refs = []
    for match in _TOKEN.finditer(text):
        var, ref, stray = match.groups()
        if ref:
            refs.append(ref[1:-1])
        elif stray == "$":
            return refs, (f"'$' at position {match.start() + 1} does not start a variable; "
                          "write ${NAME} or $NAME (no command substitution or ${VAR:-...} forms)")
        elif stray:
            return refs, f"unbalanced or invalid '{stray}' at position {match.start() + 1}; references are {{name}}"
    return refs, None


class Resolver:
    def __init__(self, layers: Layers, report: Report, unknown: frozenset[tuple] = frozenset()):
        self.layers = layers
        self.unknown = unknown  # paths of values the schema refused: resolved as "unknown" (resolve.unknown)
        self.data = layers.data
        self.report = report
        self.cycles: set[frozenset] = set()
        self.chains: dict[str, list] = {}  # set name -> its flattened chain (sets using sets)
        self.set_layers: dict[str, dict[Key, Sourced]] = {}  # set name -> its own keys, parsed once
        # `use: name` -> (base, values, sets applied): the same for every request that uses only that
        # set on the same base, and reported once (its chain and layers are kept above), so the set's
        # check pass serves the rules that use it
        self.used: dict[str, tuple[dict[Key, Sourced], dict[Key, Sourced], list[str]]] = {}

    def where(self, *path) -> Location:
        return self.layers.where(tuple(path))

    def get(self, *path, default=None):
        node = self.data
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return default
        return node

    def unit(self, parser, value, path):
        try:
            return parser(value)
        except UnitError as exc:  # the schema catches most; keep every path safe anyway
            self.report.add(exc.code, f"{dotted(path)}: {exc}", self.where(*path), hint=exc.hint)
            return None

    def unit_if_set(self, parser, raw: dict, path: tuple):
        """The parsed value of the key `path` ends in, if `raw` (the mapping at path[:-1]) sets it."""
        return self.unit(parser, raw[path[-1]], path) if path[-1] in raw else None

    def text(self, path, *, refs_allowed: set[str] | None = None) -> RuntimeText | None:
        value = self.get(*path)
        if value is None:
            return None
        refs, error = runtime_refs(value)
        if error or refs:  # a problem to report, or references to check: else its place is found when asked
            return self.checked_text(value, path, refs, error, refs_allowed)
        return RuntimeText(value, partial(self.layers.where, tuple(path)))

    def checked_text(self, value: str, path, refs: list[str], error: str | None,
                     refs_allowed: set[str] | None) -> RuntimeText:
        where = partial(self.layers.where, tuple(path))  # found when reported or asked
        name = dotted(path)
        if error:
            self.report.add("DV220", f"{name}: {error}", where())
        elif refs and refs_allowed is None:
            self.report.add("DV220", f"{name}: '{{{refs[0]}}}' references are only allowed in paths and datasets",
                            where(), hint="use ${VAR} for environment variables")
        elif refs_allowed is not None:
            for ref in refs:
                if ref not in refs_allowed:
                    suggestion = closest(ref, refs_allowed)
                    self.report.add("DV221", f"{name}: unknown path '{{{ref}}}'"
                                    + (f" (did you mean '{{{suggestion}}}'?)" if suggestion else ""),
                                    where(), hint="known paths: " + (", ".join(sorted(refs_allowed)) or "none"))
        return RuntimeText(value, where)

    def required_text(self, path: tuple, *, refs_allowed: set[str] | None = None) -> RuntimeText:
        """A run-time text the schema requires (validation ran before resolve, so it is there)."""
        text = self.text(path, refs_allowed=refs_allowed)
        if text is None:
            raise ValueError(f"{dotted(path)} is required by the schema but missing: resolve ran on an invalid spec")
        return text

    def required_argument(self, path: tuple, program: str) -> RuntimeText:
        """An argument of `program` the schema requires."""
        text = self.required_text(path)
        self.no_option(path, text.text, program)
        return text

    # ------------------------------------------------------------------ partitions and resources

    def partitions(self) -> dict[str, Partition]:
        result = {}
        for name, raw in sorted((self.get("slurm", "partitions") or {}).items()):
            base = ("slurm", "partitions", name)
            if self.unknown:
                raw = {field: value for field, value in raw.items() if base + (field,) not in self.unknown}
            result[name] = Partition(
                name=name,
                default=bool(raw.get("default", False)),
                max_time=self.unit_if_set(Duration.parse, raw, base + ("max_time",)),
                cpus=raw.get("cpus"),
                mem=self.unit_if_set(Memory.parse, raw, base + ("mem",)),
                nodes=raw.get("nodes"),
                gpus=dict(sorted((raw.get("gpus") or {}).items())),
                place=partial(self.layers.where, base, key=True),
            )
        # in file order, so the error goes to the later one
        defaults = [result[name] for name in (self.get("slurm", "partitions") or {}) if result[name].default]
        for extra in defaults[1:]:
            first = Note("first default here", self.where("slurm", "partitions", defaults[0].name, "default"))
            self.report.add("DV230", f"partitions '{defaults[0].name}' and '{extra.name}' are both marked default",
                            self.where("slurm", "partitions", extra.name, "default"), notes=(first,))
        return result

    def layer(self, raw: dict, path: tuple, label: str) -> dict[Key, Sourced]:
        """One layer's own resource keys, parsed, with their origin."""
        values: dict[Key, Sourced] = {}
        where = self.layers.where
        for name, value in raw.items():
            found = _KEY_PARSERS.get(name)
            if found is None:  # `use`, or a key the schema refused already
                continue
            key, parse = found
            at = path + (name,)
            origin = Origin(label, partial(where, at))
            if self.unknown and at in self.unknown:  # reported by the schema; hides what lower layers set
                values[key] = Sourced(UNKNOWN, origin)
                continue
            if parse is not None:
                parsed = self.unit(parse, value, at)
                if parsed is not None:
                    values[key] = Sourced(parsed, origin)
            elif key is keys.RETRY:
                factors = {}
                for scaled, text in value.items():
                    factor = self.unit(Factor.parse, text, at + (scaled,))
                    if factor is not None and scaled in keys.BY_NAME:
                        factors[keys.BY_NAME[scaled]] = Sourced(factor, Origin(label, partial(where, at + (scaled,))))
                values[key] = Sourced(factors, origin)
            elif key is keys.PARTITION and isinstance(value, list):
                values[key] = Sourced(",".join(value), origin)  # as sbatch takes several partitions
            elif key is keys.SLURM_EXTRA:
                values[key] = Sourced(tuple(value), origin)
                self.check_extra(value, at)
            else:
                values[key] = Sourced(value, origin)
        return values

    def check_extra(self, flags: list, path: tuple) -> None:
        for index, flag in enumerate(flags):
            name = managed_flag(flag)
            if name:
                use = MANAGED_FLAGS[name]
                hint = f"use the spec key '{use}' instead" if not use.startswith("(") else f"remove it {use}"
                self.report.add("DV232", f"slurm_extra flag '{name}' is set by the SLURM executor plugin itself; "
                                "the job would be refused", self.where(*path, index), hint=hint)

    def set_chain(self, names, path: tuple, sets: dict, seen: tuple = ()) -> list[tuple[str, dict, tuple]]:
        """Flatten `use` (a name or list, sets may use sets) into (name, raw, path) in apply order."""
        names = [names] if isinstance(names, str) else list(names or [])
        chain = []

        def use_path(index: int) -> tuple:  # where a problem with the index'th name is reported
            one_name = len(names) == 1 and not isinstance(self.get(*path, "use"), list)
            return path + ("use",) if one_name else path + ("use", index)

        for index, name in enumerate(names):
            if name not in sets:
                self.unknown_set(name, sets, use_path(index), list_known=True)
                continue
            if name in seen:
                cycle = frozenset(seen[seen.index(name):])
                if cycle not in self.cycles:
                    self.cycles.add(cycle)
                    self.report.add("DV213", f"resource set '{name}' uses itself (cycle: {' -> '.join((*seen, name))})",
                                    self.where(*use_path(index)))
                continue
            set_path = ("resources", "sets", name)
            if name not in self.chains:
                self.chains[name] = self.set_chain(sets[name].get("use"), set_path, sets, (*seen, name))
            chain += self.chains[name]
            chain.append((name, sets[name], set_path))
        # a set applied twice counts once, at its last place: each key keeps its last writer's value
        last = {entry[0]: index for index, entry in enumerate(chain)}
        return [entry for index, entry in enumerate(chain) if last[entry[0]] == index]

    def unknown_set(self, name: str, sets: dict, path: tuple, *, list_known: bool) -> None:
        """DV210 at `path`, with the closest set name, or (list_known) the defined ones."""
        suggestion = closest(name, sets)
        hint = "defined sets: " + (", ".join(sorted(sets)) or "none") if list_known and not suggestion else None
        mean = f" (did you mean '{suggestion}'?)" if suggestion else ""
        self.report.add("DV210", f"unknown resource set '{name}'{mean}", self.where(*path), hint=hint)

    def resources(self, name: str, raw: dict, path: tuple, base: dict[Key, Sourced], partitions, sets, attempts,
                  *, is_defaults: bool = False) -> Resources:
        values, applied, partition = self.request(name, raw, path, base, partitions, sets, is_defaults=is_defaults)
        requests = scaled_requests(values, partition)
        return Resources(name=name, values=values, sets=tuple(applied), requests=requests,
                         attempts=attempts_of(requests, attempts), partition=partition,
                         place=partial(self.layers.where, path, key=True) if path else None, is_defaults=is_defaults)

    def request(self, name: str, raw: dict, path: tuple, base: dict[Key, Sourced], partitions, sets,
                *, is_defaults: bool = False) -> tuple[dict[Key, Sourced], list[str], Partition | None]:
        """The layered values of one request, its sets and partition, with every reference checked
        (what `resources` builds on; a set no rule uses needs only the checks)."""
        use = raw.get("use")
        known = self.used.get(use) if isinstance(use, str) and use in sets else None
        if known is not None and known[0] is base:
            values, applied = known[1], known[2]
        elif use is None:  # no sets: nothing to flatten or report
            values, applied = dict(base), []
        else:
            values = dict(base)
            applied = []
            for set_name, set_raw, set_path in self.set_chain(use, path, sets):
                if set_name not in self.set_layers:
                    self.set_layers[set_name] = self.layer(set_raw, set_path, f"set {set_name}")
                values = self.overlay(values, self.set_layers[set_name])
                applied.append(set_name)
            if isinstance(use, str) and use in sets:
                self.used[use] = (base, values, applied)
        values = self.overlay(values, self.layer(raw, path, "defaults" if is_defaults else f"rule {name}"))
        if self.unknown:
            values = {key: item for key, item in values.items() if item.value is not UNKNOWN}
        partition = None
        if keys.PARTITION in values:
            listed = []
            for part_name in values[keys.PARTITION].value.split(","):
                if part_name in partitions:
                    listed.append(partitions[part_name])
                    continue
                suggestion = closest(part_name, partitions)
                self.report.add("DV211", f"unknown partition '{part_name}'"
                                + (f" (did you mean '{suggestion}'?)" if suggestion else ""),
                                values[keys.PARTITION].origin.location or self.where(*path),
                                hint="partitions: " + ", ".join(sorted(partitions)))
            if listed and len(listed) == len(values[keys.PARTITION].value.split(",")):
                partition = strictest(listed, values[keys.PARTITION].origin.place)
        gpu_type = values.get(keys.GPU_TYPE)
        if gpu_type is not None and partition is not None and gpu_type.value not in partition.gpus:
            offered = ", ".join(partition.gpus) or "none"
            self.report.add("DV212", f"GPU type '{gpu_type.value}' is not offered by partition '{partition.name}' "
                            f"(it has: {offered})", gpu_type.origin.location or self.where(*path),
                            notes=(Note(f"partition '{partition.name}' defined here", partition.location),))
        return values, applied, partition

    @staticmethod
    def overlay(base: dict[Key, Sourced], top: dict[Key, Sourced]) -> dict[Key, Sourced]:
        merged = dict(base)
        # one way to say one thing: a layer's `mem` replaces a lower layer's `mem_per_cpu` and back
        for key in top:
            for other in key.replaces:
                merged.pop(keys.BY_NAME[other], None)
        for key, item in top.items():
            if key is keys.RETRY and key in merged and UNKNOWN not in (merged[key].value, item.value):
                merged[key] = Sourced({**merged[key].value, **item.value}, item.origin)
            else:
                merged[key] = item
        return merged

    # ------------------------------------------------------------------ the whole site

    def site(self, spec_file: str) -> Site:
        partitions = self.partitions()
        default_part = next((p for p in partitions.values() if p.default), None)
        # what a request gets without a layer of resources setting it: the spec's own partition marked
        # default and its slurm.account
        base: dict[Key, Sourced] = {}
        if default_part:
            base[keys.PARTITION] = Sourced(default_part.name, Origin("partition default", default_part.place))
        account = self.get("slurm", "account")
        # one object for the base layer and Site.account, its place found when asked
        origin = Origin("slurm.account", partial(self.layers.where, ("slurm", "account")))
        site_account = Sourced(account, origin) if account else None
        if site_account:
            base[keys.ACCOUNT] = site_account
        sets = self.get("resources", "sets") or {}
        attempts = self.get("snakemake", "restart_times", default=0) + 1
        defaults = self.resources("defaults", self.get("resources", "defaults") or {}, ("resources", "defaults"),
                                  base, partitions, sets, attempts, is_defaults=True)
        for name in sorted(sets):  # a set no rule uses is checked too (unknown sets, cycles, partitions)
            set_path = ("resources", "sets", name)
            self.request(name, {"use": name}, set_path, defaults.values, partitions, sets)
        rules = {}
        for rule, raw in sorted((self.get("resources", "rules") or {}).items()):
            path = ("resources", "rules", rule)
            if isinstance(raw, str):  # `rule: set_name` is `rule: {use: set_name}`
                rules[rule] = self.resources_shorthand(rule, path, defaults, partitions, sets, attempts)
                continue
            rules[rule] = self.resources(rule, raw, path, defaults.values, partitions, sets, attempts)
        path_names = set(self.get("paths") or {})
        return Site(
            name=self.get("site", default=""),
            description=self.get("description", default=""),
            spec_file=spec_file,
            input_files=tuple(dict.fromkeys(doc.file for doc in self.layers.docs)),
            detect=Detect(env=dict(sorted((self.get("detect", "env") or {}).items())),
                          hostnames=tuple(self.get("detect", "hostnames") or ())),
            account=site_account,
            accounting=self.get("slurm", "accounting", default=True),
            gpu_flag=GpuFlag(self.get("slurm", "gpu_flag", default=GpuFlag.GPUS)),
            partitions=partitions,
            snakemake=self.snakemake(),
            defaults=defaults,
            sets={name: self.layers.where(("resources", "sets", name), key=True) for name in sorted(sets)},
            rules=rules,
            environment=self.environment(),
            paths=self.paths(path_names),
            datasets_root=self.text(("datasets", "root"), refs_allowed=path_names),
            datasets={name: self.mounted(name, path_names) for name in sorted(self.get("datasets", "mounted") or {})},
            settings={name: self.setting(name) for name in sorted(self.get("settings") or {})},
        )

    def resources_shorthand(self, rule, path, defaults, partitions, sets, attempts) -> Resources:
        """`rule: set_name`: the set name sits where `use` would be."""
        name = self.get(*path)
        if name not in sets:
            self.unknown_set(name, sets, path, list_known=False)
            return self.resources(rule, {}, path, defaults.values, partitions, {}, attempts)
        return self.resources(rule, {"use": name}, path, defaults.values, partitions, sets, attempts)

    def snakemake(self) -> SnakemakeSettings:
        raw = self.get("snakemake") or {}
        path = ("snakemake",)
        global_resources = {}
        for key, value in sorted((raw.get("resources") or {}).items()):
            if isinstance(value, str):
                parsed = self.unit(Memory.parse, value, path + ("resources", key))
                if parsed is not None:
                    global_resources[key] = parsed
            else:
                global_resources[key] = value
        executor = Executor(raw.get("executor", Executor.SLURM))
        self.check_options(raw.get("options") or {}, executor)
        settings = SnakemakeSettings(
            executor=executor,
            jobs=raw.get("jobs"),
            cores=raw.get("cores"),
            latency_wait=self.unit_if_set(Duration.parse, raw, path + ("latency_wait",)),
            restart_times=raw.get("restart_times"),
            keep_going=raw.get("keep_going"),
            rerun_incomplete=raw.get("rerun_incomplete"),
            printshellcmds=raw.get("printshellcmds"),
            logdir=self.text(path + ("logdir",)) or RuntimeText(DEFAULT_LOGDIR),
            keep_successful_logs=raw.get("keep_successful_logs"),
            delete_logs_older_than=self.unit_if_set(Duration.parse, raw, path + ("delete_logs_older_than",)),
            resources=global_resources,
            options=dict(sorted((raw.get("options") or {}).items())),
            run_logdir=self.text(path + ("run_logdir",)) or RuntimeText(DEFAULT_RUN_LOGDIR),
            snakefile=self.text(path + ("snakefile",)),
            unlock_first=bool(raw.get("unlock_first", False)),
        )
        runner.check_log_folders(settings, self.report, self.where())
        return settings

    def check_options(self, options: dict, executor: str) -> None:
        """Options go to Snakemake's command line: only real, full names, none that dvhpc writes
        (some of those are evaluated as Python, e.g. default-resources)."""
        from dvhpc.model.snakemake_options import check_value, lookup

        for name, value in options.items():
            where = self.layers.where(("snakemake", "options", name), key=True)
            if name in GENERATED_OPTIONS:
                written_from = GENERATED_OPTIONS[name]
                self.report.add("DV341", f"snakemake option '{name}' is written by dvhpc from {written_from}",
                                where, hint=f"set {written_from} instead")
                continue
            found = lookup(name)
            if found.status == "abbreviation" and found.option in GENERATED_OPTIONS:
                key = GENERATED_OPTIONS[found.option]
                self.report.add("DV341", f"snakemake option '{name}' abbreviates '{found.option}', which dvhpc writes "
                                f"from {key}", where, hint=f"set {key} instead")
                continue
            if found.status == "exact":
                plugin = found.info.plugin if found.info else None
                if plugin in ("slurm", "cluster-generic") and plugin != executor:
                    self.report.add("DV342", f"snakemake option '{name}' belongs to the {plugin} executor plugin, "
                                    f"but this site uses executor '{executor}'", where,
                                    hint="Snakemake refuses options of plugins that are not installed")
                    continue
                # the value as Snakemake's argparse and the option's use read it (DV343; DV231: it is run)
                for problem in check_value(name, value):
                    at = ("snakemake", "options", name) + ((problem.index,) if problem.index is not None else ())
                    self.report.add(problem.code, problem.message, where if problem.on_key else self.layers.where(at),
                                    hint=problem.hint)
                continue
            if found.status == "abbreviation":
                hint = f"write '{found.option}'"
            elif found.suggestion:
                hint = f"write '{found.suggestion}'"
            else:
                hint = "options are Snakemake's long option names, with dashes"
            self.report.add("DV340", f"snakemake option {found.message()}", where, hint=hint)

    def environment(self) -> Environment:
        raw = self.get("environment") or {}
        path = ("environment",)
        container = None
        if "container" in raw:
            c = raw["container"]
            cp = path + ("container",)
            engine = c.get("engine", "apptainer")
            container = Container(
                engine=engine,
                image=self.required_argument(cp + ("image",), f"{engine} exec"),
                overlays=tuple(self.required_argument(cp + ("overlays", i), f"{engine} exec --overlay")
                               for i in range(len(c.get("overlays", [])))),
                binds=tuple(self.required_argument(cp + ("binds", i), f"{engine} exec --bind")
                            for i in range(len(c.get("binds", [])))),
                gpu=bool(c.get("gpu", False)),
                conda=self.argument(cp + ("conda",), "conda activate (inside the container)"),
                pass_env=tuple(c.get("pass_env", [])),
                conda_root=self.text(cp + ("conda_root",)),
                unset=tuple(c.get("unset", [])),
                defaults={k: self.required_text(cp + ("defaults", k)) for k in sorted(c.get("defaults") or {})
                          if self.allowed_variable(k, raw.get("allow_unsafe_variables") or (), cp + ("defaults",))},
            )
        modules = raw.get("modules") or {}
        require = raw.get("require") or {}
        for index, name in enumerate(modules.get("load", [])):
            self.no_option(path + ("modules", "load", index), name, "module load")
        if require.get("snakemake"):
            check_snakemake_range(require["snakemake"], self.where(*path, "require", "snakemake"), self.report)
        return Environment(
            module_purge=bool(modules.get("purge", False)),
            module_use=tuple(self.required_argument(path + ("modules", "use", i), "module use")
                             for i in range(len(modules.get("use", [])))),
            module_load=tuple(modules.get("load", [])),
            conda=self.argument(path + ("conda",), "conda activate"),
            venv=self.text(path + ("venv",)),
            workdir=self.text(path + ("workdir",)),
            variables={k: self.required_text(path + ("variables", k)) for k in sorted(raw.get("variables") or {})
                       if self.allowed_variable(k, raw.get("allow_unsafe_variables") or ())},
            require_python=require.get("python"),
            require_snakemake=require.get("snakemake"),
            require_plugins=tuple(require.get("plugins", [])),
            container=container,
        )

    def argument(self, path: tuple, program: str) -> RuntimeText | None:
        """A run-time text that becomes an argument of `program`, which takes no `--`."""
        text = self.text(path)
        if text is not None:
            self.no_option(path, text.text, program)
        return text

    def no_option(self, path: tuple, value: str, program: str) -> None:
        if value.startswith("-"):
            self.report.add("DV234", f"{dotted(path)}: {value!r} begins with '-': {program} would read it as "
                            "an option", self.where(*path), hint=f"for a file in the current folder, write './{value}'")

    def allowed_variable(self, name: str, allowed_unsafe, at: tuple = ("environment", "variables")) -> bool:
        """Whether the spec may export `name` (a key of the mapping at `at`): a name in the safe set, or one
        the spec lists in environment.allow_unsafe_variables (with a warning); never a name of the generated scripts."""
        where = self.layers.where(at + (name,), key=True)
        key = dotted(at + (name,))
        if name in RESERVED_VARIABLES or name.startswith(RESERVED_PREFIXES):
            self.report.add("DV231", f"{key} is refused: the generated scripts use it "
                            "themselves or it changes how bash runs them", where, hint="choose another name")
            return False
        if safe_variables.is_safe(name):
            return True
        if name in allowed_unsafe:
            self.report.add("DV235", f"{key} is outside the safe set but allowed by "
                            f"environment.allow_unsafe_variables: {safe_variables.risk(name)}", where)
            return True
        self.report.add("DV231", f"{key} is refused: {safe_variables.risk(name)}", where,
                        hint=f"if the spec really must set it, add it to environment.allow_unsafe_variables: [{name}]")
        return False

    def paths(self, names: set[str]) -> dict[str, PathEntry]:
        raw = self.get("paths") or {}
        entries = {}
        graph: dict[str, set[str]] = {}
        for name in sorted(raw):
            value = raw[name]
            if isinstance(value, dict):
                cluster = self.required_text(("paths", name, "cluster"), refs_allowed=names)
                local = self.required_text(("paths", name, "local"), refs_allowed=names)
            else:
                cluster = local = self.required_text(("paths", name), refs_allowed=names)
            entries[name] = PathEntry(name, cluster, local)
            graph[name] = {ref for text in (cluster, local) for ref in runtime_refs(text.text)[0]}
        self.check_cycles(graph)
        return entries

    def check_cycles(self, graph: dict[str, set[str]]) -> None:
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for ref in sorted(graph.get(node, ())):
                if state.get(ref) == 1:
                    cycle = trail[trail.index(ref):] + [ref] if ref in trail else [node, ref]
                    self.report.add("DV222", f"paths refer to each other in a cycle: {' -> '.join(cycle)}",
                                    self.where("paths", node))
                elif ref in graph and ref not in state:
                    visit(ref, trail + [ref])
            state[node] = 2

        for node in sorted(graph):
            if node not in state:
                visit(node, [node])

    def mounted(self, name: str, path_names: set[str]) -> MountedDataset:
        value = self.get("datasets", "mounted", name)
        if isinstance(value, dict):
            mount_point = self.required_text(("datasets", "mounted", name, "path"), refs_allowed=path_names)
            return MountedDataset(name, mount_point, dict(sorted((value.get("subsets") or {}).items())))
        return MountedDataset(name, self.required_text(("datasets", "mounted", name), refs_allowed=path_names), {})

    def setting(self, name: str) -> Setting:
        value = self.get("settings", name)
        if isinstance(value, dict):
            return Setting(name, value.get("cluster"), value.get("local"))
        return Setting(name, value, value)


def strictest(listed: list[Partition], where: Place | None) -> Partition:
    """The partition a request must fit when it lists several (sbatch runs the job in the first that
    can start it): each limit the smallest of theirs, the GPU types all of them offer. The checks
    and retry caps then hold the request against every listed partition; its name is the list, its
    place the list's (`where`)."""
    if len(listed) == 1:
        return listed[0]

    def least(values):
        known = [v for v in values if v is not None]
        return min(known, key=lambda v: v.seconds if isinstance(v, Duration) else
                   v.mib if isinstance(v, Memory) else v) if known else None
    gpu_types = set.intersection(*(set(p.gpus) for p in listed))
    return Partition(name=",".join(p.name for p in listed), default=False,
                     max_time=least([p.max_time for p in listed]), cpus=least([p.cpus for p in listed]),
                     mem=least([p.mem for p in listed]), nodes=least([p.nodes for p in listed]),
                     gpus={t: min(p.gpus[t] for p in listed) for t in sorted(gpu_types)},
                     place=where or listed[0].place)


def scaled_requests(values: dict[Key, Sourced], partition: Partition | None) -> dict[Key, Scaled]:
    """Each quantity of a request with its retry factor and the partition limit that holds it (the
    one place a cap is computed)."""
    retry = values[keys.RETRY].value if keys.RETRY in values else {}
    requests: dict[Key, Scaled] = {}
    for key in keys.SCALED:
        if key in values:
            factor = retry[key].value if key in retry else None
            cap = key.cap(partition) if key.cap is not None and partition is not None else None
            requests[key] = Scaled(values[key].value, factor, cap)
    return requests


def attempts_of(requests: dict[Key, Scaled], attempts: int) -> tuple[Attempt, ...]:
    # only a value that grows and has a limit can be capped, and never at attempt 1 (a cap below
    # the base does not shrink it): the others are not asked per attempt
    growing = [key for key, scaled in requests.items() if scaled.factor is not None and scaled.cap is not None]
    return tuple(Attempt(number, requests, tuple(key for key in growing if requests[key].is_capped(number)))
                 for number in range(1, attempts + 1))


def resolve(layers: Layers, report: Report, spec_file: str, unknown: frozenset[tuple] = frozenset()) -> Site:
    """The site of a valid spec, or (with `unknown`: the values the schema refused) of one whose
    values are partly unknown, for checking only."""
    return Resolver(layers, report, unknown).site(spec_file)
