"""YAML: from text to plain data with a position for every key and value (duplicate keys with both
places, alias expansion counted, tags and numbers too long refused).

Two readers, one result: `_YamlConverter` turns the nodes `yaml_compose` composed into data (any
YAML: anchors, aliases, merge keys, tags); `_DirectReader` goes from the C parser's events straight
to data in one pass, for the documents nearly every spec is (one document, no anchors, aliases,
merge keys, collection tags or non-scalar keys), and hands any other text to the first.
tests/test_yaml_load.py checks that both give the same data, positions and diagnostics.
"""

from __future__ import annotations

import re
from typing import Any

from dvhpc.frontend.document import MAX_DEPTH, MAX_NODES, Document, PathT, split_lines, text_location
from dvhpc.frontend.unsafe_text import (
    BREAK_HINT,
    MAX_DIGITS,
    ambiguous_break_in_value,
    long_number,
    long_number_message,
    refuse_yaml_1_1_breaks,
)
from dvhpc.frontend.yaml_compose import (
    _MAP_TAG,
    _MERGE_TAG,
    _SCALAR_TAG,
    _SEQ_TAG,
    _STR_TAG,
    _compose,
    _ComposeError,
    _diverges,
    _float_value,
    _implicit_tag,
    _int_value,
    _may_nest_deeper,
    _Node,
    _TooBig,
    nesting_depth,
)
from dvhpc.report.diagnostics import Location, Note, Report

_SURROGATE = re.compile("[\ud800-\udfff]")


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

    def loc(self, node) -> Location:
        return self.doc.location(node)

    def convert(self, node: _Node, path: PathT, depth: int = 0):
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise _TooBig(node)
        if path not in self.doc.values:
            self.doc.values[path] = node
        kind = node.kind
        if kind == "scalar":
            return self.scalar(node.tag, node.value, node)
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
            if key_node.kind != "scalar":
                self.report.add("DV006", "mapping keys must be plain strings", self.loc(key_node))
                continue
            key = self.key(str(key_node.value), key_node)
            if key is None or self.duplicate(key, key_node, first_seen):
                continue
            key_path = path + (key,)
            self.doc.keys[key_path] = key_node
            if value_node.kind == "scalar" and depth < MAX_DEPTH:  # convert() inlined for the most nodes
                self.count += 1
                if self.count > MAX_NODES:
                    raise _TooBig(value_node)
                self.doc.values.setdefault(key_path, value_node)
                result[key] = self.scalar(value_node.tag, value_node.value, value_node)
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

    def duplicate(self, key: str, where, first_seen: dict) -> bool:
        """DV004 when a mapping has `key` already; else remembers where it is."""
        if key in first_seen:
            self.report.add(
                "DV004", f"duplicate key '{key}'", self.loc(where),
                notes=(Note("first defined here", self.loc(first_seen[key])),),
                hint="YAML keeps only one of them; remove or rename the other",
            )
            return True
        first_seen[key] = where
        return False

    def key(self, key: str, where) -> str | None:
        """A scalar mapping key's text; None after the diagnostic when it cannot be one."""
        if key.isascii():
            return None if len(key) > MAX_DIGITS and self.refused(key, where) else key
        if _SURROGATE.search(key):
            self.report.add("DV002", "key holds a lone UTF-16 surrogate, not a character", self.loc(where))
            return None
        if self.refused(key, where):
            return None
        if ambiguous_break_in_value(key):
            self.report.add("DV008", f"key holds {ambiguous_break_in_value(key)}, a line break to YAML 1.1 "
                            "readers such as Snakemake, not to YAML 1.2", self.loc(where), hint=BREAK_HINT)
            return None
        return key

    def refused(self, text: str, where) -> bool:
        """DV005 for a key or scalar with a number too long to convert (before int() sees it)."""
        long = long_number(text)
        if long:
            self.report.add("DV005", long_number_message(long[1]), self.loc(where))
        return long is not None

    def scalar(self, tag: str, text: str, where):
        """A scalar's value from its resolved tag and text (`where`: its node or event)."""
        if tag == _STR_TAG and len(text) <= MAX_DIGITS and text.isascii():
            return text  # most scalars: nothing below applies to short ASCII text
        if not text.isascii() and _SURROGATE.search(text):
            self.report.add("DV002", "text holds a lone UTF-16 surrogate (an escape like \\ud800), not a character",
                            self.loc(where))
            return None
        if self.refused(text, where):
            return None
        if not text.isascii() and ambiguous_break_in_value(text):
            self.report.add("DV008", f"text holds {ambiguous_break_in_value(text)}, a line break to YAML 1.1 "
                            "readers such as Snakemake, not to YAML 1.2", self.loc(where), hint=BREAK_HINT)
            return None
        kind = tag[len(_SCALAR_TAG):] if tag.startswith(_SCALAR_TAG) else None
        if kind == "str":
            return text
        if kind not in ("int", "float", "bool", "null", "timestamp"):
            self.report.add("DV006", f"YAML tag '{tag}' is not supported", self.loc(where),
                            hint="a spec holds plain strings, numbers, true/false and null")
            return None
        if kind == "int":
            return _int_value(text)
        if kind == "float":
            return _float_value(text)
        if kind == "bool":
            lowered = text.lower()
            if lowered not in ("true", "yes", "on", "y", "false", "no", "off", "n"):
                self.report.add("DV006", f"'{text}' is not a boolean", self.loc(where), hint="write true or false")
                return None
            return lowered in ("true", "yes", "on", "y")
        if kind == "null":
            return None
        return text  # a timestamp stays the text it was written as


