"""Read a Snakemake workflow's rules without running it: the default of ``dvhpc lint --workflow``.

Snakemake itself tokenizes a Snakefile with Python's ``tokenize`` and treats a name at the start
of a logical line as one of its keywords (``rule``, ``include``, ...). This reader does the same,
so strings, comments and docstrings that contain ``rule x:`` never count, and no line of the
workflow is executed. It follows what can be known from the text: ``include:`` of plain strings
(relative to the including file), ``rule``/``checkpoint`` names (and a plain-string ``name:``),
``localrules:``, ``localrule: True``, ``handover: True``, the names in ``resources:``, ``module``
blocks with a plain ``snakefile:`` path and the three forms of ``use rule``. Anything that needs
the code to run (``include: some_var``, a rule inside a loop, a module from a URL) becomes a note
(DV354) with its place; ``--workflow-exec`` runs Snakemake's own parser instead.

Files are read by `snakefile_lines` (regular files only, without blocking); sizes, include depth
and the number of files read are bounded, so a hostile workflow can neither hang nor exhaust the reader.
"""

from __future__ import annotations

import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from dvhpc.rules.snakefile_lines import (
    LogicalLine,
    WorkflowUnreadable,
    block_end,
    directives,
    logical_lines,
    plain_string,
    printable,
    read_workflow_file,
    resource_names,
    shown_path,
    source_text,
    use_line,
)
from dvhpc.rules.workflow import WorkflowInfo

# Real workflows are far smaller (DynVision's largest file: 30 kB); tokenizing runs at ~0.5 MB/s.
MAX_FILE_BYTES = 2_000_000
MAX_TOTAL_BYTES = 8_000_000  # all distinct files together
MAX_INCLUDE_DEPTH = 32  # like an `extends` chain
MAX_FILES_READ = 1000  # includes and module reads together (a module is read once per `use rule`)
MAX_LINES_READ = 1_000_000  # logical lines gone through, counting each read of a module again

EXEC_HINT = "--workflow-exec would run Snakemake's parser, which executes the workflow's code"

# the keywords Snakemake's parser knows at the start of a line (snakemake/parser.py, class Python)
_GLOBAL_KEYWORDS = frozenset("""
    envvars include workdir configfile pathvars pepfile pepschema report ruleorder rule checkpoint
    localrules onsuccess onerror onstart wildcard_constraints singularity container containerized
    conda scattergather inputflags outputflags storage resource_scopes module use subworkflow
""".split())
_RULE_DIRECTIVES = frozenset("""
    name input output params threads resources retries priority log message benchmark conda
    singularity container containerized envmodules wildcard_constraints shadow group cache handover
    default_target localrule pathvars version run shell script notebook wrapper template_engine cwl
""".split())
_PYTHON_BLOCKS = {"if": "an `if` block", "elif": "an `if` block", "else": "an `if` block",
                  "for": "a `for` loop", "while": "a `while` loop", "def": "a function",
                  "async": "a function", "class": "a class", "with": "a `with` block",
                  "try": "a `try` block", "except": "a `try` block", "finally": "a `try` block",
                  "match": "a `match` block", "case": "a `match` block"}


@dataclass
class _Rule:
    file: str
    line: int
    checkpoint: bool = False
    local: bool | None = None  # `localrule:` True/False, None when not set
    resources: frozenset[str] | None = None  # None: no resources block


@dataclass
class _Modifier:
    """Snakemake's WorkflowModifier as far as names go: which rules a `use rule` takes and how it renames them."""

    whitelist: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()
    rename: str | None = None  # `as` pattern, `*` stands for the rule's name
    overwrite: dict = field(default_factory=dict)  # `with:` directives: localrule, resources
    parent: _Modifier | None = None
    is_module: bool = False

    def _renamed(self, name: str) -> str:
        return name if self.rename is None else self.rename.replace("*", name) if "*" in self.rename else self.rename

    def available(self, name: str) -> str | None:
        if (self.whitelist is not None and name not in self.whitelist) or name in self.exclude:
            return None
        return self.parent.available(self._renamed(name)) if self.parent is not None else name

    def modified(self, name: str) -> str:
        return self.parent.modified(self._renamed(name)) if self.parent is not None else name


