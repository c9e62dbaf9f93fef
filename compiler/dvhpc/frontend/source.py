"""Stage 1, load: read one spec file (YAML or TOML) into plain data plus a position for every
key and value, so later stages can point at the exact place of a problem.

A path is a tuple of keys and list indexes, e.g. ("resources", "rules", "train_model", "mem").
Untrusted input never raises: every problem becomes a diagnostic and the result is None.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from dvhpc.report.diagnostics import Location, Note, Report

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000  # after alias expansion; a real spec has a few thousand
MAX_DEPTH = 64
# No count, size or duration needs more digits; Python refuses to convert an int of over 4,300
# digits to or from text, and arithmetic on one (units, retry factors) can be slow.
MAX_DIGITS = 100
_TOO_LONG_INT = 10 ** MAX_DIGITS
SPEC_KEY = "dvhpc"  # every spec and layer holds it at its top level (`dvhpc: 1`)

Key = str | int
PathT = tuple[Key, ...]
Span = tuple[int, ...]  # (line, column) or (line, column, end line, end column), 1-based


@dataclass
class Document:
    """One loaded file: its data and where every key and value sits, as spans (line, column, end
    line, end column) or composed YAML nodes, turned into Locations only when asked for (most never are)."""

    file: str  # as the user named it (relative paths stay relative: deterministic output)
    data: object
    values: dict[PathT, Span | _Node] = field(default_factory=dict)
    keys: dict[PathT, Span | _Node] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    sha256: str = ""  # of the file's bytes, for MANIFEST.json

    def where(self, path: PathT, *, key: bool = False) -> Location:
        """The location of a value (or its key), falling back to the nearest located parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            span = table.get(probe) or self.values.get(probe)
            if span:
                return self.location(span)
            probe = probe[:-1]
        return self.location(self.values.get((), (1, 1)))

    def location(self, span: Span | _Node) -> Location:
        if isinstance(span, tuple):
            return Location(self.file, *span)
        (line, column), (end_line, end_col) = span.start, span.end
        # the end points one past the node; make it inclusive and on the same line when it wraps
        if end_line > line and end_col == 0:
            end_col = len(self.lines[end_line - 1]) if end_line - 1 < len(self.lines) else 1
        else:
            end_line += 1
        return Location(self.file, line + 1, column + 1, end_line, max(end_col, column + 1))


class NotRegularFile(OSError):
    """A path that names a FIFO, a device or a socket: reading it could block or never end."""


_FILE_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def _require_regular(mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "it is a directory")
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"it is {_FILE_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}")


