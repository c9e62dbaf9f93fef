"""What a diagnostic code is: a declared rule (as ruff's rules or rustc's error index).

The declarations are in `dvhpc.report.codes`; `Report.add`, the renderers, SARIF `rules[]`,
`dvhpc lint --explain/--list-codes` and docs/diagnostics.md read them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Stage(StrEnum):
    """The step of dvhpc that finds the problem."""

    READ = "read"  # reading files: bytes, text, YAML/TOML, extends
    SCHEMA = "schema"  # the JSON Schema
    RESOLVE = "resolve"  # units, references, values that reach a shell or Snakemake
    CHECK = "check"  # the spec against its own limits: an error here is refused output (validate, compile, lint)
    LINT = "lint"  # warnings about a valid site (`dvhpc lint` only)
    WORKFLOW = "workflow"  # the spec against a Snakefile (`dvhpc lint --workflow`)
    CLUSTER = "cluster"  # the spec against the cluster or its snapshot (`dvhpc lint --cluster`)
    SHELLCHECK = "shellcheck"  # the generated scripts (`dvhpc lint`)
    WRITE = "write"  # generated folders (compile, compile --check, diff)
    IMPORT = "import"  # `dvhpc import` of a hand-written profile
    TUNE = "tune"  # `dvhpc tune`: accounting records read, the spec written back


# Why a rule of this stage cannot be silenced (said in a note when an ignore names it).
_NOT_SILENCEABLE = {
    Stage.READ: "the file was not read as a spec, so nothing correct can be compiled from it",
    Stage.SCHEMA: "the spec does not have the shape dvhpc compiles; the generated files would be wrong",
    Stage.RESOLVE: "the value would reach the generated files as it is, and they would be wrong or unsafe",
    Stage.SHELLCHECK: "a generated script is wrong; this is a dvhpc bug",
    Stage.WRITE: "it is about the generated files themselves",
    Stage.IMPORT: "an imported profile has no place for an ignore comment",
    Stage.TUNE: "it is about what `dvhpc tune` read or wrote, not about a spec's value",
}

# What `--explain` and the docs say above an example spec that is only a part.
EXAMPLE_HEADER = "dvhpc: 1\nsite: demo\n"
EXAMPLE_FILE = "example.yaml"


@dataclass(frozen=True)
class Example:
    """A spec (saved as example.yaml) that yields the rule's code, or one that does not.

    `spec` is a whole spec when it starts with `dvhpc:`; otherwise it follows EXAMPLE_HEADER.
    `workflow` is a Snakefile the spec is linted against (`--workflow Snakefile`); `cluster` a
    cluster snapshot (saved as cluster.json) it is linted against (`--cluster cluster.json`)."""

    spec: str
    workflow: str | None = None
    cluster: str | None = None

    @property
    def text(self) -> str:
        return self.spec if self.spec.startswith("dvhpc:") else EXAMPLE_HEADER + self.spec


@dataclass(frozen=True)
class Rule:
    code: str  # DVnnn: stable, never renumbered
    name: str  # kebab-case, stable too
    severity: Severity
    stage: Stage
    silenceable: bool  # whether `# dvhpc: ignore[CODE]` / `lint: {ignore: [CODE]}` may silence it
    summary: str  # one line: what is wrong
    explanation: str  # one paragraph: why it matters and what to do
    message: str  # a real message dvhpc prints (validate fixtures hold exactly this one)
    failing: Example | None = None
    passing: Example | None = None
    tested_by: str = ""  # for rules an example spec cannot show (a file, a compile, a tool): the test

    @property
    def why_not_silenceable(self) -> str:
        return _NOT_SILENCEABLE.get(self.stage, "its finding decides whether the output is right")
