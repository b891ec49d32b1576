"""Standard input that arrives over time, shared by the exec streams and the sandbox's sh."""

from __future__ import annotations

import queue

STDIN_READERS = frozenset({"cat", "grep", "wc", "head", "tail", "mysql", "mariadb", "sh", "bash", "ash", "dash", "zsh", "tee", "sort", "uniq",
                           "tr", "cut", "sed", "awk", "nc", "xargs", "base64", "md5sum", "sha256sum"})
"""Programs that read their standard input (the others never wait for it)."""


class Stream:
    """Standard input that arrives over time (``kubectl exec -i``): fed on the event loop's
    thread, read (blocking) in the command's thread, so ``read`` and ``cat`` see each line as
    it is sent and the end only when the client closes its stdin."""

    def __init__(self) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue()
        self._buffer = b""
        self._ended = False

    def feed(self, data: bytes) -> None:
        self._chunks.put(data)

    def close(self) -> None:
        self._chunks.put(None)

    def read_chunk(self) -> bytes | None:
        """What has arrived (waiting for something), or None at the end."""
        if self._buffer:
            held, self._buffer = self._buffer, b""
            return held
        if self._ended:
            return None
        data = self._chunks.get()
        if data is None:
            self._ended = True
        return data

    def read_line(self) -> bytes | None:
        while b"\n" not in self._buffer and not self._ended:
            data = self._chunks.get()
            if data is None:
                self._ended = True
            else:
                self._buffer += data
        if not self._buffer:
            return None
        end = self._buffer.find(b"\n")
        end = len(self._buffer) if end < 0 else end + 1
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def read_all(self) -> bytes:
        parts = [self._buffer]
        self._buffer = b""
        while not self._ended:
            data = self._chunks.get()
            if data is None:
                self._ended = True
            else:
                parts.append(data)
        return b"".join(parts)