def read_file(path: Path) -> bytes:
    """Read at most MAX_FILE_BYTES + 1 bytes of a regular file (raises OSError, NotRegularFile).

    A FIFO, a terminal or a device is refused before it is opened; the file is opened without
    blocking and checked again on the open descriptor, so one swapped in meanwhile cannot hang us."""
    try:
        _require_regular(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(2, "it does not exist") from None
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _require_regular(os.fstat(descriptor).st_mode)
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(descriptor, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def read_bytes(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> bytes | None:
    """A spec file's bytes, or None after a diagnostic: unreadable (at `origin`, the `extends`
    entry that names it, if given), not a regular file (DV007) or too large (DV005)."""
    where = origin or Location(display, 1, 1)
    try:
        raw = reader(path)
    except NotRegularFile as exc:
        report.add("DV007", f"'{display}' is not a regular file: {exc}", where, show_source=origin is not None,
                   hint="a spec is a regular file; dvhpc does not read pipes, devices or sockets")
        return None
    except OSError as exc:
        report.add("DV010" if origin else "DV001", f"cannot read '{display}': {exc.strerror or exc}", where)
        return None
    if len(raw) > MAX_FILE_BYTES:
        report.add("DV005", f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", Location(display, 1, 1),
                   hint="a site spec is a few kilobytes; split or generate it", show_source=False)
        return None
    return raw


def decode(raw: bytes, display: str, report: Report) -> str | None:
    """The text of a file's bytes, refusing anything that is not UTF-8 text (DV002)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        # in characters, as every other column: the bytes before the first bad one are UTF-8
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8")) + 1
        report.add("DV002", "file is not valid UTF-8 text", Location(display, line, column),
                   hint="save the file as UTF-8")
        return None
    nul = text.find("\x00")
    if nul >= 0:
        report.add("DV002", "file contains a NUL byte (binary data?)", _text_location(text, nul, display))
        return None
    return text


def read_text(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> tuple[str, str] | None:
    """Read a spec file as (text, sha256 of its bytes), refusing anything too large or not text."""
    raw = read_bytes(path, display, report, origin=origin, reader=reader)
    text = None if raw is None else decode(raw, display, report)
    return None if text is None else (text, _digest(raw))


def _digest(raw: bytes) -> str:
    """sha256 of a file's bytes after a UTF-8 byte order mark (for MANIFEST.json)."""
    return hashlib.sha256(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw).hexdigest()


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """A file's lines as YAML 1.2 and TOML count them: only CR, LF and CRLF end a line
    (str.splitlines also splits at form feeds, U+0085, U+2028 and more)."""
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


def _text_location(text: str, index: int, display: str, length: int = 1) -> Location:
    before = split_lines(text[:index] + "x")  # the "x" keeps a break just before `index` counted
    line, column = len(before), len(before[-1])
    return Location(display, line, column, line, column + length - 1)


# U+0085 (NEXT LINE), U+2028, U+2029 end a line (and a comment) for YAML 1.1 readers such as PyYAML,
# which Snakemake reads profiles with, and in the C parser; YAML 1.2 reads them as text.
_AMBIGUOUS_BREAK = re.compile("[\x85\u2028\u2029]")
_BREAK_NAMES = {"\x85": "U+0085 (NEXT LINE)", "\u2028": "U+2028 (LINE SEPARATOR)",
                "\u2029": "U+2029 (PARAGRAPH SEPARATOR)"}
_BREAK_HINT = ("YAML 1.1 readers (Snakemake's profiles, PyYAML) and YAML 1.2 readers (dvhpc) would see different "
               "keys or values: dvhpc refuses U+0085, U+2028 and U+2029 anywhere; use a newline or a space")
# A run of digits (decimal, or after 0x/0o/0b), `_` separators allowed; starts only where a run starts.
_LONG_NUMBER = re.compile(r"(?<![\d_])\d[\d_]{%d,}|(?<![0-9A-Za-z_])0[xXoObB][0-9A-Fa-f_]{%d,}"
                          % (MAX_DIGITS, MAX_DIGITS))


def _refuse_yaml_1_1_breaks(text: str, display: str, report: Report) -> bool:
    """DV008 at the first YAML 1.1 line break in the raw text, before a parser reads lines
    differently. False after the diagnostic."""
    breaks = None if text.isascii() else _AMBIGUOUS_BREAK.search(text)
    if breaks:
        more = len(_AMBIGUOUS_BREAK.findall(text)) - 1
        report.add("DV008", f"{_BREAK_NAMES[breaks.group()]} is a line break to YAML 1.1 readers such as "
                   "Snakemake, not to YAML 1.2" + (f" ({more} more in this file)" if more else ""),
                   _text_location(text, breaks.start(), display), hint=_BREAK_HINT)
        return False
    return True


def _long_number(text: str) -> tuple[int, int] | None:
    """(offset, digits) of the first number in `text` with more than MAX_DIGITS digits."""
    if len(text) <= MAX_DIGITS:
        return None
    for match in _LONG_NUMBER.finditer(text):
        run = match.group()
        digits = len(run.replace("_", "")) - (2 if run[1:2].isalpha() else 0)
        if digits > MAX_DIGITS:
            return match.start(), digits
    return None


def _long_number_message(digits: int) -> str:
    return f"number with {digits} digits (a spec's numbers have at most {MAX_DIGITS})"


def _ambiguous_break_in_value(value: str) -> str | None:
    """The name of a YAML 1.1 line break in a value written with an escape (`"\\u2028"`), if any."""
    found = None if value.isascii() else _AMBIGUOUS_BREAK.search(value)
    return _BREAK_NAMES[found.group()] if found else None


def is_spec(data: object) -> bool:
    """Whether loaded data is a dvhpc spec: a mapping with the `dvhpc` key."""
    return isinstance(data, dict) and SPEC_KEY in data


# A line that starts with the `dvhpc` key (also in a list or a flow mapping): how a spec that does
# not load, or is not a mapping, still shows it is one.
_SPEC_KEY_LINE = re.compile(r"""^[ \t]*(?:-[ \t]+)*\{?[ \t]*(?:dvhpc|"dvhpc"|'dvhpc')[ \t]*[:=]""".encode(), re.M)


def load_spec(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> Document | None:
    """`load` for a file that must be a dvhpc spec (named on the command line or in `extends`).

    A spec names the `dvhpc` key: at its top level, or (when it does not load or is not a
    mapping) at the start of a line. Any other file gets one DV007 and nothing else: its content
    (keys, values, lines) never reaches a diagnostic, so `extends: /etc/shadow` prints no secret."""
    raw = read_bytes(path, display, report, origin=origin, reader=reader)
    if raw is None:
        return None
    tentative = Report()
    doc = parse(raw, path, display, tentative)
    if (doc is not None and is_spec(doc.data)) or _SPEC_KEY_LINE.search(raw):
        report.extend(tentative)
        return doc
    report.add("DV007", f"'{display}' is not a dvhpc spec (its content is not shown)",
               origin or Location(display, 1, 1),
               hint=f"a spec's top level is a mapping that starts with `{SPEC_KEY}: 1`",
               show_source=origin is not None)
    return None


def load(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> Document | None:
    """Read and parse a YAML or TOML file (by its suffix); None after a diagnostic."""
    raw = read_bytes(path, display, report, origin=origin, reader=reader)
    return None if raw is None else parse(raw, path, display, report)


def parse(raw: bytes, path: Path, display: str, report: Report) -> Document | None:
    text = decode(raw, display, report)
    if text is None:
        return None
    doc = load_toml(text, display, report) if path.suffix.lower() == ".toml" else load_yaml(text, display, report)
    if doc is not None:
        doc.sha256 = _digest(raw)
    return doc


# --------------------------------------------------------------------------- YAML

_SCALAR_TAG = "tag:yaml.org,2002:"
_SEQ_TAG = _SCALAR_TAG + "seq"
_MAP_TAG = _SCALAR_TAG + "map"
_SURROGATE = re.compile("[\ud800-\udfff]")

# How a plain scalar resolves under YAML 1.2 (the core schema, as ruamel.yaml resolves it), tried in
# this order and only for the first characters each applies to.
_IMPLICIT_TAGS = [
    ("bool", "tTfF", r"(?:true|True|TRUE|false|False|FALSE)$"),
    ("float", "-+0123456789.", r"""(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                                   |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                                   |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
                                   |[-+]?\.(?:inf|Inf|INF)
                                   |\.(?:nan|NaN|NAN))$"""),
    ("int", "-+0123456789", r"(?:[-+]?0b[0-1_]+ |[-+]?0o?[0-7_]+ |[-+]?[0-9_]+ |[-+]?0x[0-9a-fA-F_]+)$"),
    ("merge", "<", r"<<$"),
    ("null", "~nN", r"(?:~|null|Null|NULL)$"),
    ("timestamp", "0123456789", r"""(?:[0-9]{4}-[0-9]{2}-[0-9]{2}
                                     |[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[\ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}
                                      (?:\.[0-9]*)?(?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9]{2})?))?)$"""),
    ("value", "=", r"=$"),
]
_IMPLICIT_BY_FIRST: dict[str, list[tuple[str, re.Pattern]]] = {}
for _kind, _firsts, _pattern in _IMPLICIT_TAGS:
    for _first in _firsts:
        _IMPLICIT_BY_FIRST.setdefault(_first, []).append((_SCALAR_TAG + _kind, re.compile(_pattern, re.X)))


def _implicit_tag(value: str) -> str:
    if not value:
        return _SCALAR_TAG + "null"
    for tag, pattern in _IMPLICIT_BY_FIRST.get(value[0], ()):
        if pattern.match(value):
            return tag
    return _SCALAR_TAG + "str"


class _TooBig(Exception):
    pass


class _ComposeError(Exception):
    def __init__(self, message: str, mark, note: tuple[str, object] | None = None):
        super().__init__(message)
        self.message, self.mark, self.note = message, mark, note


class _Node:
    """A composed YAML node: kind ("scalar", "seq" or "map"), resolved tag, value and span
    (0-based start, end one past the node). An alias is the very node its anchor names."""

    __slots__ = ("kind", "tag", "value", "start", "end")

    def __init__(self, kind: str, tag: str, value, start, end):
        self.kind, self.tag, self.value, self.start, self.end = kind, tag, value, start, end


def _compose(text: str) -> list[_Node]:
    """Compose every document of `text` from the C parser's events.

    Our own composer: ruamel's runs its Python resolver and tag objects per scalar, most of the
    time spent loading a spec. Raises ruamel's MarkedYAMLError for syntax errors, _ComposeError
    for anchors and aliases that do not resolve."""
    import _ruamel_yaml as c

    parser = c.CParser(text)
    next_event = parser.get_event
    scalar_event, alias_event = c.ScalarEvent, c.AliasEvent
    mapping_start, sequence_end, mapping_end = c.MappingStartEvent, c.SequenceEndEvent, c.MappingEndEvent
    anchors: dict[str, _Node] = {}

    def remember(anchor, node: _Node, mark) -> None:
        if anchor is not None:
            if anchor in anchors:
                raise _ComposeError(f"anchor '&{anchor}' is defined twice", mark,
                                    ("first defined here", anchors[anchor].start))
            anchors[anchor] = node

    def compose(event) -> _Node:
        kind = type(event)
        start = event.start_mark
        if kind is scalar_event:
            tag = event.tag
            if tag is None or tag == "!":
                tag = _implicit_tag(event.value) if event.implicit[0] else _SCALAR_TAG + "str"
            node = _Node("scalar", tag, event.value, (start.line, start.column),
                         (event.end_mark.line, event.end_mark.column))
            remember(event.anchor, node, start)
            return node
        if kind is alias_event:
            if event.anchor not in anchors:
                raise _ComposeError(f"alias '*{event.anchor}' names no anchor defined before it", start)
            return anchors[event.anchor]
        mapping = kind is mapping_start
        tag = event.tag
        if tag is None or tag == "!":
            tag = _MAP_TAG if mapping else _SEQ_TAG
        items: list = []
        node = _Node("map" if mapping else "seq", tag, items, (start.line, start.column), None)
        remember(event.anchor, node, start)
        end_kind = mapping_end if mapping else sequence_end
        event = next_event()
        while type(event) is not end_kind:
            if mapping:
                key = compose(event)
                items.append((key, compose(next_event())))
            else:
                items.append(compose(event))
            event = next_event()
        node.end = (event.end_mark.line, event.end_mark.column)
        return node

    documents = []
    next_event()  # stream start
    while type(next_event()) is not c.StreamEndEvent:  # a document start
        anchors.clear()
        documents.append(compose(next_event()))
        next_event()  # document end
    return documents


class _YamlConverter:
    """Turns composed nodes into plain data, recording positions.

    We compose ourselves (not construct) so we see every node's position, can count alias
    expansion and can report duplicate keys with both places.
    """

    def __init__(self, doc: Document, report: Report):
        self.doc = doc
        self.report = report
        self.count = 0
        self.active: set[int] = set()

    def loc(self, node: _Node) -> Location:
        return self.doc.location(node)

    def convert(self, node: _Node, path: PathT, depth: int = 0):
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise _TooBig(node)
        if path not in self.doc.values:
            self.doc.values[path] = node
        kind = node.kind
        if kind == "scalar":
            return self.scalar(node)
        if id(node) in self.active:
            self.report.add("DV006", "recursive alias (a node that contains itself)", self.loc(node))
            return None
        if node.tag != (_SEQ_TAG if kind == "seq" else _MAP_TAG):
            self.report.add("DV006", f"YAML tag '{node.tag}' is not supported", self.loc(node),
                            hint="a spec holds plain mappings, lists and scalars")
            return None
        self.active.add(id(node))
        try:
            if kind == "seq":
                return [self.convert(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
            return self.mapping(node, path, depth)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: _Node, path: PathT, depth: int) -> dict:
        result: dict = {}
        first_seen: dict[str, _Node] = {}
        merged: list = []
        for key_node, value_node in node.value:
            if key_node.tag == _SCALAR_TAG + "merge":
                merged.append(value_node)
                continue
            if key_node.kind != "scalar":
                self.report.add("DV006", "mapping keys must be plain strings", self.loc(key_node))
                continue
            key = str(key_node.value)
            if not key.isascii() and _SURROGATE.search(key):
                self.report.add("DV002", "key holds a lone UTF-16 surrogate, not a character", self.loc(key_node))
                continue
            if self.refused(key, key_node):
                continue
            if not key.isascii() and _ambiguous_break_in_value(key):
                self.report.add("DV008", f"key holds {_ambiguous_break_in_value(key)}, a line break to YAML 1.1 "
                                "readers such as Snakemake, not to YAML 1.2", self.loc(key_node), hint=_BREAK_HINT)
                continue
            if key in first_seen:
                self.report.add(
                    "DV004", f"duplicate key '{key}'", self.loc(key_node),
                    notes=(Note("first defined here", self.loc(first_seen[key])),),
                    hint="YAML keeps only one of them; remove or rename the other",
                )
                continue
            first_seen[key] = key_node
            self.doc.keys[path + (key,)] = key_node
            result[key] = self.convert(value_node, path + (key,), depth + 1)
        # `<<: *anchor` merge keys: explicit keys win over merged ones
        for source in merged:
            sources = source.value if source.kind == "seq" else [source]
            for item in sources:
                value = self.convert(item, path, depth + 1)
                if not isinstance(value, dict):
                    self.report.add("DV006", "'<<' merge needs a mapping", self.loc(item))
                    continue
                for key, val in value.items():
                    result.setdefault(key, val)
        return result

    def refused(self, text: str, node: _Node) -> bool:
        """DV005 for a key or scalar with a number too long to convert (before int() sees it)."""
        long = _long_number(text)
        if long:
            self.report.add("DV005", _long_number_message(long[1]), self.loc(node))
        return long is not None

    def scalar(self, node: _Node):
        tag, text = node.tag, node.value
        if not text.isascii() and _SURROGATE.search(text):
            self.report.add("DV002", "text holds a lone UTF-16 surrogate (an escape like \\ud800), not a character",
                            self.loc(node))
            return None
        if self.refused(text, node):
            return None
        if not text.isascii() and _ambiguous_break_in_value(text):
            self.report.add("DV008", f"text holds {_ambiguous_break_in_value(text)}, a line break to YAML 1.1 "
                            "readers such as Snakemake, not to YAML 1.2", self.loc(node), hint=_BREAK_HINT)
            return None
        kind = tag[len(_SCALAR_TAG):] if tag.startswith(_SCALAR_TAG) else None
        if kind == "str":
            return text
        if kind not in ("int", "float", "bool", "null", "timestamp"):
            self.report.add("DV006", f"YAML tag '{tag}' is not supported", self.loc(node),
                            hint="a spec holds plain strings, numbers, true/false and null")
            return None
        if kind == "int":
            try:
                return int(text.replace("_", ""), 0)
            except ValueError:
                try:
                    return int(text.replace("_", ""), 10)
                except ValueError:
                    return text
        if kind == "float":
            lowered = text.lower().replace("_", "")
            if lowered in (".inf", "+.inf"):
                return float("inf")
            if lowered == "-.inf":
                return float("-inf")
            if lowered == ".nan":
                return float("nan")
            try:
                return float(lowered)
            except ValueError:
                return text
        if kind == "bool":
            lowered = text.lower()
            if lowered not in ("true", "yes", "on", "y", "false", "no", "off", "n"):
                self.report.add("DV006", f"'{text}' is not a boolean", self.loc(node), hint="write true or false")
                return None
            return lowered in ("true", "yes", "on", "y")
        if kind == "null":
            return None
        return text  # a timestamp stays the text it was written as


_BRACKETS = re.compile(r"[\[\]{}]")
_BLOCK_LINE = re.compile(r"^( *)((?:- +)*)(?=[^\s#])", re.M)


def nesting_depth(text: str) -> int:
    """An upper bound of how deep the YAML nests (flow brackets, block indentation, `- - -`).

    Checked before parsing: the C parser recurses per level and must never see a bomb."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):  # brackets inside strings count too: errs on the safe side
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    indents: list[int] = []
    for match in _BLOCK_LINE.finditer(text):
        indent = len(match.group(1))
        while indents and indents[-1] >= indent:
            indents.pop()
        indents.append(indent)
        deepest = max(deepest, len(indents) + match.group(2).count("-"))
    return deepest


def load_yaml(text: str, display: str, report: Report) -> Document | None:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    doc = Document(display, None, lines=split_lines(text))
    if not _refuse_yaml_1_1_breaks(text, display, report):
        return None
    if nesting_depth(text) > MAX_DEPTH:
        report.add("DV005", f"document nests deeper than {MAX_DEPTH} levels", Location(display, 1, 1),
                   hint="a site spec needs a handful of levels")
        return None
    try:
        nodes = _compose(text)
    except _ComposeError as exc:
        note = exc.note
        notes = (Note(note[0], Location(display, note[1][0] + 1, note[1][1] + 1)),) if note else ()
        report.add("DV003", f"YAML syntax error: {exc.message}",
                   Location(display, exc.mark.line + 1, exc.mark.column + 1), notes=notes)
        return None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(display, mark.line + 1, mark.column + 1) if mark else Location(display, 1, 1)
        problem = (exc.problem or exc.context or "syntax error").strip()
        hint = None
        if mark and 0 <= mark.line < len(doc.lines) and doc.lines[mark.line][mark.column:mark.column + 1] == "\t":
            problem, hint = "a tab character here", "YAML does not allow tabs for indentation; use spaces"
        report.add("DV003", f"YAML syntax error: {problem}", loc, hint=hint)
        return None
    except ReaderError as exc:  # a character YAML does not allow; its position counts UTF-8 bytes
        index = len(text.encode("utf-8", "surrogatepass")[:exc.position].decode("utf-8", "ignore"))
        report.add("DV003", f"YAML syntax error: {exc.reason}: U+{exc.character:04X}",
                   _text_location(text, index, display),
                   hint=f'if it is meant, write it as an escape inside double quotes ("\\u{exc.character:04x}")')
        return None
    except (YAMLError, RecursionError, ValueError) as exc:
        report.add("DV003", f"YAML syntax error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                   Location(display, 1, 1))
        return None
    if len(nodes) > 1:
        report.add("DV003", "more than one YAML document in the file", Location(display, nodes[1].start[0] + 1, 1))
        return None
    if not nodes:
        doc.data = None
        doc.values[()] = (1, 1)
        return doc
    converter = _YamlConverter(doc, report)
    errors_before = len(report.items)
    try:
        doc.data = converter.convert(nodes[0], ())
    except (_TooBig, RecursionError):
        report.add("DV005", f"document expands to more than {MAX_NODES} nodes or {MAX_DEPTH} levels "
                   "(alias bomb or runaway nesting?)", Location(display, 1, 1))
        return None
    if len(report.items) > errors_before and report.has_errors:
        return None
    return doc


# --------------------------------------------------------------------------- TOML

_TOML_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_TOML_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")
_TOML_INLINE_KEY = re.compile(r"(?:^|[{,])\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")


def _toml_key_parts(text: str) -> list[str]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", text)
    return [_toml_basic_string(p) if p[:1] == '"' else p[1:-1] if p[:1] == "'" else p for p in parts]


def _toml_basic_string(quoted: str) -> str:
    """A double-quoted TOML key as the parser reads it (escapes decoded), for its position."""
    import tomllib

    try:
        return tomllib.loads(f"k = {quoted}")["k"]
    except tomllib.TOMLDecodeError:
        return quoted[1:-1]


def _toml_positions(doc: Document) -> None:
    """Best-effort key positions for TOML (tomllib keeps none): tables, dotted keys, inline keys."""
    table: PathT = ()
    for number, line in enumerate(doc.lines, start=1):
        header = _TOML_TABLE.match(line)
        if header and not _TOML_KEY.match(line):
            table = tuple(_toml_key_parts(header.group(2)))
            column = line.index(header.group(2)) + 1
            span = (number, column, number, column + len(header.group(2)) - 1)
            doc.keys.setdefault(table, span)
            doc.values.setdefault(table, span)
            continue
        assignment = _TOML_KEY.match(line)
        if not assignment:
            continue
        path = table + tuple(_toml_key_parts(assignment.group(1)))
        column = assignment.start(1) + 1
        doc.keys.setdefault(path, (number, column, number, assignment.end(1)))
        value_col = assignment.end() + 1 + (len(line[assignment.end():]) - len(line[assignment.end():].lstrip()))
        doc.values.setdefault(path, (number, value_col, number, max(value_col, len(line.rstrip()))))
        rest = line[assignment.end():]
        if rest.lstrip().startswith("{"):
            for inner in _TOML_INLINE_KEY.finditer(rest):
                key = inner.group(1).strip('"')
                col = assignment.end() + inner.start(1) + 1
                span = (number, col, number, col + len(inner.group(1)) - 1)
                doc.keys.setdefault(path + (key,), span)
                doc.values.setdefault(path + (key,), span)


def load_toml(text: str, display: str, report: Report) -> Document | None:
    import tomllib

    doc = Document(display, None, lines=split_lines(text))
    if not _refuse_yaml_1_1_breaks(text, display, report):
        return None
    try:
        doc.data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        loc = Location(display, int(match.group(1)), int(match.group(2))) if match else Location(display, 1, 1)
        report.add("DV003", f"TOML syntax error: {re.sub(r' [(]at .*[)]$', '', message)}", loc)
        return None
    except RecursionError:
        report.add("DV005", "TOML document is nested too deeply", Location(display, 1, 1))
        return None
    except ValueError:  # an integer too long to convert (tomllib converts while it parses)
        long = _long_number(text)
        report.add("DV005", _long_number_message(long[1]) if long else "a number is too long to convert",
                   _text_location(text, long[0], display) if long else Location(display, 1, 1))
        return None
    doc.values[()] = (1, 1)
    _toml_positions(doc)
    if not _refuse_toml_values(doc, doc.data, report):
        return None
    return doc


def _refuse_toml_values(doc: Document, data: object, report: Report) -> bool:
    """What YAML refuses per scalar, for TOML: a YAML 1.1 line break written as an escape (DV008),
    a number of more than MAX_DIGITS digits (DV005), in keys and values.

    A loop, not recursion: tomllib accepts tables nested deeper than Python's recursion limit."""
    ok = True
    pending: list[tuple[PathT, object]] = [((), data)]
    while pending:
        path, node = pending.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            for text, is_key in ((key, True), (value, False)):
                name = _ambiguous_break_in_value(text) if isinstance(text, str) else None
                if name:
                    report.add("DV008", f"{'key' if is_key else 'text'} holds {name}, a line break to YAML 1.1 "
                               "readers such as Snakemake, not to YAML 1.2", doc.where(path + (key,), key=is_key),
                               hint=_BREAK_HINT)
                    ok = False
                digits = _toml_digits(text)
                if digits > MAX_DIGITS:
                    report.add("DV005", _long_number_message(digits), doc.where(path + (key,), key=is_key))
                    ok = False
            pending.append((path + (key,), value))
    return ok


def _toml_digits(value: object) -> int:
    """Digits of the longest-looking number in a TOML key or value (an int's own, a string's first long run)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _TOO_LONG_INT:
        return len(str(abs(value)))  # tomllib refused those over 4,300 digits already
    long = _long_number(value) if isinstance(value, str) else None
    return long[1] if long else 0


class SourceLines(dict):
    """Source lines for snippets, read on demand: regular files only, never blocking (a FIFO or a
    device named in a diagnostic is not opened), at most the size a spec may have."""

    def get(self, file, default=None):
        if file not in self:
            try:
                raw = read_file(Path(file))
            except (OSError, ValueError):
                self[file] = None
            else:
                self[file] = split_lines(raw.decode("utf-8", errors="replace").lstrip("\ufeff"))
        return self[file] or default