class _NotPlain(Exception):
    """The text needs the composer: an anchor, alias, merge key, collection tag, non-scalar key, or
    not exactly one document."""


class _DirectReader(_YamlConverter):
    """The C parser's events straight to data, in the order and with the checks of composing and
    converting (a third of the time: no node objects, one walk). A scalar's position is its event.

    Raises _NotPlain (or the parser's error, _TooBig) where the two-pass path must decide: the
    caller then drops what was recorded and reported, and composes."""

    def read(self, text: str) -> object:
        import _ruamel_yaml as c

        self.scalar_event, self.end_events = c.ScalarEvent, (c.SequenceEndEvent, c.MappingEndEvent)
        self.mapping_start, self.sequence_start = c.MappingStartEvent, c.SequenceStartEvent
        self.values, self.keys = self.doc.values, self.doc.keys
        self.next_event = next_event = c.CParser(text).get_event
        next_event()  # stream start
        if type(next_event()) is c.StreamEndEvent:  # no document
            raise _NotPlain
        data = self.value(next_event(), (), 0)
        next_event()  # document end
        if type(next_event()) is not c.StreamEndEvent:  # another document: composed, then refused
            raise _NotPlain
        return data

    def value(self, event, path: PathT, depth: int):
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise _TooBig(event)
        if event.anchor is not None:
            raise _NotPlain
        kind = type(event)
        if kind is self.scalar_event:
            self.values[path] = event  # paths are unique without aliases and merge keys
            text, tag = event.value, event.ctag  # tag() inlined: most nodes are scalars
            if tag is None or tag == "!":
                tag = _implicit_tag(text) if event.implicit[0] else _STR_TAG
            return self.scalar(tag, text, event)
        if kind is not self.mapping_start and kind is not self.sequence_start or event.ctag not in (None, "!"):
            raise _NotPlain  # an alias, or a tagged collection
        read = self.mapping_events if kind is self.mapping_start else self.sequence_events
        data, end = read(path, depth)
        # the span of the whole collection: from its start event to its end event
        self.values[path] = _Node("", "", None, event.start_mark, end.end_mark)
        return data

    def tag(self, event) -> str:
        """A scalar's resolved tag, as the composer resolves it (`ctag`: the C parser's tag text,
        without the `tag` property's call)."""
        tag = event.ctag
        if tag is None or tag == "!":
            return _implicit_tag(event.value) if event.implicit[0] else _STR_TAG
        return tag

    def mapping_events(self, path: PathT, depth: int) -> tuple[dict, Any]:
        """A mapping's data (after its start event) and its end event."""
        result: dict = {}
        first_seen: dict[str, object] = {}
        next_event, scalar_event, values = self.next_event, self.scalar_event, self.values
        event = next_event()
        while type(event) is scalar_event:
            key = event.value
            # only a tagged key or a plain `<<` can resolve to the merge tag
            if event.anchor is not None or ((event.ctag is not None or key == "<<") and self.tag(event) == _MERGE_TAG):
                raise _NotPlain
            if len(key) > MAX_DIGITS or not key.isascii():  # nothing key() checks applies to the rest
                key = self.key(key, event)
            if key is None or (key in first_seen and self.duplicate(key, event, first_seen)):
                self.skip(next_event())
            else:
                first_seen[key] = event
                key_path = path + (key,)
                self.keys[key_path] = event
                event = next_event()
                if type(event) is scalar_event and event.anchor is None and depth < MAX_DEPTH:
                    # value() inlined for the most nodes
                    self.count += 1
                    if self.count > MAX_NODES:
                        raise _TooBig(event)
                    values[key_path] = event
                    text, tag = event.value, event.ctag
                    if tag is None or tag == "!":
                        tag = _implicit_tag(text) if event.implicit[0] else _STR_TAG
                    result[key] = self.scalar(tag, text, event)
                else:
                    result[key] = self.value(event, key_path, depth + 1)
            event = next_event()
        if type(event) is not self.end_events[1]:
            raise _NotPlain  # a key that is a collection or an alias
        return result, event

    def sequence_events(self, path: PathT, depth: int) -> tuple[list, Any]:
        items: list = []
        next_event, end = self.next_event, self.end_events[0]
        event = next_event()
        while type(event) is not end:
            items.append(self.value(event, path + (len(items),), depth + 1))
            event = next_event()
        return items, event

    def skip(self, event) -> None:
        """Read past a value that is not converted (a duplicate key's, a refused key's)."""
        depth = 0
        while True:
            if type(event) in self.end_events:
                depth -= 1
            elif event.anchor is not None or type(event) not in (self.scalar_event, self.mapping_start,
                                                                 self.sequence_start):
                raise _NotPlain  # an anchor or alias: the composer keeps track of them
            elif type(event) is not self.scalar_event:
                depth += 1
            if depth == 0:
                return
            event = self.next_event()


