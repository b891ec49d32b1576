"""Containers that run their own command: the container runtime's part of the kubelet.

A container whose spec gives ``command`` or ``args`` (and does not wait on stdin, as ``kubectl
run -ti`` pods do: attach drives those) runs that command in the sandbox's sh, over time, in a
thread of its own: ``sleep`` waits for real (scaled by ``LABRUNNER_SANDBOX_TIME_SCALE``), each
line of output goes to the container's log as it is written, and when the command ends the
kubelet learns its exit code (the restart policy then decides). A container without a command
runs its image's entrypoint, which the sandbox simulates as a server that keeps running.

Threads never touch the store: the container's files are taken when it starts (volumes read
then), and what its programs ask of the cluster (wget's connections, DNS) is answered on the
event loop's thread through :class:`_OnLoop`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox import processes
from labrunner.sandbox.timescale import TIME_SCALE



@dataclass(frozen=True)
class Exit:
    code: int
    started: str
    finished: str
    restart_count: int
    reason: str = ""
    """The kubelet's reason when it is not Completed or Error (StartError)."""
    message: str = ""


def is_run(container: dict[str, Any]) -> bool:
    """Whether the runtime starts this container (every container of an image the sandbox can
    pull): it runs its command, starts its server, or ends as the real process would."""
    from labrunner.sandbox import images

    return images.known(str(container.get("image", "")))


def runs_its_command(container: dict[str, Any]) -> bool:
    """Whether the sandbox runs this container's command in its sh, over time (a shell image
    given a command, ``sh -c`` in any image with a shell); ``kubectl run -ti`` pods get their
    shell through attach, servers are simulated as processes that keep running."""
    from labrunner.sandbox.entrypoints import main_process

    process = main_process(container)
    return process is not None and process.kind == "run"


