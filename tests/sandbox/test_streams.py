"""kubectl logs and kubectl exec against the sandbox, and the Python client's exec."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator

import pytest

from labrunner.sandbox.files import SandboxFiles
from tests.conftest import REPO
from tests.sandboxes import Kubectl, fresh_name

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
ASSETS = REPO / "assets" / "networkpolicies"


@pytest.fixture(scope="module")
def cluster(sandbox: SandboxFiles, kubectl: Kubectl) -> Iterator[tuple[SandboxFiles, Kubectl, str]]:
    """The lab's MySQL in a namespace of this module's own on the shared cluster."""
    namespace = fresh_name("streams")
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-n", namespace, "-f", str(ASSETS / "mysqlpod.yaml"))
    kubectl("rollout", "status", "deployment/mysql", "-n", namespace, "--timeout=60s")
    yield sandbox, lambda *argv, stdin=None: kubectl(*argv, stdin=stdin, check=False), namespace
    kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_logs_show_what_the_image_prints_at_start(cluster) -> None:  # type: ignore[no-untyped-def]
    _, kubectl, namespace = cluster
    logs = kubectl("logs", "deployment/mysql", "-n", namespace)
    assert logs.returncode == 0 and "ready for connections" in logs.stdout
    last = kubectl("logs", "deployment/mysql", "-n", namespace, "--tail=1").stdout.splitlines()
    assert len(last) == 1 and "ready for connections" in last[0]
    assert "ready for connections" in kubectl("logs", "deployment/mysql", "-n", namespace, "-c", "mysql").stdout
    wrong = kubectl("logs", "deployment/mysql", "-n", namespace, "-c", "web")
    assert wrong.returncode == 1 and "container web is not valid for pod mysql-" in wrong.stderr


def test_logs_follow_streams_until_stopped(cluster) -> None:  # type: ignore[no-untyped-def]
    _, kubectl, namespace = cluster
    followed = kubectl("logs", "-f", "deployment/mysql", "-n", namespace, "--request-timeout=3s")
    assert "ready for connections" in followed.stdout


def test_logs_of_a_container_that_cannot_start(cluster) -> None:  # type: ignore[no-untyped-def]
    _, kubectl, namespace = cluster
    kubectl("create", "deployment", "typo", "--image=mysqll:8.4", "-n", namespace)
    kubectl("wait", "--for=jsonpath={.status.phase}=Pending", "pod", "-l", "app=typo", "-n", namespace, "--timeout=10s")
    for _ in range(50):
        logs = kubectl("logs", "deployment/typo", "-n", namespace)
        if "trying and failing to pull image" in logs.stderr:
            break
    assert 'is waiting to start: trying and failing to pull image' in logs.stderr


def test_exec_runs_commands_with_the_pods_environment(cluster) -> None:  # type: ignore[no-untyped-def]
    _, kubectl, namespace = cluster
    pod = json.loads(kubectl("get", "pods", "-n", namespace, "-l", "app=mysql", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    assert kubectl("exec", "-n", namespace, "deploy/mysql", "--", "hostname").stdout == f"{pod}\n"
    secret = kubectl("exec", "-n", namespace, "deploy/mysql", "--", "sh", "-c", 'echo "$MYSQL_ROOT_PASSWORD"')
    assert secret.stdout == "labrunner-demo\n"
    piped = kubectl("exec", "-i", "-n", namespace, "deploy/mysql", "--", "cat", stdin="line one\nline two\n")
    assert piped.stdout == "line one\nline two\n"
    failing = kubectl("exec", "-n", namespace, "deploy/mysql", "--", "sh", "-c", "echo out; cat /nope; exit 3")
    assert (failing.returncode, failing.stdout) == (3, "out\n")
    assert "cat: /nope: No such file or directory" in failing.stderr and "command terminated with exit code 3" in failing.stderr
    missing = kubectl("exec", "-n", namespace, "deploy/mysql", "--", "nosuch")
    assert missing.returncode == 1
    assert 'exec: "nosuch": executable file not found in $PATH' in missing.stderr


def test_the_python_clients_exec(cluster) -> None:  # type: ignore[no-untyped-def]
    files, kubectl, namespace = cluster
    from kubernetes import client, config
    from kubernetes.stream import stream

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(files.kubeconfig)))
    pod = api.list_namespaced_pod(namespace, label_selector="app=mysql").items[0].metadata.name
    output = stream(api.connect_get_namespaced_pod_exec, pod, namespace, command=["cat", "/etc/hostname"],
                    stdout=True, stderr=True, stdin=False, tty=False)
    assert output == f"{pod}\n"


def test_step_6_seeds_db1_through_kubectl_exec(cluster) -> None:  # type: ignore[no-untyped-def]
    _, kubectl, namespace = cluster
    seed = kubectl("exec", "-i", "-n", namespace, "deploy/mysql", "--", "sh", "-c", 'exec mysql -uroot -p"$MYSQL_ROOT_PASSWORD"',
                   stdin=(ASSETS / "db.txt").read_text())
    assert seed.returncode == 0, seed.stderr
    rows = kubectl("exec", "-n", namespace, "deploy/mysql", "--", "sh", "-c",
                   'mysql -N -B -uroot -p"$MYSQL_ROOT_PASSWORD" -e "SELECT name, city FROM db1.users ORDER BY id"')
    assert rows.stdout.splitlines()[:2] == ["Mara Quill\tLisbon", "Tobias Fenwick\tLeeds"]
    assert len(rows.stdout.splitlines()) == 10
    wrong = kubectl("exec", "-n", namespace, "deploy/mysql", "--", "mysql", "-uroot", "-pnope", "-e", "SELECT 1")
    assert wrong.returncode == 1 and "ERROR 1045 (28000): Access denied for user 'root'@'localhost'" in wrong.stderr
    # The data lives as long as the pod: a new pod starts with an empty server, as the lab's manifest implies.
    kubectl("delete", "pods", "-n", namespace, "-l", "app=mysql")
    kubectl("rollout", "status", "deployment/mysql", "-n", namespace, "--timeout=60s")
    for _ in range(50):
        fresh = kubectl("exec", "-n", namespace, "deploy/mysql", "--", "sh", "-c", 'mysql -uroot -p"$MYSQL_ROOT_PASSWORD" db1')
        if "Unknown database 'db1'" in fresh.stderr:
            break
    assert "ERROR 1049 (42000): Unknown database 'db1'" in fresh.stderr


def test_exec_streams_stdin_and_output_as_they_come(kubectl: Kubectl, namespace: str) -> None:
    """``(echo a; sleep 2; echo b) | kubectl exec -i POD -- cat`` prints a before b is sent (issue
    13 item 7): a line comes back while the client still holds stdin open, for cat and for a
    shell's ``read`` loop; closing stdin ends them."""
    import os
    import subprocess

    kubectl("create", "namespace", namespace)
    kubectl("run", "box", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/box", "--timeout=60s")
    environment = {**os.environ, **kubectl.environment}  # type: ignore[attr-defined]
    for command, answer in ((["cat"], "a\n"), (["sh", "-c", "while read x; do echo got $x; done; echo end"], "got a\n")):
        with subprocess.Popen([KUBECTL or "kubectl", "exec", "-i", "-n", namespace, "box", "--", *command], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=environment) as process:
            assert process.stdin is not None and process.stdout is not None
            guard = threading.Timer(60, process.kill)  # a sandbox that waits for the end of stdin fails here, not hangs
            guard.start()
            process.stdin.write("a\n")
            process.stdin.flush()
            assert process.stdout.readline() == answer  # before b is written: the first line came back on its own
            process.stdin.write("b\n")
            process.stdin.close()
            rest = process.stdout.read()
            assert process.wait(timeout=60) == 0
            guard.cancel()
        assert rest == ("b\n" if command == ["cat"] else "got b\nend\n")


def test_exec_output_arrives_while_the_command_runs(kubectl: Kubectl, namespace: str) -> None:
    import os
    import subprocess

    kubectl("create", "namespace", namespace)
    kubectl("run", "box", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/box", "--timeout=60s")
    environment = {**os.environ, **kubectl.environment}  # type: ignore[attr-defined]
    with subprocess.Popen([KUBECTL or "kubectl", "exec", "-n", namespace, "box", "--", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"],
                          stdout=subprocess.PIPE, text=True, env=environment) as process:
        assert process.stdout is not None
        guard = threading.Timer(60, process.kill)
        guard.start()
        assert [process.stdout.readline() for _ in range(3)] == ["tick 1\n", "tick 2\n", "tick 3\n"]  # a loop that never ends, read as it goes
        process.terminate()
        process.wait(timeout=30)
        guard.cancel()
    assert kubectl("exec", "-n", namespace, "box", "--", "echo", "still answering").stdout == "still answering\n"


def test_an_interactive_shell_shows_a_loop_as_it_runs_and_ctrl_c_stops_it(kubectl: Kubectl, namespace: str) -> None:
    """``kubectl exec -ti POD -- sh``, then a watch loop: its lines arrive while it runs, Ctrl-C
    stops it (status 130) and the shell goes on, as busybox's does."""
    import os
    import pty
    import select
    import subprocess

    kubectl("create", "namespace", namespace)
    kubectl("run", "box", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/box", "--timeout=60s")
    leader, follower = pty.openpty()
    environment = {**os.environ, **kubectl.environment}  # type: ignore[attr-defined]
    process = subprocess.Popen([KUBECTL or "kubectl", "exec", "-ti", "-n", namespace, "box", "--", "sh"], stdin=follower, stdout=follower,
                               stderr=follower, env=environment, close_fds=True)
    os.close(follower)
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        for _ in range(600):
            if marker in seen:
                return
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                seen += os.read(leader, 4096)
        pytest.fail(f"{marker!r} never appeared in {seen!r}")

    try:
        read_until(b"/ # ")
        os.write(leader, b"i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done\r")
        read_until(b"tick 3")  # a loop that never ends shows its lines as they come
        os.write(leader, b"\x03")
        read_until(b"^C")
        os.write(leader, b"echo status $?\r")
        read_until(b"status 130")
        os.write(leader, b"exit\r")
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        os.close(leader)
