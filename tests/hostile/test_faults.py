"""No data loss on faults: a read-only output folder, a full disk (a tiny tmpfs, and a file size
limit), and SIGKILL at random moments. Afterwards the site folder is the complete old output or
the complete new output (compared with reference trees), never a mix; `compile --check` says
which; leftover temporary folders are gone after the next run.

We run as root, so chmod does not stop writes: read-only and full folders are tmpfs mounts
(`mount -t tmpfs`), falling back to `chattr +i` for read-only; tests skip with the reason when
neither works here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from hostile_lib import NOTES, PYTHON, SITES, count, dvhpc_env, leftovers, run_counted, tree

SEED = 20240608


def _mount(*args: str) -> tuple[bool, str]:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    return proc.returncode == 0, proc.stderr.strip()


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    ok, why = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    if not ok:
        pytest.skip(f"cannot mount a tmpfs here ({why or 'mount failed'}): no read-only/full-disk simulation")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(SITES, tmp_path / "sites")
    return tmp_path


def set_jobs(project: Path, jobs: int) -> None:
    spec = project / "sites" / "example.yaml"
    spec.write_text(re.sub(r"jobs: \d+", f"jobs: {jobs}", spec.read_text(), count=1))


def compile_in(project: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_counted("compile", "--out", str(out), *extra, "sites/example.yaml", cwd=project)


def references(project: Path, jobs: tuple[int, ...], out: Path) -> dict[int, dict]:
    """The complete output for each spec variant, written into `out` (then removed)."""
    refs = {}
    for value in jobs:
        set_jobs(project, value)
        code, _, err = compile_in(project, out)
        assert code == 0, err
        refs[value] = tree(out / "example")
    shutil.rmtree(out)
    return refs


def assert_complete(site: Path, refs: dict[int, dict], what: str) -> int:
    current = tree(site)
    matches = [k for k, ref in refs.items() if current == ref]
    assert matches, f"{what}: the site folder is neither complete output ({sorted(refs)}): {sorted(current)}"
    return matches[0]


def check_says(project: Path, out: Path, expected_current: bool) -> None:
    code, stdout, err = compile_in(project, out, "--check")
    assert code == (0 if expected_current else 1), (expected_current, stdout, err)
    assert "internal error" not in err


# ------------------------------------------------------------------------------ read-only


def test_compile_into_a_read_only_folder(project):
    out = project / "mnt"
    refs = references(project, (100, 101), project / "ref")
    with tmpfs(out, "8m"):
        set_jobs(project, 100)
        code, _, err = compile_in(project, out)
        assert code == 0, err
        ok, why = _mount("-o", "remount,ro", str(out))
        if not ok:
            pytest.skip(f"cannot remount read-only: {why}")
        set_jobs(project, 101)
        code, stdout, err = compile_in(project, out)
        assert code == 1 and "DV402" in err and "Read-only file system" in err, err
        assert "Traceback" not in err and "internal error" not in err
        assert assert_complete(out / "example", refs, "after a read-only failure") == 100
        check_says(project, out, expected_current=False)
        # a fresh output root below the read-only folder cannot even be created
        code, _, err = run_counted("compile", "--out", str(out / "new" / "deeper"), "sites/example.yaml", cwd=project)
        assert code == 1 and "DV402" in err, err
        assert _mount("-o", "remount,rw", str(out))[0]
        code, _, err = compile_in(project, out)
        assert code == 0, err
        assert assert_complete(out / "example", refs, "after the retry") == 101
        check_says(project, out, expected_current=True)
        assert not leftovers(out, "example")


def test_compile_into_an_immutable_folder(project):
    """The same without mount: `chattr +i` on the output root (root cannot add entries either)."""
    out = project / "generated"
    set_jobs(project, 100)
    assert compile_in(project, out)[0] == 0
    before = tree(out)
    proc = subprocess.run(["chattr", "+i", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {proc.stderr.strip()}")
    try:
        set_jobs(project, 101)
        code, _, err = compile_in(project, out)
        assert code == 1 and "DV402" in err and "internal error" not in err, err
        assert tree(out) == before
    finally:
        subprocess.run(["chattr", "-i", str(out)], capture_output=True)
    assert compile_in(project, out)[0] == 0
    assert not leftovers(out, "example")


# ------------------------------------------------------------------------------ full disk


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system of `folder`, then free `leave` bytes."""
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        chunk = b"\0" * 65536
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))
    return filler


