"""A fork server for the import equivalence harness: the real `snakemake` and `dvhpc` entry points,
imported once, each run a fork of this process.

Why: the harness runs 6 commands per profile. Measured on 2 cores, a `snakemake` process spends
~2.8 s of CPU importing Snakemake and its plugins (pandas, via the SLURM plugin's efficiency
report) before it reads the profile, and a `dvhpc` process ~0.6 s; the runs themselves are short.
A forked child starts with everything imported, then runs the unchanged entry point
(`snakemake.cli.main`, `dvhpc._entry.main`) with its own argv, cwd, environment and output file,
so what is measured is still the real program.

Protocol (one JSON object a line): request {"program", "argv", "cwd", "env", "output", "timeout"}
-> reply {"returncode", "cpu", "wall"} (seconds); a run that exceeds its timeout is killed (returncode -9).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def _warm() -> None:
    import snakemake.cli  # noqa: F401
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    for name in ("slurm", "cluster-generic"):
        try:
            ExecutorPluginRegistry().get_plugin(name)
        except Exception:  # noqa: BLE001 - a missing plugin is the child's error to report
            pass
    import dvhpc.cli  # noqa: F401


def _child(request: dict) -> None:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.argv = [request["program"], *request["argv"]]
    code = 0
    try:
        if request["program"] == "snakemake":
            from snakemake.cli import main as snakemake_main

            code = snakemake_main() or 0
        else:
            from dvhpc._entry import main as dvhpc_main

            dvhpc_main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - an uncaught exception is what `python` exits 1 for
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _wait(pid: int, timeout: float) -> dict:
    """The child's exit code and its CPU seconds (the harness reports where its time goes)."""
    start = time.monotonic()
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return {"returncode": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime,
                    "wall": time.monotonic() - start}
        if time.monotonic() > start + timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"returncode": -9, "cpu": 0.0, "wall": timeout}
        time.sleep(0.01)


def serve() -> None:
    _warm()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps(_wait(pid, request.get("timeout", 120))), flush=True)


if __name__ == "__main__":
    serve()
