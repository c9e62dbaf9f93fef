"""The typed model every backend reads: units are types, every value knows where it came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar, overload

from dvhpc.model import keys
from dvhpc.model.keys import Key
from dvhpc.model.units import Duration, Factor, GpuRequest, Memory, Scaled
from dvhpc.report.diagnostics import Location

T = TypeVar("T")
Q = TypeVar("Q", Memory, Duration)


# A location, or a function that finds it when asked (see Origin)
Place = Location | Callable[[], Location]


@overload
def found(place: Place) -> Location: ...


@overload
def found(place: Place | None) -> Location | None: ...


def found(place: Place | None) -> Location | None:
    """The location a place stands for (found now when it is a function)."""
    return place() if callable(place) else place


@dataclass(frozen=True)
class Origin:
    """Where a resolved value came from: a layer label and, when it was written, its place.

    The place may be given as a function that finds it: most values are never reported or
    explained, and finding the layer and line of each of them was most of the resolve stage."""

    label: str  # "defaults", "set gpu_train", "rule train_model", "partition default", "slurm.account"
    place: Place | None = None

    @property
    def location(self) -> Location | None:
        return found(self.place)


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
    place: Place  # as Origin.place: found when asked for

    @property
    def location(self) -> Location:
        return found(self.place)

    @property
    def gpus_per_node(self) -> int:
        return max(self.gpus.values(), default=0)


class Executor(StrEnum):
    """How jobs reach SLURM: each value is one backend of the profile emitter."""

    SLURM = "slurm"                      # snakemake-executor-plugin-slurm
    CLUSTER_GENERIC = "cluster-generic"  # an sbatch template (snakemake-executor-plugin-cluster-generic)


class GpuFlag(StrEnum):
    """The sbatch option a site requests GPUs with."""

    GPUS = "gpus"                    # --gpus=[type:]n
    GRES = "gres"                    # --gres=gpu[:type]:n
    GPUS_PER_NODE = "gpus-per-node"  # --gpus-per-node=[type:]n (through slurm_extra)


@dataclass(frozen=True)
class Attempt:
    """The values a job asks for at one attempt (after retry scaling and capping)."""

    number: int
    values: dict[Key[Any], Scaled[Any]]  # the quantities of the request, by key (not-set keys absent)
    capped: tuple[Key[Any], ...] = ()  # keys held back by a partition limit at this attempt

    def value(self, key: Key[Q]) -> Q | None:
        scaled = self.values.get(key)
        return scaled.at(self.number) if scaled is not None else None

    def count(self, key: Key[Any]) -> int | None:
        """The whole number sent for `key` at this attempt (MiB, minutes), None when not set."""
        scaled = self.values.get(key)
        return scaled.at(self.number).count if scaled is not None else None


@dataclass(frozen=True)
class Resources:
    """One rule's (or the defaults') fully resolved request. Keys no layer sets are absent: the
    engine's own default applies to them (`Key.engine_default`)."""

    name: str  # the rule name; "defaults" for resources.defaults (see is_defaults)
    values: dict[Key[Any], Sourced[Any]]
    sets: tuple[str, ...]
    requests: dict[Key[Any], Scaled[Any]]  # each set quantity (mem, time, ...) with its retry factor and cap
    attempts: tuple[Attempt, ...]
    partition: Partition | None
    place: Place | None  # as Origin.place: found when asked for
    is_defaults: bool = False  # resources.defaults, not a rule

    @property
    def location(self) -> Location | None:
        return found(self.place)

    def value(self, key: Key[T]) -> T | None:
        item = self.values.get(key)
        return item.value if item is not None else None

    def sourced(self, key: Key[T]) -> Sourced[T] | None:
        return self.values.get(key)

    def __contains__(self, key: Key[Any]) -> bool:
        return key in self.values

    def engine_picked(self) -> tuple[Key[Any], ...]:
        """The keys every job has that no layer sets (nor a key standing in for them, as mem_per_cpu
        for mem): the engine picks those (`Key.engine_default`)."""
        return tuple(key for key in keys.KEYS if key.engine_picks and key not in self
                     and not any(keys.BY_NAME[other] in self for other in key.replaces))

    @property
    def gpu(self) -> GpuRequest | None:
        """The GPUs asked for; None without GPUs (gpus not set or 0)."""
        count = self.value(keys.GPUS)
        return GpuRequest(count, self.value(keys.GPU_TYPE)) if count else None

    @property
    def slurm_extra(self) -> tuple[str, ...]:
        return self.value(keys.SLURM_EXTRA) or ()

    @property
    def retry(self) -> dict[Key[Any], Sourced[Factor]]:
        return self.value(keys.RETRY) or {}


@dataclass(frozen=True)
class RuntimeText:
    """A string kept for run time: `${VAR}`, `$VAR`, `~` and (in paths) `{name}` expand where used."""

    text: str
    place: Place | None = None  # as Origin.place: found when asked for

    @property
    def location(self) -> Location | None:
        return found(self.place)


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
    pass_env: tuple[str, ...]  # names, or prefix patterns NAME*
    conda_root: RuntimeText | None = None  # where conda lives inside the image
    unset: tuple[str, ...] = ()  # removed inside the container before conda and the command
    defaults: dict[str, RuntimeText] = field(default_factory=dict)  # set when the job has no value


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


# dvhpc's own default for snakemake.logdir: run.sh writes its log there and jobs.sh reads the job
# logs there, so dvhpc must know the folder (the plugin's own default is elsewhere).
DEFAULT_LOGDIR = "logs/slurm"
# dvhpc's own default for snakemake.run_logdir: run.sh's logs, outside the slurm plugin's log clean-up.
DEFAULT_RUN_LOGDIR = "logs/runs"


@dataclass(frozen=True)
class SnakemakeSettings:
    """Snakemake's settings as the spec sets them; None: not set, Snakemake's own default applies."""

    executor: Executor = Executor.SLURM  # dvhpc compiles for SLURM: the slurm plugin unless the spec says
    jobs: int | str | None = None
    cores: int | None = None  # --cores: caps each job's threads, also with a remote executor
    latency_wait: Duration | None = None
    restart_times: int | None = None
    keep_going: bool | None = None
    rerun_incomplete: bool | None = None
    printshellcmds: bool | None = None
    logdir: RuntimeText = RuntimeText(DEFAULT_LOGDIR)
    keep_successful_logs: bool | None = None
    delete_logs_older_than: Duration | None = None
    resources: dict[str, int | Memory] = field(default_factory=dict)
    options: dict[str, object] = field(default_factory=dict)
    run_logdir: RuntimeText = RuntimeText(DEFAULT_RUN_LOGDIR)  # run.sh's own logs
    snakefile: RuntimeText | None = None  # the workflow; run.sh runs Snakemake in its folder
    unlock_first: bool = False  # run.sh runs `snakemake --unlock --cores=1` first


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
    gpu_flag: GpuFlag
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
        """Attempts per job: restart_times + 1 (Snakemake restarts no job unless told)."""
        return (self.snakemake.restart_times or 0) + 1
