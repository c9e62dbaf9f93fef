"""Deterministic generator of valid, varied dvhpc site specs for the benchmark (stdlib only).

Everything is drawn from `random.Random(seed)`, so the same arguments always give the same
bytes. Generated specs are meant to be lint-clean: every request fits its partition (also
after retries), every set is used, paths are absolute on the cluster, `detect` has entries.
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path

SEED = 20240609

_GPU_TYPES = ("a100", "h100", "h200", "v100", "l40s", "rtx8000")
_VERBS = ("train", "test", "eval", "plot", "build", "preprocess", "align", "call", "merge", "sort", "index",
          "download", "fit", "score", "export", "render", "cluster", "filter", "count", "annotate")
_NOUNS = ("model", "dataset", "results", "reads", "variants", "features", "report", "figure", "genome",
          "embeddings", "checkpoints", "metrics", "tiles", "samples")
_PART_NAMES = ("cpu", "gpu", "short", "long", "bigmem", "debug", "preempt", "interactive", "highmem", "express",
               "a100", "h100", "batch", "compute", "fat", "quick", "week", "month", "shared", "scavenger")
_MODULES = ("anaconda3/2025.06", "cuda/12.4", "gcc/13.2.0", "openmpi/4.1.6", "python/3.11.7", "singularity/4.1")
_OPTIONS = (("rerun-triggers", ["mtime"]), ("show-failed-logs", True), ("max-jobs-per-second", 10),
            ("scheduler", "greedy"), ("local-cores", 2), ("seconds-between-status-checks", 30),
            ("max-status-checks-per-second", 1), ("conda-frontend", "mamba"))


# ----------------------------------------------------------------------------------- units

def fmt_mem(rng: random.Random, mib: int) -> str:
    """A memory amount (whole MiB) written in one of the accepted binary forms, exactly."""
    forms = [f"{mib}M", f"{mib}MiB"]
    if mib % 1024 == 0:
        gib = mib // 1024
        forms += [f"{gib}G", f"{gib}G", f"{gib}GiB", f"{gib}Gi"]
        if gib % 1024 == 0:
            forms.append(f"{gib // 1024}T")
        elif gib % 512 == 0 and gib >= 512:
            forms.append(f"{gib / 1024:g}T")
    return rng.choice(forms)


def fmt_time(rng: random.Random, minutes: int) -> str:
    """A duration (whole minutes) in one of the accepted compact or SLURM forms, exactly."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    forms = [f"{minutes}min", f"{minutes}m", f"{hours + 24 * days:02d}:{mins:02d}:00", f"{minutes * 60}s"]
    compact = "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n)
    forms += [compact, compact]
    if mins == 0:
        forms.append(f"{hours + 24 * days}h")
        if days:
            forms.append(f"{days}-{hours:02d}")
    if minutes % 30 == 0 and minutes % 60 and minutes < 600:
        forms.append(f"{minutes / 60:g}h")
    forms.append(f"{days}-{hours:02d}:{mins:02d}:00")
    return rng.choice(forms)


# ----------------------------------------------------------------------------------- specs

def _partitions(rng: random.Random, count: int) -> dict[str, dict]:
    """Partition limits as numbers: {name: {cpus, mem_mib, minutes, nodes, gpus}}; the first is the default."""
    names = list(_PART_NAMES)
    rng.shuffle(names)
    parts: dict[str, dict] = {}
    for index in range(count):
        name = names[index] if index < len(names) else f"{names[index % len(names)]}{index}"
        has_gpus = index > 0 and rng.random() < 0.35
        gpus = {}
        if has_gpus:
            for gpu_type in rng.sample(_GPU_TYPES, rng.choice((1, 1, 2))):
                gpus[gpu_type] = rng.choice((2, 4, 4, 8))
        parts[name] = {
            "cpus": rng.choice((16, 32, 48, 64, 96, 128)),
            "mem_mib": rng.choice((64, 96, 180, 192, 256, 360, 512, 1024, 2048)) * 1024,
            "minutes": rng.choice((4 * 60, 12 * 60, 1440, 2 * 1440, 5 * 1440, 7 * 1440)),
            "nodes": rng.randint(1, 500),
            "gpus": gpus,
        }
    return parts


