"""The small sh inside simulated containers: sequences, pipes, variables, status."""

from __future__ import annotations

import pytest

from labrunner.sandbox.processes import Container, NotFoundInPath, container_files, run


@pytest.fixture
def box() -> Container:
    container = Container(pod="web-1", namespace="shop", name="web", image="busybox", env={"GREETING": "hello", "HOSTNAME": "web-1", "HOME": "/root"})
    container.files.update(container_files(container, "10.244.0.9"))
    return container


def sh(box: Container, script: str, stdin: bytes = b"") -> tuple[str, str, int]:
    result = run(["sh", "-c", script], stdin, box)
    return result.stdout.decode(), result.stderr.decode(), result.exit_code


def test_sequences_and_conditionals(box: Container) -> None:
    assert sh(box, "echo one; false && echo two || echo three") == ("one\nthree\n", "", 0)
    assert sh(box, "true; exit 7; echo never") == ("", "", 7)


def test_pipes_variables_and_status(box: Container) -> None:
    assert sh(box, "cat /etc/hosts | grep web-1 | wc -l") == ("1\n", "", 0)
    assert sh(box, 'echo "$GREETING, ${HOSTNAME}" \'$GREETING\'') == ("hello, web-1 $GREETING\n", "", 0)
    assert sh(box, "false; echo $?") == ("1\n", "", 0)
    assert sh(box, "nope; echo $?") == ("127\n", "sh: nope: not found\n", 0)
    assert sh(box, "cat | head -n 1", b"first\nsecond\n") == ("first\n", "", 0)


def test_exec_replaces_the_shell(box: Container) -> None:
    assert sh(box, "exec false; echo never") == ("", "", 1)


def test_a_program_the_image_lacks_is_the_runtimes_error(box: Container) -> None:
    with pytest.raises(NotFoundInPath):
        run(["curl", "http://web"], b"", box)
    assert run(["cat", "/nope"], b"", box).stderr == b"cat: /nope: No such file or directory\n"


def test_sh_without_c_reads_its_script_from_stdin(box: Container) -> None:
    """``echo ... | kubectl exec -i POD -- sh``: a real sh runs what stdin says; with nothing on stdin it exits 0."""
    result = run(["sh"], b"echo $GREETING; exit 3\n", box)
    assert (result.stdout, result.exit_code) == (b"hello\n", 3)
    assert run(["sh"], b"", box).exit_code == 0


def test_mysqladmin_ping_is_the_mysql_images_readiness_probe() -> None:
    server = Container(pod="db-1", namespace="shop", name="mysql", image="mysql:8.4", env={})
    assert run(["mysqladmin", "ping", "-h", "127.0.0.1"], b"", server).stdout == b"mysqld is alive\n"
    assert (run(["mysqladmin", "ping", "-h", "127.0.0.1", "--silent"], b"", server).stdout, run(["mysqladmin", "ping"], b"", server).exit_code) == (b"", 0)
    refused = run(["mysqladmin", "create", "shop"], b"", server)
    assert refused.exit_code == 1 and b"mysqladmin answers ping and version" in refused.stderr
    with pytest.raises(NotFoundInPath):
        run(["mysqladmin", "ping"], b"", Container(pod="b", namespace="n", name="c", image="busybox", env={}))
