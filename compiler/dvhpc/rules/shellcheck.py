"""shellcheck over the scripts a spec would generate, as `dvhpc lint` runs it.

shellcheck takes ~0.1 s per script, so each distinct script is checked once, the work is split
over parallel shellcheck processes, and findings are cached by content (and by the shellcheck
binary): a pre-commit run re-checks only scripts whose text changed. `BackgroundCheck` runs while
its caller does other work (lint checks the template shapes while it checks the specs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ARGS = ("-f", "json1", "-S", "warning")


@dataclass(frozen=True)
class Finding:
    code: int
    message: str
    line: int
    column: int


class ShellcheckFailed(Exception):
    """shellcheck ran but gave no report (crashed, or not shellcheck at all)."""


def binary() -> str | None:
    beside = Path(sys.executable).parent / "shellcheck"
    return str(beside) if beside.is_file() else shutil.which("shellcheck")


def cache_dir() -> Path:
    """$DVHPC_CACHE_DIR, else $XDG_CACHE_HOME/dvhpc, else ~/.cache/dvhpc."""
    if os.environ.get("DVHPC_CACHE_DIR"):
        return Path(os.environ["DVHPC_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dvhpc"


def _keys(contents: list[str], program: str) -> dict[str, str]:
    """A cache key per distinct text: the text, the shellcheck binary (path, size, mtime) and ARGS."""
    stat = os.stat(program)
    identity = f"{os.path.realpath(program)}\0{stat.st_size}\0{stat.st_mtime_ns}\0{' '.join(ARGS)}\0"
    return {text: hashlib.sha256((identity + text).encode("utf-8", "surrogatepass")).hexdigest()
            for text in dict.fromkeys(contents)}


def cached(contents: list[str], program: str, cache: Path) -> dict[str, list[Finding]]:
    """The findings the cache already holds, by text (scripts not in it are left out)."""
    found = {}
    for text, key in _keys(contents, program).items():
        findings = _read_cache(cache, key)
        if findings is not None:
            found[text] = findings
    return found


def check_scripts(contents: list[str], program: str, *, jobs: int = 1, cache: Path | None = None
                  ) -> dict[str, list[Finding]]:
    """Findings for each distinct script text; raises ShellcheckFailed."""
    keys = _keys(contents, program)
    found = cached(list(keys), program, cache) if cache else {}
    todo = [text for text in keys if text not in found]
    for text, findings in _run(todo, program, jobs).items():
        found[text] = findings
        if cache:
            _write_cache(cache, keys[text], findings)
    return found


def _run(texts: list[str], program: str, jobs: int) -> dict[str, list[Finding]]:
    if not texts:
        return {}
    with tempfile.TemporaryDirectory(prefix="dvhpc-shellcheck-") as tmp:
        return _collect(*_start([texts[i::jobs] for i in range(min(jobs, len(texts)))], program, tmp))


_Started = tuple[dict[str, str], list[subprocess.Popen[str]]]  # (text by file, a shellcheck process per group)


def _start(groups: list[list[str]], program: str, tmp: str) -> _Started:
    """One shellcheck process per group of texts, each text a file in `tmp`."""
    files: dict[str, str] = {}
    procs = []
    for number, group in enumerate(groups):
        paths = []
        for index, text in enumerate(group):
            path = os.path.join(tmp, f"{number}-{index}.sh")
            with open(path, "w", encoding="utf-8", errors="surrogatepass") as handle:
                handle.write(text)
            files[path] = text
            paths.append(path)
        procs.append(subprocess.Popen([program, *ARGS, *paths], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    return files, procs


def _collect(files: dict[str, str], procs: list[subprocess.Popen[str]]) -> dict[str, list[Finding]]:
    outputs = [proc.communicate() for proc in procs]
    result: dict[str, list[Finding]] = {text: [] for text in files.values()}
    for stdout, stderr in outputs:
        try:
            comments = json.loads(stdout or "")["comments"]
        except (ValueError, KeyError, TypeError):
            raise ShellcheckFailed(stderr.strip()[:200] or "no report") from None
        for item in comments:
            result[files[item["file"]]].append(Finding(item["code"], item["message"], item["line"], item["column"]))
    return result


class BackgroundCheck:
    """shellcheck of texts known in advance, started now and read later: `dvhpc lint` starts the
    template shapes' check before it checks the specs, so the two run at the same time. Texts the
    cache knows are not checked again; the others go to one shellcheck process (its start-up paid
    once; on a machine of few cores the specs' checks keep the other cores busy)."""

    def __init__(self, texts: list[str], program: str, cache: Path | None) -> None:
        self._program, self._cache = program, cache
        self._found = cached(texts, program, cache) if cache else {}
        todo = [text for text in dict.fromkeys(texts) if text not in self._found]
        self._tmp = tempfile.TemporaryDirectory(prefix="dvhpc-shellcheck-")
        self._started: _Started = ({}, [])
        try:
            self._started = _start([todo] if todo else [], program, self._tmp.name)
        except BaseException:
            self.close()
            raise

    def result(self) -> dict[str, list[Finding]]:
        """Findings for each text (waits for shellcheck); raises ShellcheckFailed."""
        try:
            checked = _collect(*self._started)
        finally:
            self.close()
        if self._cache:
            keys = _keys(list(checked), self._program)
            for text, findings in checked.items():
                _write_cache(self._cache, keys[text], findings)
        return {**self._found, **checked}

    def close(self) -> None:
        """Stop what still runs (lint was interrupted or found nothing to check) and remove the files."""
        for proc in self._started[1]:
            if proc.returncode is None:  # not collected
                proc.kill()
                proc.communicate()
        self._tmp.cleanup()


def _entry(cache: Path, key: str) -> Path:
    return cache / "shellcheck" / key[:2] / f"{key}.json"


def _read_cache(cache: Path, key: str) -> list[Finding] | None:
    try:
        return [Finding(**item) for item in json.loads(_entry(cache, key).read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return None  # absent, unreadable or damaged: check again


def _write_cache(cache: Path, key: str, findings: list[Finding]) -> None:
    """Atomically (a reader sees the whole entry or none); a cache that cannot be written is skipped."""
    path = _entry(cache, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump([asdict(f) for f in findings], handle)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
