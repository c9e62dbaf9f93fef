"""Run the real Snakemake many times cheaply: import it once, fork one child per run.

stdin: {"jobs": [{"cwd": DIR, "argv": [...], "env": {...}}, ...], "parallel": N}
stdout: the jobs, each with "rc", "stdout" and "stderr" added (JSON).
Each child is a fresh copy of this process (no state shared between runs), changes into its
folder, sets its environment and calls snakemake.cli.main(argv) exactly as the `snakemake`
command does.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

import snakemake.cli  # noqa: F401  (the expensive import, done once)


def child(job: dict, out_path: str, err_path: str) -> None:
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    code = 0
    try:
        os.chdir(job["cwd"])
        os.environ.update(job.get("env", {}))
        sys.argv = ["snakemake", *job["argv"]]
        try:
            snakemake.cli.main(job["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        code = 99
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    spec = json.load(sys.stdin)
    jobs, parallel = spec["jobs"], max(1, int(spec.get("parallel", 2)))
    scratch = tempfile.mkdtemp(prefix="smkfork-")
    running: dict[int, int] = {}
    pending = list(range(len(jobs)))
    deadline = time.time() + float(spec.get("timeout", 160))
    while pending or running:
        while pending and len(running) < parallel:
            index = pending.pop(0)
            out_path, err_path = (os.path.join(scratch, f"{index}.{kind}") for kind in ("out", "err"))
            pid = os.fork()
            if pid == 0:
                child(jobs[index], out_path, err_path)
            running[pid] = index
        pid, status = os.wait()
        index = running.pop(pid)
        jobs[index]["rc"] = os.waitstatus_to_exitcode(status)
        for kind in ("out", "err"):
            with open(os.path.join(scratch, f"{index}.{kind}"), encoding="utf-8", errors="replace") as handle:
                jobs[index]["stdout" if kind == "out" else "stderr"] = handle.read()[-20000:]
        if time.time() > deadline:
            for other in running:
                os.kill(other, 9)
    shutil.rmtree(scratch, ignore_errors=True)
    json.dump(jobs, sys.stdout)


if __name__ == "__main__":
    main()
