"""`dvhpc diff`'s change model: what differs between two sides, by area (profile settings, each
rule's resources, partitions, environment, paths, datasets, detection, settings, files)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dvhpc.model import keys
from dvhpc.model.keys import Kind
from dvhpc.model.site import Site
from dvhpc.output.readback import PROFILE_YAML, RESOURCES_YAML

if TYPE_CHECKING:
    from dvhpc.tools.diff import View

AREAS = ("profile", "rules", "partitions", "environment", "paths", "datasets", "detect", "settings", "files")
# rule fields compared, in the order they are shown: (key in resources.yaml, raw sub-key or None)
_RAW = {Kind.MEMORY: ("mib", "MiB"), Kind.DURATION: ("minutes", "min")}  # resources.yaml's raw form of a unit
RULE_FIELDS = tuple((key.name, _RAW[key.kind][0] if key.kind in _RAW else None) for key in keys.KEYS)
UNIT = {key.name: _RAW[key.kind][1] for key in keys.KEYS if key.kind in _RAW}
_SHOWN_WHEN_ADDED = 8  # an added rule is summarised by its first fields: partition ... time
_VIA_ACCOUNT = "via slurm.account"
_VIA_LIMITS = "via partition limits or restart_times"
_VIA_SETTINGS = "via the site's settings"
_FIXED_VIA = {_VIA_ACCOUNT, _VIA_LIMITS, _VIA_SETTINGS}  # our words; any other `via` names a set or a layer



@dataclass
class FieldChange:
    key: str
    old: str | None
    new: str | None
    via: str | None = None
    units: str | None = None  # "81920 → 122880 MiB": text output only


@dataclass
class Change:
    area: str
    item: str
    kind: str  # added | removed | changed
    fields: list[FieldChange] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)


def _human(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict) and "human" in value:
        return str(value["human"])
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    return str(value)


def _raw(sub: str | None, value):
    return value.get(sub) if sub and isinstance(value, dict) else value


def _via(new_site: Site | None, old_site: Site | None, rule: str | None, key: str) -> str | None:
    """Where a rule's value came from (rule None: the defaults), as `explain` shows it: the new
    side's origin, the old side's only for a value the new side no longer sets; nothing when it is
    the rule's own key."""
    from dvhpc.tools.explain import value_origin

    if key not in keys.BY_NAME:
        return None
    origin = None
    for site in (new_site, old_site):
        origin = value_origin(site, rule, keys.BY_NAME[key]) if site is not None else None
        if origin is not None:
            break
    return None if origin is None or origin.label == f"rule {rule}" else f"via {origin.label}"


def _compare_rule(name: str | None, old: dict, new: dict, new_site: Site | None,
                  old_site: Site | None) -> Change | None:
    change = Change("rules", _item(name), "changed")
    for key, sub in RULE_FIELDS:
        a, b = old.get(key), new.get(key)
        if _raw(sub, a) == _raw(sub, b) and _human(a) == _human(b):
            continue
        old_text, new_text = _human(a), _human(b)
        both = sub and a is not None and b is not None
        raw = f"{_raw(sub, a)} → {_raw(sub, b)} {UNIT[key]}" if both else None
        via = _via(new_site, old_site, name, key)
        change.fields.append(FieldChange(key, old_text, new_text, via, raw))
    if not change.fields:
        old_attempts, new_attempts = _attempts_text(old.get("attempts")), _attempts_text(new.get("attempts"))
        if old_attempts != new_attempts:
            change.fields.append(FieldChange("attempts", old_attempts, new_attempts,
                                             _VIA_LIMITS))
        elif _sbatch_text(old) != _sbatch_text(new):
            change.fields.append(FieldChange("sbatch", _sbatch_text(old), _sbatch_text(new), _VIA_SETTINGS))
    if not change.fields:
        return None
    if "partition" not in [f.key for f in change.fields] and new.get("partition"):
        change.unchanged.append(("partition", str(new.get("partition"))))
    return change


def _item(name: str | None) -> str:
    return "defaults" if name is None else name


def _sbatch_text(rule: dict) -> str | None:
    return rule.get("sbatch") or " | ".join(str(a.get("sbatch")) for a in rule.get("attempts") or ())


def _attempts_text(attempts) -> str:
    if not attempts:
        return "(no retries)"
    return "; ".join(f"{a.get('attempt')}: {a.get('minutes')} min, {a.get('mem_mib', a.get('mem_per_cpu_mib'))} MiB"
                     for a in attempts)


def _mapping_changes(area: str, old: dict, new: dict) -> list[Change]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if key in old and key not in new:
            changes.append(Change(area, key, "removed", [FieldChange(key, _text(old[key]), None)]))
        elif key in new and key not in old:
            changes.append(Change(area, key, "added", [FieldChange(key, None, _text(new[key]))]))
        elif old[key] != new[key]:
            changes.append(Change(area, key, "changed", [FieldChange(key, _text(old[key]), _text(new[key]))]))
    return changes


