"""YAML: our composer over the C parser's events, and the conversion of its nodes into plain data
with a position for every key and value (duplicate keys with both places, alias expansion counted,
tags and YAML 1.1 booleans refused or read as ruamel.yaml reads them under YAML 1.2)."""

from __future__ import annotations

import functools
import re

from dvhpc.frontend.document import MAX_DEPTH, MAX_NODES, Document, PathT, split_lines, text_location
from dvhpc.frontend.unsafe_text import (
    BREAK_HINT,
    MAX_DIGITS,
    ambiguous_break_in_value,
    long_number,
    long_number_message,
    refuse_yaml_1_1_breaks,
)
from dvhpc.report.diagnostics import Location, Note, Report

_SCALAR_TAG = "tag:yaml.org,2002:"
_SEQ_TAG = _SCALAR_TAG + "seq"
_MAP_TAG = _SCALAR_TAG + "map"
_STR_TAG = _SCALAR_TAG + "str"
_MERGE_TAG = _SCALAR_TAG + "merge"
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


@functools.lru_cache(maxsize=4096)  # keys and common values repeat within and across specs
def _implicit_tag(value: str) -> str:
    if not value:
        return _SCALAR_TAG + "null"
    for tag, pattern in _IMPLICIT_BY_FIRST.get(value[0], ()):
        if pattern.match(value):
            return tag
    return _STR_TAG


class _TooBig(Exception):
    pass


class _ComposeError(Exception):
    def __init__(self, message: str, mark, note: tuple[str, tuple[int, int]] | None = None):
        super().__init__(message)
        self.message, self.mark, self.note = message, mark, note


class _Node:
    """A composed YAML node: kind ("scalar", "seq" or "map"), resolved tag, value and span
    (0-based start, end one past the node). An alias is the very node its anchor names."""

    __slots__ = ("kind", "tag", "value", "start", "end")

    def __init__(self, kind: str, tag: str, value, start, end):
        self.kind, self.tag, self.value, self.start, self.end = kind, tag, value, start, end


def _int_value(text: str) -> int | str:
    """A YAML int (0x.., 0o.., _ separators; a leading 0 read as decimal); the text when not one."""
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        try:
            return int(text.replace("_", ""), 10)
        except ValueError:
            return text


_FLOAT_WORDS = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}


def _float_value(text: str) -> float | str:
    """A YAML float (.inf, .nan, _ separators); the text when not one."""
    lowered = text.lower().replace("_", "")
    if lowered in _FLOAT_WORDS:
        return _FLOAT_WORDS[lowered]
    try:
        return float(lowered)
    except ValueError:
        return text



def plain_value(text: str) -> object:
    """An untagged plain scalar as YAML 1.2's core schema reads it (bool, null, int, float, else the
    text): the one resolution table, for readers of YAML that needs no positions."""
    kind = _implicit_tag(text)[len(_SCALAR_TAG):]
    if kind == "bool":
        return text[0] in "tT"
    if kind == "null":
        return None
    if kind == "int":
        return _int_value(text)
    if kind == "float":
        return _float_value(text)
    return text


# Where the C parser (libyaml 0.1, a YAML 1.1 scanner) and ruamel.yaml's own YAML 1.2 parser read
# the same text differently, found by the differential test: a tab (1.2 refuses it in places 1.1
# takes it), U+0085, U+2028, U+2029 (line breaks to YAML 1.1 only; load_yaml refuses them), a `?`
# or `!` indicator (`[?]]`, an empty `!` scalar), a block scalar header with a comment right after
# it (`>#`) and a quoted key with its `:` right after it (`['a':1]`). A text with one of these (or
# anything that looks like one) is read by ruamel's parser; the rest by the C parser, whose
# refusals ruamel's parser then judges (`{time: 0:15:00}`: YAML 1.2 allows `:` in a plain scalar
# in flow context, YAML 1.1 does not).
_INDICATOR = re.compile(r"(?<![^\s\[{,])[?!]")  # `?` or `!` at the start of a token
_QUOTED_KEY = re.compile(r"""['"]:(?=\S)""")
_HEADER_END = frozenset("-+0123456789")


