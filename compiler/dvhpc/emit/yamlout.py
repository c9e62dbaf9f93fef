"""A small deterministic YAML writer for generated files: we decide every scalar's form.

Integers and booleans are plain, strings are always double-quoted (JSON escaping is valid YAML),
so no value can turn into another type (`0123`, `no`, `None`) on the way to Snakemake.
"""

from __future__ import annotations

import functools
import json
import re


def scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return json.dumps(str(value))
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 (PyYAML) reads `1e-05` as a string: write `1.0e-05`
            text = text.replace("e", ".0e", 1)
        return text
    text = json.dumps(str(value), ensure_ascii=False)
    return _UNSAFE_IN_QUOTES.sub(_json_escape, text) if _UNSAFE_IN_QUOTES.search(text) else text


# JSON leaves DEL, C1 and the Unicode separators raw; in a double-quoted YAML scalar a raw NEL,
# U+2028 or U+2029 is a line break to a YAML 1.1 reader (PyYAML in Snakemake) and folds into a
# space, and DEL/C1 are refused there: written as escapes, the value reads back unchanged.
_UNSAFE_IN_QUOTES = re.compile("[\x7f-\x9f\u2028\u2029\ufeff]")


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def key(name: object) -> str:
    """A mapping key: plain when it is a simple name, else a quoted scalar."""
    return str(name) if _plain_key(name) else scalar(name)


def dump(data: dict, indent: int = 0) -> str:
    """Block mappings; lists of scalars in flow style, lists of mappings in block style."""
    pad = "  " * indent
    lines = []
    for key, value in data.items():
        name = key if _plain_key(key) else scalar(key)
        if isinstance(value, dict):
            if value:
                lines.append(f"{pad}{name}:")
                lines.append(dump(value, indent + 1).rstrip("\n"))
            else:
                lines.append(f"{pad}{name}: {{}}")
        elif isinstance(value, (list, tuple)):
            if value and all(isinstance(item, dict) for item in value):
                lines.append(f"{pad}{name}:")
                for item in value:
                    block = dump(item, indent + 2).rstrip("\n").split("\n")
                    lines.append(f"{pad}  - {block[0].lstrip()}")
                    lines.extend(block[1:])
            else:
                lines.append(f"{pad}{name}: [{', '.join(scalar(v) for v in value)}]")
        else:
            lines.append(f"{pad}{name}: {scalar(value)}")
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=4096)  # generated files repeat the same few keys thousands of times
def _plain_key(key: object) -> bool:
    text = str(key)
    # a leading digit, `.`, `+` or `-` could read as a number (`.inf`, `+1`) in YAML 1.1 or 1.2
    return bool(text) and all(c.isalnum() or c in "_-.+" for c in text) and (text[0].isalpha() or text[0] == "_") \
        and text.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "y", "n")