@pytest.mark.parametrize("leave", [0, 4096, 20000])
def test_compile_on_a_full_disk(project, leave):
    out = project / "small"
    refs = references(project, (100, 101), project / "ref")
    with tmpfs(out, "1m"):
        set_jobs(project, 100)
        assert compile_in(project, out)[0] == 0
        filler = _fill(out, leave)
        set_jobs(project, 101)
        code, _, err = compile_in(project, out)
        assert code == 1 and "DV402" in err and "No space left" in err, err
        assert "Traceback" not in err and "internal error" not in err
        assert assert_complete(out / "example", refs, f"full disk ({leave} bytes free)") == 100
        assert not leftovers(out, "example"), "a failed write left its temporary folder behind"
        check_says(project, out, expected_current=False)
        filler.unlink()
        assert compile_in(project, out)[0] == 0
        assert assert_complete(out / "example", refs, "after freeing space") == 101


def test_compile_with_a_file_size_limit(project):
    """`ulimit -f` (RLIMIT_FSIZE): writes past 4 KiB fail with EFBIG (Python ignores SIGXFSZ)."""
    out = project / "generated"
    refs = references(project, (100, 101), out)
    set_jobs(project, 100)
    assert compile_in(project, out)[0] == 0
    set_jobs(project, 101)
    proc = subprocess.run(["bash", "-c", 'ulimit -f 4 && exec "$0" -m dvhpc compile sites/example.yaml', PYTHON],
                          cwd=project, capture_output=True, text=True, env=dvhpc_env(), timeout=60)
    count("subprocess cases")
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "DV402" in proc.stderr and "File too large" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert assert_complete(out / "example", refs, "after EFBIG") == 100
    assert not leftovers(out, "example")
    check_says(project, out, expected_current=False)


# ------------------------------------------------------------------------------ SIGKILL

KILLS = 30


def _bigger_spec(project: Path) -> None:
    """More rules: a longer write phase for the kills to land in."""
    spec = project / "sites" / "example.yaml"
    rules = "".join(f"    extra_rule_{i}: {{use: light, cpus: {1 + i % 8}}}\n" for i in range(40))
    spec.write_text(spec.read_text().replace("  rules:\n", "  rules:\n" + rules, 1))


def test_sigkill_at_random_moments(project):
    """~30 SIGKILLs (seeded): half at a random delay over the whole run, half right after the
    temporary folder appears (the write phase). Every time: complete old or new output."""
    _bigger_spec(project)
    out = project / "generated"
    refs = references(project, (100, 101), out)
    set_jobs(project, 100)
    assert compile_in(project, out)[0] == 0
    rng = random.Random(SEED)
    env = dvhpc_env()
    started = time.monotonic()
    subprocess.run([PYTHON, "-m", "dvhpc", "compile", "--check", "sites/example.yaml"], cwd=project, env=env,
                   capture_output=True)
    duration = time.monotonic() - started
    stats = {"before writing": 0, "while writing": 0, "after finishing": 0}
    state = 100
    for index in range(KILLS):
        target = 101 if state == 100 else 100
        set_jobs(project, target)
        proc = subprocess.Popen([PYTHON, "-m", "dvhpc", "compile", "sites/example.yaml"], cwd=project, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if index % 2 == 0:
            time.sleep(rng.uniform(0, duration * 1.3))
        else:  # wait for the temporary folder, then a few milliseconds more
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                if any(name.startswith(".example.tmp-") for name in os.listdir(out)):
                    break
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.03))
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        count("sigkills")
        mid_write = bool(leftovers(out, "example"))
        if not (out / "example").exists():  # only without renameat2: the next run restores it
            assert any(n.startswith(".example.old-") for n in leftovers(out, "example"))
            compile_in(project, out, "--check")
        landed = assert_complete(out / "example", refs, f"kill #{index}")
        stats["after finishing" if finished else "while writing" if mid_write else "before writing"] += 1
        check_says(project, out, expected_current=landed == target)
        state = landed
    set_jobs(project, 100 if state == 101 else 101)
    code, _, err = compile_in(project, out)
    assert code == 0, err
    assert not leftovers(out, "example"), "temporary folders survived the next run"
    print(f"{KILLS} kills: {stats}")
    NOTES.append(f"SIGKILL during compile: {KILLS} kills (seed {SEED}): {stats}; every time complete old or new output")
    assert stats["while writing"] + stats["before writing"] > 0