def _diverges(text: str) -> bool:
    """Whether `text` may hold a construct the two parsers read differently (see above). Substring
    tests first: a regex over every spec would cost a fifth of reading it."""
    if "\t" in text or (not text.isascii() and ("\x85" in text or "\u2028" in text or "\u2029" in text)):
        return True
    if ("?" in text or "!" in text) and _INDICATOR.search(text):
        return True
    if ("':" in text or '":' in text) and _QUOTED_KEY.search(text):
        return True
    comment = text.find("#")
    while comment > 0:  # a block scalar header (`|`, `>`, indentation and chomping) right before it
        start = comment - 1
        while start > 0 and comment - start <= 3 and text[start] in _HEADER_END:
            start -= 1
        if text[start] in "|>":
            return True
        comment = text.find("#", comment + 1)
    return False


def _compose(text: str) -> list[_Node]:
    """Compose every document of `text` as ruamel.yaml's YAML 1.2 parser reads it, from the C
    parser's events where both read the text alike (`_diverges`, and the C parser accepts it).

    Raises ruamel's MarkedYAMLError for syntax errors (ruamel's own parser's), _ComposeError for
    anchors and aliases that do not resolve, ReaderError with a UTF-8 byte position."""
    from ruamel.yaml.error import MarkedYAMLError

    if not _diverges(text):
        import _ruamel_yaml as c

        try:
            return _compose_events(c.CParser(text).get_event, c)
        except MarkedYAMLError as refused:  # YAML 1.1's refusal: YAML 1.2 may allow it
            try:
                return _compose_yaml_1_2(text)
            except MarkedYAMLError as error:  # the C parser's wording where both stop at one place
                raise (refused if _place(refused) == _place(error) else error) from None
    return _compose_yaml_1_2(text)


def _place(error) -> tuple[int, int] | None:
    mark = error.problem_mark or error.context_mark
    return (mark.line, mark.column) if mark else None


def _compose_yaml_1_2(text: str) -> list[_Node]:
    """ruamel.yaml's pure-Python parser: its YAML 1.2 reading, several times slower than C."""
    from ruamel.yaml import YAML, events
    from ruamel.yaml.reader import ReaderError

    try:
        return _compose_events(iter(YAML(typ="safe", pure=True).parse(text)).__next__, events)
    except ReaderError as exc:  # its position counts characters, the C reader's UTF-8 bytes
        exc.position = len(text[:exc.position].encode("utf-8", "surrogatepass"))
        raise


