"""Which environment variable names a spec may export (`environment.variables`).

bootstrap.sh exports them into the user's shell, so a name that makes the *next* program run or
load code (git's GIT_CONFIG_*, less's LESSOPEN, PYTHONPATH, LD_PRELOAD, PATH, ...) would turn a
spec into a command. A name is safe when it belongs to a family that research workflows set and
whose value is data (thread counts, devices, cache folders, tokens); any other name needs the
spec's explicit `environment.allow_unsafe_variables`.
"""

from __future__ import annotations

import re

# Families of names whose values are data.
_FAMILIES = (
    # threads of the numeric libraries
    r"OMP_\w+", r"KMP_\w+", r"MKL_\w+", r"OPENBLAS_\w+", r"NUMEXPR_\w+", r"(BLIS|GOTO)_NUM_THREADS",
    r"VECLIB_MAXIMUM_THREADS",
    # GPUs and distributed training
    r"CUDA_(VISIBLE_DEVICES|DEVICE_ORDER|LAUNCH_BLOCKING|MODULE_LOADING|CACHE_DISABLE|CACHE_MAXSIZE)",
    r"(NVIDIA|ROCR|HIP)_VISIBLE_DEVICES", r"NCCL_\w+", r"MASTER_(ADDR|PORT)", r"WORLD_SIZE", r"GLOO_SOCKET_IFNAME",
    r"(LOCAL_|NODE_|GROUP_)?RANK", r"LOCAL_WORLD_SIZE",  # torch.distributed's ranks (DynVision's single-node defaults)
    # machine-learning frameworks and experiment trackers
    r"TORCH_\w+", r"TORCHINDUCTOR_\w+", r"PYTORCH_\w+", r"TF_\w+", r"XLA_FLAGS", r"JAX_\w+", r"NUMBA_\w+",
    r"HF_\w+", r"HUGGINGFACE_\w+", r"TRANSFORMERS_\w+", r"TOKENIZERS_PARALLELISM", r"WANDB_\w+", r"MLFLOW_\w+",
    r"COMET_\w+", r"NEPTUNE_\w+", r"MPLCONFIGDIR", r"MPLBACKEND", r"KERAS_HOME",
    # locale, time zone, temporary files, caches
    r"LANG", r"LANGUAGE", r"LC_[A-Z]+", r"TZ", r"TMPDIR", r"TMP", r"TEMP", r"XDG_CACHE_HOME",
)
# A project's own folders: DATA_DIR, DYNVISION_HOME, PROJECT_ROOT -- unless the first word is a
# tool's, whose folder holds configuration or code it runs (GIT_DIR, CUDA_HOME -> nvcc, ...).
_FOLDER = r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*_(DIR|HOME|ROOT)"
_TOOL_WORDS = frozenset({
    "APPTAINER", "APPTAINERENV", "BASH", "BUNDLE", "CARGO", "CC", "CMAKE", "CONDA", "CUDA", "CURL", "CXX",
    "DOCKER", "DVHPC", "EASYBUILD", "EMACS", "GCC", "GCONV", "GEM", "GIT", "GNUPG", "GO", "GPG", "GRADLE", "HOME",
    "IPYTHON", "JAVA", "JDK", "JRE", "JULIA", "JUPYTER", "LD", "LESS", "LMOD", "LUA", "MAKE", "MAMBA", "MAVEN",
    "MICROMAMBA", "MODULE", "MODULES", "NODE", "NPM", "NVIM", "NVM", "OPENSSL", "PAGER", "PERL", "PERL5", "PHP",
    "PIP", "PIPX", "POETRY", "PYENV", "PYTHON", "R", "RUBY", "RUSTUP", "SBATCH", "SHELL", "SINGULARITY",
    "SINGULARITYENV", "SLURM", "SNAKEMAKE", "SPACK", "SSH", "SSL", "TCL", "TERM", "TERMINFO", "TK", "UV", "VIM",
    "VIRTUAL", "VISUAL", "WGET", "XDG", "YARN", "ZSH",
})
# Words that name code to load or a command to run, refused inside every family.
_CODE_WORDS = frozenset({
    "CMD", "COMMAND", "EDITOR", "EXEC", "HOOK", "HOOKS", "LIB", "LIBRARY", "LIBS", "PAGER", "PATH", "PATHS",
    "PLUGIN", "PLUGINS", "PRELOAD", "SHELL", "STARTUP",
})
_SAFE = re.compile("|".join(f"(?:{pattern})" for pattern in _FAMILIES))
_FOLDER_RE = re.compile(_FOLDER)

# What an unsafe name can make programs do, for the messages (first match wins).
_RISKS = (
    (r"(LD|DYLD)_\w+", "the dynamic loader reads it and can load a library into every program started afterwards"),
    (r"PATH", "the shell looks up every command in it, so it can replace any program"),
    (r"PYTHON\w*", "python reads it at start-up and can be made to run or import other code"),
    (r"GIT_SSH\w*|SSH_\w+", "ssh or git reads it and can be made to run a command or use other keys"),
    (r"GIT_\w+", "git reads it and can be made to run commands (core.fsmonitor on the next git status)"),
    (r"LESS\w*", "less reads it and can be made to run a command on every file it shows (LESSOPEN)"),
    (r"(PERL|RUBY|GEM_|BUNDLE|NODE_|NPM_|JAVA_|_JAVA|CLASSPATH)\w*",
     "an interpreter reads it at start-up and can be made to load other code"),
    (r"BASH_ENV|ENV|PROMPT_COMMAND|PS[0-4]|MAILPATH", "the shell sources or runs it, so it runs code in later shells"),
    (r"EDITOR|VISUAL|\w*PAGER", "programs run it as a command"),
    (r"(MODULE|LMOD_)\w*", "the module system reads it and can be made to load other module files, which run code"),
    (r"(CONDA|MAMBA)\w*", "conda reads it and can be made to activate other environments or run their scripts"),
    (r"SNAKEMAKE_\w+", "Snakemake reads it, and a profile it names can set commands Snakemake runs"),
    (r"(APPTAINER|SINGULARITY)\w*", "the container engine reads it, so it changes what runs inside the container"),
    (r"(SLURM|SBATCH|SRUN|SALLOC)_\w+", "SLURM's commands read it, so it changes how jobs are submitted"),
    (r"HOME|XDG_\w+", ("programs read their configuration from it, and git, less, shells and python run code "
                       "from there")),
)


def is_safe(name: str) -> bool:
    """True for a name in the safe set (see the module docstring)."""
    words = name.split("_")
    if _CODE_WORDS.intersection(words):
        return False
    if _SAFE.fullmatch(name):
        return True
    return bool(_FOLDER_RE.fullmatch(name)) and words[0] not in _TOOL_WORDS


def risk(name: str) -> str:
    """What exporting `name` can make later programs do, in a few words."""
    for pattern, text in _RISKS:
        if re.fullmatch(pattern, name):
            return text
    return ("it is not in the safe set of data-only names (OMP_*, NCCL_*, WANDB_*, HF_*, TORCH_*, TMPDIR, a "
            "project's *_DIR or *_HOME ...), so a program may read it as code or a command")