def read_snakefile(snakefile: Path | str) -> WorkflowInfo:
    """Read the workflow's rules from its text; never runs it and never raises for a bad workflow."""
    reader = _Reader()
    main = str(snakefile)
    try:
        if not os.path.isfile(main):
            return WorkflowInfo(error=f"{main}: Snakefile not found")
        reader.include(main, None, _Modifier(), [])
    except WorkflowUnreadable as stop:
        return WorkflowInfo(error=stop.message, error_location=stop.place, sources=reader.sources)
    names = tuple(reader.rules)
    local = {name for name, rule in reader.rules.items() if rule.local}
    return WorkflowInfo(
        rules=names,
        localrules=frozenset((reader.localrules | local) & set(names)),
        checkpoints=frozenset(name for name, rule in reader.rules.items() if rule.checkpoint),
        rule_resources={name: set(rule.resources or ()) for name, rule in reader.rules.items()},
        rule_locations={name: (rule.file, rule.line) for name, rule in reader.rules.items()},
        notes=tuple(reader.notes),
        sources=reader.sources,
    )


# --------------------------------------------------------------------------- the reader


class _Reader:
    def __init__(self) -> None:
        self.rules: dict[str, _Rule] = {}
        self.localrules: set[str] = set()
        self.modules: dict[str, tuple[str | None, list[tokenize.TokenInfo], str]] = {}  # name -> (path, value, file)
        self.notes: list[tuple[str, int, int, str]] = []
        self.noted: set[tuple[str, int, int, str]] = set()
        self.parsed: dict[str, list[LogicalLine]] = {}
        self.lines: dict[str, list[str]] = {}  # by real path: each file's text, read once
        self.sources: dict[str, list[str]] = {}  # the same by shown name: what findings are located in
        self.files_read = self.bytes_read = self.lines_read = 0

    def note(self, file: str, token: tokenize.TokenInfo, message: str) -> None:
        entry = (file, token.start[0], token.start[1] + 1, f"{message} ({EXEC_HINT})")
        if entry not in self.noted:  # a module read for several `use rule` statements says it once
            self.noted.add(entry)
            self.notes.append(entry)

    def include(self, path: str, place: tuple[str, int, int] | None, modifier: _Modifier, stack: list[str]) -> None:
        key = os.path.realpath(path)
        shown = shown_path(path)
        where = place or (shown, 1, 1)
        if key in stack:  # Snakemake recurses until Python's limit (or skips it when both paths are spelled alike)
            chain = [printable(shown_path(p)) for p in stack[stack.index(key):]] + [printable(shown)]
            raise WorkflowUnreadable(f"include cycle: {' -> '.join(chain)}", where)
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise WorkflowUnreadable(f"includes nested deeper than {MAX_INCLUDE_DEPTH} files", where)
        self.files_read += 1
        if self.files_read > MAX_FILES_READ:
            raise WorkflowUnreadable(f"more than {MAX_FILES_READ} workflow files read (includes and modules)", where)
        if key not in self.parsed:
            text = read_workflow_file(path, where, MAX_FILE_BYTES)
            self.lines[key] = self.sources[shown] = text.split("\n")  # registered before a syntax error in it
            self.bytes_read += len(text)
            if self.bytes_read > MAX_TOTAL_BYTES:
                raise WorkflowUnreadable(f"the workflow's files are larger than {MAX_TOTAL_BYTES:,} bytes together",
                                         where)
            self.parsed[key] = logical_lines(text, shown)
        self.sources.setdefault(shown, self.lines[key])  # the same file by another name
        self.lines_read += len(self.parsed[key])
        if self.lines_read > MAX_LINES_READ:
            raise WorkflowUnreadable(f"more than {MAX_LINES_READ:,} lines read (includes and modules)", where)
        self.statements(self.parsed[key], path, shown, modifier, stack + [key])

    def statements(self, lines: list[LogicalLine], path: str, file: str, modifier: _Modifier, stack: list[str]) -> None:
        blocks: list[tuple[int, str]] = []  # enclosing Python compound statements: (depth, what)
        index = 0
        while index < len(lines):
            line = lines[index]
            while blocks and blocks[-1][0] >= line.depth:
                blocks.pop()
            first = line.tokens[0]
            if first.type != tokenize.NAME or first.string not in _GLOBAL_KEYWORDS:
                if first.type == tokenize.NAME and first.string in _PYTHON_BLOCKS and line.tokens[-1].string == ":":
                    blocks.append((line.depth, _PYTHON_BLOCKS[first.string]))
                index += 1
                continue
            end = block_end(lines, index)
            inside = next((what for _, what in reversed(blocks) if "loop" in what),
                          blocks[-1][1] if blocks else None)
            keyword = first.string
            if keyword in ("rule", "checkpoint"):
                self.rule(lines, index, end, file, modifier, inside)
            elif keyword == "include":
                self.include_statement(lines, index, end, path, file, modifier, stack, inside)
            elif keyword == "localrules":
                self.localrules_statement(lines, index, end, file)
            elif keyword == "module":
                self.module_statement(lines, index, end, path, file)
            elif keyword == "use":
                self.use_statement(lines, index, end, file, modifier, stack, inside)
            index = end

    @staticmethod
    def _colon_after(tokens: list[tokenize.TokenInfo], at: int, file: str, what: str) -> None:
        if at >= len(tokens) or tokens[at].string != ":":
            token = tokens[min(at, len(tokens) - 1)]
            place = token.end if at >= len(tokens) else token.start
            raise WorkflowUnreadable(f"expected ':' after '{printable(what)}'", (file, place[0], place[1] + 1))

    def include_statement(self, lines, index, end, path, file, modifier, stack, inside) -> None:
        tokens = lines[index].tokens
        self._colon_after(tokens, 1, file, "include")
        value = tokens[2:] + [t for extra in lines[index + 1:end] for t in extra.tokens]
        if not value:
            raise WorkflowUnreadable("include: needs a file", (file, tokens[0].start[0], tokens[0].start[1] + 1))
        target = plain_string(value)
        if target is None:
            self.note(file, value[0], f"include: {source_text(value)} is not a plain string, so the static reader "
                                      "cannot tell which file it includes")
            return
        if "://" in target or target.startswith(("git+file:", "gh:", "gl:")):
            self.note(file, value[0], f"include: {printable(target)} is not a local file")
            return
        full = target if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)
        if inside:
            self.note(file, tokens[0], f"include: {printable(target)} is inside {inside}: it may be read "
                                       "once, never or more often")
            if not os.path.lexists(full):
                return  # an optional file that is not there: what the code decides is not known here
        self.include(full, (file, value[0].start[0], value[0].start[1] + 1), modifier, stack)

    def localrules_statement(self, lines, index, end, file) -> None:
        tokens = lines[index].tokens
        self._colon_after(tokens, 1, file, "localrules")
        for token in tokens[2:] + [t for extra in lines[index + 1:end] for t in extra.tokens]:
            if token.type == tokenize.NAME:
                self.localrules.add(token.string)
            elif token.string != ",":
                raise WorkflowUnreadable("localrules: expects rule names separated by commas",
                            (file, token.start[0], token.start[1] + 1))

    def _rule_settings(self, lines, start, end, depth, file, what: str, inside: str | None = None) -> dict:
        """localrule / resources / name of a rule body or a `with:` block."""
        found: dict = {}
        for name_token, value in directives(lines, start, end, depth):
            if name_token is None or name_token.string not in _RULE_DIRECTIVES:
                token = name_token or value[0]
                shown = source_text(value if name_token is None else [token])
                self.note(file, token, f"{what} has an entry the static reader does not know: {shown}")
                continue
            key = name_token.string
            if key in ("localrule", "handover"):
                flag = value[0].string if len(value) == 1 and value[0].type == tokenize.NAME else None
                if flag in ("True", "False"):
                    found["local"] = found.get("local") or flag == "True"
                else:
                    self.note(file, value[0] if value else name_token,
                              f"{key}: {source_text(value or [name_token])} in {what} is not True or False")
            elif key == "resources":
                names, dynamic = resource_names(value)
                found["resources"] = names
                if dynamic:
                    self.note(file, value[0],
                              f"resources of {what} include {source_text(value)}: names behind ** are not known")
            elif key == "name":
                found["name"] = plain_string(value)
                if found["name"] is None:
                    where = f" inside {inside}" if inside else ""
                    self.note(file, value[0] if value else name_token,
                              f"name: {source_text(value or [name_token])} of {what}{where} is not a plain string: "
                              "the rule's name is not known")
        return found

    def rule(self, lines, index, end, file, modifier, inside) -> None:
        tokens = lines[index].tokens
        keyword = tokens[0]
        written = tokens[1].string if len(tokens) > 1 and tokens[1].type == tokenize.NAME else None
        self._colon_after(tokens, 2 if written else 1, file,
                          f"{keyword.string} {written}" if written else keyword.string)
        label = f"{keyword.string} '{written}'" if written else f"the unnamed {keyword.string}"
        settings = self._rule_settings(lines, index + 1, end, lines[index].depth + 1, file, label, inside)
        if "name" in settings and settings["name"] is None:
            return
        original = settings.get("name") or written or str(len(self.rules) + 1)
        if inside:
            self.note(file, keyword, f"{keyword.string} '{printable(original)}' is defined inside {inside}: "
                                     "whether and how often it exists depends on running the code")
        self.define(original, _Rule(file, keyword.start[0], keyword.string == "checkpoint",
                                    settings.get("local"), settings.get("resources")), modifier, keyword, inside)

    def define(self, original: str, rule: _Rule, modifier: _Modifier, token, inside) -> None:
        name = modifier.available(original)
        if name is None:
            return
        overwrite = self._overwrite(modifier)
        if "local" in overwrite:
            rule.local = overwrite["local"]
        if "resources" in overwrite:
            rule.resources = overwrite["resources"]
        if name in self.rules and not modifier.is_module and not inside:
            earlier = self.rules[name]
            raise WorkflowUnreadable(f"rule name '{printable(name)}' is already used by the rule at "
                                     f"{earlier.file}:{earlier.line}",
                        (rule.file, token.start[0], token.start[1] + 1))
        self.rules[name] = rule

    @staticmethod
    def _overwrite(modifier: _Modifier) -> dict:
        merged: dict = {}
        chain = []
        current: _Modifier | None = modifier
        while current is not None:
            chain.append(current)
            current = current.parent
        for item in reversed(chain):  # the innermost `with:` wins
            merged.update(item.overwrite)
        return merged

    def module_statement(self, lines, index, end, path, file) -> None:
        tokens = lines[index].tokens
        name = tokens[1].string if len(tokens) > 1 and tokens[1].type == tokenize.NAME else None
        self._colon_after(tokens, 2 if name else 1, file, f"module {name}" if name else "module")
        target, value = None, tokens
        for key, entry in directives(lines, index + 1, end, lines[index].depth + 1):
            if key is None:
                continue
            if key.string == "name":
                name = plain_string(entry) or name
            elif key.string in ("snakefile", "meta_wrapper"):
                value = entry or [key]
                target = plain_string(entry) if key.string == "snakefile" else None
        if name is None:
            self.note(file, tokens[0], "module without a plain name")
            return
        if target is not None and ("://" in target or target.startswith(("git+file:", "gh:", "gl:"))):
            target = None
        elif target is not None and not os.path.isabs(target):
            target = os.path.join(os.path.dirname(path), target)
        self.modules[name] = (target, value, file)

    def use_statement(self, lines, index, end, file, modifier, stack, inside) -> None:
        tokens = lines[index].tokens
        use = tokens[0]
        rules, module, exclude, rename, with_block = use_line(tokens, file)
        label = f"use rule {', '.join(rules)}" + (f" from {module}" if module else "")
        overwrite = {}
        if with_block:
            found = self._rule_settings(lines, index + 1, end, lines[index].depth + 1, file, f"'{label}'", inside)
            overwrite = {key: found[key] for key in ("local", "resources") if key in found}
        if inside:
            self.note(file, use, f"'{label}' is inside {inside}: whether it applies depends on running the code")
        if module is None:
            self.inherit(rules, rename, overwrite, modifier, file, use, label, inside)
            return
        declared = self.modules.get(module)
        target = declared[0] if declared else None
        if declared is None or target is None:
            why = (f"module {module} is not declared with a `module` statement the reader could see" if declared is None
                   else f"module {module} is read from {source_text(declared[1])}, which is not a local path")
            by_name = "*" not in rules and (rename is None or "*" in rename or len(rules) == 1)
            known = [r for r in rules if r != "*"] if by_name else []
            named = _Modifier(rename=rename, parent=modifier)
            self.note(file, use, f"{label}: {why}; " + (
                f"its rules are known by name only: {', '.join(repr(named.modified(r)) for r in known)}"
                if known else "the rules it brings in are not known"))
            for rule in known:
                self.define(named.modified(rule), _Rule(file, use.start[0], local=overwrite.get("local"),
                                                        resources=overwrite.get("resources")),
                            _Modifier(is_module=True), use, inside)
            return
        inner = _Modifier(whitelist=None if "*" in rules else frozenset(rules), exclude=frozenset(exclude or ()),
                          rename=rename, overwrite=overwrite, parent=modifier, is_module=True)
        self.include(target, (file, use.start[0], use.start[1] + 1), inner, stack)

    def inherit(self, rules, rename, overwrite, modifier, file, use, label, inside) -> None:
        """`use rule X as Y with:` in the same workflow: Y is a copy of X (not a checkpoint) with the changes."""
        if len(rules) != 1 or rules[0] == "*" or rename is None:
            raise WorkflowUnreadable(f"{label}: inheriting from a rule of the same workflow needs one rule and "
                                     "'as NAME'",
                        (file, use.start[0], use.start[1] + 1))
        base = self.rules.get(modifier.modified(rules[0]))
        if base is None:
            self.note(file, use, f"{label}: rule '{rules[0]}' is not known to the static reader, so what "
                                 f"'{rename}' inherits is not known")
        copy = _Rule(file, use.start[0], False, base.local if base else None, base.resources if base else None)
        self.define(rename, copy, _Modifier(rename=rename, overwrite=overwrite, parent=modifier), use, inside)
