"""Stage 2, merge layers: follow `extends`, deep-merge the files (mappings merged, lists
replaced, later files win) and remember which file and line every merged value came from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dvhpc.frontend.source import Document, PathT, load_spec, read_file
from dvhpc.report.diagnostics import Location, Note, Report

# Keys that describe one file, not the site: never inherited from a base.
_OWN_KEYS = ("abstract", "extends")
MAX_LAYERS = 32
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # how Python keeps the bytes of a name that are not UTF-8


@dataclass
class Layers:
    """The merged spec and, for provenance, the documents it was merged from (base first)."""

    root: Document
    docs: list[Document] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def origin(self, path: PathT) -> Document:
        """The document that defines the value at `path` (the last layer that has it)."""
        docs = self.docs
        if len(docs) == 1 and docs[0] is self.root:
            return self.root  # a spec that extends nothing: it is the answer whether or not it has the path
        for doc in reversed(docs):
            if _has_path(doc.data, path):
                return doc
        return self.root

    def defines(self, path: PathT) -> bool:
        """Whether the merged spec writes a value at `path` (else a built-in default applies)."""
        return _has_path(self.data, path)

    def where(self, path: PathT, *, key: bool = False) -> Location:
        return self.origin(path).where(path, key=key)


def _has_path(data: object, path: PathT) -> bool:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


def _merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class SpecLoader:
    """Loads specs with their `extends` chains; a base shared by many specs is read once."""

    def __init__(self, reader=read_file, label: str = ""):
        """`label` prefixes every file's name in diagnostics and the source map (`HEAD:` for files
        a git reader takes from that revision), so no snippet is ever taken from another file."""
        self.reader = reader
        self.label = label
        self.cache: dict[tuple[str, str], tuple[Document | None, Report]] = {}

    def _load(self, path: Path, display: str, origin: Location | None) -> tuple[Document | None, Report]:
        """Read a file; a base (`origin` is where it is extended from) is kept for the next spec.

        Top-level specs are not kept: a lint of a thousand files would otherwise hold every
        document alive, and the garbage collector would walk them all, again and again."""
        key = (os.path.normpath(str(path)), display)
        if key in self.cache:
            return self.cache[key]
        report = Report()
        loaded = load_spec(path, display, report, origin=origin, reader=self.reader), report
        if origin is not None:
            self.cache[key] = loaded
        return loaded

    def load(self, path: Path, report: Report, display: str | None = None) -> Layers | None:
        display = self.label + (display or str(path))
        if _NOT_UTF8.search(display):
            # its bytes reach no output intact: generated files name their spec in UTF-8 text
            report.add("DV002", f"file name '{display}' is not valid UTF-8", Location(display, 1, 1),
                       hint="rename the file (its name is written into the generated files)", show_source=False)
            return None
        doc, own = self._load(path, display, None)
        report.extend(own)
        if doc is None:
            return None
        docs: list[Document] = []
        if not self._collect(doc, path, [os.path.normpath(str(path))], docs, report, set()):
            return None
        merged: dict = {}
        for layer in docs:
            if isinstance(layer.data, dict):
                merged = _merge(merged, {k: v for k, v in layer.data.items() if k not in _OWN_KEYS})
        if isinstance(doc.data, dict):
            merged.update({k: doc.data[k] for k in _OWN_KEYS if k in doc.data})
        elif len(docs) == 1:
            # not a mapping: keep it as it is so the schema reports the wrong type at its place
            return Layers(root=doc, docs=docs, data=doc.data)  # type: ignore[arg-type]
        return Layers(root=doc, docs=docs, data=merged)

    def _collect(self, doc: Document, path: Path, stack: list[str], out: list[Document], report: Report,
                 done: set[str]) -> bool:
        """Depth-first: bases before the file that extends them, each once. False if anything failed."""
        extends = doc.data.get("extends") if isinstance(doc.data, dict) else None
        entries = [extends] if isinstance(extends, str) else extends if isinstance(extends, list) else []
        ok = True
        for index, entry in enumerate(entries):
            if not isinstance(entry, str):
                continue  # the schema reports it
            entry_path = ("extends", index) if isinstance(extends, list) else ("extends",)
            where = doc.where(entry_path)
            if len(stack) >= MAX_LAYERS:
                report.add("DV011", f"`extends` is nested more than {MAX_LAYERS} levels deep", where)
                return False
            base_path = path.parent / entry
            normal = os.path.normpath(str(base_path))
            beside = os.path.normpath(os.path.join(os.path.dirname(doc.file.removeprefix(self.label)), entry))
            display = self.label + beside
            if normal in stack:
                chain = " -> ".join([*(os.path.basename(s) for s in stack), os.path.basename(normal)])
                report.add("DV011", f"cycle in `extends`: {chain}", where,
                           hint="a file cannot extend itself, directly or through other files")
                ok = False
                continue
            if normal in done:  # a diamond: this base is already merged
                continue
            base, own = self._load(base_path, display, where)
            report.extend(own)
            if base is None:
                ok = False
                continue
            if not isinstance(base.data, dict):
                report.add("DV100", f"'{display}' must hold a mapping to be extended", base.where(()),
                           notes=(Note("extended from here", where),))
                ok = False
                continue
            ok = self._collect(base, base_path, [*stack, normal], out, report, done) and ok
            done.add(normal)
        out.append(doc)
        return ok
