"""`dvhpc diff`: compare what two sites mean, not how they are written.

A side is a spec file (optionally `REV:path`, read from git), or a generated site folder. Both
are turned into a `View`: the generated files (compiled in memory for a spec) plus, for specs,
the typed model. Changes are grouped by area: profile settings, each rule's resources,
partitions, environment, paths, datasets, detection, settings.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dvhpc.diagnostics import Report
from dvhpc.model import Site
from dvhpc.resolve import DEFAULTS_NAME

AREAS = ("profile", "rules", "partitions", "environment", "paths", "datasets", "detect", "settings", "files")
# rule fields compared, in the order they are shown; (key in resources.yaml, raw sub-key or None)
RULE_FIELDS = (
    ("partition", None), ("account", None), ("qos", None), ("constraint", None), ("cpus", None),
    ("mem", "mib"), ("mem_per_cpu", "mib"), ("time", "minutes"), ("gpus", None), ("gpu_type", None),
    ("nodes", None), ("tasks", None), ("tasks_per_node", None), ("disk", "mib"), ("slurm_extra", None),
    ("retry", None),
)
UNIT = {"mem": "MiB", "mem_per_cpu": "MiB", "disk": "MiB", "time": "min"}


class DiffError(Exception):
    """A side that cannot be read (bad revision, no git, invalid spec): reported, exit 2."""


@dataclass
class View:
    label: str
    files: dict[str, str]
    site: Site | None = None

    def yaml(self, name: str) -> dict:
        """A generated YAML file as data; a folder side is anybody's files, so it may be broken."""
        from dvhpc.source import load_yaml

        text = self.files.get(name)
        if not text:
            return {}
        report = Report()
        doc = load_yaml(text, f"{self.label}/{name}", report)
        if doc is None:
            first = report.sorted()[0]
            raise DiffError(f"{first.location}: {first.message}")
        return doc.data if isinstance(doc.data, dict) else {}


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


# ------------------------------------------------------------------------------------ reading

def git_reader(rev: str):
    """A SpecLoader reader that takes files from git at `rev` (paths relative to the cwd)."""
    def read(path: Path) -> bytes:
        relative = os.path.normpath(str(path))
        if os.path.isabs(relative):
            relative = os.path.relpath(relative)
        try:
            proc = subprocess.run(["git", "show", f"{rev}:./{relative}"], capture_output=True, timeout=60)
        except FileNotFoundError:
            raise OSError(2, "git is not installed") from None
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OSError(2, message[-1].removeprefix("fatal: ") if message else f"not in git at {rev}")
        return proc.stdout
    return read


def view_of(side: str, report: Report) -> View:
    from dvhpc.build import generate
    from dvhpc.layers import SpecLoader
    from dvhpc.pipeline import check

    if os.path.isdir(side):
        folder = Path(side)
        files = {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8", errors="replace")
                 for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}
        if "resources.yaml" not in files:
            raise DiffError(f"{side}: not a dvhpc output folder (no resources.yaml)")
        return View(side, files)
    rev, _, path = side.partition(":") if _is_rev_spec(side) else ("", "", side)
    loader = SpecLoader(git_reader(rev)) if rev else SpecLoader()
    if rev:
        _require_git_revision(rev)
    checked = check(path, loader)
    report.extend(checked.report)
    if not checked.ok:
        raise DiffError(f"{side}: the spec has errors")
    if checked.abstract:
        raise DiffError(f"{side}: an abstract layer compiles to nothing")
    files = generate(checked, Path("generated"))
    return View(side, {name: f.content for name, f in files.items() if name != "MANIFEST.json"}, checked.site)


def _is_rev_spec(side: str) -> bool:
    head, sep, _ = side.partition(":")
    if not sep or not head or os.path.exists(side):
        return False
    if "/" not in head.rstrip("~^0123456789"):
        return True
    try:  # `release/v1:sites/x.yaml`: a revision only if git knows it
        return subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{head}^{{commit}}"],
                              capture_output=True, timeout=60).returncode == 0
    except FileNotFoundError:
        return False


def _require_git_revision(rev: str) -> None:
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], capture_output=True,
                              timeout=60)
    except FileNotFoundError:
        raise DiffError("git is not installed, so a REV:path side cannot be read") from None
    if proc.returncode != 0:
        raise DiffError(f"'{rev}' is not a git revision here (or this is not a git repository)")


# ------------------------------------------------------------------------------------ comparing

def _human(key: str, value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict) and "human" in value:
        return str(value["human"])
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    return str(value)


