"""A shell over a stream's channels: ``kubectl exec -ti POD -- sh``, ``kubectl run -ti``, and a
script piped to ``kubectl exec -i POD -- sh``.

One shell for the whole session (variables and functions last); with a TTY, busybox's prompt,
echo, line editing, Ctrl-C and Ctrl-D, and ``> `` for the rest of a construct spread over lines;
without one, no prompt or echo and errors on stderr, as sh reading a script does.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import WSMsgType, web

from labrunner.sandbox import processes
from labrunner.sandbox.timescale import TIME_SCALE

STDIN, STDOUT, STDERR = 0, 1, 2
CLOSE = 255
"""v5's channel for closing another one (the client's end of stdin)."""


async def shell_session(socket: web.WebSocketResponse, box: processes.Container, *, tty: bool) -> int:
    """An interactive shell with a TTY (prompt, echo, line editing); without one, a shell
    reading its script from stdin line by line, as ``sh`` does: no prompt, no echo, its
    errors on stderr. One shell for the session: variables and functions last, and a
    construct spread over lines (``for ... do`` then ``done``) waits for its end (``> ``)."""
    from labrunner.sandbox.sh import Incomplete, Shell, ShellSyntaxError, parse

    shell = Shell(box, processes.run)
    prompt = b"/ # " if tty else b""
    newline = b"\r\n" if tty else b"\n"
    script: list[str] = []

    async def send(data: bytes, channel: int = STDOUT) -> None:
        if data:
            await socket.send_bytes(bytes([channel]) + data)

    loop = asyncio.get_running_loop()
    written: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    interrupt = threading.Event()
    held: list[Any] = []
    """What the client sent while a command ran (keys typed ahead, the end of stdin), for after it."""
    receiving: asyncio.Future[Any] | None = None

    def sink(fd: int, data: bytes) -> None:
        if data:
            loop.call_soon_threadsafe(written.put_nowait, (fd, data))

    def sleeper(seconds: float) -> None:
        if interrupt.wait(max(seconds, 0.0) * TIME_SCALE) or interrupt.is_set():
            raise processes.Stopped

    from labrunner.sandbox.runtime import _OnLoop

    box.sink, box.sleeper = sink, sleeper
    box.network = _OnLoop(box.network, loop)

    async def emit(fd: int, data: bytes) -> None:
        if tty:
            await send(data.replace(b"\n", newline))
        else:
            await send(data, STDOUT if fd == 1 else STDERR)

    async def flush() -> None:
        while not written.empty():
            await emit(*written.get_nowait())

    async def run(text: str) -> tuple[bool, int]:
        """Run what was typed, in a thread (its output shown as it is written, its sleeps real);
        Ctrl-C stops it. (the shell ended, its status). Half a construct waits for more."""
        nonlocal receiving
        script.append(text)
        try:
            parse("\n".join(script))
        except Incomplete:
            return False, -1
        except ShellSyntaxError:
            pass  # the shell says it
        joined = "\n".join(script)
        script.clear()
        interrupt.clear()
        finished: asyncio.Future[tuple[bytes, bytes, int, float, bool]] = loop.create_future()

        def work() -> None:
            try:
                outcome = shell.run(joined)
            except BaseException as error:  # handed to the session, which says it
                loop.call_soon_threadsafe(_settle, finished, error)
                return
            loop.call_soon_threadsafe(_settle, finished, outcome)

        threading.Thread(target=work, name=f"shell {box.namespace}/{box.pod}", daemon=True).start()
        while not finished.done():
            if receiving is None:
                receiving = asyncio.ensure_future(socket.receive())
            drained = asyncio.ensure_future(written.get())
            await asyncio.wait({finished, receiving, drained}, return_when=asyncio.FIRST_COMPLETED)
            if drained.done():
                await emit(*drained.result())  # the oldest piece first: the rest are behind it
            else:
                drained.cancel()
            await flush()
            if receiving.done():
                message = receiving.result()
                receiving = None
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR, WSMsgType.CLOSED):
                    interrupt.set()  # the client went away: the command is stopped
                elif tty and message.type == WSMsgType.BINARY and message.data[:1] == bytes([STDIN]) and 0x03 in message.data[1:]:
                    interrupt.set()  # Ctrl-C stops the command, not the shell
                    await send(b"^C" + newline)
                    continue
                held.append(message)
        result = finished.result()
        await flush()
        stdout, stderr, code, _, exited = result
        if tty:
            await send((stdout + stderr).replace(b"\n", newline))
        else:
            await send(stdout)
            await send(stderr, STDERR)
        if interrupt.is_set() and code == 143:
            box.last_status = shell.status = 130
            code = 130
            exited = False
        return exited, code

    async def end_of_input() -> int:
        """The shell reached the end of its input: a last line without a newline still runs,
        and the shell exits with the status of the last command, as sh does."""
        command = line.decode(errors="replace")
        if command.strip() or script:
            finished, code = await run(command)
            if finished:
                return code
            if script:  # the input ended inside a construct
                script.clear()
                await send(b"sh: syntax error: unexpected end of file\n", STDOUT if tty else STDERR)
                return 2
        return box.last_status

    await send(prompt)
    line = bytearray()
    while True:
        if held:
            message = held.pop(0)
        else:
            if receiving is None:
                receiving = asyncio.ensure_future(socket.receive())
            message = await receiving
            receiving = None
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR, WSMsgType.CLOSED):
            return await end_of_input()
        if message.type != WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        if channel == CLOSE and payload[:1] == bytes([STDIN]):
            return await end_of_input()
        if channel != STDIN:
            continue  # resize and others
        for byte in payload:
            if byte in (0x0D, 0x0A):
                if tty:
                    await send(newline)
                command = line.decode(errors="replace")
                line.clear()
                if command.strip() or script:
                    finished, code = await run(command)
                    if finished:
                        return code
                await send(b"> " if script and tty else prompt)
            elif byte == 0x03 and tty:  # Ctrl-C
                line.clear()
                script.clear()
                await send(b"^C" + newline + prompt)
            elif byte == 0x04 and tty:  # Ctrl-D on an empty line ends the shell
                if not line:
                    await send(newline)
                    return box.last_status
            elif byte in (0x7F, 0x08):
                if line:
                    line.pop()
                    if tty:
                        await send(b"\b \b")
            elif byte >= 0x20 or byte == 0x09:
                line.append(byte)
                if tty:
                    await send(bytes([byte]))


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)