def _partition_changes(old: dict, new: dict) -> list[Change]:
    changes = []
    for change in _mapping_changes("partitions", old, new):
        if change.kind == "changed":
            a, b = old[change.item], new[change.item]
            change.fields = [FieldChange(k, _human(a.get(k)), _human(b.get(k))) for k in sorted(set(a) | set(b))
                             if a.get(k) != b.get(k)]
        changes.append(change)
    return changes


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _model_sections(site: Site) -> dict[str, dict]:
    env = site.environment
    container = env.container
    return {
        "partitions": {name: {"default": p.default, "max_time": str(p.max_time) if p.max_time else None,
                              "cpus": p.cpus, "mem": str(p.mem) if p.mem else None, "nodes": p.nodes, "gpus": p.gpus}
                       for name, p in site.partitions.items()},
        "environment": {
            "modules.purge": env.module_purge, "modules.use": [t.text for t in env.module_use],
            "modules.load": list(env.module_load), "conda": env.conda.text if env.conda else None,
            "venv": env.venv.text if env.venv else None, "workdir": env.workdir.text if env.workdir else None,
            **{f"variables.{k}": v.text for k, v in env.variables.items()},
            "require.python": env.require_python, "require.snakemake": env.require_snakemake,
            "require.plugins": list(env.require_plugins),
            **({"container": {"engine": container.engine, "image": container.image.text,
                              "overlays": [t.text for t in container.overlays],
                              "binds": [t.text for t in container.binds],
                              "gpu": container.gpu, "conda": container.conda.text if container.conda else None,
                              "pass_env": list(container.pass_env)}} if container else {}),
        },
        "paths": {f"{name}.{ctx}": getattr(entry, ctx).text
                  for name, entry in site.paths.items() for ctx in ("cluster", "local")},
        "datasets": {**({"root": site.datasets_root.text} if site.datasets_root else {}),
                     **{f"mounted.{d.name}": {"path": d.path.text, "subsets": d.subsets}
                        for d in site.datasets.values()}},
        "detect": {**{f"env.{k}": v for k, v in site.detect.env.items()}, "hostnames": list(site.detect.hostnames)},
        "settings": {name: {"cluster": s.cluster, "local": s.local} for name, s in site.settings.items()},
    }


def compare(old: View, new: View) -> list[Change]:
    changes: list[Change] = []
    old_profile = {k: v for k, v in old.yaml(PROFILE_YAML).items()
                   if k not in ("default-resources", "set-resources", "set-threads")}
    new_profile = {k: v for k, v in new.yaml(PROFILE_YAML).items()
                   if k not in ("default-resources", "set-resources", "set-threads")}
    changes += _mapping_changes("profile", old_profile, new_profile)
    old_res, new_res = old.yaml(RESOURCES_YAML), new.yaml(RESOURCES_YAML)
    # the defaults are compared first, under the name None (no rule name can be None)
    old_rules = {None: old_res.get("defaults", {}), **old_res.get("rules", {})}
    new_rules = {None: new_res.get("defaults", {}), **new_res.get("rules", {})}
    for name in sorted(set(old_rules) | set(new_rules), key=lambda n: (n is not None, n or "")):
        if name not in new_rules:
            changes.append(Change("rules", _item(name), "removed"))
        elif name not in old_rules:
            changes.append(Change("rules", _item(name), "added", unchanged=[(k, _human(new_rules[name].get(k)))
                                                                     for k, _ in RULE_FIELDS[:_SHOWN_WHEN_ADDED]
                                                                     if k in new_rules[name]]))
        else:
            change = _compare_rule(name, old_rules[name], new_rules[name], new.site, old.site)
            if change:
                changes.append(change)
    if old.site is not None and new.site is not None:
        old_sections, new_sections = _model_sections(old.site), _model_sections(new.site)
        changes += _partition_changes(old_sections["partitions"], new_sections["partitions"])
        for area in ("environment", "paths", "datasets", "detect", "settings"):
            changes += _mapping_changes(area, old_sections[area], new_sections[area])
    else:  # a generated folder on one side: what the model would say, the other files say
        for name in sorted(set(old.text_files) | set(new.text_files)):
            a, b = old.text_files.get(name), new.text_files.get(name)
            if _without_header(a) != _without_header(b):
                kind = "added" if a is None else "removed" if b is None else "changed"
                changes.append(Change("files", name, kind))
    return changes


_HEADER = re.compile(r"^\W*(Generated by dvhpc from |change the spec and run `dvhpc compile ).*\n", re.M)


def _without_header(text: str | None) -> str | None:
    """Generated files name the spec they came from: not part of what the site means."""
    return None if text is None else _HEADER.sub("", text, count=2)
