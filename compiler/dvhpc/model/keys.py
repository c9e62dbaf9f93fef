"""The resource keys of a request: one declaration per key.

Everything dvhpc knows about a key is here: its spec name and unit type, what applies when a
spec never sets it (nothing is invented: the engine's own default), whether it grows per retry
attempt and which partition limit holds it back, the Snakemake resource and the sbatch flag it
becomes, where the cluster-generic template puts it, what hand-written profiles call it, the
order people see it in and its documentation. Resolve, the emitters, `explain`, `import`, `diff`,
the schema (tools/gen_schema_keys.py) and docs/spec.md derive from these declarations.

The model is keyed by these objects, never by their names: `res.value(MEM)` is a `Memory`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dvhpc.model.units import Duration, Factor, Memory

if TYPE_CHECKING:
    from dvhpc.model.site import Partition

T_co = TypeVar("T_co", covariant=True)  # a Key[Memory] is a Key[object]: keys are read, never written


class Kind(Enum):
    """The unit type of a key's value."""

    NAME = "name"              # a SLURM name: partition, account, QOS, GPU type
    CONSTRAINT = "constraint"  # a node feature expression
    COUNT = "count"            # a whole number
    MEMORY = "memory"          # Memory, sent in MiB
    DURATION = "duration"      # Duration, sent in whole minutes
    FLAGS = "flags"            # a list of sbatch flags
    FACTORS = "factors"        # retry: key -> Factor


class Form(Enum):
    """How a profile writes a key's constant value so that every Snakemake of the version matrix
    (`model/versions.py`) reads it the same; an attempt-dependent value is always a Python
    expression of `attempt` (never starting with a quote, see STRING). Proven per rule of every
    shipped site by tests/test_versions_matrix.py; the forms each one replaces and why are
    `REPLACED_FORMS` (README, "Verified versions")."""

    COUNT = "count"        # a plain YAML integer: `mem_mb: 8192`
    TIMESPAN = "timespan"  # minutes with their unit: `runtime: "800m"`
    STRING = "string"      # a call that returns the text: `slurm_account: "str('lab')"`

    def write(self, value: int | str) -> int | str:
        """The profile value of a constant in this form."""
        if self is Form.TIMESPAN:
            return f"{int(value)}m"
        if self is Form.STRING:
            return f"str({str(value)!r})"
        return value


# The forms the matrix showed to differ between versions, each with the form that replaced it.
REPLACED_FORMS: dict[Form, str] = {
    Form.TIMESPAN: "a bare integer `runtime: 800` is 800 minutes on 9.1.5 and 9.27.1 but 800 seconds "
                   "(`-t 13`) on 9.16.3 (snakemake issue 4039, fixed in 9.20)",
    Form.STRING: "a Python string literal `\"'lab'\"` keeps its quotes in set-resources on 9.1.5 (`-A 'lab'`, "
                 "which the plugin refuses; a multi-word slurm_extra stays one argument), and so does any "
                 "expression starting with a quote (`' '.join(...)`)",
}


class Template(Enum):
    """Where the cluster-generic submit template puts a key."""

    FIELD = "field"    # a field of the template when resources.defaults sets it (every rule has it then), else a flag
    FLAG = "flag"      # a per-rule flag in `dvhpc_sbatch_flags`
    SPECIAL = "special"  # the backend's own code (GPUs, memory per CPU, tasks per node, extra flags)
    NONE = "none"      # not sent (a Snakemake-only resource)


@dataclass(frozen=True, eq=False)
class Key(Generic[T_co]):
    """One resource key. Identity is the key: two declarations are two keys."""

    name: str
    kind: Kind
    doc: str
    schema: dict[str, Any]            # the JSON Schema of the value (description added from `doc`)
    engine_default: str               # what applies when no layer sets it (said by `explain`)
    snakemake: str | None = None      # resource name in a slurm-executor profile; None: the backend's own code
    sbatch: str | None = None         # the sbatch option it becomes (long form)
    sbatch_short: str | None = None   # sbatch's short form of that option
    generic: Template = Template.FLAG
    aliases: tuple[str, ...] = ()     # resource names of hand-written profiles that mean this key (import)
    alias_scale: tuple[tuple[str, int], ...] = ()  # alias -> what a bare number of it counts (default: 1 MiB / 1 min)
    cap: Callable[[Partition], Any] | None = None  # the partition limit a retry-scaled value is held at
    scales: bool = False              # may grow per retry attempt (`retry: {key: 2x}`)
    replaces: tuple[str, ...] = ()    # keys a layer that sets this one drops (one way to say one thing)
    value_class: str | None = None    # dvhpc.model.quoting.VALUE_CLASSES class of a string value
    off: int | str | None = None      # the profile value that switches the defaults' off in a rule (truth-tested)
    engine_picks: bool = False        # every job has one: when no layer sets it, the engine picks it (explain says so)
    form: Form = Form.COUNT           # how the profile writes a constant value (see Form)

    def __repr__(self) -> str:
        return f"Key({self.name})"


