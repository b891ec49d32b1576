"""What passes between the parts of the sandbox's sh: a command's input and output, the
limits it keeps, and the exceptions that end a loop, a function or the shell."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from labrunner.sandbox.pipes import Stream

STEP_LIMIT = 100_000
"""Commands one shell runs before the sandbox stops it (``while true; do :; done``)."""

CALL_LIMIT = 100
"""Function calls (and command substitutions) inside one another before the sandbox stops the shell."""

SIZE_LIMIT = 16 * 1024 * 1024
"""Bytes a command's words, a variable or the output may hold (``x=$x$x`` in a loop)."""

class Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Return(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Break(Exception):
    def __init__(self, levels: int, again: bool) -> None:
        self.levels, self.again = levels, again


class Limit(Exception):
    """A limit of the sandbox's sh was reached: the shell ends, saying which."""

    def __init__(self, why: str) -> None:
        self.why = why


@dataclasses.dataclass
class Output:
    stdout: Any = dataclasses.field(default_factory=bytearray)
    stderr: Any = dataclasses.field(default_factory=bytearray)
    delay: float = 0.0


class _Streamed:
    """A running container's stdout or stderr: each write goes to its log at once."""

    def __init__(self, fd: int, sink: Callable[[int, bytes], None]) -> None:
        self.fd, self.sink, self.written = fd, sink, 0

    def __iadd__(self, data: bytes | bytearray) -> _Streamed:
        if data:
            self.sink(self.fd, bytes(data))
            self.written += len(data)
        return self

    def __len__(self) -> int:
        return 0  # written away: nothing held

    def __bytes__(self) -> bytes:
        return b""


class ExpansionError(Exception):
    pass


class Input:
    """A command's standard input: what ``read`` takes line by line, or all of it; over a
    :class:`Stream`, as it arrives."""

    def __init__(self, data: bytes | Stream) -> None:
        self.stream = data if isinstance(data, Stream) else None
        self.data = data if isinstance(data, bytes) else b""
        self.position = 0

    def read_all(self) -> bytes:
        if self.stream is not None:
            return self.stream.read_all()
        rest = self.data[self.position:]
        self.position = len(self.data)
        return rest

    def read_line(self) -> bytes | None:
        if self.stream is not None:
            return self.stream.read_line()
        if self.position >= len(self.data):
            return None
        end = self.data.find(b"\n", self.position)
        end = len(self.data) if end < 0 else end + 1
        line = self.data[self.position:end]
        self.position = end
        return line
