"""Warm starts: a command answered by the warm server prints, exits and records exactly as a
cold run does, with this call's environment, folder and signals; a stale or idle server goes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labrunner.cli import warm
from tests.conftest import REPO
from tests.sandboxes import eventually

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(socket, "send_fds"), reason="warm starts need fork and fd passing (POSIX)")


class Warm:
    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment

    def run(self, *arguments: str, warm_on: bool = True, cwd: Path = REPO, extra: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        environment = {**self.environment, "LABRUNNER_WARM": "1" if warm_on else "0", **(extra or {})}
        return subprocess.run([sys.executable, "-m", "labrunner", *arguments], capture_output=True, text=True,
                              env=environment, cwd=cwd, timeout=timeout)

    def popen(self, *arguments: str, extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "labrunner", *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**self.environment, "LABRUNNER_WARM": "1", **(extra or {})})

    def server(self) -> dict[str, Any]:
        described = json.loads(self.run("warm", "status", "--json").stdout)
        assert len(described["servers"]) == 1, described
        server: dict[str, Any] = described["servers"][0]
        return server

    def start(self) -> dict[str, Any]:
        started = self.run("warm", "start")
        assert started.returncode == 0, started.stderr
        return self.server()


@pytest.fixture
def warm_env(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warm]:
    # A short state folder: a socket's path holds about 100 bytes.
    state = Path(tempfile.mkdtemp(prefix="lrw-"))
    home = tmp_path_factory.mktemp("warm-home")
    environment = {**os.environ, "LABRUNNER_STATE_DIR": str(state), "HOME": str(home), "KUBECONFIG": str(sandbox.kubeconfig)}
    runner = Warm(environment)
    yield runner
    runner.run("warm", "stop")


def test_a_warm_command_prints_exits_and_records_as_a_cold_one(warm_env: Warm, kubectl: Any, namespace: str, tmp_path: Path) -> None:
    before = warm_env.start()
    lab = ("-p", f"namespace={namespace}")
    calls = [
        ("check", "networkpolicies", "1", "--json", *lab),  # fails: the namespace does not exist yet
        ("check", "networkpolicies", "1", *lab),
        ("check", "nope", "1"),  # a usage error
        ("check", "--help"),
        ("show", "networkpolicies", "9"),
        ("hint", "networkpolicies", "9", "--json", "--level", "2", *lab),  # --level: each plain call reveals one more
    ]
    for call in calls:
        warm_answer, cold_answer = warm_env.run(*call), warm_env.run(*call, warm_on=False)
        assert (warm_answer.returncode, warm_answer.stdout, warm_answer.stderr) == \
               (cold_answer.returncode, cold_answer.stdout, cold_answer.stderr), call
    assert warm_env.server()["served"] == before["served"] + len(calls)

    kubectl("create", "namespace", namespace)
    passed = warm_env.run("check", "networkpolicies", "1", "--json", *lab)
    assert passed.returncode == 0 and json.loads(passed.stdout)["status"] == "passed"
    status = warm_env.run("status", "networkpolicies", "--json", *lab, warm_on=False)
    recorded = {step["number"]: step["status"] for step in json.loads(status.stdout)["steps"]}
    assert recorded[1] == "passed"  # the warm command's result is in the learner's progress
    in_tokyo = {"TZ": "JST-9"}  # status prints local times: the caller's zone, not the server's
    warm_status, cold_status = (warm_env.run("status", "networkpolicies", *lab, extra=in_tokyo, warm_on=on) for on in (True, False))
    assert warm_status.stdout == cold_status.stdout and warm_status.returncode == cold_status.returncode == 0

    # This call's own environment and folder, not the server's: another kubeconfig, a relative path.
    broken = tmp_path / "broken.kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\ncurrent-context: gone\ncontexts: []\n", encoding="utf-8")
    elsewhere = warm_env.run("check", "networkpolicies", "1", "--json", *lab, extra={"KUBECONFIG": str(broken)})
    assert elsewhere.returncode == 2 and "context was not found" in json.loads(elsewhere.stdout)["checks"][0]["message"]
    relative = warm_env.run("validate", "networkpolicies", cwd=REPO / "labs")
    assert relative.returncode == 0, relative.stderr
    assert warm_env.run("validate", "networkpolicies", cwd=tmp_path).returncode != 0
    assert warm_env.server()["served"] == before["served"] + len(calls) + 5


def _silent_server() -> tuple[socket.socket, str]:
    """A server that accepts connections and never answers: a check waits on it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.extend(iter(lambda: listener.accept()[0], None)), daemon=True).start()
    return listener, f"https://127.0.0.1:{listener.getsockname()[1]}"


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                children.append(int(entry.name))
    return children


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process parents from /proc")
@pytest.mark.parametrize("how", ["sigterm", "sigint", "client-killed"])
def test_signals_reach_the_command_and_nothing_is_left_running(warm_env: Warm, tmp_path: Path, how: str) -> None:
    listener, server = _silent_server()
    kubeconfig = tmp_path / "silent.kubeconfig"
    kubeconfig.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "silent",
                                      "contexts": [{"name": "silent", "context": {"cluster": "silent", "user": "silent"}}],
                                      "clusters": [{"name": "silent", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
                                      "users": [{"name": "silent", "user": {"token": "t"}}]}), encoding="utf-8")
    warm_pid = warm_env.start()["pid"]
    client = warm_env.popen("check", "networkpolicies", "1", "--json", extra={"KUBECONFIG": str(kubeconfig)})
    # the forked command is running, waiting on the silent server
    eventually(lambda: client.poll() is not None or bool(_children_of(warm_pid)), "the forked command starting")
    assert client.poll() is None
    number = {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "client-killed": signal.SIGKILL}[how]
    client.send_signal(number)
    code = client.wait(timeout=30)
    expected = {"sigterm": 128 + signal.SIGTERM, "sigint": 130, "client-killed": -signal.SIGKILL}[how]
    assert code == expected, client.stderr.read() if client.stderr else ""
    # a killed client hangs its command up, as a closed terminal would
    eventually(lambda: not _children_of(warm_pid), "the forked command ending with its client")
    listener.close()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_a_server_whose_code_changed_steps_aside_for_a_new_one(warm_env: Warm) -> None:
    old = warm_env.start()
    module = REPO / "labrunner" / "checks" / "result.py"
    times = module.stat()
    try:
        os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns + 1_000_000_000))
        answer = warm_env.run("list", "--json")
        assert answer.returncode == 0 and "networkpolicies" in answer.stdout  # answered cold, correctly
    finally:
        os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))
    def replaced() -> bool:
        described = json.loads(warm_env.run("warm", "status", "--json").stdout)["servers"]
        return bool(described) and described[0]["pid"] != old["pid"] and described[0]["answers"]

    eventually(replaced, "a new warm server in the stale one's place")
    assert not _running(old["pid"])


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_an_idle_server_stops_and_removes_its_socket(warm_env: Warm) -> None:
    started = warm_env.run("warm", "start", extra={"LABRUNNER_WARM_IDLE": "1"})
    assert started.returncode == 0, started.stderr
    socket_path = Path(warm_env.server()["socket"])
    eventually(lambda: not socket_path.exists(), "the idle server stopping")
    assert json.loads(warm_env.run("warm", "status", "--json").stdout)["servers"] == []


def test_which_commands_are_forwarded() -> None:
    assert warm.command_of(["--version"]) is None
    assert warm.command_of(["check", "networkpolicies", "1"]) == "check"
    assert {"check", "status", "show", "solve"} <= warm.COMMANDS
    assert not {"tui", "sandbox", "doctor", "selftest", "warm"} & warm.COMMANDS  # their own terminal, servers or this very process