def _partition_mem(part: Partition) -> Memory | None:
    return part.mem


def _partition_time(part: Partition) -> Duration | None:
    return part.max_time


_COUNT_NODES = {"type": "integer", "minimum": 1, "maximum": 100000}

PARTITION: Key[str] = Key(
    "partition", Kind.NAME, "SLURM partition (`sbatch --partition`); must be one of `slurm.partitions`.",
    {"$ref": "#/$defs/name"}, "SLURM's default partition (the executor plugin asks sinfo for it)",
    snakemake="slurm_partition", sbatch="--partition", sbatch_short="-p", generic=Template.FIELD,
    aliases=("slurm_partition", "partition", "queue"), value_class="name", engine_picks=True, form=Form.STRING)
ACCOUNT: Key[str] = Key(
    "account", Kind.NAME, "SLURM account (`sbatch --account`); overrides `slurm.account`.",
    {"$ref": "#/$defs/name"}, "the executor plugin's guess (sacctmgr, sshare), else SLURM's default account",
    snakemake="slurm_account", sbatch="--account", sbatch_short="-A", generic=Template.FIELD,
    aliases=("slurm_account", "account"), value_class="name", engine_picks=True, form=Form.STRING)
QOS: Key[str] = Key(
    "qos", Kind.NAME, "Quality of service (`sbatch --qos`).",
    {"$ref": "#/$defs/name"}, "SLURM's default QOS of the account",
    snakemake="qos", sbatch="--qos", aliases=("qos",), value_class="name", form=Form.STRING)
CONSTRAINT: Key[str] = Key(
    "constraint", Kind.CONSTRAINT, "Node feature constraint (`sbatch --constraint`), e.g. `a100|h100`.",
    {"type": "string", "pattern": "^[A-Za-z0-9_.&|!\\[\\]():*,-]+$", "maxLength": 256}, "no constraint",
    snakemake="constraint", sbatch="--constraint", sbatch_short="-C", aliases=("constraint",),
    value_class="constraint", form=Form.STRING)
CPUS: Key[int] = Key(
    "cpus", Kind.COUNT, "CPUs per task (`--cpus-per-task`); also the rule's Snakemake threads.",
    {"type": "integer", "minimum": 1, "maximum": 100000},
    "Snakemake: the rule's own threads (`--cpus-per-task=<threads>`, 1 unless the Snakefile says)",
    snakemake="cpus_per_task", sbatch="--cpus-per-task", sbatch_short="-c", generic=Template.SPECIAL,
    aliases=("cpus_per_task", "cpus", "cpu", "threads", "ncpus"), replaces=("cpus_per_gpu",), off=0,
    engine_picks=True)
CPUS_PER_GPU: Key[int] = Key(
    "cpus_per_gpu", Kind.COUNT, "CPUs per GPU (`--cpus-per-gpu`) of a GPU job, instead of `cpus`; replaces `cpus` "
    "when set. The executor plugin sends it for a job with GPUs (`slurm.gpu_flag` `gpus` or `gres`); the "
    "cluster-generic template does not send it.",
    {"type": "integer", "minimum": 1, "maximum": 100000}, "SLURM: `cpus` applies",
    snakemake="cpus_per_gpu", sbatch="--cpus-per-gpu", generic=Template.NONE, aliases=("cpus_per_gpu",),
    replaces=("cpus",), off=0)
MEM: Key[Memory] = Key(
    "mem", Kind.MEMORY, "Memory per node (`--mem`), with a unit: `512M`, `16G`, `1.5T` (binary, as SLURM reads "
    "them) or `16GB` (decimal).",
    {"$ref": "#/$defs/memory"},
    "Snakemake's default mem_mb (min(max(2*input.size_mb, 1000), 8000)), sent as `--mem`",
    snakemake="mem_mb", sbatch="--mem", generic=Template.FIELD, aliases=("mem_mb", "mem", "mem_mib", "mem_gb"),
    alias_scale=(("mem_gb", 1000),),  # Snakemake turns mem_gb into mem_mb = 1000 x it, sent as MiB
    cap=_partition_mem, scales=True, replaces=("mem_per_cpu",), engine_picks=True)
