"""`dvhpc explain`: every resolved value, its emitted form and where it came from.

The answer to "why did my job get 30 hours?": for a rule, each resource in human form and in the
form written to the profile, the layer that set it (defaults, a set, the rule, a partition
default, a built-in default) with file:line:col, the per-attempt values and the sbatch arguments.
"""

from __future__ import annotations

import json
import shlex

from dvhpc.emit.profile import profile_data, snakemake_resources
from dvhpc.emit.slurm_args import sbatch_args
from dvhpc.frontend.layers import Layers
from dvhpc.model.site import RESOURCE_KEYS, Origin, Resources, Site
from dvhpc.resolve.resolver import DEFAULTS_NAME
from dvhpc.report.textsafe import printable

# spec key -> profile resource names it is written as
EMITTED_AS = {
    "partition": ("slurm_partition",), "account": ("slurm_account",), "qos": ("qos",),
    "constraint": ("constraint",), "cpus": ("cpus_per_task",), "mem": ("mem_mb",),
    "mem_per_cpu": ("mem_mb_per_cpu",), "time": ("runtime",), "gpus": ("gpu", "gres", "slurm_extra"),
    "gpu_type": ("gpu_model", "gres", "slurm_extra"), "nodes": ("nodes",), "tasks": ("tasks",),
    "tasks_per_node": ("tasks", "slurm_extra"), "disk": ("disk_mb",), "slurm_extra": ("slurm_extra",),
}


def _human(key: str, value) -> str:
    if key in ("mem", "mem_per_cpu", "disk"):
        return f"{value} ({value.mib} MiB)"
    if key == "time":
        return f"{value} ({value.minutes} min)"
    if key == "slurm_extra":
        return " ".join(value) or "(none)"
    if key == "retry":
        return ", ".join(f"{k} {v.value}" for k, v in value.items())
    return str(value)


def _origin(origin: Origin) -> dict:
    loc = origin.location
    return {"from": origin.label, **({"file": loc.file, "line": loc.line, "column": loc.column} if loc else {})}


def explain_resources(site: Site, res: Resources) -> dict:
    emitted = snakemake_resources(site, res)
    if res.name in site.rules and site.snakemake.executor == "slurm":  # set-threads lists only these
        emitted["threads"] = res.cpus
    values = []
    for key, sourced in res.values.items():
        origin = sourced.origin
        profile = {name: emitted[name] for name in EMITTED_AS.get(key, ()) if name in emitted}
        if key == "cpus" and "threads" in emitted:
            profile["threads"] = emitted["threads"]
        values.append({"key": key, "value": _human(key, sourced.value), "profile": profile, **_origin(origin)})
    if "account" not in res.values and site.account:
        values.append({"key": "account", "value": site.account.value,
                       "profile": {"slurm_account": emitted.get("slurm_account")}, **_origin(site.account.origin)})
    values.sort(key=lambda row: RESOURCE_KEYS.index(row["key"]))
    attempts = [
        {"attempt": a.number, "minutes": a.minutes, "mem_mib": a.mem_mib, "mem_per_cpu_mib": a.mem_per_cpu_mib,
         "capped": list(a.capped), "sbatch": shlex.join(sbatch_args(site, res, a))}
        for a in res.attempts
    ]
    where = res.location
    return {
        "rule": "defaults" if res.name == DEFAULTS_NAME else res.name,
        **({"file": where.file, "line": where.line, "column": where.column} if where else {}),
        "sets": list(res.sets),
        "values": values,
        "attempts": attempts,
    }


def explain_settings(site: Site, layers: Layers) -> list[dict]:
    """Profile settings with the spec key that set them (or `built-in default`)."""
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
                     "from": loc.file if loc else "built-in default",
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

    return replace(site.defaults, name=name, location=None)


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
            origin = value["from"] + (f" at {value['file']}:{value['line']}:{value['column']}" if "file" in value else "")
            out.append(f"  {value['key']:<{width}}  {value['value']:<24}  {profile:<40}  {origin}")
        for attempt in rule["attempts"]:
            mem = f", {attempt['mem_mib']} MiB" if attempt["mem_mib"] is not None else ""
            capped = f" (capped: {', '.join(attempt['capped'])})" if attempt["capped"] else ""
            out.append(f"  attempt {attempt['attempt']}: {attempt['minutes']} min{mem}{capped}")
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