def load_yaml(text: str, display: str, report: Report) -> Document | None:
    doc = Document(display, None, lines=split_lines(text))
    if not refuse_yaml_1_1_breaks(text, display, report):
        return None
    if _may_nest_deeper(text) and nesting_depth(text) > MAX_DEPTH:
        report.add("DV005", f"document nests deeper than {MAX_DEPTH} levels", Location(display, 1, 1),
                   hint="a site spec needs a handful of levels")
        return None
    errors_before = len(report.items)
    if not _diverges(text):
        from ruamel.yaml.error import YAMLError

        try:
            doc.data = _DirectReader(doc, report).read(text)
        except (_NotPlain, _TooBig, YAMLError, RecursionError, ValueError):
            del report.items[errors_before:]  # the composer decides, and reports, from scratch
            doc.values.clear()
            doc.keys.clear()
        else:
            return None if len(report.items) > errors_before and report.has_errors else doc
    nodes = _composed(text, doc, report)
    if nodes is None:
        return None
    if len(nodes) > 1:
        report.add("DV003", "more than one YAML document in the file",
                   Location(display, nodes[1].start_mark.line + 1, 1))
        return None
    if not nodes:
        doc.data = None
        doc.values[()] = (1, 1)
        return doc
    converter = _YamlConverter(doc, report)
    try:
        doc.data = converter.convert(nodes[0], ())
    except (_TooBig, RecursionError):
        report.add("DV005", f"document expands to more than {MAX_NODES} nodes or {MAX_DEPTH} levels "
                   "(alias bomb or runaway nesting?)", Location(display, 1, 1))
        return None
    if len(report.items) > errors_before and report.has_errors:
        return None
    return doc


def _composed(text: str, doc: Document, report: Report) -> list[_Node] | None:
    """The composed documents of `text`; None after the syntax error's diagnostic."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    display = doc.file
    try:
        return _compose(text)
    except _ComposeError as exc:
        note = exc.note
        notes = (Note(note[0], Location(display, note[1][0] + 1, note[1][1] + 1)),) if note else ()
        report.add("DV003", f"YAML syntax error: {exc.message}",
                   Location(display, exc.mark.line + 1, exc.mark.column + 1), notes=notes)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(display, mark.line + 1, mark.column + 1) if mark else Location(display, 1, 1)
        problem = (exc.problem or exc.context or "syntax error").strip()
        hint = None
        if mark and 0 <= mark.line < len(doc.lines) and doc.lines[mark.line][mark.column:mark.column + 1] == "\t":
            problem, hint = "a tab character here", "YAML does not allow tabs for indentation; use spaces"
        report.add("DV003", f"YAML syntax error: {problem}", loc, hint=hint)
    except ReaderError as exc:  # a character YAML does not allow; its position counts UTF-8 bytes
        index = len(text.encode("utf-8", "surrogatepass")[:exc.position].decode("utf-8", "ignore"))
        report.add("DV003", f"YAML syntax error: {exc.reason}: U+{exc.character:04X}",
                   text_location(text, index, display),
                   hint=f'if it is meant, write it as an escape inside double quotes ("\\u{exc.character:04x}")')
    except (YAMLError, RecursionError, ValueError) as exc:
        report.add("DV003", f"YAML syntax error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                   Location(display, 1, 1))
    return None
