"""``kubectl port-forward``: SPDY/3.1, tunnelled in a WebSocket
(``SPDY/3.1+portforward.k8s.io``, what kubectl 1.32 tries first) or after a plain
``Upgrade: SPDY/3.1`` (its fallback), server side.

The binary messages' payloads form one SPDY byte stream per direction. Control
frames: ``0x8003 | type``, flags and a 24-bit length; data frames: stream id,
flags (FIN = 1), length. Header blocks (``uint32`` count, then length-prefixed
names and values) are zlib-compressed with one stream per direction, primed with
the SPDY/3 dictionary (spec section 2.6.10.1). For each local connection kubectl
opens an ``error`` and a ``data`` stream sharing a ``requestid``; the sandbox
answers each SYN_STREAM with a SYN_REPLY, reads the HTTP request on the data
stream, answers it from the pod's simulated server, then FINs both streams.

Traffic arrives inside the pod's network namespace (as the kubelet's
port-forward does), so NetworkPolicies do not apply to it, as on a real cluster;
the page's own connection to MySQL is decided by them as usual.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from labrunner.sandbox.network import Network
from labrunner.sandbox.status import status
from labrunner.sandbox.webapps import REASONS, serve

SPDY3_DICTIONARY = base64.b64decode(
    "AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFj"
    "Y2VwdC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAA"
    "AANhZ2UAAAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29u"
    "dGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAA"
    "ABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAA"
    "BGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYt"
    "bW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAA"
    "DWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50"
    "aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNl"
    "cnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAA"
    "AAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0"
    "dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAA"
    "CmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2"
    "NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9y"
    "bWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3Jp"
    "emVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1l"
    "bnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBO"
    "b3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0"
    "bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3ht"
    "bCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNo"
    "YXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg=="
)
SYN_STREAM, SYN_REPLY, PING, GOAWAY = 1, 2, 6, 7
FIN = 0x01
PROTOCOL = "SPDY/3.1+portforward.k8s.io"


class _Session:
    """One SPDY connection; ``write`` sends bytes to the client, ``chunks`` yields what it sends."""

    def __init__(self, write: Any, pod: dict[str, Any], network: Network, data_root: Path, time_scale: float) -> None:
        self.write, self.pod, self.network, self.data_root, self.time_scale = write, pod, network, data_root, time_scale
        self.inflate = zlib.decompressobj(zdict=SPDY3_DICTIONARY)
        self.deflate = zlib.compressobj(zdict=SPDY3_DICTIONARY)
        self.buffer = bytearray()
        self.streams: dict[int, dict[str, Any]] = {}

    def _headers(self, block: bytes) -> dict[str, str]:
        raw = self.inflate.decompress(block)
        count, position, headers = struct.unpack(">I", raw[:4])[0], 4, {}
        for _ in range(count):
            size = struct.unpack(">I", raw[position:position + 4])[0]
            name = raw[position + 4:position + 4 + size].decode()
            position += 4 + size
            size = struct.unpack(">I", raw[position:position + 4])[0]
            headers[name] = raw[position + 4:position + 4 + size].decode()
            position += 4 + size
        return headers

    def _encode_headers(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            raw += struct.pack(">I", len(name)) + name.encode() + struct.pack(">I", len(value)) + value.encode()
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    async def _control(self, kind: int, flags: int, payload: bytes) -> None:
        await self.write(struct.pack(">HHI", 0x8003, kind, (flags << 24) | len(payload)) + payload)

    async def _data(self, stream: int, payload: bytes, fin: bool = False) -> None:
        await self.write(struct.pack(">II", stream, ((FIN if fin else 0) << 24) | len(payload)) + payload)

    async def run(self, chunks: Any) -> None:
        async for chunk in chunks:
            self.buffer += chunk
            while len(self.buffer) >= 8:
                first, second = struct.unpack(">II", self.buffer[:8])
                flags, length = second >> 24, second & 0xFFFFFF
                if len(self.buffer) < 8 + length:
                    break
                payload = bytes(self.buffer[8:8 + length])
                del self.buffer[:8 + length]
                if first & 0x80000000:
                    if not await self._on_control(first & 0xFFFF, flags, payload):
                        return
                else:
                    await self._on_data(first & 0x7FFFFFFF, flags, payload)

    async def _on_control(self, kind: int, flags: int, payload: bytes) -> bool:
        if kind == SYN_STREAM:
            stream = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            headers = self._headers(payload[10:])
            await self._control(SYN_REPLY, 0, struct.pack(">I", stream) + self._encode_headers({}))
            self.streams[stream] = {"headers": headers, "request": bytearray(), "answered": False}
            if flags & FIN:
                await self._maybe_answer(stream, finished=True)
        elif kind == PING:
            await self._control(PING, 0, payload)
        elif kind == GOAWAY:
            return False
        return True

    async def _on_data(self, stream: int, flags: int, payload: bytes) -> None:
        state = self.streams.get(stream)
        if state is None:
            return
        state["request"] += payload
        await self._maybe_answer(stream, finished=bool(flags & FIN))

    async def _maybe_answer(self, stream: int, *, finished: bool) -> None:
        state = self.streams[stream]
        if state["headers"].get("streamtype") != "data" or state["answered"]:
            return
        request = bytes(state["request"])
        head, separator, _ = request.partition(b"\r\n\r\n")
        if not separator and not finished:
            return
        state["answered"] = True
        port = int(state["headers"].get("port", "0") or 0)
        error_stream = next((sid for sid, s in self.streams.items()
                             if s["headers"].get("streamtype") == "error" and s["headers"].get("requestid") == state["headers"].get("requestid")), None)
        if not self.network.listens(self.pod, "TCP", port):
            if error_stream is not None:
                message = (f"error forwarding port {port} to pod {self.pod['metadata'].get('uid', '')}, uid : failed to connect to "
                           f"localhost:{port} inside namespace \"{self.pod['metadata']['namespace']}\", IPv4: connect: connection refused")
                await self._data(error_stream, message.encode(), fin=True)
            await self._data(stream, b"", fin=True)
            return
        answer, delay = answer_http(self.pod, self.network, self.data_root, port, head)
        if delay:
            await asyncio.sleep(delay * self.time_scale)
        await self._data(stream, answer, fin=True)
        if error_stream is not None:
            await self._data(error_stream, b"", fin=True)


def answer_http(pod: dict[str, Any], network: Network, data_root: Path, port: int, head: bytes) -> tuple[bytes, float]:
    """The pod's server's answer to one HTTP request arriving through port-forward: (the bytes,
    seconds it takes); no bytes from a server that does not speak HTTP."""
    request_line = head.split(b"\r\n", 1)[0].decode(errors="replace").split()
    method, path = (request_line + ["GET", "/"])[:2] if len(request_line) >= 2 else ("GET", "/")
    headers = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
               for line in head.decode(errors="replace").split("\r\n")[1:] if ":" in line}
    response = serve(pod, path, network, data_root, port=port, client={"status": {"podIP": "127.0.0.1"}}, method=method, headers=headers)
    if response.status == 0:  # the server does not speak HTTP: the client reads no HTTP answer
        return b"", 0.0
    network.access_log(pod, {"status": {"podIP": "127.0.0.1"}}, method, path, response.status, len(response.body), _user_agent(head))
    reason = REASONS.get(response.status, "Error")
    content_type = next((value for key, value in response.headers if key.lower() == "content-type"), "text/html; charset=UTF-8")
    extra = "".join(f"{key}: {value}\r\n" for key, value in response.headers if key.lower() != "content-type")
    answer = (f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {content_type}\r\n{extra}".encode()
              + f"Content-Length: {len(response.body)}\r\n".encode() + b"Connection: close\r\n\r\n" + response.body)
    return answer, response.delay


def _user_agent(head: bytes) -> str:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"user-agent":
            return value.strip().decode(errors="replace")
    return "-"


async def _websocket_chunks(socket: web.WebSocketResponse) -> Any:
    async for message in socket:
        if message.type == WSMsgType.BINARY:
            yield message.data
        elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
            return


class _RawReader:
    """Takes the bytes after a plain ``Upgrade: SPDY/3.1`` (aiohttp's parser hook)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(b"")

    async def chunks(self) -> Any:
        while chunk := await self.queue.get():
            yield chunk


async def port_forward(request: web.Request, pod: dict[str, Any], network: Network, data_root: Path, time_scale: float) -> web.StreamResponse:
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    upgrade = request.headers.get("Upgrade", "").lower()
    if upgrade == "websocket" and PROTOCOL in offered:
        socket = web.WebSocketResponse(protocols=(PROTOCOL,), autoping=True)
        await socket.prepare(request)
        try:
            await _Session(socket.send_bytes, pod, network, data_root, time_scale).run(_websocket_chunks(socket))
        except (ConnectionResetError, zlib.error, struct.error):
            pass
        return socket
    channels = next((p for p in CHANNEL_PROTOCOLS if p in offered), None)
    if upgrade == "websocket" and channels is not None:
        return await _channel_session(request, channels, pod, network, data_root, time_scale)
    if upgrade == "spdy/3.1" and request.protocol is not None and request.transport is not None:
        # The fallback kubectl uses without WebSockets (KUBECTL_PORT_FORWARD_WEBSOCKETS=false):
        # a plain SPDY/3.1 upgrade, then raw SPDY frames on the TLS connection.
        reader = _RawReader()
        request.protocol.set_parser(reader)  # type: ignore[arg-type]
        response = web.StreamResponse(status=101, headers={
            "Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "portforward.k8s.io"})
        response.force_close()
        await response.prepare(request)
        transport = request.transport

        async def write(data: bytes) -> None:
            transport.write(data)

        try:
            await _Session(write, pod, network, data_root, time_scale).run(reader.chunks())
        except (ConnectionResetError, zlib.error, struct.error):
            pass
        return response
    return status(400, "BadRequest", f"port-forward needs an upgrade to WebSocket ({PROTOCOL}) or SPDY/3.1")


CHANNEL_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
"""The channel protocols over WebSocket the official clients use for port-forward (the Python
client's ``portforward()``): per port ``i`` of ``?ports=``, channel ``2i`` carries data and
``2i+1`` errors; each channel's first frame from the server is the port, little-endian."""


async def _channel_session(request: web.Request, protocol: str, pod: dict[str, Any], network: Network, data_root: Path,
                           time_scale: float) -> web.StreamResponse:
    try:
        ports = [int(p) for p in request.query.getall("ports", []) for p in p.split(",") if p]
    except ValueError:
        return status(400, "BadRequest", "invalid port in ?ports=")
    if not ports:
        return status(400, "BadRequest", "query parameter \"port\" is required")
    socket = web.WebSocketResponse(protocols=(protocol,), autoping=True)
    await socket.prepare(request)
    received: dict[int, bytearray] = {index: bytearray() for index in range(len(ports))}
    try:
        for index, port in enumerate(ports):
            for channel in (2 * index, 2 * index + 1):
                await socket.send_bytes(bytes([channel]) + struct.pack("<H", port))
        async for message in socket:
            if message.type != WSMsgType.BINARY or not message.data:
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
                    break
                continue
            channel, payload = message.data[0], message.data[1:]
            if channel % 2 or channel // 2 >= len(ports):
                continue
            index = channel // 2
            received[index] += payload
            head, separator, _ = bytes(received[index]).partition(b"\r\n\r\n")
            if not separator:
                continue
            received[index].clear()
            port = ports[index]
            if not network.listens(pod, "TCP", port):
                message_text = (f"error forwarding port {port} to pod {pod['metadata'].get('uid', '')}, uid : failed to connect to "
                                f"localhost:{port} inside namespace \"{pod['metadata']['namespace']}\", IPv4: connect: connection refused")
                await socket.send_bytes(bytes([2 * index + 1]) + message_text.encode())
                continue
            answer, delay = answer_http(pod, network, data_root, port, head)
            if delay:
                await asyncio.sleep(delay * time_scale)
            if answer:
                await socket.send_bytes(bytes([2 * index]) + answer)
    except ConnectionResetError:
        pass
    return socket
