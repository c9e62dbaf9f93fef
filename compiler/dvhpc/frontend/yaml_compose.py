"""YAML: our composer over the C parser's events, resolving tags as ruamel.yaml does under YAML 1.2
(YAML 1.1 booleans are strings), and the bound of a text's nesting checked before any parser reads
it. yaml_load turns the nodes into plain data with positions."""

from __future__ import annotations

import functools
import re

from dvhpc.frontend.document import MAX_DEPTH

_SCALAR_TAG = "tag:yaml.org,2002:"
_SEQ_TAG = _SCALAR_TAG + "seq"
_MAP_TAG = _SCALAR_TAG + "map"
_STR_TAG = _SCALAR_TAG + "str"
_MERGE_TAG = _SCALAR_TAG + "merge"

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
    (the parser's marks: 0-based line and column, the end one past the node). An alias is the very
    node its anchor names. Located as a parser event is (Document.location)."""

    __slots__ = ("kind", "tag", "value", "start_mark", "end_mark")

    def __init__(self, kind: str, tag: str, value, start_mark, end_mark):
        self.kind, self.tag, self.value, self.start_mark, self.end_mark = kind, tag, value, start_mark, end_mark


def _start(node) -> tuple[int, int]:
    """A node's (or event's) 0-based start line and column."""
    return node.start_mark.line, node.start_mark.column


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
                                ("first defined here", _start(anchors[anchor])))
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
        node = _Node("map" if mapping else "seq", tag, items, start, None)
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
        node.end_mark = event.end_mark
        return node

    def scalar(event) -> _Node:
        tag = event.tag
        if tag is None or tag == "!":
            tag = _implicit_tag(event.value) if event.implicit[0] else _STR_TAG
        node = _Node("scalar", tag, event.value, event.start_mark, event.end_mark)
        if event.anchor is not None:
            remember(event.anchor, node, event.start_mark)
        return node

    documents = []
    next_event()  # stream start
    while type(next_event()) is not c.StreamEndEvent:  # a document start
        anchors.clear()
        documents.append(compose(next_event()))
        next_event()  # document end
    return documents


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