def _raw(key: str, sub: str | None, value):
    return value.get(sub) if sub and isinstance(value, dict) else value


def _via(site: Site | None, rule: str, key: str) -> str | None:
    if site is None:
        return None
    res = site.defaults if rule == DEFAULTS_NAME else site.rules.get(rule)
    if res is None:
        return None
    sourced = res.values.get(key)
    if key == "account" and sourced is None:
        return "via slurm.account"
    if sourced is None:
        return None
    label = sourced.origin.label
    return None if label.startswith("rule ") else f"via {label}"


def _compare_rule(name: str, old: dict, new: dict, new_site: Site | None, old_site: Site | None) -> Change | None:
    change = Change("rules", _item(name), "changed")
    for key, sub in RULE_FIELDS:
        a, b = old.get(key), new.get(key)
        if _raw(key, sub, a) == _raw(key, sub, b) and _human(key, a) == _human(key, b):
            continue
        old_text, new_text = _human(key, a), _human(key, b)
        raw = f"{_raw(key, sub, a)} → {_raw(key, sub, b)} {UNIT[key]}" if sub and a is not None and b is not None else None
        via = _via(new_site, name, key) or _via(old_site, name, key)
        change.fields.append(FieldChange(key, old_text, new_text, via, raw))
    if not change.fields:
        old_attempts, new_attempts = _attempts_text(old.get("attempts")), _attempts_text(new.get("attempts"))
        if old_attempts != new_attempts:
            change.fields.append(FieldChange("attempts", old_attempts, new_attempts,
                                             "via partition limits or restart_times"))
        elif _sbatch_text(old) != _sbatch_text(new):
            change.fields.append(FieldChange("sbatch", _sbatch_text(old), _sbatch_text(new), "via the site's settings"))
    if not change.fields:
        return None
    if "partition" not in [f.key for f in change.fields] and new.get("partition"):
        change.unchanged.append(("partition", str(new.get("partition"))))
    return change


def _item(name: str) -> str:
    return "defaults" if name == DEFAULTS_NAME else name


def _sbatch_text(rule: dict) -> str | None:
    return rule.get("sbatch") or " | ".join(a["sbatch"] for a in rule.get("attempts") or ())


def _attempts_text(attempts) -> str:
    if not attempts:
        return "(no retries)"
    return "; ".join(f"{a['attempt']}: {a.get('minutes')} min, {a.get('mem_mib', a.get('mem_per_cpu_mib'))} MiB"
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
            change.fields = [FieldChange(k, _human(k, a.get(k)), _human(k, b.get(k))) for k in sorted(set(a) | set(b))
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
                              "overlays": [t.text for t in container.overlays], "binds": [t.text for t in container.binds],
                              "gpu": container.gpu, "conda": container.conda.text if container.conda else None,
                              "pass_env": list(container.pass_env)}} if container else {}),
        },
        "paths": {f"{name}.{ctx}": getattr(entry, ctx).text for name, entry in site.paths.items() for ctx in ("cluster", "local")},
        "datasets": {**({"root": site.datasets_root.text} if site.datasets_root else {}),
                     **{f"mounted.{d.name}": {"path": d.path.text, "subsets": d.subsets} for d in site.datasets.values()}},
        "detect": {**{f"env.{k}": v for k, v in site.detect.env.items()}, "hostnames": list(site.detect.hostnames)},
        "settings": {name: {"cluster": s.cluster, "local": s.local} for name, s in site.settings.items()},
    }


def compare(old: View, new: View) -> list[Change]:
    changes: list[Change] = []
    old_profile = {k: v for k, v in old.yaml("profile/config.v9+.yaml").items()
                   if k not in ("default-resources", "set-resources", "set-threads")}
    new_profile = {k: v for k, v in new.yaml("profile/config.v9+.yaml").items()
                   if k not in ("default-resources", "set-resources", "set-threads")}
    changes += _mapping_changes("profile", old_profile, new_profile)
    old_res, new_res = old.yaml("resources.yaml"), new.yaml("resources.yaml")
    old_rules = {DEFAULTS_NAME: old_res.get("defaults", {}), **old_res.get("rules", {})}
    new_rules = {DEFAULTS_NAME: new_res.get("defaults", {}), **new_res.get("rules", {})}
    for name in sorted(set(old_rules) | set(new_rules), key=lambda n: (n != DEFAULTS_NAME, n)):
        if name not in new_rules:
            changes.append(Change("rules", _item(name), "removed"))
        elif name not in old_rules:
            changes.append(Change("rules", _item(name), "added", unchanged=[(k, _human(k, new_rules[name].get(k)))
                                                                     for k, _ in RULE_FIELDS[:8] if k in new_rules[name]]))
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
        for name in sorted(set(old.files) | set(new.files)):
            if name in ("resources.yaml", "profile/config.v9+.yaml", "MANIFEST.json"):
                continue
            a, b = old.files.get(name), new.files.get(name)
            if _without_header(a) != _without_header(b):
                kind = "added" if a is None else "removed" if b is None else "changed"
                changes.append(Change("files", name, kind))
    return changes


