"""Reading a spec file safely: regular files only (a FIFO, device or socket is refused before it
is opened and again on the open descriptor), at most MAX_FILE_BYTES, UTF-8 text without NUL bytes.
`read_file` raises OSError; `read_bytes`, `decode` and `read_text` turn every refusal into a diagnostic."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from dvhpc.frontend.document import split_lines, text_location
from dvhpc.report.diagnostics import Location, Report

MAX_FILE_BYTES = 5 * 1024 * 1024


class NotRegularFile(OSError):
    """A path that names a FIFO, a device or a socket: reading it could block or never end."""


_FILE_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def _require_regular(mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "it is a directory")
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"it is {_FILE_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}")


def read_file(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read at most `limit` + 1 bytes of a regular file (raises OSError, NotRegularFile).

    A FIFO, a terminal or a device is refused before it is opened; the file is opened without
    blocking and checked again on the open descriptor, so one swapped in meanwhile cannot hang us."""
    try:
        _require_regular(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(2, "it does not exist") from None
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _require_regular(os.fstat(descriptor).st_mode)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def read_bytes(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> bytes | None:
    """A spec file's bytes, or None after a diagnostic: unreadable (at `origin`, the `extends`
    entry that names it, if given), not a regular file (DV007) or too large (DV005)."""
    where = origin or Location(display, 1, 1)
    try:
        raw = reader(path)
    except NotRegularFile as exc:
        report.add("DV007", f"'{display}' is not a regular file: {exc}", where, show_source=origin is not None,
                   hint="a spec is a regular file; dvhpc does not read pipes, devices or sockets")
        return None
    except OSError as exc:
        report.add("DV010" if origin else "DV001", f"cannot read '{display}': {exc.strerror or exc}", where)
        return None
    if len(raw) > MAX_FILE_BYTES:
        report.add("DV005", f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", Location(display, 1, 1),
                   hint="a site spec is a few kilobytes; split or generate it", show_source=False)
        return None
    return raw


def decode(raw: bytes, display: str, report: Report) -> str | None:
    """The text of a file's bytes, refusing anything that is not UTF-8 text (DV002)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        # in characters, as every other column: the bytes before the first bad one are UTF-8
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8")) + 1
        report.add("DV002", "file is not valid UTF-8 text", Location(display, line, column),
                   hint="save the file as UTF-8")
        report.register(display, split_lines(raw.decode("utf-8", errors="replace")))
        return None
    nul = text.find("\x00")
    if nul >= 0:
        report.add("DV002", "file contains a NUL byte (binary data?)", text_location(text, nul, display))
        report.register(display, split_lines(text))
        return None
    return text


def read_text(
    path: Path, display: str, report: Report, *, origin: Location | None = None, reader=read_file
) -> tuple[str, str] | None:
    """Read a spec file as (text, sha256 of its bytes), refusing anything too large or not text."""
    raw = read_bytes(path, display, report, origin=origin, reader=reader)
    if raw is None:
        return None
    text = decode(raw, display, report)
    return None if text is None else (text, digest(raw))


def digest(raw: bytes) -> str:
    """sha256 of a file's bytes after a UTF-8 byte order mark (for MANIFEST.json)."""
    return hashlib.sha256(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw).hexdigest()
