"""Read a Snakemake workflow's rules with the real Snakemake, in a subprocess.

This EXECUTES the workflow's code (its top-level Python and every included file): it is what
``dvhpc lint --workflow-exec`` does. ``--workflow`` alone reads the text with
``dvhpc.rules.snakefile_reader`` and runs nothing.

``read_workflow(snakefile)`` runs ``python -m dvhpc.rules.workflow`` with the same interpreter. The
child parses the Snakefile the way ``snakemake --list-rules`` does (Snakemake 9 API:
``SnakemakeApi(OutputSettings(...)).workflow(ResourceSettings(cores=1), snakefile=...)``, then
the ``WorkflowApi._workflow`` property, which builds a ``snakemake.workflow.Workflow``,
``include()``s the Snakefile and runs ``check()``; ``list_rules`` uses the same property), and
prints one JSON object. So includes, modules (``use rule ... from``) and any Python in the
Snakefile behave as in a real run, while a broken Snakefile, a slow import or side effects
cannot break dvhpc: errors come back as one line in ``WorkflowInfo.error``.

Importing this module is cheap: snakemake is imported only in the child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class WorkflowInfo:
    rules: tuple[str, ...] = ()  # in definition order
    localrules: frozenset[str] = frozenset()  # `localrules:` directive and `localrule: True`
    # resources each rule sets in its own `resources:` block, as Snakemake names them after
    # normalising (mem="4G" → mem_mb, disk → disk_mb); defaults and threads are not included
    rule_resources: dict[str, set[str]] = field(default_factory=dict)
    rule_locations: dict[str, tuple[str, int]] = field(default_factory=dict)  # rule -> (file, line)
    checkpoints: frozenset[str] = frozenset()
    error: str | None = None
    error_location: tuple[str, int, int] | None = None  # (file, line, column) when known
    # what the static reader could not follow: (file, line, column, message), reported as DV354
    notes: tuple[tuple[str, int, int, str], ...] = ()
    # the source map: the lines of each file the static reader read, by the name its findings use
    # (snippets quote them; Snakemake's parser, run in a child, gives none)
    sources: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def default_workdir(snakefile: Path) -> Path:
    """Where ``snakemake`` would normally be run for this Snakefile.

    Snakemake finds ``Snakefile`` and ``workflow/Snakefile`` from the working directory, and
    relative paths (``configfile:``, inputs) are relative to it. So: the Snakefile's directory,
    or its parent if the Snakefile lives in a directory called ``workflow``.
    """
    parent = snakefile.resolve().parent
    return parent.parent if parent.name == "workflow" else parent


def read_workflow(snakefile: Path, *, workdir: Path | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> WorkflowInfo:
    """Parse ``snakefile`` with the installed Snakemake in a subprocess; never raises for a bad workflow."""
    snakefile = Path(snakefile)
    if not snakefile.is_file():
        return WorkflowInfo(error=f"{snakefile}: Snakefile not found")
    cwd = Path(workdir) if workdir is not None else default_workdir(snakefile)
    pkg_parent = str(Path(__file__).resolve().parents[2])  # the folder that holds the dvhpc package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        proc = subprocess.run(
            # -P: do not put the working directory (the user's workflow) first on sys.path
            [sys.executable, "-P", "-m", "dvhpc.rules.workflow", str(snakefile.resolve())],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return WorkflowInfo(error=f"{snakefile}: reading the workflow with Snakemake timed out after {timeout:g} s")
    except OSError as exc:
        return WorkflowInfo(error=f"{snakefile}: could not start Python to read the workflow: {exc}")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        tail = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        last = tail[-1].strip() if tail else f"exit status {proc.returncode}"
        return WorkflowInfo(error=f"{snakefile}: reading the workflow with Snakemake failed: {last}")
    if data.get("error"):
        return WorkflowInfo(error=data["error"])
    return WorkflowInfo(
        rules=tuple(data["rules"]),
        localrules=frozenset(data["localrules"]),
        rule_resources={rule: set(names) for rule, names in data["rule_resources"].items()},
        rule_locations={rule: (file, line) for rule, (file, line) in data.get("rule_locations", {}).items()},
        checkpoints=frozenset(data.get("checkpoints", ())),
    )


# --------------------------------------------------------------------------- child process


def _one_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _describe_error(ex: BaseException, linemaps: dict) -> str:
    """``file:line: ExceptionName: message`` with the line in the Snakefile (not the compiled Python).

    Same location logic as ``snakemake.exceptions.format_exception_to_string``, with one fix:
    SyntaxErrors raised by Snakemake's own parser (``text`` and ``offset`` are None) already
    carry the Snakefile line, which Snakemake would wrongly map through the linemap again.
    """
    from snakemake.exceptions import RuleException, get_exception_origin
    from snakemake_interface_common.exceptions import WorkflowError

    def mapped(file, line):
        if file in linemaps and line in linemaps[file]:
            return linemaps[file][line]
        return line

    file = line = None
    rule = getattr(ex, "rule", None)
    if isinstance(ex, SyntaxError):
        file, line = ex.filename, ex.lineno
        if ex.text is not None or ex.offset is not None:  # compiled-Python error → map
            line = mapped(file, line)
        message = ex.msg
    else:
        origin = get_exception_origin(ex, linemaps)
        if origin is not None:
            line, file = origin
            line = mapped(file, line)
        elif isinstance(ex, (RuleException, WorkflowError)):
            file = getattr(ex, "filename", None) or getattr(ex, "snakefile", None)
            line = ex.lineno
            if file is not None and line is not None:
                line = mapped(file, line)
        message = _one_line(ex) or ""
    where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
    in_rule = f"in rule {rule}: " if rule else ""
    return f"{where}{in_rule}{type(ex).__name__}" + (f": {message}" if message else "")


def _child(snakefile: str) -> dict:
    from snakemake.api import SnakemakeApi
    from snakemake.resources import Resources
    from snakemake.settings.types import OutputSettings, ResourceSettings

    # no .snakemake/log file in the user's directory; cores=1 like `snakemake --list-rules`
    # (rules with `threads: workflow.cores` would fail otherwise)
    with SnakemakeApi(OutputSettings(enable_file_logging=False)) as api:
        wapi = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=Path(snakefile))
        try:
            wf = wapi._workflow
        except BaseException as ex:  # noqa: BLE001 - any error in user code is a result here
            store = wapi._workflow_store
            linemaps = store.linemaps if store is not None else {}
            try:
                return {"error": _describe_error(ex, linemaps)}
            except Exception:  # noqa: BLE001
                return {"error": f"{snakefile}: {type(ex).__name__}: {_one_line(ex)}"}
        rules = [rule.name for rule in wf.rules]
        rule_resources: dict[str, list[str]] = {}
        for rule in wf.rules:
            info = getattr(rule, "ruleinfo", None)
            own = info.resources if info is not None else None
            names: set[str] = set()
            if own:
                _args, mapping = own
                try:
                    names = set(Resources.from_mapping(mapping).keys())
                except Exception:  # noqa: BLE001 - already validated by Snakemake; fall back to raw names
                    names = set(mapping)
            rule_resources[rule.name] = sorted(n for n in names if not n.startswith("_"))
        localrules = sorted(set(wf._localrules) & set(rules))
        # where each rule is written: Snakemake keeps the line of its generated Python; map it back
        linemaps = getattr(wapi._workflow_store, "linemaps", {}) or {}
        locations = {}
        for rule in wf.rules:
            file, line = str(getattr(rule, "snakefile", "") or ""), getattr(rule, "lineno", None)
            if file and isinstance(line, int):
                locations[rule.name] = [file, linemaps.get(file, {}).get(line, line)]
        checkpoints = sorted(rule.name for rule in wf.rules if getattr(rule, "is_checkpoint", False))
        return {"rules": rules, "localrules": localrules, "rule_resources": rule_resources,
                "rule_locations": locations, "checkpoints": checkpoints, "error": None}


def _main(argv: list[str]) -> int:
    # Anything the Snakefile or Snakemake prints goes to stderr; stdout carries only our JSON.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    if len(argv) != 1:
        result = {"error": "usage: python -m dvhpc.rules.workflow SNAKEFILE"}
    else:
        try:
            result = _child(argv[0])
        except BaseException as ex:  # noqa: BLE001
            result = {"error": f"{argv[0]}: {type(ex).__name__}: {_one_line(ex)}"}
    json.dump(result, out)
    out.write("\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