def _partition_spec(rng: random.Random, part: dict, default: bool) -> dict:
    spec: dict = {}
    if default:
        spec["default"] = True
    spec["max_time"] = fmt_time(rng, part["minutes"])
    spec["cpus"] = part["cpus"]
    spec["mem"] = fmt_mem(rng, part["mem_mib"])
    if rng.random() < 0.7:
        spec["nodes"] = part["nodes"]
    if part["gpus"]:
        spec["gpus"] = dict(part["gpus"])
    if rng.random() < 0.2:
        spec["description"] = rng.choice(("for short jobs", "GPU nodes", "large memory", "the default queue"))
    return spec


def _request(rng: random.Random, pname: str, part: dict, *, retry_room: bool = True) -> dict:
    """A request that fits `part` with room for two doublings (so retries are never capped)."""
    req: dict = {"partition": pname}
    tpn = rng.choice((1, 1, 1, 1, 2, 4))
    cpus = rng.randint(1, max(1, part["cpus"] // (tpn * 2)))
    req["cpus"] = cpus
    if tpn > 1:
        req["tasks_per_node"] = tpn
    room = 8 if retry_room else 2
    if rng.random() < 0.15:
        per_cpu = max(256, (part["mem_mib"] // (room * cpus * tpn)) // 256 * 256)
        req["mem_per_cpu"] = fmt_mem(rng, rng.randrange(256, per_cpu + 1, 256))
    else:
        top = max(1024, part["mem_mib"] // room)
        req["mem"] = fmt_mem(rng, rng.randrange(512, top + 1, 512))
    req["time"] = fmt_time(rng, rng.randrange(10, max(11, part["minutes"] // room), 5))
    if part["gpus"] and rng.random() < 0.8:
        gpu_type = rng.choice(sorted(part["gpus"]))
        req["gpus"] = rng.randint(1, part["gpus"][gpu_type])
        if rng.random() < 0.7:
            req["gpu_type"] = gpu_type
        else:
            req["gpus"] = 1
    if rng.random() < 0.15:
        req["disk"] = fmt_mem(rng, rng.choice((10, 50, 100, 400)) * 1024)
    if rng.random() < 0.08:
        req["nodes"] = rng.randint(1, min(4, part["nodes"]))
    if rng.random() < 0.08:
        req["slurm_extra"] = rng.choice((["--exclusive"], ["--mail-type=END"], ["--exclusive", "--requeue"]))
    if rng.random() < 0.05:
        req["qos"] = rng.choice(("normal", "high", "long"))
    if rng.random() < 0.05:
        req["constraint"] = rng.choice(("avx512", "ib&avx2", "[rack1|rack2]"))
    return req


def _rule_names(rng: random.Random, count: int) -> list[str]:
    names, seen = [], set()
    while len(names) < count:
        name = f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}"
        if name in seen:
            name = f"{name}_{len(names)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _slurm(rng: random.Random, parts: dict, default: str) -> dict:
    slurm: dict = {"account": rng.choice(("mylab", "lab_ai", "proj-123", "bio.core"))}
    if rng.random() < 0.2:
        slurm["accounting"] = False
    if rng.random() < 0.4:
        slurm["gpu_flag"] = rng.choice(("gpus", "gres", "gpus-per-node"))
    slurm["partitions"] = {p: _partition_spec(rng, parts[p], p == default) for p in parts}
    return slurm


def _snakemake(rng: random.Random, restart: int) -> dict:
    snake: dict = {"executor": "cluster-generic" if rng.random() < 0.1 else "slurm",
                   "jobs": rng.choice((50, 100, 200, 500, "unlimited")),
                   "latency_wait": rng.choice(("60s", "90s", "2min", "5m")),
                   "restart_times": restart}
    for key in ("keep_going", "rerun_incomplete", "printshellcmds"):
        if rng.random() < 0.6:
            snake[key] = rng.random() < 0.8
    if rng.random() < 0.5:
        snake["logdir"] = rng.choice(("logs/slurm", "${SCRATCH}/logs/slurm", "~/slurm-logs"))
    if rng.random() < 0.3:
        snake["resources"] = {"disk": rng.choice(("300G", "1T")), "downloads": rng.randint(1, 8)}
    if rng.random() < 0.5:
        snake["options"] = dict(rng.sample(_OPTIONS, rng.randint(1, 3)))
    return snake


def _resources(rng: random.Random, parts: dict, default: str, *, rules: int, sets: int | None) -> dict:
    pnames = list(parts)
    # defaults fit every partition (every partition has >= 16 cpus, >= 64G, >= 4h)
    defaults = {"partition": default, "cpus": rng.randint(1, 4), "mem": fmt_mem(rng, rng.choice((2, 4, 6, 8)) * 1024),
                "time": fmt_time(rng, rng.choice((15, 30, 60, 90, 120)))}
    set_count = sets if sets is not None else min(rules, rng.randint(0, 6))
    set_count = min(set_count, rules)
    base_sets = {}
    for index in range(set_count):
        pname = rng.choice(pnames)
        base_sets[f"set_{rng.choice(_NOUNS)}_{index}"] = _request(rng, pname, parts[pname])
    modifiers = {}
    if rng.random() < 0.5:
        modifiers["retryable"] = {"retry": {"mem": rng.choice(("1.5x", "2x")), "time": rng.choice(("1.5x", "2x"))}}
    if rng.random() < 0.3:
        modifiers["exclusive"] = {"slurm_extra": ["--exclusive"]}
    rule_map: dict = {}
    set_names = list(base_sets)
    for index, rname in enumerate(_rule_names(rng, rules)):
        roll = rng.random()
        if index < len(set_names):  # every set is used at least once
            chosen = set_names[index]
            rule_map[rname] = chosen if roll < 0.5 else \
                {"use": chosen, "time": fmt_time(rng, 10 + 5 * rng.randint(0, 10))}
        elif set_names and roll < 0.25:
            rule_map[rname] = rng.choice(set_names)
        elif set_names and modifiers and roll < 0.4:
            rule_map[rname] = {"use": [rng.choice(set_names), rng.choice(sorted(modifiers))]}
        elif set_names and roll < 0.5:
            rule_map[rname] = {"use": rng.choice(set_names), "cpus": 1, "mem": fmt_mem(rng, 1024)}
        else:
            pname = rng.choice(pnames)
            req = _request(rng, pname, parts[pname])
            if rng.random() < 0.2:
                req["retry"] = {"mem": rng.choice(("1.5x", "2x"))}
            rule_map[rname] = req
    # modifiers are sets too: drop the ones no rule uses
    used = {u for r in rule_map.values() if isinstance(r, dict)
            for u in (r["use"] if isinstance(r.get("use"), list) else [])}
    all_sets = {**base_sets, **{k: v for k, v in modifiers.items() if k in used}}
    resources: dict = {"defaults": defaults}
    if all_sets:
        resources["sets"] = all_sets
    resources["rules"] = rule_map
    return resources


def _environment(rng: random.Random) -> dict:
    env: dict = {}
    if rng.random() < 0.7:
        env["modules"] = {"purge": rng.random() < 0.5, "load": rng.sample(_MODULES, rng.randint(1, 3))}
    if rng.random() < 0.5:
        env["conda"] = rng.choice(("snake-env", "${HOME}/envs/snake"))
    elif rng.random() < 0.5:
        env["venv"] = "${HOME}/venvs/snake"
    if rng.random() < 0.5:
        env["variables"] = {"WANDB_DIR": "${SCRATCH}/wandb", "OMP_NUM_THREADS": "1"}
    if rng.random() < 0.15:
        env["container"] = {"engine": rng.choice(("apptainer", "singularity")), "image": "/images/cuda12.sif",
                            "binds": ["/datasets"], "gpu": True}
    return env


def site_data(seed: int, name: str, *, rules: int, partitions: int, sets: int | None = None,
              extends: list[str] | None = None, rich: bool = True) -> dict:
    """One valid site spec as plain data (insertion-ordered like a hand-written file)."""
    rng = random.Random(f"{seed}:{name}")
    parts = _partitions(rng, partitions)
    pnames = list(parts)
    default = pnames[0]
    data: dict = {"dvhpc": 1, "site": name, "description": f"Generated site {name} ({rules} rules)"}
    if extends:
        data["extends"] = extends if len(extends) > 1 or rng.random() < 0.5 else extends[0]
    data["detect"] = {"env": {"SLURM_CLUSTER_NAME": name}}
    if rng.random() < 0.6:
        data["detect"]["hostnames"] = [f"login*.{name}.example.org", f"{name}-node*"]
    data["slurm"] = _slurm(rng, parts, default)

    restart = rng.choice((0, 1, 1, 2))
    if rich or rng.random() < 0.5:
        data["snakemake"] = _snakemake(rng, restart)

    data["resources"] = _resources(rng, parts, default, rules=rules, sets=sets)

    env = _environment(rng)
    if rich and env:
        data["environment"] = env

    paths = {"working_dir": {"cluster": "${HOME}/work", "local": "~/work"},
             "data": {"cluster": f"/scratch/${{USER}}/{name}/data", "local": "{working_dir}/data"}}
    if rng.random() < 0.5:
        paths["models"] = {"cluster": "/scratch/${USER}/models", "local": "{working_dir}/models"}
    data["paths"] = paths
    if rng.random() < 0.4:
        data["datasets"] = {"root": "{data}/raw",
                            "mounted": {"imagenet": {"path": "/imagenet", "subsets": {"test": "val"}},
                                        "cifar100": "/datasets/cifar100"}}
    if rng.random() < 0.6:
        data["settings"] = {"batch_size": {"cluster": rng.choice((64, 128, 256)), "local": 4},
                            "progress_bar": {"cluster": False, "local": True}}
    return data


def first_rules(data: dict, count: int) -> dict:
    """The same site with only its first `count` rules (and the sets they still use): growth inputs
    that differ in nothing but the number of rules."""
    new = copy.deepcopy(data)
    resources = new["resources"]
    resources["rules"] = dict(list(resources["rules"].items())[:count])
    used = set()
    for rule in resources["rules"].values():
        use = rule if isinstance(rule, str) else rule.get("use", [])
        used.update([use] if isinstance(use, str) else use)
    if "sets" in resources:
        resources["sets"] = {k: v for k, v in resources["sets"].items() if k in used}
        if not resources["sets"]:
            del resources["sets"]
    new["description"] = f"Generated site {new['site']} ({count} rules)"
    return new


def base_layers() -> dict[str, dict]:
    """Abstract layers shared by many specs (file name -> data); `team.yaml` extends `lab.yaml`."""
    return {
        "lab.yaml": {"dvhpc": 1, "abstract": True, "description": "Lab-wide defaults",
                     "snakemake": {"executor": "slurm", "jobs": 50, "restart_times": 0, "latency_wait": "60s",
                                   "printshellcmds": True, "options": {"show-failed-logs": True}},
                     "resources": {"defaults": {"cpus": 1, "mem": "4G", "time": "30min"}},
                     "environment": {"require": {"python": ">=3.11", "snakemake": ">=9.19", "plugins": ["slurm"]}},
                     "settings": {"num_workers": {"cluster": 8, "local": 2}}},
        "team.yaml": {"dvhpc": 1, "abstract": True, "extends": "lab.yaml", "description": "Team layer",
                      "environment": {"modules": {"purge": True, "load": ["anaconda3/2025.06"]}, "conda": "team-env"},
                      "snakemake": {"keep_going": True, "rerun_incomplete": True}},
        "gpu.yaml": {"dvhpc": 1, "abstract": True, "description": "GPU defaults",
                     "environment": {"variables": {"NCCL_DEBUG": "WARN"}},
                     "settings": {"precision": {"cluster": "bf16", "local": "fp32"}}},
        "ci.yaml": {"dvhpc": 1, "abstract": True, "description": "CI knobs",
                    "snakemake": {"jobs": 20, "latency_wait": "30s"}},
    }


_EXTENDS_CHOICES = ([], [], [], ["base/lab.yaml"], ["base/team.yaml"], ["base/team.yaml"],
                    ["base/lab.yaml", "base/gpu.yaml"], ["base/team.yaml", "base/ci.yaml"])


def write_corpus(folder: Path, count: int, seed: int = SEED) -> list[Path]:
    """`count` varied specs in `folder` (about 10 % TOML), bases in `folder/base/`; returns the specs."""
    rng = random.Random(seed)
    (folder / "base").mkdir(parents=True, exist_ok=True)
    for name, data in base_layers().items():
        (folder / "base" / name).write_text(to_yaml(data), encoding="utf-8")
    written = []
    for index in range(count):
        name = f"site{index:04d}"
        extends = rng.choice(_EXTENDS_CHOICES)
        data = site_data(seed, name, rules=rng.choice((2, 5, 8, 12, 20, 40)), partitions=rng.randint(1, 8),
                         extends=extends or None, rich=not extends)
        if rng.random() < 0.1:
            path = folder / f"{name}.toml"
            path.write_text(to_toml(data), encoding="utf-8")
        else:
            path = folder / f"{name}.yaml"
            path.write_text(to_yaml(data, header=f"site spec {index} (generated)"), encoding="utf-8")
        written.append(path)
    return written


def mutate(data: dict) -> dict:
    """A changed copy for `dvhpc diff`: ~10 % of rules changed, some removed and added, a limit and a setting."""
    new = copy.deepcopy(data)
    rules = new["resources"]["rules"]
    names = list(rules)
    step = max(1, len(names) // 20)
    for name in names[::step]:
        rule = rules[name]
        if isinstance(rule, dict) and "time" in rule and "use" not in rule:
            rule["time"] = "15min"
        elif isinstance(rule, dict) and "cpus" in rule:
            rule["cpus"] = 1
    for name in names[1::max(2, step * 2)]:
        del rules[name]
    for index in range(max(1, len(names) // 50)):
        rules[f"new_rule_{index}"] = {"cpus": 1, "mem": "1G", "time": "10min"}
    first = next(iter(new["slurm"]["partitions"].values()))
    first["nodes"] = first.get("nodes", 1) + 1
    new.setdefault("snakemake", {})["jobs"] = 321
    return new


def self_contained(spec: Path) -> dict:
    """The spec with its `extends` chain merged in (mappings merged, lists replaced, later wins)."""
    from ruamel.yaml import YAML

    def load(path: Path) -> dict:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}

    def merge(base: dict, top: dict) -> dict:
        out = dict(base)
        for key, value in top.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out

    def layered(path: Path) -> dict:
        data = load(path)
        extends = data.get("extends") or []
        merged: dict = {}
        for entry in [extends] if isinstance(extends, str) else extends:
            merged = merge(merged, layered(path.parent / entry))
        own = {k: v for k, v in data.items() if k not in ("extends", "abstract")}
        return merge(merged, own)

    return layered(spec)


# ----------------------------------------------------------------------------------- emitters

_PLAIN = re.compile(r"^[A-Za-z_/~][A-Za-z0-9_./@+~-]*$|^[0-9][A-Za-z0-9_.]*[A-Za-z][A-Za-z0-9_.]*$")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}
_NUMBERISH = re.compile(r"^[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)$", re.I)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _SPECIAL and not _NUMBERISH.match(text):
        return text
    return json.dumps(text)


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _key(key) -> str:
    text = str(key)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", text) and text.lower() not in _SPECIAL
    return text if plain else json.dumps(text)


def _flat(value) -> bool:
    """Short enough for one flow-style line."""
    return len(_flow(value)) <= 110


def to_yaml(data: dict, header: str | None = None) -> str:
    lines = ["# yaml-language-server: $schema=../schema/site.schema.json"]
    if header:
        lines.append(f"# {header}")

    def block(mapping: dict, indent: int, depth: int) -> None:
        pad = "  " * indent
        for key, value in mapping.items():
            if isinstance(value, dict) and value and (depth < 1 or not _flat(value)):
                lines.append(f"{pad}{_key(key)}:")
                block(value, indent + 1, depth + 1)
            else:
                lines.append(f"{pad}{_key(key)}: {_flow(value)}")

    block(data, 0, 0)
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def _toml_key(key) -> str:
    return str(key) if re.fullmatch(r"[A-Za-z0-9_-]+", str(key)) else json.dumps(str(key))


def to_toml(data: dict) -> str:
    """TOML: scalars first, then one [table] per mapping; mappings of scalars/small maps inline."""
    lines: list[str] = ["# generated site spec (TOML)"]

    def table(mapping: dict, prefix: tuple[str, ...]) -> None:
        nested = []
        for key, value in mapping.items():
            if isinstance(value, dict) and value and (
                    len(prefix) < 1 or any(isinstance(v, dict) for v in value.values()) and len(prefix) < 2):
                nested.append((key, value))
            else:
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        for key, value in nested:
            path = (*prefix, _toml_key(key))
            lines.append("")
            lines.append(f"[{'.'.join(path)}]")
            table(value, path)

    table(data, ())
    return "\n".join(lines) + "\n"
