"""Session fixture ``local_slurm``: a real single-node SLURM on localhost.

Defined once, here, and exposed to every test by one import at the end of
``tests/conftest.py`` (``from slurm.cluster import local_slurm``), so that
``tests/slurm`` and ``tests/e2e`` share one cluster per session.

The cluster comes from ``tests/slurm/local-slurm.sh`` (see README.md beside it).
The fixture

* reuses a cluster that is already up (whatever its mode) and then never stops it;
* otherwise starts one, in the mode named by ``DVHPC_SLURM_MODE`` (``full``, the
  default, or ``light``), and stops it at the end of the session unless
  ``DVHPC_SLURM_KEEP=1`` (keep it for the next run: much faster locally);
* skips with a clear reason when it cannot start one: not root, or the daemons are
  not installed and there is no apt-get to install them.

It yields a :class:`LocalSlurm` with small helpers for submitting jobs and
reading them back.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "local-slurm.sh"
MODE_FILE = Path("/run/dvhpc-slurm/mode")
MODES = ("full", "light")
START_TIMEOUT = 900  # first start may apt-get install ~30 packages
CMD_TIMEOUT = 60

_FIELD = re.compile(r"(\S+?)=(.*?)(?=\s+[^\s=]+=|$)")


def _run(args: list[str], timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def _which(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which(name, path=path)


@dataclasses.dataclass(frozen=True)
class LocalSlurm:
    """Handle on the running local cluster."""

    mode: str  # "full" (slurmdbd: sacct/sacctmgr work) or "light" (no accounting)
    started_here: bool  # True if this session started it (and will stop it)
    script: Path = SCRIPT

    @property
    def accounting(self) -> bool:
        return self.mode == "full"

    def sbatch(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``sbatch --parsable ARGS`` and return the finished process (not checked)."""
        return _run(["sbatch", "--parsable", *args])

    def submit(self, *args: str) -> str:
        """Submit with ``sbatch --parsable ARGS``; return the job ID or fail the test."""
        proc = self.sbatch(*args)
        if proc.returncode != 0:
            pytest.fail(f"sbatch {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout.strip().split(";")[0]

    def show_job(self, job_id: str) -> dict[str, str]:
        """``scontrol -o show job ID`` as a dict (valid for MinJobAge=600 s after the end)."""
        proc = _run(["scontrol", "-o", "show", "job", job_id])
        if proc.returncode != 0:
            pytest.fail(f"scontrol show job {job_id} failed: {proc.stderr.strip()}")
        return {m.group(1): m.group(2) for m in _FIELD.finditer(proc.stdout.strip())}

    def all_jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still knows (``scontrol -o show job``), one dict each.

        Finished jobs stay for MinJobAge=600 s. The cluster is machine-wide: filter the
        result by job name, comment or working directory, never by assumed IDs.
        """
        proc = _run(["scontrol", "-o", "show", "job"])
        if proc.returncode != 0:
            pytest.fail(f"scontrol -o show job failed: {proc.stderr.strip()}")
        return [{m.group(1): m.group(2) for m in _FIELD.finditer(line.strip())}
                for line in proc.stdout.splitlines() if line.startswith("JobId=")]

    def wait_job(self, job_id: str, timeout: float = 60) -> dict[str, str]:
        """Wait until the job has left PENDING/RUNNING/COMPLETING; return its fields."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.show_job(job_id)
            if job.get("JobState") not in {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING"}:
                return job
            if time.monotonic() > deadline:
                pytest.fail(f"job {job_id} still {job.get('JobState')} after {timeout}s: {job}")
            time.sleep(0.3)

    def sacct(self, job_id: str, fields: str, timeout: float = 30) -> dict[str, str]:
        """``sacct -X -P -j ID --format FIELDS`` as a dict (full mode only).

        slurmdbd fills a job's record in stages (right after submission Partition and
        Timelimit can still be empty), so this polls until every requested field is
        non-empty or ``timeout`` passes, and then returns the last record it saw.
        """
        if not self.accounting:
            pytest.skip("light mode: no accounting, sacct does not work")
        names = fields.split(",")
        deadline = time.monotonic() + timeout
        while True:
            proc = _run(["sacct", "-X", "-P", "-n", "-j", job_id, "--format", fields])
            lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
            record = dict(zip(names, lines[0].split("|"), strict=False)) if proc.returncode == 0 and lines else None
            if record and all(record.values()):
                return record
            if time.monotonic() > deadline:
                if record:
                    return record
                pytest.fail(f"sacct has no record of job {job_id} after {timeout}s: {proc.stderr.strip()}")
            time.sleep(0.5)


def _cluster_up() -> bool:
    if not SCRIPT.exists():
        return False
    try:
        return _run([str(SCRIPT), "status"]).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def local_slurm():
    """The running local cluster as a :class:`LocalSlurm` (started here if none is up)."""
    wanted = os.environ.get("DVHPC_SLURM_MODE", "").strip() or None
    if wanted is not None and wanted not in MODES:
        pytest.fail(f"DVHPC_SLURM_MODE must be one of {MODES}, not {wanted!r}", pytrace=False)

    if _cluster_up():
        mode = MODE_FILE.read_text().strip()
        if wanted and wanted != mode:
            warnings.warn(
                f"DVHPC_SLURM_MODE={wanted} but a local SLURM is already running in {mode} mode; "
                "using it (stop it with tests/slurm/local-slurm.sh stop to switch)",
                stacklevel=1,
            )
        yield LocalSlurm(mode=mode, started_here=False)
        return

    if os.geteuid() != 0:
        pytest.skip("no local SLURM running and starting one needs root (sudo tests/slurm/local-slurm.sh start)")
    mode = wanted or "full"
    daemons = ["munged", "slurmctld", "slurmd", "sbatch"]
    if mode == "full":
        daemons += ["slurmdbd", "mariadbd"]
    missing = [d for d in daemons if _which(d) is None]
    if missing and _which("apt-get") is None:
        pytest.skip(f"SLURM not installed ({', '.join(missing)} missing) and no apt-get to install it")

    args = [str(SCRIPT), "start"] + (["--light"] if mode == "light" else [])
    try:
        proc = _run(args, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args)} did not finish within {START_TIMEOUT}s", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}",
            pytrace=False,
        )
    try:
        yield LocalSlurm(mode=mode, started_here=True)
    finally:
        if os.environ.get("DVHPC_SLURM_KEEP", "") not in ("1", "true", "yes"):
            _run([str(SCRIPT), "stop"], timeout=120)