_HEADER = re.compile(r"^\W*(Generated by dvhpc from |change the spec and run `dvhpc compile ).*\n", re.M)


def _without_header(text: str | None) -> str | None:
    """Generated files name the spec they came from: not part of what the site means."""
    return None if text is None else _HEADER.sub("", text, count=2)


# ------------------------------------------------------------------------------------ rendering

def _field_text(f: FieldChange) -> str:
    via = (f" ({f.units})" if f.units else "") + (f" ({f.via})" if f.via else "")
    if f.old is None:
        return f"{f.key} {f.new}{via}"
    if f.new is None:
        return f"{f.key} {f.old} (removed){via}"
    return f"{f.key} {f.old} → {f.new}{via}"


def change_line(change: Change) -> str:
    if change.area == "rules":
        if change.kind == "removed":
            return f"{change.item}: removed"
        if change.kind == "added":
            return f"{change.item}: added (" + "; ".join(f"{k} {v}" for k, v in change.unchanged) + ")"
        parts = [_field_text(f) for f in change.fields] + [f"{k} {v} (unchanged)" for k, v in change.unchanged]
        return f"{change.item}: " + "; ".join(parts)
    if change.area == "files":
        return f"{change.item}: {change.kind}"
    if change.area == "partitions" and change.kind == "changed":
        return f"{change.item}: " + "; ".join(_field_text(f) for f in change.fields)
    f = change.fields[0]
    if change.kind == "added":
        return f"{change.item}: added ({f.new})"
    if change.kind == "removed":
        return f"{change.item}: removed (was {f.old})"
    return f"{change.item}: {f.old} → {f.new}"


def render_text(changes: list[Change], old: str, new: str) -> str:
    if not changes:
        return f"no effective change between {old} and {new}\n"
    out = [f"--- {old}", f"+++ {new}"]
    for area in AREAS:
        lines = [change_line(c) for c in changes if c.area == area]
        if lines:
            out.append(f"{area}:")
            out += [f"  {line}" for line in lines]
    return "\n".join(out) + "\n"


def render_markdown(changes: list[Change], old: str, new: str) -> str:
    if not changes:
        return f"**dvhpc diff**: no effective change between `{old}` and `{new}`.\n"
    out = [f"**dvhpc diff** `{old}` → `{new}`", ""]
    for area in AREAS:
        lines = [change_line(c) for c in changes if c.area == area]
        if lines:
            out += [f"### {area}", ""] + [f"- `{line.split(':', 1)[0]}`:{line.split(':', 1)[1]}" for line in lines] + [""]
    return "\n".join(out)


def as_json(changes: list[Change], old: str, new: str) -> str:
    return json.dumps({
        "old": old, "new": new, "changed": bool(changes),
        "changes": [{"area": c.area, "item": c.item, "kind": c.kind,
                     "fields": [{"key": f.key, "old": f.old, "new": f.new, "via": f.via} for f in c.fields],
                     "unchanged": [{"key": k, "value": v} for k, v in c.unchanged]} for c in changes],
    }, indent=2)


def unified(old: View, new: View) -> str:
    out = []
    for name in sorted(set(old.files) | set(new.files)):
        a = old.files.get(name, "").splitlines(keepends=True)
        b = new.files.get(name, "").splitlines(keepends=True)
        out += difflib.unified_diff(a, b, f"a/{name}", f"b/{name}")
    return "".join(out)


def diff_sides(old: str, new: str, report: Report) -> tuple[View, View, list[Change]]:
    old_view, new_view = view_of(old, report), view_of(new, report)
    return old_view, new_view, compare(old_view, new_view)


def drift(site_dir: Path, files: dict, site: Site | None = None) -> list[str]:
    """For `compile --check`: what the stale folder means differently from the new output."""
    if not (site_dir / "resources.yaml").is_file():
        return []
    old = view_of(str(site_dir), Report())
    new = View("new", {name: f.content for name, f in files.items()}, site)
    return [f"{c.area}: {change_line(c)}" for c in compare(old, new)]

