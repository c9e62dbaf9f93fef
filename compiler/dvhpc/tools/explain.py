"""`dvhpc explain`: every resolved value, its emitted form and where it came from.

The answer to "why did my job get 30 hours?": for a rule, each resource in human form and in the
form written to the profile, the layer that set it (defaults, a set, the rule, a partition
default, a built-in default) with file:line:col, the per-attempt values and the sbatch arguments.
"""

from __future__ import annotations

import json
import shlex

from dvhpc.emit.profile import profile_data, snakemake_resources
from dvhpc.emit.resources import threads_cap
from dvhpc.emit.slurm_args import sbatch_args
from dvhpc.frontend.layers import Layers
from dvhpc.model import keys
from dvhpc.model.keys import Key, Kind
from dvhpc.model.site import Executor, Origin, Resources, Site
from dvhpc.report.textsafe import printable

ENGINE_DEFAULT = "Snakemake/SLURM default"

# profile resource names a key may be written as, beyond its own (`Key.snakemake`): the keys whose
# form the backends decide (GPUs by slurm.gpu_flag, tasks per node through tasks and slurm_extra)
_WRITTEN_AS: dict[Key, tuple[str, ...]] = {
    keys.GPUS: ("gpu", "gres", "slurm_extra"), keys.GPU_TYPE: ("gpu_model", "gres", "slurm_extra"),
    keys.TASKS: ("tasks",), keys.TASKS_PER_NODE: ("tasks", "slurm_extra"), keys.SLURM_EXTRA: ("slurm_extra",),
}


def emitted_as(key: Key) -> tuple[str, ...]:
    """The profile resources a spec key is written as."""
    return ((key.snakemake,) if key.snakemake else ()) + _WRITTEN_AS.get(key, ())


def _human(key: Key, value) -> str:
    if key.kind is Kind.MEMORY:
        return f"{value} ({value.mib} MiB)"
    if key.kind is Kind.DURATION:
        return f"{value} ({value.minutes} min)"
    if key is keys.SLURM_EXTRA:
        return " ".join(value) or "(none)"
    if key is keys.RETRY:
        return ", ".join(f"{k.name} {v.value}" for k, v in value.items())
    return str(value)


def value_origin(site: Site, rule: str | None, key: Key) -> Origin | None:
    """Where the value of `key` for `rule` (None: resources.defaults) came from, None when it is not
    set: the one answer `explain` shows and `diff` credits a change to."""
    res = site.defaults if rule is None else site.rules.get(rule)
    return _origin_in(res, key) if res is not None else None


def _origin_in(res: Resources, key: Key) -> Origin | None:
    sourced = res.sourced(key)
    return sourced.origin if sourced is not None else None


def _origin(origin: Origin) -> dict:
    loc = origin.location
    return {"from": origin.label, **({"file": loc.file, "line": loc.line, "column": loc.column} if loc else {})}


def _note(site: Site, res: Resources, key: Key, value: object) -> dict:
    """What the job really gets where Snakemake changes the value: ${VAR} expanded, threads capped."""
    if isinstance(value, str) and "${" in value:
        return {"note": "a run-time value: Snakemake expands ${VAR} from its environment when it submits each job"}
    if key is keys.PARTITION and isinstance(value, str) and "," in value:
        return {"note": "several partitions: the job runs in the first that can start it; the limit checks "
                        "held the request against each"}
    cap = threads_cap(site, res) if key is keys.CPUS else None
    return {"note": f"threads: {cap}"} if cap else {}


def explain_resources(site: Site, res: Resources) -> dict:
    emitted = snakemake_resources(site, res)
    if not res.is_defaults and res.name in site.rules and site.snakemake.executor is Executor.SLURM \
            and keys.CPUS in res:  # set-threads lists only these
        emitted["threads"] = res.value(keys.CPUS)
    values = []
    engine_picked = res.engine_picked()
    for key in keys.KEYS:
        sourced, origin = res.sourced(key), _origin_in(res, key)
        if sourced is None or origin is None:
            if key in engine_picked:  # not set: the engine's own default applies
                values.append({"key": key.name, "value": "(not set)", "profile": {}, "from": ENGINE_DEFAULT,
                               "default": key.engine_default, **_note(site, res, key, None)})
            continue
        profile = {name: emitted[name] for name in emitted_as(key) if name in emitted}
        if key is keys.CPUS and "threads" in emitted:
            profile["threads"] = emitted["threads"]
        values.append({"key": key.name, "value": _human(key, sourced.value), "profile": profile,
                       **_origin(origin), **_note(site, res, key, sourced.value)})
    attempts = []
    for attempt in res.attempts:
        attempts.append({"attempt": attempt.number, "minutes": attempt.count(keys.TIME),
                         "mem_mib": attempt.count(keys.MEM), "mem_per_cpu_mib": attempt.count(keys.MEM_PER_CPU),
                         "capped": [key.name for key in attempt.capped],
                         "sbatch": shlex.join(sbatch_args(site, res, attempt))})
    where = res.location
    return {
        "rule": res.name,
        **({"file": where.file, "line": where.line, "column": where.column} if where else {}),
        "sets": list(res.sets),
        "values": values,
        "attempts": attempts,
    }