def _compose_events(next_event, c) -> list[_Node]:  # noqa: C901 -- a branch per event kind in closures: the hot path, kept whole
    """Compose every document from a parser's events (`c`: the module of its event classes).

    Our own composer: ruamel's runs its Python resolver and tag objects per scalar, most of the
    time spent loading a spec."""
    scalar_event, alias_event = c.ScalarEvent, c.AliasEvent
    mapping_start, sequence_end, mapping_end = c.MappingStartEvent, c.SequenceEndEvent, c.MappingEndEvent
    anchors: dict[str, _Node] = {}

    def remember(anchor, node: _Node, mark) -> None:
        if anchor in anchors:
            raise _ComposeError(f"anchor '&{anchor}' is defined twice", mark,
                                ("first defined here", anchors[anchor].start))
        anchors[anchor] = node

    def compose(event) -> _Node:
        kind = type(event)
        start = event.start_mark
        if kind is scalar_event:
            return scalar(event)
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
        if event.anchor is not None:
            remember(event.anchor, node, start)
        end_kind = mapping_end if mapping else sequence_end
        event = next_event()
        # scalars (most nodes) without the extra call of compose()
        while type(event) is not end_kind:
            if mapping:
                key = scalar(event) if type(event) is scalar_event else compose(event)
                event = next_event()
                items.append((key, scalar(event) if type(event) is scalar_event else compose(event)))
            else:
                items.append(scalar(event) if type(event) is scalar_event else compose(event))
            event = next_event()
        node.end = (event.end_mark.line, event.end_mark.column)
        return node

    def scalar(event) -> _Node:
        tag = event.tag
        if tag is None or tag == "!":
            tag = _implicit_tag(event.value) if event.implicit[0] else _STR_TAG
        start, end = event.start_mark, event.end_mark
        node = _Node("scalar", tag, event.value, (start.line, start.column), (end.line, end.column))
        if event.anchor is not None:
            remember(event.anchor, node, start)
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
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            key = self.key(key_node)
            if key is None:
                continue
            if key in first_seen:
                self.report.add(
                    "DV004", f"duplicate key '{key}'", self.loc(key_node),
                    notes=(Note("first defined here", self.loc(first_seen[key])),),
                    hint="YAML keeps only one of them; remove or rename the other",
                )
                continue
            first_seen[key] = key_node
            key_path = path + (key,)
            self.doc.keys[key_path] = key_node
            if value_node.kind == "scalar" and depth < MAX_DEPTH:  # convert() inlined for the most nodes
                self.count += 1
                if self.count > MAX_NODES:
                    raise _TooBig(value_node)
                self.doc.values.setdefault(key_path, value_node)
                result[key] = self.scalar(value_node)
            else:
                result[key] = self.convert(value_node, key_path, depth + 1)
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

    def key(self, node: _Node) -> str | None:
        """A mapping key's text; None after the diagnostic when it cannot be one."""
        if node.kind != "scalar":
            self.report.add("DV006", "mapping keys must be plain strings", self.loc(node))
            return None
        key = str(node.value)
        if key.isascii():
            return None if len(key) > MAX_DIGITS and self.refused(key, node) else key
        if _SURROGATE.search(key):
            self.report.add("DV002", "key holds a lone UTF-16 surrogate, not a character", self.loc(node))
            return None
        if self.refused(key, node):
            return None
        if ambiguous_break_in_value(key):
            self.report.add("DV008", f"key holds {ambiguous_break_in_value(key)}, a line break to YAML 1.1 "
                            "readers such as Snakemake, not to YAML 1.2", self.loc(node), hint=BREAK_HINT)
            return None
        return key

    def refused(self, text: str, node: _Node) -> bool:
        """DV005 for a key or scalar with a number too long to convert (before int() sees it)."""
        long = long_number(text)
        if long:
            self.report.add("DV005", long_number_message(long[1]), self.loc(node))
        return long is not None

    def scalar(self, node: _Node):
        tag, text = node.tag, node.value
        if tag == _STR_TAG and len(text) <= MAX_DIGITS and text.isascii():
            return text  # most scalars: nothing below applies to short ASCII text
        if not text.isascii() and _SURROGATE.search(text):
            self.report.add("DV002", "text holds a lone UTF-16 surrogate (an escape like \\ud800), not a character",
                            self.loc(node))
            return None
        if self.refused(text, node):
            return None
        if not text.isascii() and ambiguous_break_in_value(text):
            self.report.add("DV008", f"text holds {ambiguous_break_in_value(text)}, a line break to YAML 1.1 "
                            "readers such as Snakemake, not to YAML 1.2", self.loc(node), hint=BREAK_HINT)
            return None
        kind = tag[len(_SCALAR_TAG):] if tag.startswith(_SCALAR_TAG) else None
        if kind == "str":
            return text
        if kind not in ("int", "float", "bool", "null", "timestamp"):
            self.report.add("DV006", f"YAML tag '{tag}' is not supported", self.loc(node),
                            hint="a spec holds plain strings, numbers, true/false and null")
            return None
        if kind == "int":
            return _int_value(text)
        if kind == "float":
            return _float_value(text)
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


_DEEP_LINE_START = re.compile(rf"\n[ -]{{{MAX_DEPTH}}}")


def _may_nest_deeper(text: str) -> bool:
    """A bound of nesting_depth, a tenth of its cost: the flow depth is at most the number of `[`
    and `{`, the block depth at most one more than the longest run of spaces and dashes starting
    a line (a deeper level needs a deeper indentation or one more `- `)."""
    return text.count("[") + text.count("{") > MAX_DEPTH or _DEEP_LINE_START.search("\n" + text) is not None


def load_yaml(text: str, display: str, report: Report) -> Document | None:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    doc = Document(display, None, lines=split_lines(text))
    if not refuse_yaml_1_1_breaks(text, display, report):
        return None
    if _may_nest_deeper(text) and nesting_depth(text) > MAX_DEPTH:
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
                   text_location(text, index, display),
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
