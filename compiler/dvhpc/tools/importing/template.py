"""A submit command template (`cluster:` of Snakemake 7, `cluster-generic-submit-cmd`) read back.

Only the sbatch part carries meaning for a spec: each option is a fixed value (`-p gpu`), a
placeholder of a resource (`--mem={resources.mem_gb}G`: the resource `mem_gb` fills `--mem`, in
GiB), `{threads}`, or something a spec cannot hold (`{config[account]}`, `{cluster.x}`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from dvhpc.model import keys
from dvhpc.tools.importing import sbatch_args

# sbatch long option -> the spec key it sets (the registry's sbatch flags)
FLAG_KEYS = {key.sbatch.lstrip("-"): key for key in keys.KEYS if key.sbatch}
FLAG_KEYS["gres"] = keys.GPUS
FLAG_KEYS["time"] = keys.TIME
FLAG_KEYS["gpus-per-node"] = keys.GPUS
IGNORED = {"parsable", "job-name", "output", "error", "chdir", "comment", "dependency", "open-mode"}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
NOT_SLURM = {"bsub": "LSF", "qsub": "SGE/PBS", "sge": "SGE", "condor_submit": "HTCondor", "flux": "Flux"}


@dataclass
class Template:
    command: str
    submitter: str | None = None            # "sbatch", "bsub", a script path ...
    fixed: dict = field(default_factory=dict)        # spec key -> (flag, value text)
    filled: dict = field(default_factory=dict)       # resource name -> (spec key, flag, unit suffix)
    extra: list[str] = field(default_factory=list)   # fixed flags a spec keeps in slurm_extra
    problems: list[str] = field(default_factory=list)
    threads_cpus: bool = False              # --cpus-per-task={threads}
    sends_cpus: bool = False


def read(command: str) -> Template:
    template = Template(command)
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    start = None
    for index, word in enumerate(words):
        base = word.rsplit("/", 1)[-1]
        if base == "sbatch" or base in NOT_SLURM:
            template.submitter, start = base, index
            break
    if start is None:
        template.submitter = next((w for w in words if w not in ("&&", ";") and not w.startswith("-")), None)
        return template
    if template.submitter != "sbatch":
        return template
    end = next((i for i in range(start + 1, len(words)) if words[i] in ("&&", ";", "|", "||")), len(words))
    options, _rest = sbatch_args.parse(words[start + 1:end])
    for option in options:
        _option(template, option)
    return template


def _option(template: Template, option: sbatch_args.Option) -> None:
    name, value = option.name, option.value
    if name in IGNORED:
        return
    if name == "cpus-per-task":
        template.sends_cpus = True
    shown = f"--{name}" + (f"={value}" if value is not None else "")
    if value is None:
        template.extra.append(shown)
        return
    if value.startswith("-"):  # `-A --cpus-per-task={threads}`: sbatch takes the next flag as -A's value
        template.problems.append(f"'--{name}' takes the next word '{value}' as its value (sbatch reads it so): "
                                 f"every job asks for {name} '{value}' and not for what that word says")
        return
    placeholders = PLACEHOLDER.findall(value)
    key = FLAG_KEYS.get(name)
    if not placeholders:
        if key is None:
            template.extra.append(shown)
        else:
            template.fixed[key] = (name, value)
        return
    inner = placeholders[0]
    resource = re.fullmatch(r"resources\.([A-Za-z_]\w*)", inner)
    whole = re.fullmatch(r"(.*)\{" + re.escape(inner) + r"\}(.*)", value)
    if inner == "threads" and name == "cpus-per-task" and value == "{threads}":
        template.threads_cpus = True
    elif resource and key is not None and len(placeholders) == 1 and whole and not whole.group(1):
        template.filled[resource.group(1)] = (key, name, whole.group(2))
    else:
        template.problems.append(f"'--{name}={value}' takes its value from {{{inner}}}, which a spec cannot hold"
                                 if key is not None or not resource else "")
        if key is None and resource:
            template.filled[resource.group(1)] = (None, name, "")
