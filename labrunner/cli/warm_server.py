"""The warm server: imports labrunner once, then forks a ready copy of itself per command.

``python -m labrunner.cli.warm_server SOCKET``. One thread, one loop: accept a client
(same user only), read its arguments, environment, folder and umask with its three standard
streams, fork; the child becomes that command (:func:`_become`) and runs ``main(argv)``; the
parent passes the client's signals on to the child and, when the child ends, its exit code
back. A client that goes away (a closed terminal) hangs the child up, as a terminal would.

Forking is why this is safe: every command starts from the same imported, unconfigured
state, and nothing a command does (environment, folder, open files, the cluster client it
builds) reaches the next one. The server itself never opens a cluster, a database or a
thread: a fork copies only the thread that calls it.

It stops when idle for ``IDLE_SECONDS``, when a file of labrunner it imported (or an
installed package) changed, when its socket was removed or taken over, and on SIGTERM.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

from labrunner.cli.warm import HEADER_FORMAT, IDLE_SECONDS

_READ_TIMEOUT = 5.0
"""A client sends its request at once; one that stalls longer is dropped."""


def preload() -> None:
    """Everything a headless command imports or builds before its first request."""
    import labrunner.checks.runner  # noqa: F401
    import labrunner.cli.checking  # noqa: F401
    import labrunner.cli.labs  # noqa: F401
    import labrunner.cli.render  # noqa: F401
    import labrunner.cluster.opening  # noqa: F401
    import labrunner.lab.loader  # noqa: F401
    import labrunner.sandbox.files  # noqa: F401
    import labrunner.session.actions  # noqa: F401
    import labrunner.session.progress  # noqa: F401
    import labrunner.session.session  # noqa: F401
    from labrunner import cli, paths
    from labrunner.cluster import kube
    from labrunner.lab import loader
    from labrunner.lab.catalog import discover
    from labrunner.registry import registry

    kube.preload()  # the official client: ~250 ms of a cold check
    cli.shared_parser()
    registry().kinds  # noqa: B018  the check kinds' modules and models
    for entry in discover(paths.lab_roots()):
        try:
            loader.load_lab(entry.directory, remember=True)
        except Exception:  # noqa: BLE001  a broken lab is the command's to report, not the server's
            continue


class Server:
    def __init__(self, path: Path, lock: int) -> None:
        self.path = path
        self.lock = lock
        self.wake: tuple[int, int] = (-1, -1)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, socket.socket] = {}
        self.clients: dict[socket.socket, int] = {}
        self.last_active = time.monotonic()
        self.stopping = False
        self.idle = float(os.environ.get("LABRUNNER_WARM_IDLE") or IDLE_SECONDS)
        self.watched: dict[str, int] = {}
        self.inode = 0
        self.started = 0.0
        self.served = 0

    # -- starting ------------------------------------------------------------------------------

    def bind(self) -> bool:
        """Listen on the socket unless another server already answers there."""
        from labrunner.cli.warm import answers

        if answers(self.path):
            return False
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        old = os.umask(0o077)
        try:
            self.listener.bind(os.fspath(self.path))
        finally:
            os.umask(old)
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.inode = self.path.stat().st_ino
        self.watched = _fingerprint()
        self.started = time.time()
        self._describe()
        return True

    def _describe(self) -> None:
        """What ``labrunner warm status`` shows, written atomically beside the socket."""
        info = self.path.with_suffix(".json")
        temporary = info.with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"pid": os.getpid(), "socket": str(self.path), "python": sys.executable,
                                         "started": self.started, "idle_seconds": self.idle, "served": self.served}),
                             encoding="utf-8")
        os.replace(temporary, info)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        wake_read, wake_write = self.wake = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(wake_read, selectors.EVENT_READ, "wake")
        try:
            while not (self.stopping and not self.children):
                for key, _ in self.selector.select(timeout=1.0):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        _drain(wake_read)
                    else:
                        self._from_client(key.fileobj)  # type: ignore[arg-type]
                self._reap()
                self._housekeeping()
        finally:
            self._remove_files()

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _housekeeping(self) -> None:
        if self.children or self.clients:
            self.last_active = time.monotonic()
            return
        if time.monotonic() - self.last_active > self.idle or not self._socket_is_ours():
            self._stop()

    def _socket_is_ours(self) -> bool:
        try:
            return self.path.stat().st_ino == self.inode
        except OSError:
            return False

    def _remove_files(self) -> None:
        self.listener.close()
        if self._socket_is_ours():
            for path in (self.path, self.path.with_suffix(".json")):
                try:
                    path.unlink()
                except OSError:
                    pass

    # -- a command -----------------------------------------------------------------------------

    def _accept(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except BlockingIOError:
            return
        connection.setblocking(True)
        connection.settimeout(_READ_TIMEOUT)
        fds: list[int] = []
        try:
            if not _same_user(connection):
                connection.close()
                return
            size = struct.calcsize(HEADER_FORMAT)
            header, fds, _, _ = socket.recv_fds(connection, size, 3)
            if len(header) != size or len(fds) != 3:
                raise OSError("a malformed request")
            request = json.loads(_read_exactly(connection, struct.unpack(HEADER_FORMAT, header)[0]))
            if self.stopping or _fingerprint() != self.watched or threading.active_count() != 1:
                # labrunner changed under us (or a thread appeared, which a fork would not copy):
                # the client runs cold and starts a new server
                self.stopping = True
                connection.sendall(b'{"stale": true}\n')
                connection.close()
                return
            pid = self._fork(request, fds, connection)
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except (OSError, ValueError):
            connection.close()
            return
        finally:
            for fd in fds:
                os.close(fd)
        connection.settimeout(None)
        self.children[pid] = connection
        self.clients[connection] = pid
        self.selector.register(connection, selectors.EVENT_READ, "client")
        self.served += 1
        try:
            self._describe()
        except OSError:
            pass

    def _fork(self, request: dict[str, Any], fds: list[int], connection: socket.socket) -> int:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # nothing of the server's may reach a command's output
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                self._close_in_child(connection)
                code = _become(request, fds)
            finally:
                os._exit(code)
        return pid

    def _close_in_child(self, connection: socket.socket) -> None:
        signal.set_wakeup_fd(-1)
        for fd in (self.lock, *self.wake):
            os.close(fd)
        self.selector.close()
        self.listener.close()
        connection.close()
        for other in self.clients:
            other.close()

    def _from_client(self, connection: socket.socket) -> None:
        pid = self.clients.get(connection)
        try:
            data = connection.recv(4096)
        except OSError:
            data = b""
        if pid is None:
            return
        if not data:  # the client is gone: hang the command up, as a closed terminal would
            self._forget(connection)
            _signal(pid, signal.SIGHUP)
            return
        for line in data.splitlines():
            try:
                number = int(json.loads(line).get("signal"))
            except (ValueError, TypeError, AttributeError):
                continue
            if number in {int(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}:
                _signal(pid, number)

    def _forget(self, connection: socket.socket) -> None:
        self.clients.pop(connection, None)
        try:
            self.selector.unregister(connection)
        except (KeyError, ValueError):
            pass

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.children.pop(pid, None)
            if connection is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            answer = {"signal": -code} if code < 0 else {"exit": code}
            try:
                connection.sendall(json.dumps(answer).encode() + b"\n")
            except OSError:
                pass
            self._forget(connection)
            connection.close()
            self.last_active = time.monotonic()


def _become(request: dict[str, Any], fds: list[int]) -> int:
    """In the forked child: take on the client's streams, environment, folder and umask, then
    run its command as ``labrunner`` would."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.setpgid(0, 0)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        time.tzset()  # the caller's TZ: status prints local times
    except (OSError, TypeError, ValueError, AttributeError) as failure:
        print(f"labrunner: error: the warm server could not take on this command's surroundings: {failure}\n"
              "labrunner: hint: run it again; LABRUNNER_WARM=0 runs commands without the warm server", file=sys.stderr)
        return 3
    sys.stdout.reconfigure(line_buffering=os.isatty(1))  # type: ignore[union-attr]  # as Python sets it up at start
    argv = [str(word) for word in request["argv"]]
    sys.argv = ["labrunner", *argv]
    from labrunner.cli import main

    try:
        code = main(argv)
    except SystemExit as ended:  # argparse's usage errors and --help
        code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 2)
    except KeyboardInterrupt:
        code = 130
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    import atexit

    atexit._run_exitfuncs()
    return code


