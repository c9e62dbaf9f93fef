"""Checks of how `run.sh` runs Snakemake that need more than one key: where its own logs go.

The slurm executor plugin deletes every `*.log` under `--slurm-logdir` (recursively) that is older
than `--slurm-delete-logfiles-older-than` days (10 unless set). A run log of `run.sh` inside that
folder is deleted with the job logs, so compile refuses a spec whose `snakemake.run_logdir` is
provably inside (or is) `snakemake.logdir` (DV380); `run.sh` checks the real folders again at run
time, for what only run time can tell (two different variables, a relative and an absolute path).
"""

from __future__ import annotations

import re

from dvhpc.model.site import DEFAULT_RUN_LOGDIR, Executor, SnakemakeSettings
from dvhpc.report.diagnostics import Location, Note, Report

_BARE_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def folder_parts(text: str) -> tuple[str, tuple[str, ...]] | None:
    """(base, components) of a run-time folder, with `base` "/" (absolute), "." (relative to the
    folder Snakemake runs in) or the `${VAR}` it starts with; None when `..` leaves it undecided."""
    if text == "~" or text.startswith("~/"):
        text = "${HOME}" + text[1:]
    text = _BARE_VAR.sub(r"${\1}", text)
    base = "/" if text.startswith("/") else "."
    parts: list[str] = []
    for index, part in enumerate(text.split("/")):
        if index == 0 and part.startswith("${") and part.endswith("}") and part.count("$") == 1:
            base = part  # a variable alone as the first component: its value is the root
        elif part in ("", "."):
            continue
        elif part == "..":
            if not parts or "$" in parts[-1]:
                return None  # `..` after a variable (its value may hold several components)
            parts.pop()
        else:
            parts.append(part)
    return base, tuple(parts)


def inside(folder: str, container: str) -> bool:
    """Whether `folder` is provably `container` or inside it (same base, container's parts a prefix)."""
    a, b = folder_parts(folder), folder_parts(container)
    if a is None or b is None or a[0] != b[0]:
        return False
    return a[1][:len(b[1])] == b[1]


def check_log_folders(settings: SnakemakeSettings, report: Report, fallback: Location) -> None:
    """DV380: run.sh's log folder inside the slurm plugin's log folder (only the slurm executor cleans
    up). Reported at run_logdir when the spec sets it, else at logdir (`fallback`: the spec's top)."""
    if settings.executor is not Executor.SLURM:
        return
    run, logs = settings.run_logdir, settings.logdir
    if not inside(run.text, logs.text):
        return
    where = run.location or logs.location or fallback
    which = ("snakemake.run_logdir" if run.location else f"the default snakemake.run_logdir ({DEFAULT_RUN_LOGDIR})")
    notes = (Note("snakemake.logdir set here", logs.location),) if run.location and logs.location else ()
    report.add("DV380", f"{which} '{run.text}' is inside snakemake.logdir '{logs.text}', where the slurm plugin "
               "deletes every *.log older than delete_logs_older_than (default 10 days): run.sh's logs would be "
               "deleted", where, notes=notes, hint="set snakemake.run_logdir to a folder outside snakemake.logdir, "
               "e.g. next to it")
