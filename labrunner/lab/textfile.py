"""Reading a lab's text files (lab.yaml, a step's Markdown) without trusting them.

A lab folder may come from anyone: a file can be huge, binary, a symlink to
itself, a folder, a named pipe. Each of these becomes a :class:`FileProblem`
in the author's words, with the line and column of the first bad byte when
the fault is in the content, so that callers report it like any other problem.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from pathlib import Path

MAX_BYTES = 1 << 20
"""The largest lab file read: the shipped lab.yaml is 56 KiB and its longest step 5 KiB,
so anything near a mebibyte is a mistake (a log pasted in, a wrong file), not a lab."""

_REASONS = {
    errno.ENOENT: "no such file",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ELOOP: "a symlink loop (it links back to itself, directly or through other links)",
    errno.ENOTDIR: "a part of its path is a file, not a folder",
    errno.EISDIR: "a folder, not a file",
}


class FileProblem(Exception):
    """Why a file cannot be read as text.

    ``line`` and ``column`` (1-based) point at the first bad byte when the
    content is at fault; both are 0 when the file as a whole is (missing,
    unreadable, too large).
    """

    def __init__(self, message: str, line: int = 0, column: int = 0, *, missing: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.missing = missing


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """The file's text, read as UTF-8.

    Raises:
        FileProblem: the file is missing, unreadable, not a regular file, over
            ``limit`` bytes, or not UTF-8 text.
    """
    return decode(read_bytes(path, limit))


def real_path(path: Path) -> Path:
    """``path`` with symlinks resolved as far as they go.

    ``Path.resolve`` raises RuntimeError on a symlink loop (Python 3.11); the
    loop is then reported by whoever reads the file, as a problem of the lab.
    """
    return Path(os.path.realpath(path))


def not_a_file(path: Path) -> FileProblem | None:
    """Why ``path`` is not a regular file one could read (missing, a loop, a folder), or None."""
    try:
        _check_regular(os.stat(path))
    except OSError as error:
        return _problem(error)
    except FileProblem as problem:
        return problem
    return None


def read_bytes(path: Path, limit: int = MAX_BYTES) -> bytes:
    try:
        # O_NONBLOCK: opening a named pipe would otherwise wait for a writer forever.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise _problem(error) from None
    try:
        _check_regular(os.fstat(descriptor), limit)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise _problem(error) from None
    finally:
        os.close(descriptor)
    if len(data) > limit:  # it grew after the size was checked
        raise FileProblem(_too_large(len(data), limit))
    return data


def _check_regular(status: os.stat_result, limit: int | None = None) -> None:
    if stat.S_ISDIR(status.st_mode):
        raise FileProblem(_REASONS[errno.EISDIR])
    if not stat.S_ISREG(status.st_mode):
        raise FileProblem("not a regular file (a device, a pipe or a socket)")
    if limit is not None and status.st_size > limit:
        raise FileProblem(_too_large(status.st_size, limit))


def _too_large(size: int, limit: int) -> str:
    return f"too large: {size:,} bytes, and a lab file may have at most {limit:,} ({limit / (1 << 20):g} MiB)"


def _problem(error: OSError) -> FileProblem:
    reason = _REASONS.get(error.errno or 0) or (error.strerror or str(error)).lower()
    return FileProblem(reason, missing=error.errno == errno.ENOENT)


def decode(data: bytes) -> str:
    """``data`` as UTF-8 text.

    Raises:
        FileProblem: at the line and column of the first byte that is not
            UTF-8 text (NUL included: it marks UTF-16 or a binary file).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem("not UTF-8 text: it starts with a UTF-16 byte-order mark; save it as UTF-8", 1, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = position(data, error.start)
        raise FileProblem(
            f"not UTF-8 text: byte 0x{data[error.start]:02x} ({error.reason}); save it as UTF-8 (is it a binary file?)",
            line,
            column,
        ) from None
    nul = text.find("\0")
    if nul >= 0:
        line, column = position(data, len(text[:nul].encode("utf-8")))
        raise FileProblem("not UTF-8 text: byte 0x00 (a NUL: UTF-16 or a binary file?); save it as UTF-8", line, column)
    return text


def position(data: bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column (in characters, as editors count) of byte ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column