def explain_settings(site: Site, layers: Layers) -> list[dict]:
    """Profile settings with the spec key that set them (or `dvhpc default`: the executor, and the
    log folder that run.sh and jobs.sh read; every other setting is written only when set)."""
    rows = []
    data = profile_data(site)
    sources = {
        "executor": "executor", "jobs": "jobs", "restart-times": "restart_times", "latency-wait": "latency_wait",
        "keep-going": "keep_going", "rerun-incomplete": "rerun_incomplete", "printshellcmds": "printshellcmds",
        "slurm-logdir": "logdir", "slurm-keep-successful-logs": "keep_successful_logs",
        "slurm-delete-logfiles-older-than": "delete_logs_older_than", "resources": "resources",
    }
    for key, value in data.items():
        if key in ("default-resources", "set-resources", "set-threads"):
            continue
        path: tuple[str, ...]
        if key in sources:
            path = ("snakemake", sources[key])
        elif key == "slurm-status-command":
            path = ("slurm", "accounting")
        elif key.startswith("cluster-generic-"):
            path = ("snakemake", "executor")
        else:
            path = ("snakemake", "options", key)
        defined = layers.defines(path)
        loc = layers.where(path) if defined else None
        rows.append({"key": key, "profile": value, "spec": ".".join(path),
                     "from": loc.file if loc else "dvhpc default",
                     **({"file": loc.file, "line": loc.line, "column": loc.column} if loc else {})})
    for name, setting in site.settings.items():
        loc = layers.where(("settings", name)) if layers.defines(("settings", name)) else None
        for context in ("cluster", "local"):
            rows.append({"key": f"settings.{name}.{context}", "profile": getattr(setting, context),
                         "spec": f"settings.{name}", "from": loc.file if loc else "spec",
                         **({"file": loc.file, "line": loc.line, "column": loc.column} if loc else {})})
    for name, entry in site.paths.items():
        for context in ("cluster", "local"):
            text = getattr(entry, context)
            loc = text.location
            rows.append({"key": f"paths.{name}.{context}", "profile": text.text, "spec": f"paths.{name}",
                         "from": loc.file if loc else "spec",
                         **({"file": loc.file, "line": loc.line, "column": loc.column} if loc else {})})
    return rows


def explain(site: Site, layers: Layers, rules: list[str] | None) -> dict:
    """The explanation of some rules (None: defaults, every rule and the settings)."""
    chosen = [site.defaults, *site.rules.values()] if rules is None else [
        site.rules.get(name) or (site.defaults if name == "defaults" else _unlisted(site, name)) for name in rules
    ]
    result = {"site": site.name, "rules": [explain_resources(site, res) for res in chosen]}
    if rules is None:
        result["settings"] = explain_settings(site, layers)
    return result


def _unlisted(site: Site, name: str) -> Resources:
    """A workflow rule with no entry gets the defaults."""
    from dataclasses import replace

    return replace(site.defaults, name=name, place=None, is_defaults=False)


def render_text(result: dict) -> str:
    """For a terminal: control and bidi characters in names, values and file names escaped."""
    out = []
    for rule in result["rules"]:
        where = f" ({rule['file']}:{rule['line']}:{rule['column']})" if "file" in rule else ""
        if rule["rule"] != "defaults" and "file" not in rule:
            where = " (no entry in the spec: it gets resources.defaults)"
        sets = f", sets: {', '.join(rule['sets'])}" if rule["sets"] else ""
        out.append(f"rule {rule['rule']}{where}{sets}")
        width = max((len(v["key"]) for v in rule["values"]), default=4)
        for value in rule["values"]:
            profile = ", ".join(f"{k}: {v}" for k, v in value["profile"].items()) or "-"
            at = f" at {value['file']}:{value['line']}:{value['column']}" if "file" in value else ""
            origin = value["from"] + at
            out.append(f"  {value['key']:<{width}}  {value['value']:<24}  {profile:<40}  {origin}")
            if "note" in value:
                out.append(f"  {'':<{width}}  ({value['note']})")
        for attempt in rule["attempts"]:
            time = f"{attempt['minutes']} min" if attempt["minutes"] is not None else "time not set"
            mem = f", {attempt['mem_mib']} MiB" if attempt["mem_mib"] is not None else ""
            capped = f" (capped: {', '.join(attempt['capped'])})" if attempt["capped"] else ""
            out.append(f"  attempt {attempt['attempt']}: {time}{mem}{capped}")
            out.append(f"    sbatch {attempt['sbatch']}")
        out.append("")
    if "settings" in result:
        out.append("settings")
        width = max((len(s["key"]) for s in result["settings"]), default=4)
        for setting in result["settings"]:
            origin = f"{setting['spec']} at {setting['file']}:{setting['line']}:{setting['column']}" \
                if "file" in setting else setting["from"]
            out.append(f"  {setting['key']:<{width}}  {json.dumps(setting['profile']):<30}  {origin}")
    return "\n".join(printable(line) for line in out).rstrip() + "\n"
