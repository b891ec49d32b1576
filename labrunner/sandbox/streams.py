"""Pods' streams: ``kubectl logs`` (plain and followed) and ``kubectl exec`` over
WebSocket ``v5.channel.k8s.io`` (the Python client's ``v4`` too).

Exec framing (client-go tools/remotecommand): binary messages whose first byte
is the channel (0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize); v5 adds
``[255, channel]`` to close a channel (kubectl closes stdin at EOF). The command
runs once stdin is closed (or at once without ``-i``), its output goes out on 1
and 2, and a ``Status`` on 3 carries the exit code, which kubectl exits with.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from labrunner.sandbox import processes
from labrunner.sandbox.status import status as status_response
from labrunner.sandbox.store import NotFound, Store
from labrunner.sandbox.terminal import CLOSE, STDERR, STDIN, STDOUT, shell_session
from labrunner.sandbox.timescale import TIME_SCALE

ERROR, RESIZE = 3, 4


EXEC_START_SECONDS = 0.03
"""The time a container runtime takes to start an exec'd process, before its first byte. Not only
realism: client-go's WebSocket executor starts reading before it has registered its streams, and
drops a frame for a stream it does not know yet ("Unknown stream id 1, discarding message", then
"error: closed all streams"), which output sent the instant the socket opened met on a busy machine."""


def _container(pod: dict[str, Any], wanted: str | None) -> tuple[dict[str, Any] | None, web.Response | None]:
    """The container a request names (an init container too, as kube-apiserver accepts), or the
    pod's only one; else kube-apiserver's words for what to choose."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    init = spec.get("initContainers") or []
    name = pod["metadata"]["name"]
    if wanted:
        found = next((c for c in [*containers, *init] if c.get("name") == wanted), None)
        if found is None:
            return None, status_response(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
        return found, None
    if len(containers) == 1:
        return containers[0], None
    names = " ".join(c.get("name", "") for c in containers)
    also = f" or one of the init containers: [{' '.join(c.get('name', '') for c in init)}]" if init else ""
    return None, status_response(400, "BadRequest", f"a container name must be specified for pod {name}, choose one of: [{names}]{also}")


def _waiting(pod: dict[str, Any], container: dict[str, Any], *, logs: bool = False) -> str | None:
    """Why the container is not running yet, in the kubelet's words, or None. For ``logs``, a
    container between restarts has the last run's output to show."""
    status_of = pod.get("status") or {}
    for status in [*(status_of.get("containerStatuses") or []), *(status_of.get("initContainerStatuses") or [])]:
        if status.get("name") == container.get("name"):
            waiting = (status.get("state") or {}).get("waiting")
            if waiting and logs and status.get("lastState"):
                return None  # between restarts: the logs are the last run's, as a kubelet keeps them
            if waiting:
                reason = waiting.get("reason", "")
                if reason in ("ErrImagePull", "ImagePullBackOff"):
                    return f'container "{container.get("name")}" in pod "{pod["metadata"]["name"]}" is waiting to start: trying and failing to pull image'
                return f'container "{container.get("name")}" in pod "{pod["metadata"]["name"]}" is waiting to start: {reason}'
            return None
    return f'container "{container.get("name")}" in pod "{pod["metadata"]["name"]}" is waiting to start: ContainerCreating'


class PodStreams:
    def __init__(self, store: Store, pods: Any, data_root: Path) -> None:
        self.store = store
        self.pods = pods  # the pods ResourceType
        self.data_root = data_root
        from labrunner.sandbox.network import Network

        self.network = Network(store)
        store.listeners.append(self._forget_deleted_pods)

    def data_dir(self, namespace: str, pod: str) -> Path:
        """The pod's own data (its MySQL databases): it lives and dies with the pod."""
        return self.data_root / namespace / pod

    def _forget_deleted_pods(self, event: str, group: str, plural: str, obj: dict[str, Any]) -> None:
        if event == "DELETED" and plural == "pods" and not group:
            shutil.rmtree(self.data_dir(obj["metadata"].get("namespace", ""), obj["metadata"]["name"]), ignore_errors=True)

    def _pod(self, namespace: str, name: str) -> tuple[dict[str, Any] | None, web.Response | None]:
        try:
            return self.store.get(self.pods, namespace, name), None
        except NotFound:
            return None, status_response(404, "NotFound", f'pods "{name}" not found')

    # -- logs -----------------------------------------------------------------------------

    async def logs(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        pod, problem = self._pod(namespace, name)
        if problem or pod is None:
            return problem  # type: ignore[return-value]
        container, problem = _container(pod, request.query.get("container"))
        if problem or container is None:
            return problem  # type: ignore[return-value]
        waiting = _waiting(pod, container, logs=True)
        if waiting:
            return status_response(400, "BadRequest", waiting)
        previous = request.query.get("previous") in ("true", "1")
        statuses = [*((pod.get("status") or {}).get("containerStatuses") or []), *((pod.get("status") or {}).get("initContainerStatuses") or [])]
        if previous and not any(s.get("name") == container.get("name") and s.get("lastState") for s in statuses):
            return status_response(400, "BadRequest", f'previous terminated container "{container.get("name")}" in pod "{name}" not found')
        try:
            tail = int(request.query["tailLines"]) if "tailLines" in request.query else None
        except ValueError:
            return status_response(400, "BadRequest", "tailLines must be a number")
        stamps = request.query.get("timestamps") in ("true", "1")

        def render(stamp: str, line: str) -> bytes:
            return (f"{stamp} {line}\n" if stamps else f"{line}\n").encode()

        lines = self.store.read_log(namespace, name, str(container.get("name")) + (self.store.PREVIOUS if previous else ""), tail)
        if previous or request.query.get("follow") not in ("true", "1"):
            return web.Response(body=b"".join(render(s, l) for s, l in lines), content_type="text/plain")
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

        def listen(ns: str, pod_name: str, container_name: str, stamp: str, line: str) -> None:
            if (ns, pod_name, container_name) == (namespace, name, container.get("name")):
                queue.put_nowait((stamp, line))

        self.store.log_listeners.append(listen)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            for stamp, line in lines:
                await response.write(render(stamp, line))
            while request.transport is not None and not request.transport.is_closing():
                try:
                    stamp, line = await asyncio.wait_for(queue.get(), timeout=1.0)
                except asyncio.TimeoutError:
                    try:
                        self.store.get(self.pods, namespace, name)
                    except NotFound:
                        break  # the pod is gone: so is its log stream
                    continue
                await response.write(render(stamp, line))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.log_listeners.remove(listen)
        return response

    # -- exec -----------------------------------------------------------------------------

    def _running_container(self, request: web.Request, namespace: str, name: str, verb: str) -> tuple[dict[str, Any], dict[str, Any]] | web.Response:
        """The pod and container a stream is for, or the Status that says why not."""
        pod, problem = self._pod(namespace, name)
        if problem or pod is None:
            return problem  # type: ignore[return-value]
        container, problem = _container(pod, request.query.get("container"))
        if problem or container is None:
            return problem  # type: ignore[return-value]
        if _waiting(pod, container):
            return status_response(400, "BadRequest", f'unable to upgrade connection: container not found ("{container.get("name")}")')
        if request.headers.get("Upgrade", "").lower() != "websocket":
            # kubectl falls back to SPDY only after a failed WebSocket upgrade; say why in words.
            return status_response(400, "BadRequest", f"the labrunner sandbox speaks {verb} over WebSocket (v5.channel.k8s.io) only")
        return pod, container

    async def exec(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        target = self._running_container(request, namespace, name, "exec")
        if isinstance(target, web.Response):
            return target
        pod, container = target
        argv = request.query.getall("command", [])
        wants_stdin = request.query.get("stdin") in ("true", "1")
        tty = request.query.get("tty") in ("true", "1")
        socket = web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"), autoping=True)
        await socket.prepare(request)
        await asyncio.sleep(EXEC_START_SECONDS)
        if wants_stdin and len(argv) == 1 and argv[0].rsplit("/", 1)[-1] in ("sh", "ash", "bash"):
            # kubectl exec -ti POD -- sh: an interactive shell, as attach gives one
            box = self._box(pod, container)
            code = await shell_session(socket, box, tty=tty)
            outcome: dict[str, Any] = {"metadata": {}, "status": "Success"} if code == 0 else {
                "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                "message": f"command terminated with non-zero exit code: exit status {code}",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
            await socket.send_bytes(bytes([ERROR]) + json.dumps(outcome).encode())
            await socket.close()
            return socket
        try:
            ended = await self._run_streaming(socket, self._box(pod, container), argv, wants_stdin=wants_stdin, tty=tty,
                                              stderr=request.query.get("stderr") in ("true", "1"))
        except ConnectionResetError:
            return socket  # the client went away (Ctrl-C): nobody to tell how it ended
        if ended is None or socket.closed:
            return socket
        if ended == 0:
            outcome = {"metadata": {}, "status": "Success"}
        else:
            outcome = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                       "message": f"command terminated with non-zero exit code: exit status {ended}",
                       "details": {"causes": [{"reason": "ExitCode", "message": str(ended)}]}}
        try:
            await socket.send_bytes(bytes([ERROR]) + json.dumps(outcome).encode())
            await socket.close()
        except ConnectionResetError:
            pass  # gone while the process ended
        return socket

    async def _run_streaming(self, socket: web.WebSocketResponse, box: processes.Container, argv: list[str], *, wants_stdin: bool,
                             tty: bool, stderr: bool) -> int | None:
        """Run ``argv`` in a thread of its own, as a process runs: its output sent as it is
        written, its sleeps waited for real (scaled), its stdin read as the client sends it, and
        stopped (SIGTERM's 143) when the client goes away. The exit code, or None when the
        program does not exist (the failure already sent)."""
        from labrunner.sandbox.pipes import Stream
        from labrunner.sandbox.runtime import _OnLoop

        loop = asyncio.get_running_loop()
        output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        stream = Stream() if wants_stdin else None
        stop = threading.Event()

        def sink(fd: int, data: bytes) -> None:
            if data:
                loop.call_soon_threadsafe(output.put_nowait, (fd, data))

        def sleeper(seconds: float) -> None:
            if stop.wait(max(seconds, 0.0) * TIME_SCALE) or stop.is_set():
                raise processes.Stopped

        box.sink, box.sleeper = sink, sleeper
        box.network = _OnLoop(box.network, loop)
        ended: asyncio.Future[int | str] = loop.create_future()

        def work() -> None:
            outcome: int | str
            try:
                result = processes.run(argv, stream if stream is not None else b"", box)
                if result.delay:
                    sleeper(result.delay)
                sink(1, result.stdout)
                sink(2, result.stderr)
                outcome = int(result.exit_code)
            except processes.NotFoundInPath as missing:
                outcome = missing.program
            except processes.Stopped:
                outcome = 143
            except Exception as error:  # a defect in the sandbox's programs: said, never a hung stream
                sink(2, f"labrunner sandbox: the simulated process failed: {type(error).__name__}: {error}\n".encode())
                outcome = 1
            loop.call_soon_threadsafe(output.put_nowait, None)
            loop.call_soon_threadsafe(_settle, ended, outcome)

        async def read_client() -> None:
            v5 = socket.ws_protocol == "v5.channel.k8s.io"
            async for message in socket:
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
                    break
                if message.type != WSMsgType.BINARY or not message.data:
                    continue
                channel, payload = message.data[0], message.data[1:]
                if stream is not None and channel == STDIN:
                    stream.feed(payload)
                elif stream is not None and v5 and channel == CLOSE and payload[:1] == bytes([STDIN]):
                    stream.close()
            stop.set()  # the client went away: the process is stopped
            if stream is not None:
                stream.close()

        threading.Thread(target=work, name=f"exec {box.namespace}/{box.pod}/{box.name}", daemon=True).start()
        reader = asyncio.ensure_future(read_client())
        try:
            while (item := await output.get()) is not None:
                fd, data = item
                if (fd == 2 and not (tty or stderr)) or socket.closed:
                    continue  # without a TTY, stderr goes where the client asked, or nowhere
                await socket.send_bytes(bytes([STDOUT if tty or fd == 1 else STDERR]) + (data.replace(b"\n", b"\r\n") if tty else data))
            outcome = await ended
        finally:
            stop.set()
            if stream is not None:
                stream.close()
            reader.cancel()
        if isinstance(outcome, str):
            failure = {"metadata": {}, "status": "Failure", "reason": "InternalError",
                       "message": ("Internal error occurred: error executing command in container: failed to exec in container: "
                                   "failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: "
                                   f'exec: "{outcome}": executable file not found in $PATH: unknown'),
                       "details": {"causes": [{"message": f'exec: "{outcome}": executable file not found in $PATH'}]}, "code": 500}
            await socket.send_bytes(bytes([ERROR]) + json.dumps(failure).encode())
            await socket.close()
            return None
        return outcome

    # -- port-forward -------------------------------------------------------------------------

    async def port_forward(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        from labrunner.sandbox.portforward import port_forward

        pod, problem = self._pod(namespace, name)
        if problem or pod is None:
            return problem  # type: ignore[return-value]
        if (pod.get("status") or {}).get("phase") != "Running":
            return status_response(400, "BadRequest", f"pod {name} is not running (phase {(pod.get('status') or {}).get('phase', 'Pending')})")
        return await port_forward(request, pod, self.network, self.data_root, TIME_SCALE)

    # -- attach: an interactive shell ----------------------------------------------------

    async def attach(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        """``kubectl attach`` and ``kubectl run -ti``: the container's shell, line by
        line, with a TTY's echo, backspace, Ctrl-C and Ctrl-D; ``exit N`` ends the
        container with that code (the pod then Succeeds or Fails)."""
        target = self._running_container(request, namespace, name, "attach")
        if isinstance(target, web.Response):
            return target
        pod, container = target
        tty = request.query.get("tty") in ("true", "1")
        socket = web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"), autoping=True)
        await socket.prepare(request)
        shell_command = [*(container.get("command") or []), *(container.get("args") or [])]
        if shell_command and shell_command[0].rsplit("/", 1)[-1] not in ("sh", "ash", "bash"):
            # kubectl run -i ... -- wget ...: the container's own command runs once, its output
            # streams to the attached client, and the container ends with its exit code.
            try:
                ended = await self._run_streaming(socket, self._box(pod, container), shell_command, wants_stdin=False, tty=tty,
                                                  stderr=True)
            except ConnectionResetError:
                ended = 143
            code = 127 if ended is None else ended
            if ended is not None and not socket.closed:
                await socket.send_bytes(bytes([ERROR]) + json.dumps({"metadata": {}, "status": "Success"}).encode())
                await socket.close()
            self._container_exited(namespace, name, str(container.get("name")), code)
            return socket
        box = self._box(pod, container)
        exit_code = await shell_session(socket, box, tty=tty)
        await socket.send_bytes(bytes([ERROR]) + json.dumps({"metadata": {}, "status": "Success"}).encode())
        await socket.close()
        self._container_exited(namespace, name, str(container.get("name")), exit_code)
        return socket

    def _container_exited(self, namespace: str, name: str, container_name: str, code: int) -> None:
        """The attached shell ended: the container terminates (restartPolicy Never) or restarts."""
        try:
            pod = self.store.get(self.pods, namespace, name)
        except NotFound:
            return
        from labrunner.sandbox.store import now

        policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
        status = pod.setdefault("status", {})
        for container_status in status.get("containerStatuses") or []:
            if container_status.get("name") != container_name:
                continue
            if policy == "Always" or (policy == "OnFailure" and code != 0):
                container_status["restartCount"] = int(container_status.get("restartCount", 0)) + 1
                container_status["lastState"] = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "finishedAt": now()}}
            else:
                container_status["state"] = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                                            "startedAt": status.get("startTime", now()), "finishedAt": now()}}
                container_status["ready"] = False
                container_status["started"] = False
                status["phase"] = "Succeeded" if code == 0 else "Failed"
                for condition in status.get("conditions") or []:
                    if condition.get("type") in ("Ready", "ContainersReady"):
                        condition["status"] = "False"
                        condition["reason"] = "PodCompleted"
        try:
            self.store.update(self.pods, pod)
        except (NotFound, Exception):  # the learner deleted it meanwhile
            pass

    def _box(self, pod: dict[str, Any], container: dict[str, Any]) -> processes.Container:
        """The container as its processes see it: environment, files, data, network."""
        from labrunner.sandbox.filesystem import files_of

        name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
        box = processes.Container(pod=name, namespace=namespace, name=str(container.get("name")), image=str(container.get("image")),
                                  env=self.network.container_environment(pod, container), data_dir=self.data_dir(namespace, name) / str(container.get("name")),
                                  pod_object=pod, network=self.network, data_root=self.data_root,
                                  main_argv=_main_argv(container))
        # The container's writable layer lasts as long as it does: every exec sees what an earlier one wrote.
        box.files = files_of(box, pod, container, self.data_root,
                             lambda kind, object_name: self.network.objects.get("", kind, namespace, object_name))
        return box


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _main_argv(container: dict[str, Any]) -> tuple[str, ...]:
    from labrunner.sandbox.entrypoints import main_process

    process = main_process(container)
    return process.argv if process is not None else ()
