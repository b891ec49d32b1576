"""A shell over a stream's channels: ``kubectl exec -ti POD -- sh``, ``kubectl run -ti``, and a
script piped to ``kubectl exec -i POD -- sh``.

One shell for the whole session (variables and functions last); with a TTY, busybox's prompt,
echo, line editing, Ctrl-C and Ctrl-D, and ``> `` for the rest of a construct spread over lines;
without one, no prompt or echo and errors on stderr, as sh reading a script does.
"""

from __future__ import annotations

import asyncio

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

    async def run(text: str) -> tuple[bool, int]:
        """Run what was typed; (the shell ended, its status). Half a construct waits for more."""
        script.append(text)
        try:
            parse("\n".join(script))
        except Incomplete:
            return False, -1
        except ShellSyntaxError:
            pass  # the shell says it
        stdout, stderr, code, delay, exited = shell.run("\n".join(script))
        script.clear()
        if delay:
            await asyncio.sleep(delay * TIME_SCALE)
        if tty:
            await send((stdout + stderr).replace(b"\n", newline))
        else:
            await send(stdout)
            await send(stderr, STDERR)
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
    async for message in socket:
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
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
    return await end_of_input()