def _fingerprint() -> dict[str, int]:
    """The modification times of labrunner's imported modules and of the folders packages are
    installed in: a change means this server would no longer run what a cold start runs."""
    import labrunner

    package = str(Path(labrunner.__file__).resolve().parent)
    files = {getattr(module, "__file__", None) for name, module in list(sys.modules.items()) if name.startswith("labrunner")}
    folders = {entry for entry in sys.path if entry and os.path.isdir(entry) and "site-packages" in entry}
    watched: dict[str, int] = {}
    for path in sorted(p for p in files | folders | {package} if p):
        try:
            watched[path] = os.stat(path).st_mtime_ns
        except OSError:
            watched[path] = -1
    return watched


def _same_user(connection: socket.socket) -> bool:
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # the socket is 0600 in a 0700 folder
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", credentials)
    return uid == os.getuid()


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    if size > 16 * 1024 * 1024:
        raise ValueError("request too large")
    chunks, left = [], size
    while left:
        chunk = connection.recv(min(left, 1 << 16))
        if not chunk:
            raise OSError("the client went away")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m labrunner.cli.warm_server SOCKET", file=sys.stderr)
        return 2
    os.umask(0o077)
    path = Path(argv[0])
    from labrunner.cli.warm import identity

    if path.stem != identity():
        return 0  # this interpreter would import another labrunner than the client did: it must not answer for it
    lock = _hold(path.with_suffix(".lock"))
    if lock is None:
        return 0  # another server is starting or serving there
    preload()
    server = Server(path, lock)
    if not server.bind():
        return 0
    server.run()
    return 0


def _hold(path: Path) -> int | None:
    """An exclusive lock held for the server's life, so two starts make one server."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
