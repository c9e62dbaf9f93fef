"""One virtualenv per row of the Snakemake version matrix (tests/matrix/matrix.json), cached.

    python tests/matrix/venvs.py            build every row that is missing (in parallel), print the paths
    python tests/matrix/venvs.py 9.1.5      one row

A venv lives in $DVHPC_MATRIX_DIR (default: .venv-matrix/ in the repository, gitignored) under
`<snakemake version>-<hash of its pinned requirements>`, so changing a pin builds a new one and
an unchanged row is reused. pip's own download cache is used, so a rebuild needs no network when
the wheels were fetched once. A cold build takes about 90 s per row (rows build in parallel).
The running interpreter's environment serves a row when it already has exactly those pins (the
test venv pins snakemake 9.27.1 and the same plugins).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MATRIX = json.loads((HERE / "matrix.json").read_text())["rows"]


def row(version: str) -> dict:
    return next(r for r in MATRIX if r["snakemake"] == version)


def cache_dir() -> Path:
    return Path(os.environ.get("DVHPC_MATRIX_DIR") or ROOT / ".venv-matrix")


def _key(requirements: list[str]) -> str:
    text = "\n".join([f"python{sys.version_info.major}.{sys.version_info.minor}", *sorted(requirements)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def installed(python: str, requirements: list[str]) -> bool:
    """Whether `python`'s environment has exactly these pins."""
    check = ("import importlib.metadata as m, sys\n"
             "pins = [r.split('==') for r in sys.argv[1:]]\n"
             "sys.exit(any(m.version(n) != v for n, v in pins))\n")
    try:
        return subprocess.run([python, "-c", check, *requirements], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bin_dir(version: str) -> Path:
    """The bin folder of the row's venv (built when missing). Raises RuntimeError when pip fails."""
    requirements = row(version)["requirements"]
    here = Path(sys.executable).parent
    if (here / "snakemake").exists() and installed(sys.executable, requirements):
        return here
    target = cache_dir() / f"{version}-{_key(requirements)}"
    if (target / ".complete").exists():
        return target / "bin"
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second builder waits, then finds it built
        if not (target / ".complete").exists():
            _build(target, requirements)
    return target / "bin"


def _build(target: Path, requirements: list[str]) -> None:
    """Build at the final path (a venv's scripts name it); `.complete` is written last, so a
    half-built venv (an interrupted run) is removed and built again."""
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, capture_output=True)
    pip = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", *requirements], capture_output=True, text=True)
    if pip.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise RuntimeError(f"pip install {' '.join(requirements)} failed:\n{pip.stderr[-2000:]}")
    (target / ".complete").write_text("\n".join(requirements) + "\n")


def main(argv: list[str]) -> int:
    versions = argv or [r["snakemake"] for r in MATRIX]
    with ThreadPoolExecutor(max_workers=len(versions)) as pool:
        for version, path in zip(versions, pool.map(bin_dir, versions), strict=True):
            print(f"{version}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
