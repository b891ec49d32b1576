"""Starting, finding and stopping the sandbox process, from the CLI (and later the TUI).

Uses only the standard library (no aiohttp, no cryptography), so ``labrunner
sandbox status`` stays fast. The server proves itself alive by answering
``/healthz`` over TLS with the sandbox's own CA.
"""

from __future__ import annotations

import fcntl
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labrunner.sandbox.files import SandboxFiles

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class SandboxError(Exception):
    """The sandbox could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class SandboxInfo:
    pid: int
    port: int
    started: float

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def uptime(self) -> float:
        return max(0.0, time.time() - self.started)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_our_server(pid: int, files: SandboxFiles) -> bool:
    """Whether ``pid`` is the sandbox server of ``files``' folder, by its command line
    (a pid from a stale server.json may since have been given to any program)."""
    command = _command_line(pid)
    return command is not None and "labrunner.sandbox.server" in command and str(files.folder) in command


def _command_line(pid: int) -> str | None:
    proc = Path(f"/proc/{pid}/cmdline")
    try:
        return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None  # Linux, and the process is gone
    except OSError:
        return None
    try:  # macOS and the BSDs: no /proc
        shown = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return shown.stdout.strip() or None


def healthy(files: SandboxFiles, port: int, timeout: float = 2.0) -> bool:
    try:
        context = ssl.create_default_context(cafile=str(files.ca_certificate))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=timeout) as response:
            return bool(response.status == 200 and response.read() == b"ok")
    except (OSError, urllib.error.URLError, ssl.SSLError):
        return False


def running(files: SandboxFiles) -> SandboxInfo | None:
    """The running sandbox, or None (a stale server.json from a crash counts as not running)."""
    info = files.read_server_info()
    if not info:
        return None
    try:
        found = SandboxInfo(pid=int(info["pid"]), port=int(info["port"]), started=float(info["started"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not _alive(found.pid) or not healthy(files, found.port):
        return None
    return found


def start(files: SandboxFiles) -> tuple[SandboxInfo, bool]:
    """Start the sandbox unless it runs; returns it and whether this call started it.
    Concurrent starts (two terminals, a test's threads) make one server: the second
    waits for the first and is told it runs.

    Raises:
        SandboxError: the process died or did not become ready; the log's tail says why.
    """
    try:
        files.make_private()
        with _held(files.start_lock):
            existing = running(files)
            if existing is not None:
                return existing, False
            return _spawn(files), True
    except OSError as refused:  # a read-only or full state folder, a file where the folder should be
        raise SandboxError(f"cannot write the sandbox's folder {files.folder}: {refused.strerror or refused}; "
                           "make it writable (or free some space), or set LABRUNNER_STATE_DIR to a folder you can write") from None


@contextmanager
def _held(lock: Path) -> Iterator[None]:
    """An exclusive flock on ``lock`` (waited for), released on exit or when the process dies."""
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _spawn(files: SandboxFiles) -> SandboxInfo:
    files.server_info.unlink(missing_ok=True)
    descriptor = os.open(files.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "labrunner.sandbox.server", "--state-dir", str(files.folder)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # outlives the command that started it, and its terminal
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(f"the sandbox exited with code {process.returncode}:\n{tail(files)}")
        info = files.read_server_info()
        if info and info.get("pid") == process.pid:
            started = running(files)
            if started is not None:
                return started
        time.sleep(0.02)
    process.terminate()
    raise SandboxError(f"the sandbox did not become ready within {START_TIMEOUT:.0f} s:\n{tail(files)}")


def stop(files: SandboxFiles) -> bool:
    """Stop the sandbox; False if it was not running.

    Raises:
        SandboxError: it did not stop in time.
    """
    info = files.read_server_info()
    pid = int(info.get("pid", 0) or 0) if info else 0
    if not pid or not _alive(pid) or not is_our_server(pid, files):
        # Nothing runs, or server.json outlived a crash and its pid is now another program's.
        files.server_info.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid):
            files.server_info.unlink(missing_ok=True)
            return True
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child (tests)
        except ChildProcessError:
            pass
        time.sleep(0.02)
    raise SandboxError(f"the sandbox (pid {pid}) did not stop within {STOP_TIMEOUT:.0f} s")


def object_counts(files: SandboxFiles) -> dict[str, int]:
    """How many objects of each resource the sandbox holds (read straight from its database)."""
    import sqlite3

    if not files.database.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{files.database}?mode=ro", uri=True, timeout=2) as db:
            rows = db.execute("SELECT api_group, resource, COUNT(*) FROM objects GROUP BY api_group, resource ORDER BY resource").fetchall()
    except sqlite3.Error:
        return {}
    return {f"{resource}.{group}" if group else resource: count for group, resource, count in rows}


def reset(files: SandboxFiles) -> bool:
    """Empty the sandbox: every object goes, the CA, token and kubeconfig stay; a
    running sandbox restarts with a new cluster's objects. Returns whether it runs."""
    was_running = running(files) is not None
    if was_running:
        stop(files)
    for suffix in ("", "-wal", "-shm"):
        files.database.with_name(files.database.name + suffix).unlink(missing_ok=True)
    if was_running:
        start(files)
    return was_running


def tail(files: SandboxFiles, lines: int = 20) -> str:
    """The log's last lines, then what the server printed outside it (a traceback) if anything."""
    said = []
    for path in (files.log, files.output):
        try:
            said += path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
    return "\n".join(said[-lines:]) if said else "(no log)"
