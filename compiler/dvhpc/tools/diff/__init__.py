"""`dvhpc diff`: compare what two sites mean, not how they are written.

A side is a spec file (optionally `REV:path`, read from git), or a generated site folder. Both
are turned into a `View`: the generated files (compiled in memory for a spec) plus, for specs,
the typed model. Changes are grouped by area: profile settings, each rule's resources,
partitions, environment, paths, datasets, detection, settings.
"""

from __future__ import annotations

import difflib
import errno
import json
import math
import os
import re
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dvhpc.report.diagnostics import Diagnostic, Location, Report
from dvhpc.model import keys
from dvhpc.model.keys import Kind
from dvhpc.model.site import Site
from dvhpc.frontend.source import MAX_DEPTH, MAX_FILE_BYTES
from dvhpc.report.textsafe import markdown_code, printable
from dvhpc.output.writer import safe_member

AREAS = ("profile", "rules", "partitions", "environment", "paths", "datasets", "detect", "settings", "files")
# rule fields compared, in the order they are shown: (key in resources.yaml, raw sub-key or None)
_RAW = {Kind.MEMORY: ("mib", "MiB"), Kind.DURATION: ("minutes", "min")}  # resources.yaml's raw form of a unit
RULE_FIELDS = tuple((key.name, _RAW[key.kind][0] if key.kind in _RAW else None) for key in keys.KEYS)
UNIT = {key.name: _RAW[key.kind][1] for key in keys.KEYS if key.kind in _RAW}
_SHOWN_WHEN_ADDED = 8  # an added rule is summarised by its first fields: partition ... time
_VIA_ACCOUNT, _VIA_LIMITS, _VIA_SETTINGS = "via slurm.account", "via partition limits or restart_times", "via the site's settings"
_FIXED_VIA = {_VIA_ACCOUNT, _VIA_LIMITS, _VIA_SETTINGS}  # our words; any other `via` names a set or a layer


class DiffError(Exception):
    """A side that cannot be read (bad revision, no git, invalid spec, a broken generated folder):
    reported, exit 2. `diagnostic` is set when the problem has a place in a file (DV403)."""

    def __init__(self, message: str, diagnostic: Diagnostic | None = None):
        super().__init__(message)
        self.diagnostic = diagnostic


# The YAML files that diff reads as data; the others are compared as text.
PROFILE_YAML, RESOURCES_YAML, MANIFEST_JSON = "profile/config.v9+.yaml", "resources.yaml", "MANIFEST.json"
# A generated file larger than this is not one dvhpc wrote: its largest spec (5 MB) compiles to
# far less. Reading a folder is linear in its size (no aliases, see read_generated_yaml).
MAX_GENERATED_BYTES = 20 * MAX_FILE_BYTES


class View:
    """One side of a diff: its YAML files as data, the generated files as text (made only when
    asked for) and, for a spec, the typed model."""

    def __init__(self, label: str, data: dict[str, dict], *, site: Site | None = None,
                 files: dict[str, str] | None = None, make_files: Callable[[], dict[str, str]] | None = None,
                 make_text_files: Callable[[], dict[str, str]] | None = None):
        self.label, self.data, self.site = label, data, site
        self._files, self._make_files = files, make_files
        self._text_files, self._make_text_files = None, make_text_files

    @property
    def files(self) -> dict[str, str]:
        """Every generated file but the manifest (`--unified`)."""
        if self._files is None:
            self._files = self._make_files() if self._make_files else {}
        return self._files

    @property
    def text_files(self) -> dict[str, str]:
        """The files compared as text: all but the YAML files read as data."""
        if self._text_files is None:
            self._text_files = self._make_text_files() if self._make_text_files else \
                {name: text for name, text in self.files.items() if name not in (RESOURCES_YAML, PROFILE_YAML)}
        return self._text_files

    def yaml(self, name: str) -> dict:
        return self.data.get(name) or {}


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
    from dvhpc.build import generate, site_for_output
    from dvhpc.frontend.layers import SpecLoader
    from dvhpc.pipeline import check

    if os.path.isdir(side):
        return folder_view(Path(side))
    rev, _, path = side.partition(":") if _is_rev_spec(side) else ("", "", side)
    # a git side's files are named REV:path in its diagnostics: their snippets are that revision's text
    loader = SpecLoader(git_reader(rev), label=f"{rev}:") if rev else SpecLoader()
    if rev:
        _require_git_revision(rev)
    checked = check(path, loader)
    report.extend(checked.report)
    if not checked.ok:
        raise DiffError(f"{printable(side)}: the spec has errors")
    if checked.abstract:
        raise DiffError(f"{printable(side)}: an abstract layer compiles to nothing")
    out_root = Path("generated")
    site = site_for_output(checked, out_root)

    def files() -> dict[str, str]:
        return {name: f.content for name, f in generate(checked, out_root).items() if name != MANIFEST_JSON}

    return View(side, emitted_data(site), site=checked.site, make_files=files, make_text_files=lambda: text_files(site))


