"""Stage 7, write: replace a site's output folder as a whole, or tell what is stale.

Guarantees: the folder is built beside the old one and swapped in with one rename (an
interrupted compile leaves the old output intact); files edited by hand since the last compile
(their hash differs from MANIFEST.json) are not overwritten without `force`; files that are not
ours (of any kind: FIFOs, sockets, links, folders) are carried over, never deleted, and one that
cannot be carried stops the write with the reason; nothing is written outside `<out>/<site>/`.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from dvhpc import __version__
from dvhpc.emit import GeneratedFile
from dvhpc.report.diagnostics import Location, Report

MANIFEST = "MANIFEST.json"
_TMP, _OLD = ".tmp-", ".old-"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_text(site_name: str, inputs: dict[str, str], files: dict[str, GeneratedFile]) -> str:
    """MANIFEST.json: dvhpc version, inputs and outputs with sha256 (deterministic)."""
    return json.dumps({
        "dvhpc": __version__,
        "site": site_name,
        "inputs": [{"path": path, "sha256": digest} for path, digest in sorted(inputs.items())],
        "files": {path: sha256(f.content.encode()) for path, f in sorted(files.items())},
    }, indent=2) + "\n"


@dataclass
class Plan:
    """What writing a site would change: paths relative to the site folder."""

    site_dir: Path
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # ours before, not generated any more
    unchanged: list[str] = field(default_factory=list)
    hand_edited: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def _read_manifest(site_dir: Path) -> dict[str, str]:
    """The files our last compile wrote, with their sha256; a broken manifest records none."""
    path = safe_member(site_dir, MANIFEST)
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def safe_member(site_dir: Path, relative: str) -> Path | None:
    """The path of a member, or None if it would leave the folder (absolute, `..`, symlinks)."""
    if os.path.isabs(relative) or ".." in Path(relative).parts:
        return None
    path = site_dir / relative
    probe = site_dir
    for part in Path(relative).parts:
        probe = probe / part
        if probe.is_symlink():
            return None
    return path


def _current(site_dir: Path, relative: str) -> bytes | None:
    path = safe_member(site_dir, relative)
    if path is None or not path.is_file():
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def plan(site_dir: Path, files: dict[str, GeneratedFile]) -> Plan:
    result = Plan(site_dir)
    recorded = _read_manifest(site_dir)
    for relative, generated in files.items():
        now = _current(site_dir, relative)
        want = generated.content.encode()
        if now is None:
            result.added.append(relative)
        elif now == want and _mode_ok(site_dir / relative, generated):
            result.unchanged.append(relative)
        else:
            result.changed.append(relative)
            if relative != MANIFEST and sha256(now) != recorded.get(relative):
                result.hand_edited.append(relative)
    for relative in sorted(set(recorded) - set(files)):
        if (left := _current(site_dir, relative)) is not None:
            result.removed.append(relative)
            if sha256(left) != recorded[relative]:
                result.hand_edited.append(relative)
    return result


def _mode_ok(path: Path, generated: GeneratedFile) -> bool:
    try:
        return bool(path.stat().st_mode & 0o100) == generated.executable
    except OSError:
        return False


def _rename_exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cleanup(out_root: Path, name: str) -> None:
    """Finish or undo what an interrupted earlier run left: restore an orphaned old folder,
    remove leftover temporary folders. Anything planted under those names (a symlink, a file)
    is removed, never followed or restored."""
    site_dir = out_root / name
    for leftover in sorted([*out_root.glob(f".{name}{_OLD}*"), *out_root.glob(f".{name}{_TMP}*")]):
        if leftover.is_symlink() or not leftover.is_dir():
            leftover.unlink()
        elif _OLD in leftover.name and not site_dir.exists() and not site_dir.is_symlink():
            leftover.rename(site_dir)  # crashed between the two renames: the old output comes back
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def _create_new(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write `data` to a file that did not exist: O_EXCL|O_NOFOLLOW, so nothing planted at
    `path` (a file, a symlink to a victim) is ever opened; flushed to disk before it is used."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_file_atomically(path: str | Path, text: str) -> None:
    """Replace one file by renaming a new one over it (`init -o`, `import -o`).

    The new file gets an unpredictable name beside the target and is created exclusively, never
    through a link. A symlink at `path` itself is replaced by the file (the link, not what it
    points to, is what gets overwritten), like every rename does.
    """
    target = Path(path)
    while True:
        tmp = target.with_name(f".{target.name}{_TMP}{secrets.token_hex(8)}")
        try:
            _create_new(tmp, text.encode())
            break
        except FileExistsError:
            continue  # someone else's name (64 random bits): draw again
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


class WriteError(Exception):
    pass


def write_site(out_root: Path, name: str, files: dict[str, GeneratedFile], *, force: bool = False) -> Plan:
    """Write one site's folder atomically. Raises WriteError with a message for the user."""
    if out_root.is_symlink() or (out_root / name).is_symlink():
        raise WriteError(f"refusing to write through a symlink: {out_root / name}")
    out_root.mkdir(parents=True, exist_ok=True)
    lock_path = out_root / f".{name}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteError(f"refusing to write through a symlink: {lock_path}") from exc
        raise
    with os.fdopen(fd, "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two compiles of one site: one after the other
        _cleanup(out_root, name)
        site_dir = out_root / name
        if site_dir.is_symlink():
            raise WriteError(f"refusing to write through a symlink: {site_dir}")
        if site_dir.exists() and not site_dir.is_dir():
            raise WriteError(f"{site_dir} exists and is not a folder")
        result = plan(site_dir, files)
        if result.hand_edited and not force:
            return result
        if not result.stale:
            return result
        tmp = out_root / f".{name}{_TMP}{os.getpid()}"
        tmp.mkdir()
        try:
            _fill(tmp, site_dir, files)
            if site_dir.exists():
                if not _rename_exchange(tmp, site_dir):
                    old = out_root / f".{name}{_OLD}{os.getpid()}"
                    site_dir.rename(old)
                    tmp.rename(site_dir)
                    tmp = old
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.rename(site_dir)
            _fsync_dir(out_root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return result


def _fill(tmp: Path, site_dir: Path, files: dict[str, GeneratedFile]) -> None:
    """Build the new folder: our files first (into a fresh folder, so no planted link is in the
    way), then everything in the old folder that is not ours."""
    for relative, generated in files.items():
        target = tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _create_new(target, generated.content.encode(), 0o644)
        os.chmod(target, 0o755 if generated.executable else 0o644)
    if not site_dir.is_dir():
        return
    recorded = set(_read_manifest(site_dir))
    ours = set(files) | {parent.as_posix() for relative in files for parent in Path(relative).parents if parent.parts}
    kept_folders: list[tuple[Path, Path]] = []
    for path in sorted(site_dir.rglob("*")):
        relative = path.relative_to(site_dir).as_posix()
        if relative in ours or relative in recorded or relative == MANIFEST:
            continue  # ours, or something planted in our place: dropped, never followed
        if any(parent.as_posix() in ours and (site_dir / parent).is_symlink() for parent in Path(relative).parents):
            continue
        _keep(path, tmp / relative)
        if path.is_dir() and not path.is_symlink():
            kept_folders.append((path, tmp / relative))
    for path, target in reversed(kept_folders):  # a folder's mode once its contents are in (0o500...)
        shutil.copymode(path, target)


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}


def _keep(path: Path, target: Path) -> None:
    """Carry one entry that is not ours into the new folder as what it is. Files of every kind
    are hard-linked (the same inode: a FIFO or socket in use stays connected); where the file
    system refuses a link, a regular file is copied and a FIFO made anew. Anything that cannot be
    kept stops the write (WriteError): it is never dropped without a word."""
    info = path.lstat()
    target.parent.mkdir(parents=True, exist_ok=True)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(path), target)
        return
    if stat.S_ISDIR(info.st_mode):
        target.mkdir(exist_ok=True)
        return
    try:
        os.link(path, target, follow_symlinks=False)
        return
    except OSError as exc:
        reason = exc
    if stat.S_ISREG(info.st_mode):
        shutil.copy2(path, target, follow_symlinks=False)
    elif stat.S_ISFIFO(info.st_mode):
        os.mkfifo(target, stat.S_IMODE(info.st_mode))
    else:
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
        raise WriteError(f"cannot keep {path} ({kind}, not a dvhpc file) in the rewritten folder: "
                         f"{reason.strerror or reason}; move it out of {path.parent} and compile again")


def hand_edit_report(result: Plan, report: Report) -> None:
    for relative in result.hand_edited:
        report.add("DV401", f"{result.site_dir / relative} was edited by hand since the last compile; not overwritten",
                   Location(str(result.site_dir / relative), 1, 1),
                   hint="move your change into the spec, or pass --force to overwrite it")
