"""The API server's header read timeout: a request whose headers have not all arrived 32 s
after its first byte is dropped, so a client that never finishes one (a stalled or hostile
program) cannot hold a connection for ever. Go's http.Server does this for kube-apiserver
(ReadHeaderTimeout 32 s, IdleTimeout 90 s); aiohttp has no header deadline of its own, so
each connection's protocol is wrapped in one that keeps it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

HEADER_TIMEOUT = 32.0
IDLE_TIMEOUT = 90.0
_END_OF_HEADERS = b"\r\n\r\n"


class _HeaderDeadline(asyncio.Protocol):
    """Forwards everything to aiohttp's request handler, timing each request's headers."""

    def __init__(self, inner: Any, timeout: float) -> None:
        self.inner = inner
        self.timeout = timeout
        self.transport: asyncio.BaseTransport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.head = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        # aiohttp's handler holds its current request from the parsed headers to the response's
        # end (for an upgraded stream, its whole life); bytes then are a body or a stream.
        if getattr(self.inner, "_current_request", None) is not None:
            self._settle()
        else:
            self.head = (self.head + data)[-(len(_END_OF_HEADERS) + len(data)):]
            if _END_OF_HEADERS in self.head:
                self._settle()
            elif self.timer is None:
                self.timer = asyncio.get_running_loop().call_later(self.timeout, self._expire)
        self.inner.data_received(data)

    def _settle(self) -> None:
        self.head = b""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expire(self) -> None:
        self.timer = None
        if self.transport is not None:
            self.transport.close()  # as Go's server does: the connection just ends, no response

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._settle()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


def with_header_deadline(factory: Callable[[], Any], timeout: float = HEADER_TIMEOUT) -> Callable[[], asyncio.Protocol]:
    """A protocol factory for ``loop.create_server``: aiohttp's, each connection under the deadline."""
    return lambda: _HeaderDeadline(factory(), timeout)
