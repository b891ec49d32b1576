"""The file and text programs of an image's shell, as busybox and GNU coreutils answer
(issue 13 item 2): input/output pairs run in a container whose writable layer is on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from labrunner.sandbox.filesystem import ContainerFiles, Mount
from labrunner.sandbox.processes import Container, container_files, run


def _container(tmp_path: Path, image: str) -> Container:
    container = Container(pod="web-1", namespace="shop", name="web", image=image, env={"HOME": "/root"}, main_argv=("sleep", "3600"))
    container.files = ContainerFiles(container_files(container, "10.244.0.9"), tmp_path / "layer",
                                     [Mount("/config", True, files={"app.conf": b"mode=debug\n"})])
    return container


def sh(container: Container, script: str, stdin: bytes = b"") -> tuple[str, str, int]:
    result = run(["sh", "-c", script], stdin, container)
    return result.stdout.decode(), result.stderr.decode(), result.exit_code


@pytest.fixture
def busybox(tmp_path: Path) -> Container:
    return _container(tmp_path, "busybox:1.36")


@pytest.fixture
def debian(tmp_path: Path) -> Container:
    return _container(tmp_path, "debian:bookworm")


@pytest.mark.parametrize(("script", "expected"), [
    ("mkdir -p /srv/a/b; touch /srv/a/f; ls /srv/a", "b\nf\n"),
    ("mkdir /srv/x; rmdir /srv/x; ls /srv", ""),
    ("echo one > /tmp/1; cp /tmp/1 /tmp/2; mv /tmp/2 /tmp/3; ls /tmp; cat /tmp/3", "1\n3\none\n"),
    ("mkdir -p /w/in; echo a > /w/in/f; cp -r /w/in /w/out; cat /w/out/f; rm -r /w; ls /w 2>/dev/null || echo gone", "a\ngone\n"),
    ("echo x | tee /tmp/t | tr x y; echo z | tee -a /tmp/t >/dev/null; cat /tmp/t", "y\nx\nz\n"),
    ("echo 'Hello World' | tr '[:upper:]' '[:lower:]'; echo aabbcc | tr -d b; echo 'a   b' | tr -s ' '", "hello world\naacc\na b\n"),
    ("echo 'root:x:0:0' | cut -d: -f1,3; echo abcdef | cut -c2-4", "root:0\nbcd\n"),
    ("printf '10\\n9\\n100\\n' | sort -n; printf 'b\\na\\n' | sort -r", "9\n10\n100\nb\na\n"),
    ("printf 'a\\na\\nb\\n' | uniq -c; printf 'a\\na\\nb\\n' | uniq -d", "      2 a\n      1 b\na\n"),
    ("echo 'color=red' | sed 's/red/blue/'; echo 'a.b.c' | sed 's/\\./-/g'; printf '1\\n2\\n3\\n' | sed -n '2p'", "color=blue\na-b-c\n2\n"),
    ("printf 'keep\\ndrop\\n' | sed '/drop/d'; echo 'x=1' | sed -E 's/([a-z])=([0-9])/\\2=\\1/'", "keep\n1=x\n"),
    ("echo 'port: 80' > /tmp/c; sed -i 's/80/8080/' /tmp/c; cat /tmp/c", "port: 8080\n"),
    ("basename /usr/share/nginx/index.html .html; dirname /usr/share/nginx/index.html", "index\n/usr/share/nginx\n"),
    ("echo -n secret | base64; echo c2VjcmV0 | base64 -d", "c2VjcmV0\nsecret"),
    ("ls /config; cat /config/app.conf", "app.conf\nmode=debug\n"),
])
def test_programs_as_their_output(busybox: Container, script: str, expected: str) -> None:
    assert sh(busybox, script) == (expected, "", 0)


def test_errors_in_the_images_own_words(busybox: Container, debian: Container) -> None:
    assert sh(busybox, "rm /nope") == ("", "rm: can't remove '/nope': No such file or directory\n", 1)
    assert sh(debian, "rm /nope") == ("", "rm: cannot remove '/nope': No such file or directory\n", 1)
    assert sh(busybox, "ls /nope") == ("", "ls: /nope: No such file or directory\n", 1)
    assert sh(debian, "ls /nope") == ("", "ls: cannot access '/nope': No such file or directory\n", 2)
    assert sh(busybox, "mkdir /a/b") == ("", "mkdir: can't create directory '/a/b': No such file or directory\n", 1)
    assert sh(busybox, "touch /config/new") == ("", "touch: /config/new: Read-only file system\n", 1)
    assert sh(busybox, "rm /config/app.conf")[1] == "rm: can't remove '/config/app.conf': Read-only file system\n"
    assert sh(busybox, "echo x | sed 'y/a/b/'")[1:] == ("sed: unsupported command y\n", 1)


def test_ps_is_busyboxs_and_shows_the_main_process(busybox: Container, debian: Container) -> None:
    assert sh(busybox, "ps")[0].splitlines()[:2] == ["PID   USER     TIME  COMMAND", "    1 root      0:00 sleep 3600"]
    assert sh(debian, "ps") == ("", "sh: ps: not found\n", 127)  # debian's image has no procps


def test_ls_lists_the_root_of_an_image(busybox: Container) -> None:
    listed = sh(busybox, "ls /")[0].split()
    assert {"bin", "etc", "tmp", "usr", "var"} <= set(listed) and listed == sorted(listed)


def test_an_images_file_removed_stays_removed_until_written_again(tmp_path: Path) -> None:
    """As overlayfs's whiteout: every later exec (a new view of the files) misses it too."""
    def nginx() -> Container:
        return _container(tmp_path, "nginx:1.27")

    assert sh(nginx(), "rm /usr/share/nginx/html/index.html; ls /usr/share/nginx/html") == ("50x.html\n", "", 0)
    assert sh(nginx(), "cat /usr/share/nginx/html/index.html")[1:] == ("cat: /usr/share/nginx/html/index.html: No such file or directory\n", 1)
    assert sh(nginx(), "rm /usr/share/nginx/html/index.html")[1:] == (
        "rm: cannot remove '/usr/share/nginx/html/index.html': No such file or directory\n", 1)
    assert sh(nginx(), "echo back > /usr/share/nginx/html/index.html; cat /usr/share/nginx/html/index.html; ls /usr/share/nginx/html") == (
        "back\n50x.html\nindex.html\n", "", 0)
