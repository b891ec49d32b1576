"""Warm starts: a headless command answered by a process that has already imported labrunner.

A cold ``labrunner check`` spends ~0.5 s before its first request: importing the official
kubernetes client (~250 ms, more than kubectl's whole run) and building the lab models
(pydantic, ~180 ms). The warm server (:mod:`labrunner.cli.warm_server`) pays that once; for
each command it forks a copy of itself that runs the very same ``main(argv)`` with this
process's arguments, environment, working folder, umask and standard streams (passed as file
descriptors), so the output, the exit code and the files written are those of a cold run.

This module is the client: standard library only, because it runs on every command. A
command is forwarded when it is one of :data:`COMMANDS`, ``LABRUNNER_WARM`` is not ``0``,
and a server for this interpreter and labrunner is listening; otherwise the command runs
here, cold, and a server is started in the background for the next one. The server stops
itself after :data:`IDLE_SECONDS` without a command, when labrunner's code changes, or on
``labrunner warm stop``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

# json, socket, struct and hashlib are imported where used: a command that is not forwarded
# (LABRUNNER_WARM=0, or not one of COMMANDS) pays nothing for this module but itself.

COMMANDS = frozenset({"check", "status", "hint", "show", "list", "validate", "solve", "reset"})
"""Commands worth a warm start: short, headless, and run by scripts and graders in loops.
The TUI (a terminal of its own), the sandbox's server, doctor (which describes this very
process) and the long selftest run cold."""

IDLE_SECONDS = 600.0
"""A server with nothing to do for this long stops (``LABRUNNER_WARM_IDLE`` overrides)."""

FORWARDED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))
"""Signals this process passes on to the forked command (Ctrl-C, a grader's timeout, a closed terminal)."""

_SOCKET_PATH_LIMIT = 100
"""sun_path holds 104 to 108 bytes depending on the system; longer paths mean no warm starts."""

HEADER_FORMAT = "!I"
"""The request's length, sent with the three descriptors; the JSON request follows."""


def wanted() -> bool:
    """Warm starts are not turned off (``LABRUNNER_WARM=0``)."""
    return os.environ.get("LABRUNNER_WARM", "1").strip().lower() not in ("0", "off", "no", "false")


def enabled() -> bool:
    """Wanted, and possible here (fork and descriptor passing: not on Windows)."""
    import socket

    return wanted() and hasattr(socket, "send_fds") and hasattr(os, "fork")


def command_of(argv: list[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def identity() -> str:
    """What a server must share with its clients to behave as a cold run would: the interpreter,
    labrunner's location, the module search path and the locale (the streams' encoding)."""
    import hashlib

    import labrunner

    parts = [sys.executable, str(Path(labrunner.__file__).resolve().parent), labrunner.__version__, str(os.getuid()),
             *(f"{name}={os.environ.get(name, '')}" for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONIOENCODING", "PYTHONUTF8",
                                                                 "LANG", "LC_ALL", "LC_CTYPE"))]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def socket_path() -> Path | None:
    """Where this interpreter's warm server listens: the state folder, which is the user's alone."""
    from labrunner import paths

    path = paths.state_dir() / "warm" / f"{identity()}.sock"
    return path if len(os.fsencode(path)) <= _SOCKET_PATH_LIMIT else None


class _Pending:
    socket: Path | None = None


_pending = _Pending()


def forward(argv: list[str]) -> int | None:
    """Run the command in a warm server and return its exit code; None when it must run here.

    When no server listens, remembers to start one (:func:`start_pending`) after this command."""
    if not wanted() or command_of(argv) not in COMMANDS or not enabled():
        return None
    import json
    import socket
    import struct

    try:
        path = socket_path()
        if path is None:
            return None
        request = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "umask": _umask()},
                             ensure_ascii=False).encode("utf-8", "surrogateescape")
        for fd in (0, 1, 2):
            os.fstat(fd)  # a closed standard stream cannot be passed on: run here
    except (OSError, ValueError):
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(os.fspath(path))
    except OSError:
        connection.close()
        _pending.socket = path
        return None
    with connection:
        try:
            socket.send_fds(connection, [struct.pack(HEADER_FORMAT, len(request))], [0, 1, 2])
            connection.sendall(request)
            reader = connection.makefile("rb")
            first = _message(reader)
        except OSError:
            return None
        if first is None or first.get("stale") or "pid" not in first:
            _pending.socket = path  # nothing ran: the server is stopping (its code is out of date); start a new one
            return None
        return _wait(connection, reader)


def _wait(connection: socket.socket, reader: Any) -> int:
    """Pass our signals on until the command ends; its exit code (128+N when a signal ended it)."""
    import json

    def pass_on(number: int, _frame: object) -> None:
        try:
            connection.sendall(json.dumps({"signal": number}).encode() + b"\n")
        except OSError:
            pass

    for number in FORWARDED_SIGNALS:
        signal.signal(number, pass_on)
    try:
        ended = _message(reader)
    except OSError:
        ended = None
    if ended is None:
        print("labrunner: error: the warm server ended before the command did (labrunner warm stop; "
              "LABRUNNER_WARM=0 runs commands without it)", file=sys.stderr)
        return 3
    if "signal" in ended:
        return 128 + int(ended["signal"])
    return int(ended.get("exit", 3))


def _message(reader: Any) -> dict[str, Any] | None:
    import json

    line = reader.readline()
    if not line:
        return None
    answer = json.loads(line)
    return answer if isinstance(answer, dict) else None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def start_pending() -> None:
    """Start a warm server in the background if this command found none (it outlives us)."""
    path, _pending.socket = _pending.socket, None
    if path is not None:
        spawn(path)


def spawn(path: Path) -> None:
    import subprocess

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(path.parent, os.W_OK):
            return  # a read-only state folder: commands run cold
        # -P and cwd="/": the server imports labrunner as installed, never a module that happens to be
        # in the folder the first command ran in, and keeps no folder of the learner's busy.
        subprocess.Popen([sys.executable, "-P", "-m", "labrunner.cli.warm_server", os.fspath(path)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True, cwd="/")
    except OSError:
        pass  # only ever an optimisation


def servers() -> list[dict[str, Any]]:
    """The warm servers of this state folder: socket, pid, whether it answers."""
    import json

    from labrunner import paths

    found = []
    for info in sorted((paths.state_dir() / "warm").glob("*.json")):
        try:
            described = json.loads(info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(described, dict):
            described["answers"] = answers(info.with_suffix(".sock"))
            found.append(described)
    return found


def answers(path: Path) -> bool:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(os.fspath(path))
        except OSError:
            return False
    return True


def stop_all() -> list[int]:
    """Stop every warm server of this state folder; the pids signalled."""
    stopped = []
    for described in servers():
        pid = described.get("pid")
        if isinstance(pid, int) and described.get("answers"):
            try:
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
            except OSError:
                pass
    return stopped
