"""Reading back a generated site folder: dvhpc's own YAML files and MANIFEST.json, the read side
of the writer (`dvhpc diff` and `compile --check` compare what a folder means).

A folder is anybody's files, so it may be broken: every problem is a `BrokenOutput` carrying a
DV403 diagnostic at its file:line:col.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dvhpc.emit.profile import PROFILE as PROFILE_YAML  # the key the profile's data is read under
from dvhpc.emit.profile import PROFILES as PROFILE_YAMLS  # every name the profile file has
from dvhpc.emit.resources import RESOURCES as RESOURCES_YAML
from dvhpc.frontend.source import MAX_DEPTH, MAX_FILE_BYTES
from dvhpc.frontend.yaml_compose import plain_value
from dvhpc.output.writer import MANIFEST as MANIFEST_JSON
from dvhpc.output.writer import safe_member
from dvhpc.report.diagnostics import Diagnostic, Location
from dvhpc.report.textsafe import printable

__all__ = ["MANIFEST_JSON", "MAX_GENERATED_BYTES", "PROFILE_YAML", "PROFILE_YAMLS", "RESOURCES_YAML", "BrokenOutput",
           "read_folder", "read_generated_yaml"]

# A generated file larger than this is not one dvhpc wrote: its largest spec (5 MB) compiles to
# far less. Reading a folder is linear in its size (no aliases, see read_generated_yaml).
MAX_GENERATED_BYTES = 20 * MAX_FILE_BYTES


class BrokenOutput(Exception):
    """A generated folder that is not what dvhpc writes: `diagnostic` is its DV403 at file:line:col."""

    def __init__(self, message: str, diagnostic: Diagnostic):
        super().__init__(message)
        self.diagnostic = diagnostic


def read_folder(folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The data of a folder's YAML files read as data, and its other files as text (the manifest
    left out). Read are the files its MANIFEST.json lists (files that are not dvhpc's, which
    compile keeps, are no part of a site)."""
    listed = _manifest_files(folder)
    files: dict[str, str] = {}
    data: dict[str, Any] = {}
    profiles = [name for name in PROFILE_YAMLS if name in listed] or PROFILE_YAMLS  # the manifest's, if it names one
    for name in sorted(set(listed) | {RESOURCES_YAML, *profiles}):
        raw = _read_member(folder, name)
        if raw is None:
            continue
        display = f"{folder}/{name}"
        if name in (RESOURCES_YAML, *PROFILE_YAMLS):
            text = _utf8(raw, display)
            key = PROFILE_YAML if name in PROFILE_YAMLS else name
            data[key] = read_generated_yaml(text, display)
            _check_shape(key, data[key], text, display)
        else:
            text = raw.decode("utf-8", errors="replace")
        if name != MANIFEST_JSON:
            files[name] = text
    if RESOURCES_YAML not in data:
        raise _broken(str(folder), 1, 1, f"not a dvhpc output folder (no {RESOURCES_YAML})")
    return data, files


def _broken(display: str, line: int, column: int, message: str) -> BrokenOutput:
    location = Location(display, line, column)
    diagnostic = Diagnostic("DV403", printable(message), location,
                            hint="this is not what dvhpc writes: run `dvhpc compile` to write the folder again")
    return BrokenOutput(f"{printable(location)}: {diagnostic.message}", diagnostic)


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
        limit = MAX_GENERATED_BYTES // 2**20
        raise _broken(display, 1, 1, f"{name} is larger than {limit} MB; dvhpc writes no such file")
    return raw


