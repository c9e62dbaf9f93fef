"""The typed model every backend reads: units are types, every value knows where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

from dvhpc.report.diagnostics import Location
from dvhpc.model.units import Duration, Factor, Memory

T = TypeVar("T")


@dataclass(frozen=True)
class Origin:
    """Where a resolved value came from: a layer label and, when it was written, its place.

    The place may be given as a function that finds it: most values are never reported or
    explained, and finding the layer and line of each of them was most of the resolve stage."""

    label: str  # "defaults", "set gpu_train", "rule train_model", "partition default", "built-in default"
    place: Location | Callable[[], Location] | None = None

    @property
    def location(self) -> Location | None:
        return self.place() if callable(self.place) else self.place


@dataclass(frozen=True)
class Sourced(Generic[T]):
    value: T
    origin: Origin


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    max_time: Duration | None
    cpus: int | None
    mem: Memory | None
    nodes: int | None
    gpus: dict[str, int]
    location: Location

    @property
    def gpus_per_node(self) -> int:
        return max(self.gpus.values(), default=0)


# Resource keys of a request, in the order they are shown to people.
RESOURCE_KEYS = (
    "partition", "account", "qos", "constraint", "cpus", "mem", "mem_per_cpu", "time",
    "gpus", "gpu_type", "nodes", "tasks", "tasks_per_node", "disk", "slurm_extra", "retry",
)
SCALED_KEYS = ("mem", "mem_per_cpu", "time", "disk")


@dataclass(frozen=True)
class Attempt:
    """The values a job asks for at one attempt (after retry scaling and capping)."""

    number: int
    mem_mib: int | None
    mem_per_cpu_mib: int | None
    minutes: int
    disk_mib: int | None
    capped: tuple[str, ...] = ()  # keys held back by a partition limit at this attempt


@dataclass(frozen=True)
class Resources:
    """One rule's (or the defaults') fully resolved request. Absent keys are not in `values`."""

    name: str  # rule name, or "__defaults__"
    values: dict[str, Sourced]
    sets: tuple[str, ...]
    attempts: tuple[Attempt, ...]
    partition: Partition | None
    location: Location | None

    def get(self, key: str, default=None):
        item = self.values.get(key)
        return item.value if item is not None else default

    @property
    def cpus(self) -> int:
        return self.get("cpus", 1)

    @property
    def gpus(self) -> int:
        return self.get("gpus", 0)

    @property
    def slurm_extra(self) -> tuple[str, ...]:
        return tuple(self.get("slurm_extra", ()))

    @property
    def retry(self) -> dict[str, Factor]:
        return {k: v for k, v in self.get("retry", {}).items()}


@dataclass(frozen=True)
class RuntimeText:
    """A string kept for run time: `${VAR}`, `$VAR`, `~` and (in paths) `{name}` expand where used."""

    text: str
    location: Location | None = None


@dataclass(frozen=True)
class PathEntry:
    name: str
    cluster: RuntimeText
    local: RuntimeText


@dataclass(frozen=True)
class MountedDataset:
    name: str
    path: RuntimeText
    subsets: dict[str, str]


@dataclass(frozen=True)
class Setting:
    name: str
    cluster: object
    local: object


@dataclass(frozen=True)
class Container:
    engine: str
    image: RuntimeText
    overlays: tuple[RuntimeText, ...]
    binds: tuple[RuntimeText, ...]
    gpu: bool
    conda: RuntimeText | None
    pass_env: tuple[str, ...]


@dataclass(frozen=True)
class Environment:
    module_purge: bool = False
    module_use: tuple[RuntimeText, ...] = ()
    module_load: tuple[str, ...] = ()
    conda: RuntimeText | None = None
    venv: RuntimeText | None = None
    workdir: RuntimeText | None = None
    variables: dict[str, RuntimeText] = field(default_factory=dict)
    require_python: str | None = None
    require_snakemake: str | None = None
    require_plugins: tuple[str, ...] = ()
    container: Container | None = None


@dataclass(frozen=True)
class SnakemakeSettings:
    executor: str = "slurm"
    jobs: int | str = 100
    latency_wait: Duration | None = None
    restart_times: int = 0
    keep_going: bool | None = None
    rerun_incomplete: bool | None = None
    printshellcmds: bool | None = None
    logdir: RuntimeText = RuntimeText("logs/slurm")
    keep_successful_logs: bool | None = None
    delete_logs_older_than: Duration | None = None
    resources: dict[str, int | Memory] = field(default_factory=dict)
    options: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Detect:
    env: dict[str, str] = field(default_factory=dict)
    hostnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Site:
    name: str
    description: str
    spec_file: str  # as given on the command line, relative paths kept relative
    input_files: tuple[str, ...]
    detect: Detect
    account: Sourced[str] | None
    accounting: bool
    gpu_flag: str
    partitions: dict[str, Partition]
    snakemake: SnakemakeSettings
    defaults: Resources
    sets: dict[str, Location]
    rules: dict[str, Resources]
    environment: Environment
    paths: dict[str, PathEntry]
    datasets_root: RuntimeText | None
    datasets: dict[str, MountedDataset]
    settings: dict[str, Setting]

    @property
    def attempts(self) -> int:
        return self.snakemake.restart_times + 1