def text_files(site: Site) -> dict[str, str]:
    """The generated files that diff compares as text: every one but the YAML files it reads as
    data (rendering a 20,000-rule resources.yaml only to skip it took seconds) and the manifest."""
    from dvhpc.emit import emit_scripts, site_paths

    return {name: f.content for name, f in {**emit_scripts(site), **site_paths.files(site)}.items()}


def emitted_data(site: Site) -> dict[str, dict]:
    """The data of a site's generated YAML files as they read back from the text: compared
    without writing and parsing hundreds of thousands of lines."""
    from dvhpc.emit.profile import profile_data
    from dvhpc.emit.resources import resources_data

    return {PROFILE_YAML: _as_read_back(profile_data(site)), RESOURCES_YAML: _as_read_back(resources_data(site))}


def _as_read_back(value):
    """`value` as yamlout writes it and read_generated_yaml reads it: str keys, lists, plain scalars."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {k if type(k) is str else _key_text(k): _as_read_back(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_as_read_back(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):  # bool and int subclasses: written as the plain number or word
        return bool(value) if isinstance(value, bool) else int(value)
    return str(value)


def _key_text(key) -> str:
    from dvhpc.emit.yamlout import scalar

    return scalar(key) if key is None or isinstance(key, (bool, int, float)) else str(key)


# ------------------------------------------------------------------------------------ a generated folder

def folder_view(folder: Path) -> View:
    """A generated folder as a diff side. It is anybody's files, so it may be broken: every
    problem is a DiffError with a DV403 diagnostic at its file:line:col. Read are the files its
    MANIFEST.json lists (files that are not dvhpc's, which compile keeps, are no part of a site)."""
    listed = _manifest_files(folder)
    files: dict[str, str] = {}
    data: dict[str, dict] = {}
    for name in sorted(set(listed) | {RESOURCES_YAML, PROFILE_YAML}):
        raw = _read_member(folder, name)
        if raw is None:
            continue
        display = f"{folder}/{name}"
        if name in (RESOURCES_YAML, PROFILE_YAML):
            text = _utf8(raw, display)
            data[name] = read_generated_yaml(text, display)
            _check_shape(name, data[name], text, display)
        else:
            text = raw.decode("utf-8", errors="replace")
        if name != MANIFEST_JSON:
            files[name] = text
    if RESOURCES_YAML not in data:
        raise _broken(str(folder), 1, 1, f"not a dvhpc output folder (no {RESOURCES_YAML})")
    return View(str(folder), data, files=files)


def _broken(display: str, line: int, column: int, message: str) -> DiffError:
    location = Location(display, line, column)
    diagnostic = Diagnostic("DV403", printable(message), location,
                            hint="this is not what dvhpc writes: run `dvhpc compile` to write the folder again")
    return DiffError(f"{printable(location)}: {diagnostic.message}", diagnostic)


def _manifest_files(folder: Path) -> list[str]:
    """The generated files MANIFEST.json lists."""
    display = f"{folder}/{MANIFEST_JSON}"
    raw = _read_member(folder, MANIFEST_JSON)
    if raw is None:
        raise _broken(str(folder), 1, 1, f"not a dvhpc output folder (no {MANIFEST_JSON})")
    try:
        data = json.loads(_utf8(raw, display))
    except json.JSONDecodeError as exc:
        raise _broken(display, exc.lineno, exc.colno, f"{MANIFEST_JSON} is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise _broken(display, 1, 1, f"{MANIFEST_JSON} nests too deeply") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise _broken(display, 1, 1, f"{MANIFEST_JSON} has no \"files\" object of path: sha256 pairs")
    for name in files:
        if not name or "\x00" in name or os.path.isabs(name) or ".." in Path(name).parts:
            raise _broken(display, 1, 1, f"{MANIFEST_JSON} lists '{name}', which is not a path inside the folder")
    return list(files)


def _read_member(folder: Path, name: str) -> bytes | None:
    """The bytes of one generated file; None when it is missing. A folder, a link, a FIFO or a
    device in its place, or a file too large to be dvhpc's, is a DV403 error."""
    display = f"{folder}/{name}"
    path = safe_member(folder, name)
    if path is None:
        raise _broken(display, 1, 1, f"{name} is reached through a symlink; dvhpc writes no links")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _broken(display, 1, 1, f"{name} is a symlink; dvhpc writes a file there") from None
        if exc.errno == errno.ENOTDIR:
            return None
        raise _broken(display, 1, 1, f"{name} cannot be read: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise _broken(display, 1, 1, f"{name} is {kind}; dvhpc writes a file there")
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(MAX_GENERATED_BYTES + 1)
    if len(raw) > MAX_GENERATED_BYTES:
        raise _broken(display, 1, 1, f"{name} is larger than {MAX_GENERATED_BYTES // 2**20} MB; dvhpc writes no such file")
    return raw


def _utf8(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _broken(display, line, column, f"byte 0x{raw[exc.start]:02x} is not UTF-8 text") from None


# YAML 1.2 core schema for plain scalars (what yamlout writes: true/false, null, ints, floats)
_NULL = re.compile(r"~|null|Null|NULL|")
_INT = re.compile(r"[-+]?[0-9]{1,100}|0o[0-7]{1,100}|0x[0-9a-fA-F]{1,100}")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")


def _plain_scalar(text: str):
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text[0] in "tT"
    if _NULL.fullmatch(text):
        return None
    if _INT.fullmatch(text):
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
    if _FLOAT.fullmatch(text):
        lowered = text.lower()
        return float(lowered.replace(".", "")) if lowered.endswith((".inf", ".nan")) else float(text)
    return text


def read_generated_yaml(text: str, display: str) -> dict | list | str | int | float | bool | None:
    """One of dvhpc's own YAML files as data. dvhpc writes mappings, lists and scalars, never an
    anchor, an alias or a tag; refusing those, every node is read once, so the work is linear in
    the text (a 20,000-rule resources.yaml has ~700,000 nodes) and needs no node limit. Mapping
    keys are read as text. Errors are DiffError (DV403) at their line and column."""
    import _ruamel_yaml as c
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    parser = c.CParser(text)
    next_event = parser.get_event
    scalar_event, alias_event, mapping_start = c.ScalarEvent, c.AliasEvent, c.MappingStartEvent
    ends = (c.MappingEndEvent, c.SequenceEndEvent)

    def fail(event, message: str) -> DiffError:
        return _broken(display, event.start_mark.line + 1, event.start_mark.column + 1, message)

    def node(event, depth: int):
        kind = type(event)
        if kind is alias_event:
            raise fail(event, f"YAML alias '*{event.anchor}'; dvhpc writes none")
        if event.anchor is not None:
            raise fail(event, f"YAML anchor '&{event.anchor}'; dvhpc writes none")
        if event.tag not in (None, "!"):
            raise fail(event, f"YAML tag '{event.tag}'; dvhpc writes none")
        if kind is scalar_event:
            return _plain_scalar(event.value) if event.style == "" and event.implicit[0] else event.value
        if depth >= MAX_DEPTH:
            raise fail(event, f"nested deeper than {MAX_DEPTH} levels")
        end = ends[kind is not mapping_start]
        if kind is mapping_start:
            mapping: dict = {}
            key_event = next_event()
            while type(key_event) is not end:
                if type(key_event) is not scalar_event or key_event.anchor is not None or key_event.tag not in (None, "!"):
                    raise fail(key_event, "a mapping key that is not plain text; dvhpc writes none")
                if key_event.value in mapping:
                    raise fail(key_event, f"duplicate key '{key_event.value}'")
                mapping[key_event.value] = node(next_event(), depth + 1)
                key_event = next_event()
            return mapping
        items = []
        item_event = next_event()
        while type(item_event) is not end:
            items.append(node(item_event, depth + 1))
            item_event = next_event()
        return items

    try:
        next_event()  # stream start
        event = next_event()
        if type(event) is c.StreamEndEvent:
            return None
        data = node(next_event(), 0)
        next_event()  # document end
        if type(next_event()) is not c.StreamEndEvent:
            raise _broken(display, 1, 1, "more than one YAML document; dvhpc writes one")
        return data
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "syntax error").strip()
        raise _broken(display, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                      f"YAML syntax error: {problem}") from None
    except (YAMLError, ValueError) as exc:
        raise _broken(display, 1, 1, f"YAML syntax error: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None


# Where diff looks into a generated file: (path pattern, type). `*` is any key.
_SHAPES = {
    PROFILE_YAML: [((), dict)],
    RESOURCES_YAML: [((), dict), (("defaults",), dict), (("rules",), dict), (("rules", "*"), dict),
                     (("defaults", "attempts"), list), (("rules", "*", "attempts"), list),
                     (("defaults", "attempts", "*"), dict), (("rules", "*", "attempts", "*"), dict)],
}
_TYPE_NAMES = {dict: "a mapping", list: "a list"}


def _check_shape(name: str, data, text: str, display: str) -> None:
    """Raise DV403 where the data is not of the shape dvhpc writes (and diff relies on)."""
    for pattern, wanted in _SHAPES[name]:
        for path, value in _matching(data, pattern):
            if not isinstance(value, wanted):
                line, column = _locate(text, path)
                where = ".".join(map(str, path)) or "the document"
                raise _broken(display, line, column, f"{where} is {_describe(value)}; dvhpc writes {_TYPE_NAMES[wanted]}")


def _matching(data, pattern: tuple, path: tuple = ()):
    """(path, value) of every node whose path matches `pattern` (optional keys: absent is fine)."""
    if not pattern:
        yield path, data
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    else:
        children = [(head, data[head])] if isinstance(data, dict) and head in data else []
    for key, child in children:
        yield from _matching(child, rest, path + (key,))


def _describe(value) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(type(value), "a number")


def _locate(text: str, path: tuple) -> tuple[int, int]:
    """Line and column of the node at `path` (only on an error: a second walk over the events)."""
    import _ruamel_yaml as c

    parser = c.CParser(text)
    stack: list[list] = []  # per open collection: [is a mapping, current key or index, a key comes next]
    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is c.StreamEndEvent:
            return 1, 1
        if kind in (c.StreamStartEvent, c.DocumentStartEvent, c.DocumentEndEvent):
            continue
        if kind in (c.MappingEndEvent, c.SequenceEndEvent):
            stack.pop()
            _advance(stack)
            continue
        if stack and stack[-1][0] and stack[-1][2]:
            stack[-1][1], stack[-1][2] = event.value, False
            continue
        if tuple(frame[1] for frame in stack) == path:
            return event.start_mark.line + 1, event.start_mark.column + 1
        if kind is c.MappingStartEvent:
            stack.append([True, None, True])
        elif kind is c.SequenceStartEvent:
            stack.append([False, 0, False])
        else:
            _advance(stack)


def _advance(stack: list) -> None:
    if stack:
        if stack[-1][0]:
            stack[-1][2] = True
        else:
            stack[-1][1] += 1


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


def _via(site: Site | None, rule: str | None, key: str) -> str | None:
    """Where a rule's value came from, when not from the rule itself (rule None: the defaults)."""
    if site is None:
        return None
    res = site.defaults if rule is None else site.rules.get(rule)
    if res is None or key not in keys.BY_NAME:
        return None
    sourced = res.sourced(keys.BY_NAME[key])
    if sourced is None:
        return None
    label = sourced.origin.label
    return None if label.startswith("rule ") else f"via {label}"


def _compare_rule(name: str | None, old: dict, new: dict, new_site: Site | None, old_site: Site | None) -> Change | None:
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
            changes.append(Change("rules", _item(name), "added", unchanged=[(k, _human(k, new_rules[name].get(k)))
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


# ------------------------------------------------------------------------------------ rendering

def _same(text: str) -> str:
    return text


_COUNTS = re.compile(r"-?[0-9]+ → -?[0-9]+ [A-Za-z]+")  # "81920 → 122880 MiB": nothing to quote


def _field_text(f: FieldChange, quote: Callable[[str], str]) -> str:
    units = f.units if f.units is None or _COUNTS.fullmatch(f.units) else quote(f.units)
    via_text = f.via if f.via is None or f.via in _FIXED_VIA else f"via {quote(f.via.removeprefix('via '))}"
    via = (f" ({units})" if units else "") + (f" ({via_text})" if via_text else "")
    if f.old is None:
        return f"{f.key} {quote(f.new)}{via}"
    if f.new is None:
        return f"{f.key} {quote(f.old)} (removed){via}"
    return f"{f.key} {quote(f.old)} → {quote(f.new)}{via}"


def change_line(change: Change, quote: Callable[[str], str] = _same) -> str:
    """One change as a line; `quote` wraps every name and value that came from a spec or a folder
    (Markdown: a code span), never the words around them."""
    item = quote(change.item)
    if change.area == "rules":
        if change.kind == "removed":
            return f"{item}: removed"
        if change.kind == "added":
            return f"{item}: added (" + "; ".join(f"{k} {quote(v)}" for k, v in change.unchanged) + ")"
        parts = [_field_text(f, quote) for f in change.fields] + [f"{k} {quote(v)} (unchanged)" for k, v in change.unchanged]
        return f"{item}: " + "; ".join(parts)
    if change.area == "files":
        return f"{item}: {change.kind}"
    if change.area == "partitions" and change.kind == "changed":
        return f"{item}: " + "; ".join(_field_text(f, quote) for f in change.fields)
    f = change.fields[0]
    if change.kind == "added":
        return f"{item}: added ({quote(f.new)})"
    if change.kind == "removed":
        return f"{item}: removed (was {quote(f.old)})"
    return f"{item}: {quote(f.old)} → {quote(f.new)}"


def render_text(changes: list[Change], old: str, new: str) -> str:
    """For a terminal: each line's control and bidi characters escaped (a value cannot move the
    cursor, recolour the screen or start a line of its own)."""
    if not changes:
        return printable(f"no effective change between {old} and {new}") + "\n"
    out = [f"--- {old}", f"+++ {new}"]
    for area in AREAS:
        lines = [change_line(c) for c in changes if c.area == area]
        if lines:
            out.append(f"{area}:")
            out += [f"  {line}" for line in lines]
    return "\n".join(printable(line) for line in out) + "\n"


def render_markdown(changes: list[Change], old: str, new: str) -> str:
    """For a pull-request comment: every name and value is a code span, so none renders as an
    image, HTML, a link or an @mention, and none breaks the list."""
    if not changes:
        return f"**dvhpc diff**: no effective change between {markdown_code(old)} and {markdown_code(new)}.\n"
    out = [f"**dvhpc diff** {markdown_code(old)} → {markdown_code(new)}", ""]
    for area in AREAS:
        lines = [change_line(c, markdown_code) for c in changes if c.area == area]
        if lines:
            out += [f"### {area}", ""] + [f"- {line}" for line in lines] + [""]
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


def drift(site_dir: Path, files: dict, site: Site) -> list[str]:
    """For `compile --check`: what the stale folder means differently from the new output.
    A broken folder raises DiffError with a DV403 diagnostic."""
    if not os.path.lexists(site_dir / MANIFEST_JSON) and not os.path.lexists(site_dir / RESOURCES_YAML):
        return []  # never compiled
    old = folder_view(site_dir)
    new = View("new", emitted_data(site), site=site,
               files={name: f.content for name, f in files.items() if name != MANIFEST_JSON})
    return [printable(f"{c.area}: {change_line(c)}") for c in compare(old, new)]