MEM_PER_CPU: Key[Memory] = Key(
    "mem_per_cpu", Kind.MEMORY, "Memory per CPU (`--mem-per-cpu`), with a unit; replaces `mem` when set.",
    {"$ref": "#/$defs/memory"}, "SLURM: `mem` applies",
    snakemake="mem_mb_per_cpu", sbatch="--mem-per-cpu", generic=Template.SPECIAL,
    aliases=("mem_mb_per_cpu", "mem_per_cpu"), scales=True, replaces=("mem",), off=0)
TIME: Key[Duration] = Key(
    "time", Kind.DURATION, "Wall-clock limit (`--time`), with a unit: `90s`, `30min`, `2h`, `13h20m`, `4d4h`, `1.5h`, "
    "or SLURM's `HH:MM:SS`, `D-HH:MM`.",
    {"$ref": "#/$defs/duration"}, "SLURM: the partition's DefaultTime (no `--time` is sent)",
    snakemake="runtime", sbatch="--time", sbatch_short="-t", generic=Template.FIELD,
    aliases=("runtime", "time", "walltime", "time_min", "runtime_min"), cap=_partition_time, scales=True,
    engine_picks=True, form=Form.TIMESPAN)
GPUS: Key[int] = Key(
    "gpus", Kind.COUNT, "Number of GPUs per job, requested per `slurm.gpu_flag`; 0 = none.",
    {"type": "integer", "minimum": 0, "maximum": 1024}, "no GPUs",
    sbatch="--gpus", generic=Template.SPECIAL, aliases=("gpu", "gpus"))
GPU_TYPE: Key[str] = Key(
    "gpu_type", Kind.NAME, "GPU type; must be one of the partition's `gpus` types.",
    {"$ref": "#/$defs/name"}, "any GPU type", generic=Template.SPECIAL, aliases=("gpu_model", "gpu_type"),
    value_class="name", form=Form.STRING)
NODES: Key[int] = Key(
    "nodes", Kind.COUNT, "Number of nodes (`--nodes`).", dict(_COUNT_NODES), "SLURM: one node",
    snakemake="nodes", sbatch="--nodes", sbatch_short="-N", aliases=("nodes",))
TASKS: Key[int] = Key(
    "tasks", Kind.COUNT, "Number of tasks (`--ntasks`), for MPI-style jobs.",
    {"type": "integer", "minimum": 1, "maximum": 1000000}, "one task (the executor plugin sends `--ntasks=1`)",
    sbatch="--ntasks", sbatch_short="-n", generic=Template.SPECIAL, aliases=("tasks", "ntasks"))
TASKS_PER_NODE: Key[int] = Key(
    "tasks_per_node", Kind.COUNT, "Tasks per node (`--ntasks-per-node`, passed through `slurm_extra`).",
    dict(_COUNT_NODES), "SLURM's default", generic=Template.SPECIAL, aliases=("tasks_per_node",))
DISK: Key[Memory] = Key(
    "disk", Kind.MEMORY, "Local disk the job needs (Snakemake's `disk_mb`, used with `snakemake.resources` to "
    "throttle), with a unit.",
    {"$ref": "#/$defs/memory"}, "Snakemake's default disk_mb (not sent to SLURM)",
    snakemake="disk_mb", generic=Template.NONE, aliases=("disk_mb", "disk"), scales=True)
SLURM_EXTRA: Key[tuple[str, ...]] = Key(
    "slurm_extra", Kind.FLAGS, "Further sbatch flags, one per item, for what the executor plugin does not manage "
    "(`--exclusive`, `--mail-type=END`, ...).",
    {"type": "array", "items": {
        "type": "string", "description": "One sbatch flag, without quotes or spaces, e.g. `--exclusive` or "
        "`--mail-type=END`.", "pattern": "^--?[A-Za-z][A-Za-z0-9-]*(=[A-Za-z0-9_.,:@%+/=-]+)?$", "maxLength": 512}},
    "no further flags", generic=Template.SPECIAL, aliases=("slurm_extra",), form=Form.STRING)
RETRY: Key[dict[Key[Any], Any]] = Key(
    "retry", Kind.FACTORS, "Scaling per retry attempt: the value at attempt n is value \u00d7 factor^(n-1), capped "
    "at the partition's limit.", {"type": "object"}, "no scaling", generic=Template.SPECIAL)