class ContainerRuntime:
    def __init__(self, loop: asyncio.AbstractEventLoop, box: Callable[[dict[str, Any], dict[str, Any]], processes.Container],
                 log: Callable[[str, str, str, list[str]], None], wake: Callable[[], None]) -> None:
        self.loop = loop
        self.box = box
        self.log = log
        self.wake = wake
        self.lock = threading.Lock()
        self.running: dict[tuple[str, str], tuple[int, threading.Event]] = {}
        """(pod uid, container) -> (its restart count, its stop flag)."""
        self.exits: dict[tuple[str, str], Exit] = {}

    # -- from the kubelet (the loop's thread) --------------------------------------------------

    def ensure(self, pod: dict[str, Any], container: dict[str, Any], restart_count: int, started: str) -> None:
        """Start the container's command unless this run of it (its restart count) is going or has ended."""
        key = (str(pod["metadata"]["uid"]), str(container.get("name")))
        with self.lock:
            current = self.running.get(key)
            done = self.exits.get(key)
            if (current is not None and current[0] == restart_count) or (done is not None and done.restart_count == restart_count):
                return
            if current is not None:
                current[1].set()
            stop = threading.Event()
            self.running[key] = (restart_count, stop)
        pod = copy.deepcopy(pod)  # the kubelet goes on changing its copy on the loop's thread
        status = pod.setdefault("status", {})
        for entry in [*(status.get("containerStatuses") or []), *(status.get("initContainerStatuses") or [])]:
            if entry.get("name") == container.get("name"):
                entry["restartCount"] = restart_count  # this run: what it takes at its start is kept by it (container_start.py)
        box = self.box(pod, container)
        from labrunner.sandbox.entrypoints import main_process

        process = main_process(container)
        if process is None or process.kind != "run":
            self._entrypoint(key, pod, box, restart_count, started, process)
            return
        box.network = _OnLoop(box.network, self.loop)
        argv = list(process.argv)
        namespace, name = str(pod["metadata"]["namespace"]), str(pod["metadata"]["name"])
        thread = threading.Thread(target=self._run, args=(key, box, argv, namespace, name, restart_count, started, stop),
                                  name=f"container {namespace}/{name}/{key[1]}", daemon=True)
        thread.start()

    def _entrypoint(self, key: tuple[str, str], pod: dict[str, Any], box: processes.Container, restart_count: int,
                    started: str, process: Any) -> None:
        """A process the sandbox does not run step by step: a server starts and keeps running
        (unless its entrypoint finds a setting missing, as mysql's does without a root password);
        a process that ends at once says what the real one says; a program the image lacks
        cannot be started (containerd's StartError)."""
        from labrunner.sandbox import images
        from labrunner.sandbox.entrypoints import start_error

        namespace, name = str(pod["metadata"]["namespace"]), str(pod["metadata"]["name"])
        reason, message = "", ""
        if process is None or process.kind == "attached":
            return
        if process.kind == "server" and process.image.does == "dns":
            exit_code = self._coredns(key, pod, box, restart_count, started)
            if exit_code is None:
                return
            code = exit_code
        elif process.kind == "server":
            failure = images.entrypoint_failure(box.image, dict(box.env)) if process.image.does in ("mysql", "postgres") else None
            if failure is None:
                self.log(namespace, name, key[1], images.startup_lines(box.image, name))
                return
            self.log(namespace, name, key[1], failure)
            code = 1
        elif process.kind == "missing":
            code, reason, message = 128, "StartError", start_error(process.argv[0])
        else:
            self.log(namespace, name, key[1], list(process.output))
            code = process.exit_code
        with self.lock:
            del self.running[key]
            self.exits[key] = Exit(code, started, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), restart_count, reason, message)
        self.loop.call_soon(self.wake)

    def _coredns(self, key: tuple[str, str], pod: dict[str, Any], box: processes.Container, restart_count: int, started: str) -> int | None:
        """CoreDNS reads its Corefile as it starts: None while it runs, or the code it exited with."""
        from labrunner.sandbox.coredns.instances import start

        with self.lock:
            stopped = self.running[key][1]
        namespace, name = str(pod["metadata"]["namespace"]), str(pod["metadata"]["name"])
        container: dict[str, Any] = next((c for c in pod["spec"]["containers"] if c.get("name") == key[1]), {})
        return start(pod, list(box.main_argv), lambda: self.box(pod, container).files, dict(box.env), box.network, stopped, self.loop,
                     lambda lines: self.log(namespace, name, key[1], lines),
                     lambda code: self.kill(key[0], key[1], restart_count, started, code))

    def kill(self, uid: str, container: str, restart_count: int, started: str, code: int = 137) -> None:
        """The kubelet kills this run (its liveness probe failed): its thread, if any, stops, and
        the run ends with ``code`` (SIGKILL's 137) for the restart policy to answer."""
        key = (uid, container)
        with self.lock:
            current = self.running.pop(key, None)
            if current is not None:
                current[1].set()
            self.exits[key] = Exit(code, started, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), restart_count)
        self.wake()

    def stop(self, uid: str, container: str) -> None:
        """The kubelet stopped this container (a finished pod's sidecar): its thread, if any,
        stops, and nobody waits for its exit."""
        with self.lock:
            current = self.running.pop((uid, container), None)
            if current is not None:
                current[1].set()

    def take_exit(self, uid: str, container: str) -> Exit | None:
        with self.lock:
            return self.exits.get((uid, container))

    def forget(self, live: set[str]) -> None:
        """Stop the containers of pods that are gone (deleted, or being deleted)."""
        with self.lock:
            for key, (_, stop) in list(self.running.items()):
                if key[0] not in live:
                    stop.set()
                    del self.running[key]
            for key in [key for key in self.exits if key[0] not in live]:
                del self.exits[key]

    def stop_all(self) -> None:
        self.forget(set())

    # -- in the container's thread ---------------------------------------------------------------

    def _run(self, key: tuple[str, str], box: processes.Container, argv: list[str], namespace: str, pod: str,
             restart_count: int, started: str, stop: threading.Event) -> None:
        pending = {1: b"", 2: b""}

        def sink(fd: int, data: bytes) -> None:
            lines = (pending[fd] + data).split(b"\n")
            pending[fd] = lines.pop()
            if lines:
                text = [line.decode(errors="replace") for line in lines]
                self.loop.call_soon_threadsafe(self.log, namespace, pod, key[1], text)

        def sleeper(seconds: float) -> None:
            if stop.wait(max(seconds, 0.0) * TIME_SCALE) or stop.is_set():
                raise processes.Stopped

        box.sink, box.sleeper = sink, sleeper
        try:
            result = processes.run(argv, b"", box)
            sink(1, result.stdout)
            sink(2, result.stderr)
            code = int(result.exit_code)
            if result.delay:
                sleeper(result.delay)
        except processes.NotFoundInPath as missing:
            sink(2, f'exec: "{missing.program}": executable file not found in $PATH\n'.encode())
            code = 127
        except processes.Stopped:
            code = 143
        except Exception as error:  # a defect in the sandbox's programs: said in the log, the container fails
            sink(2, f"labrunner sandbox: the simulated process failed: {type(error).__name__}: {error}\n".encode())
            code = 1
        for fd in (1, 2):
            if pending[fd]:
                sink(fd, b"\n")
        if stop.is_set():
            return  # stopped on purpose: nobody waits for this exit
        finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

        def ended() -> None:
            with self.lock:
                if self.running.get(key, (None,))[0] == restart_count:
                    del self.running[key]
                    self.exits[key] = Exit(code, started, finished, restart_count)
            self.wake()

        # On the loop, after the lines written above: the kubelet sees the exit (and may move this
        # run's log behind --previous) only once the whole log is in.
        self.loop.call_soon_threadsafe(ended)


class _OnLoop:
    """An object whose methods run on the event loop's thread, the caller waiting for the answer
    (the store is the loop's alone); attributes that are objects are wrapped the same way."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target, self._loop = target, loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value):
            def on_loop(*args: Any, **kwargs: Any) -> Any:
                done: concurrent.futures.Future[Any] = concurrent.futures.Future()

                def call() -> None:
                    try:
                        done.set_result(value(*args, **kwargs))
                    except BaseException as error:  # handed back to the caller's thread
                        done.set_exception(error)

                self._loop.call_soon_threadsafe(call)
                return done.result(timeout=60)
            return on_loop
        if isinstance(value, (str, int, float, bool, bytes, type(None))):
            return value
        return _OnLoop(value, self._loop)