def _utf8(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _broken(display, line, column, f"byte 0x{raw[exc.start]:02x} is not UTF-8 text") from None


class _EventReader:
    """The nodes of one YAML document from ruamel's C parser events (see read_generated_yaml)."""

    def __init__(self, parser: Any, display: str):
        import _ruamel_yaml as c

        self.next_event = parser.get_event
        self.display = display
        self.scalar, self.alias, self.mapping_start = c.ScalarEvent, c.AliasEvent, c.MappingStartEvent
        self.ends = (c.MappingEndEvent, c.SequenceEndEvent)

    def fail(self, event: Any, message: str) -> BrokenOutput:
        return _broken(self.display, event.start_mark.line + 1, event.start_mark.column + 1, message)

    def node(self, event: Any, depth: int) -> Any:
        kind = type(event)
        if kind is self.alias:
            raise self.fail(event, f"YAML alias '*{event.anchor}'; dvhpc writes none")
        if event.anchor is not None:
            raise self.fail(event, f"YAML anchor '&{event.anchor}'; dvhpc writes none")
        if event.tag not in (None, "!"):
            raise self.fail(event, f"YAML tag '{event.tag}'; dvhpc writes none")
        if kind is self.scalar:
            return plain_value(event.value) if event.style == "" and event.implicit[0] else event.value
        if depth >= MAX_DEPTH:
            raise self.fail(event, f"nested deeper than {MAX_DEPTH} levels")
        if kind is self.mapping_start:
            return self.mapping(depth)
        return self.sequence(depth)

    def mapping(self, depth: int) -> dict[str, Any]:
        end, next_event, scalar = self.ends[0], self.next_event, self.scalar
        mapping: dict[str, Any] = {}
        key_event = next_event()
        while type(key_event) is not end:
            if type(key_event) is not scalar or key_event.anchor is not None or key_event.tag not in (None, "!"):
                raise self.fail(key_event, "a mapping key that is not plain text; dvhpc writes none")
            if key_event.value in mapping:
                raise self.fail(key_event, f"duplicate key '{key_event.value}'")
            mapping[key_event.value] = self.node(next_event(), depth + 1)
            key_event = next_event()
        return mapping

    def sequence(self, depth: int) -> list[Any]:
        end, next_event = self.ends[1], self.next_event
        items = []
        item_event = next_event()
        while type(item_event) is not end:
            items.append(self.node(item_event, depth + 1))
            item_event = next_event()
        return items


def read_generated_yaml(text: str, display: str) -> dict | list | str | int | float | bool | None:
    """One of dvhpc's own YAML files as data. dvhpc writes mappings, lists and scalars, never an
    anchor, an alias or a tag; refusing those, every node is read once, so the work is linear in
    the text (a 20,000-rule resources.yaml has ~700,000 nodes) and needs no node limit. Mapping
    keys are read as text. Errors are BrokenOutput (DV403) at their line and column."""
    import _ruamel_yaml as c
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    reader = _EventReader(c.CParser(text), display)
    next_event = reader.next_event
    try:
        next_event()  # stream start
        event = next_event()
        if type(event) is c.StreamEndEvent:
            return None
        data = reader.node(next_event(), 0)
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
_SHAPES: dict[str, list[tuple[tuple[str, ...], type]]] = {
    PROFILE_YAML: [((), dict)],
    RESOURCES_YAML: [((), dict), (("defaults",), dict), (("rules",), dict), (("rules", "*"), dict),
                     (("defaults", "attempts"), list), (("rules", "*", "attempts"), list),
                     (("defaults", "attempts", "*"), dict), (("rules", "*", "attempts", "*"), dict)],
}
_TYPE_NAMES: dict[type, str] = {dict: "a mapping", list: "a list"}


def _check_shape(name: str, data, text: str, display: str) -> None:
    """Raise DV403 where the data is not of the shape dvhpc writes (and diff relies on)."""
    for pattern, wanted in _SHAPES[name]:
        for path, value in _matching(data, pattern):
            if not isinstance(value, wanted):
                line, column = _locate(text, path)
                where = ".".join(map(str, path)) or "the document"
                message = f"{where} is {_describe(value)}; dvhpc writes {_TYPE_NAMES[wanted]}"
                raise _broken(display, line, column, message)


def _matching(data, pattern: tuple, path: tuple = ()):
    """(path, value) of every node whose path matches `pattern` (optional keys: absent is fine)."""
    if not pattern:
        yield path, data
        return
    head, rest = pattern[0], pattern[1:]
    children: Iterable[tuple[Any, Any]]
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