# Every key, in the order people see them (explain, import, diff, docs/spec.md, the schema).
KEYS: tuple[Key[Any], ...] = (
    PARTITION, ACCOUNT, QOS, CONSTRAINT, CPUS, MEM, MEM_PER_CPU, TIME, GPUS, GPU_TYPE, NODES, TASKS,
    TASKS_PER_NODE, DISK, SLURM_EXTRA, RETRY, CPUS_PER_GPU,
)
BY_NAME: dict[str, Key[Any]] = {key.name: key for key in KEYS}
SCALED: tuple[Key[Any], ...] = tuple(key for key in KEYS if key.scales)

# The orders two generated files list keys in (kept from before the registry, so the files stay
# byte-identical); a key not named here follows in display order.
_PROFILE_ORDER = ("partition", "account", "time", "mem", "mem_per_cpu", "cpus", "disk", "constraint", "qos",
                  "nodes", "tasks", "gpus", "slurm_extra")
_RESOURCES_YAML_ORDER = ("partition", "account", "qos", "constraint", "cpus", "mem", "mem_per_cpu", "disk", "time",
                         "gpus", "gpu_type", "nodes", "tasks", "tasks_per_node", "slurm_extra", "retry")


def _ordered(names: tuple[str, ...]) -> tuple[Key[Any], ...]:
    return tuple(BY_NAME[name] for name in names) + tuple(key for key in KEYS if key.name not in names)


PROFILE_ORDER = _ordered(_PROFILE_ORDER)
RESOURCES_YAML_ORDER = _ordered(_RESOURCES_YAML_ORDER)


_PARSERS: dict[Kind, Callable[[object], object]] = {Kind.MEMORY: Memory.parse, Kind.DURATION: Duration.parse}


# The profile resource names a backend writes beyond `Key.snakemake`, by the key they come from.
BACKEND_NAMES: dict[str, Key[Any]] = {
    "gpu": GPUS, "gpu_model": GPU_TYPE, "gres": GPU_TYPE, "tasks": TASKS, "slurm_extra": SLURM_EXTRA,
    "dvhpc_sbatch_flags": SLURM_EXTRA,
}
FORM_BY_RESOURCE: dict[str, Form] = {
    **{key.snakemake: key.form for key in KEYS if key.snakemake}, **{n: k.form for n, k in BACKEND_NAMES.items()}}


def parser(key: Key[Any]) -> Callable[[object], object] | None:
    """The unit parser of a key's spec value (None: the value is used as the schema let it through)."""
    return _PARSERS.get(key.kind)  # built once: resolve asks per key of every layer of every rule


def exclusive_pairs() -> list[tuple[str, str]]:
    """Pairs of keys one layer may not set together."""
    pairs: list[tuple[str, str]] = []
    for key in KEYS:
        for other in key.replaces:
            if (other, key.name) not in pairs:
                pairs.append((key.name, other))
    return pairs


# ------------------------------------------------------------------------------ the schema

_USE = {
    "oneOf": [{"$ref": "#/$defs/ident"}, {"type": "array", "items": {"$ref": "#/$defs/ident"}, "minItems": 1}],
    "description": "Named resource set(s) from `resources.sets` applied before the rule's own keys, in order.",
}


def _retry_schema() -> dict[str, Any]:
    examples = {"mem": ", e.g. `2x`", "time": ", e.g. `1.5x`"}
    return {
        "type": "object", "description": RETRY.doc, "additionalProperties": False,
        "properties": {key.name: {"$ref": "#/$defs/factor",
                                  "description": f"Factor for `{key.name}`{examples.get(key.name, '')}."}
                       for key in SCALED},
    }


def request_properties() -> dict[str, Any]:
    """The `properties` of a resource request in schema/site.schema.json (defaults, sets, rules)."""
    properties: dict[str, Any] = {"use": _USE}
    for key in KEYS:
        properties[key.name] = _retry_schema() if key is RETRY else {**key.schema, "description": key.doc}
    return properties


def request_exclusions() -> dict[str, Any]:
    """The schema keywords that refuse a layer setting two keys of a pair (mem and mem_per_cpu, ...)."""
    nots = [{"not": {"required": list(pair)}} for pair in exclusive_pairs()]
    return nots[0] if len(nots) == 1 else {"allOf": nots}


def factor_of(retry: dict[str, Any], key: Key[Any]) -> Factor | None:
    sourced = retry.get(key.name)
    return sourced.value if sourced is not None else None
