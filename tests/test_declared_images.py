"""A lab declares the images the sandbox's table lacks (``images:`` in lab.yaml): the loader
checks each entry at its line, the session hands them to the sandbox before anything of the
lab runs there (``<sandbox>/images.d/<lab id>.yaml``), and a pod of the declared image runs
as its ``like`` image does while any other unknown image still fails to pull."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from labrunner.cli import main
from labrunner.cluster.port import ClusterInfo
from labrunner.lab.loader import load_lab
from labrunner.lab.model import DeclaredImage, SourceLocation
from labrunner.lab.problems import LabInvalid
from labrunner.sandbox import images
from labrunner.sandbox.files import SandboxFiles
from labrunner.session.images import declare_images, sandbox_files
from labrunner.session.progress import Progress
from labrunner.session.session import Session
from tests.conftest import REPO
from tests.fakes import FakeCluster
from tests.sandboxes import TIME_SCALE, Kubectl, eventually, fresh_name, kubectl_for

FIXTURE = REPO / "tests" / "fixtures" / "declared_image"
LAB_DIR = FIXTURE / "labs" / "declared-web"
DECLARED = "registry.example.com/acme/web"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")

LAB_HEAD = """\
id: demo
title: Demo
summary: A demo lab.
minutes: 5
level: beginner
tags: [services-networking]
parameters:
  namespace:
    default: demo
    kind: namespace
    description: the lab's namespace
"""
LAB_STEPS = """\
steps:
  - id: one
    title: One
    instructions: steps/one.md
    commands:
      - run: kubectl create namespace {{namespace}}
        explain: Creates it.
    hints: [Create it.]
    solution:
      - run: kubectl create namespace {{namespace}}
    checks:
      - kind: namespace-active
        name: "{{namespace}}"
        says: the namespace exists
"""


def lab_with_images(images_yaml: str) -> str:
    return LAB_HEAD + images_yaml + LAB_STEPS


def problems_of(lab_dir: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(LabInvalid) as raised:
        load_lab(lab_dir)
    return [(problem.line, problem.field, problem.message) for problem in raised.value.problems]


# -- the lab format --------------------------------------------------------------------------------


def test_the_fixture_lab_declares_its_image() -> None:
    lab = load_lab(LAB_DIR)
    (image,) = lab.images
    assert (image.name, image.like, image.ports, image.docroot, image.command) == (DECLARED, "nginx", (("TCP", 8080),), None, ())
    assert image.location.path == LAB_DIR / "lab.yaml" and image.location.line == 17
    assert image.declaration() == {"name": DECLARED, "like": "nginx", "ports": [8080]}
    simulated = images.declaration(image.declaration())
    assert (simulated.name, simulated.does, simulated.ports) == ("acme/web", "static-web", (("TCP", 8080),))


def test_every_field_reaches_the_declaration(lab_tree: Callable[..., Path]) -> None:
    lab = load_lab(lab_tree(lab_with_images("""\
images:
  - name: ghcr.io/acme/dns
    like: coredns/coredns
    ports: [{port: 53, protocol: UDP}, 9153]
  - name: localhost:5000/acme/site
    like: php
    docroot: /srv/www
  - name: acme/tool
    command: [sh, -c, "echo hi; sleep 3600"]
""")))
    assert [image.declaration() for image in lab.images] == [
        {"name": "ghcr.io/acme/dns", "like": "coredns/coredns", "ports": [{"port": 53, "protocol": "UDP"}, 9153]},
        {"name": "localhost:5000/acme/site", "like": "php", "docroot": "/srv/www"},
        {"name": "acme/tool", "like": "busybox", "command": ["sh", "-c", "echo hi; sleep 3600"]},
    ]
    dns, site, tool = (images.declaration(image.declaration()) for image in lab.images)
    assert dns.ports == (("UDP", 53), ("TCP", 9153)) and dns.does == "dns"
    assert site.docroot == "/srv/www" and site.does == "php-apache"
    assert tool.cmd == ("sh", "-c", "echo hi; sleep 3600") and tool.entrypoint == () and tool.does == "program"


def test_a_lab_without_images_declares_none() -> None:
    assert load_lab(REPO / "labs" / "networkpolicies").images == ()


def test_a_misspelt_like_names_the_file_line_and_field(lab_tree: Callable[..., Path]) -> None:
    lab_dir = lab_tree(lab_with_images("""\
images:
  - name: registry.example.com/acme/web
    like: ngnix
    ports: [8080]
"""))
    with pytest.raises(LabInvalid) as raised:
        load_lab(lab_dir)
    (problem,) = raised.value.problems
    assert (problem.path, problem.line, problem.column, problem.field) == (lab_dir / "lab.yaml", 14, 11, "images[0].like")
    assert problem.message == "'ngnix' is not an image of the sandbox's table (did you mean 'nginx'?)"
    assert str(problem).endswith("lab.yaml:14:11: images[0].like: 'ngnix' is not an image of the sandbox's table (did you mean 'nginx'?)")


def test_validate_reports_a_broken_entry(lab_tree: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    lab_dir = lab_tree(lab_with_images("""\
images:
  - name: registry.example.com/acme/web
    like: ngnix
"""))
    assert main(["validate", str(lab_dir)]) == 1
    out = capsys.readouterr().out
    assert f"{lab_dir / 'lab.yaml'}:14:11: images[0].like: 'ngnix' is not an image of the sandbox's table (did you mean 'nginx'?)" in out
    assert main(["validate", "--json", str(lab_dir)]) == 1
    (result,) = json.loads(capsys.readouterr().out)
    assert [(p["line"], p["field"]) for p in result["problems"]] == [(14, "images[0].like")]


@pytest.mark.parametrize(("entry", "line", "field", "message"), [
    ("- name: ghcr.io/acme/shop:1.0", 13, "images[0].name",
     "'ghcr.io/acme/shop:1.0' has a tag; give the repository only ('ghcr.io/acme/shop'): every plausible tag of it then pulls"),
    ("- name: Acme/Shop", 13, "images[0].name", "'Acme/Shop' is not an image repository"),
    ("- name: docker.io/library/nginx", 13, "images[0].name",
     "'docker.io/library/nginx' is 'nginx', an image the sandbox already simulates; declare only images it lacks"),
    ("- name: acme/web\n    like: nginx:1.27", 14, "images[0].like",
     "'nginx:1.27': like names a repository of the sandbox's table, without a tag: 'nginx'"),
    ("- name: acme/web\n    like: nosuchthing", 14, "images[0].like", "'nosuchthing' is not an image of the sandbox's table; one of: nginx, "),
    ("- name: acme/web\n    ports: ['8080']", 14, "images[0].ports[0]", "expected a whole number, got the text '8080'"),
    ("- name: acme/web\n    ports: [70000]", 14, "images[0].ports[0]", "Input should be less than or equal to 65535"),
    ("- name: acme/web\n    ports: [{port: 53, protocol: udp}]", 14, "images[0].ports[0].protocol",
     "'udp' is not allowed; expected one of TCP, UDP, SCTP"),
    ("- name: acme/web\n    docroot: srv/www", 14, "images[0].docroot", "'srv/www' is not an absolute path in the image"),
    ("- name: acme/web\n    command: []", 14, "images[0].command", "needs at least 1 item, has 0"),
    ("- name: acme/web\n    port: 8080", 14, "images[0].port", "unknown field 'port' (did you mean 'ports'?)"),
    ("- like: nginx", 13, "images[0].name", "missing required field 'name'"),
    ("- name: ghcr.io/acme/web\n  - name: quay.io/acme/web", 14, "images[1].name",
     "'quay.io/acme/web' is declared twice (also images[0]); the sandbox knows an image by its repository ('acme/web')"),
])
def test_a_broken_entry_is_a_problem_at_its_line(lab_tree: Callable[..., Path], entry: str, line: int, field: str, message: str) -> None:
    found = problems_of(lab_tree(lab_with_images("images:\n  " + entry + "\n")))
    assert len(found) == 1, found
    assert found[0][:2] == (line, field)
    assert found[0][2].startswith(message), found[0][2]


# -- handing declarations to the sandbox -----------------------------------------------------------


def _sandbox_folder(tmp_path: Path) -> SandboxFiles:
    files = SandboxFiles(tmp_path / "elsewhere" / "sandbox")
    files.folder.mkdir(parents=True)
    files.kubeconfig.write_text("apiVersion: v1\n")
    files.token.write_text("token\n")
    return files


def _info(files: SandboxFiles, *, sandbox: bool = True) -> ClusterInfo:
    return ClusterInfo(context="labrunner-sandbox" if sandbox else "kind-kind", server="https://127.0.0.1:6443",
                       namespace="default", is_sandbox=sandbox, kubeconfig=(files.kubeconfig,))


def test_a_session_on_the_sandbox_declares_the_lab_s_images(tmp_path: Path) -> None:
    files = _sandbox_folder(tmp_path)
    other = files.declared_images / "other-lab.yaml"
    other.parent.mkdir(mode=0o700)
    other.write_text("- name: ghcr.io/other/thing\n")
    lab = load_lab(LAB_DIR)
    progress = Progress(tmp_path / "progress.sqlite3")
    session = Session(lab, FakeCluster(info=_info(files)), progress)
    assert session.images_problem is None
    written = files.declared_images / "declared-web.yaml"
    assert yaml.safe_load(written.read_text()) == [{"name": DECLARED, "like": "nginx", "ports": [8080]}]
    assert written.stat().st_mode & 0o777 == 0o600 and files.declared_images.stat().st_mode & 0o777 == 0o700
    assert other.read_text() == "- name: ghcr.io/other/thing\n"
    assert not list(files.declared_images.glob(".*.tmp"))
    before = written.stat().st_mtime_ns
    declare_images(lab, _info(files))
    assert written.stat().st_mtime_ns == before, "unchanged declarations are not rewritten (the sandbox re-reads on a change)"
    images.DECLARATIONS = files.declared_images
    try:
        assert images.lookup(f"{DECLARED}:1.0") is not None and images.lookup("registry.example.com/acme/other:1.0") is None
        assert images.lookup("ghcr.io/other/thing:2") is not None  # the other lab's declaration stands
    finally:
        images.DECLARATIONS = None
    progress.close()


def test_the_sandbox_folder_is_the_one_the_port_reads(tmp_path: Path) -> None:
    files = _sandbox_folder(tmp_path)
    assert sandbox_files(_info(files)) == files
    stranger = ClusterInfo(context="labrunner-sandbox", server="https://127.0.0.1:6443", namespace="default", is_sandbox=True,
                           kubeconfig=(tmp_path / "somewhere" / "config",))
    assert sandbox_files(stranger) == SandboxFiles.default()


def test_nothing_is_declared_on_a_real_cluster(tmp_path: Path) -> None:
    files = _sandbox_folder(tmp_path)
    assert declare_images(load_lab(LAB_DIR), _info(files, sandbox=False)) is None
    assert not files.declared_images.exists()


def test_a_lab_that_no_longer_declares_images_removes_only_its_own_file(tmp_path: Path, lab_tree: Callable[..., Path]) -> None:
    files = _sandbox_folder(tmp_path)
    files.declared_images.mkdir()
    (files.declared_images / "demo.yaml").write_text("- name: acme/old\n")
    (files.declared_images / "other.yaml").write_text("- name: acme/other\n")
    assert declare_images(load_lab(lab_tree(lab_with_images(""))), _info(files)) is None
    assert sorted(path.name for path in files.declared_images.iterdir()) == ["other.yaml"]


def test_a_folder_that_cannot_be_written_is_said_not_raised(tmp_path: Path) -> None:
    files = _sandbox_folder(tmp_path)
    files.declared_images.write_text("a file where the folder should be")
    progress = Progress(tmp_path / "progress.sqlite3")
    session = Session(load_lab(LAB_DIR), FakeCluster(info=_info(files)), progress)
    assert session.images_problem is not None and session.images_problem.startswith("could not declare the lab's images to the sandbox: ")
    progress.close()


def test_declared_image_round_trips_every_protocol() -> None:
    image = DeclaredImage(name="acme/x", like="busybox", ports=(("TCP", 1), ("UDP", 2), ("SCTP", 3)),
                          location=SourceLocation(path=Path("lab.yaml"), line=1, column=1))
    assert images.declaration(image.declaration()).ports == (("TCP", 1), ("UDP", 2), ("SCTP", 3))


# -- on the sandbox --------------------------------------------------------------------------------


@pytest.fixture
def content(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The fixture lab in a content folder of its own, and the environment labrunner runs it in
    (its own sandbox, in the test's state folder)."""
    shutil.copytree(FIXTURE / "labs", tmp_path / "content" / "labs")
    shutil.copytree(FIXTURE / "assets", tmp_path / "content" / "assets")
    env = {**os.environ, "LABRUNNER_LABS_PATH": str(tmp_path / "content" / "labs"), "LABRUNNER_SANDBOX_TIME_SCALE": TIME_SCALE}
    yield env
    subprocess.run([sys.executable, "-m", "labrunner", "sandbox", "stop"], env=env, capture_output=True, timeout=60)


def _pod_reason(kubectl: Kubectl, namespace: str, pod: str) -> str:
    found = json.loads(kubectl("get", "pod", pod, "-n", namespace, "-o", "json").stdout)
    statuses = (found.get("status") or {}).get("containerStatuses") or [{}]
    state = statuses[0].get("state") or {}
    return str((state.get("waiting") or {}).get("reason") or ("Running" if "running" in state else ""))


@needs_kubectl
def test_the_lab_runs_its_declared_image_on_the_sandbox(content: dict[str, str], tmp_path: Path) -> None:
    proved = subprocess.run([sys.executable, "-m", "labrunner", "selftest", "declared-web", "--sandbox", "--json"],
                            env=content, capture_output=True, text=True, timeout=300)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert [(row["id"], row["before"], row["after"]) for row in json.loads(proved.stdout)["steps"]] == [
        ("web", "failed", "passed"), ("fetch", "failed", "passed")]

    files = SandboxFiles.default()  # the test's own state folder: the sandbox selftest started
    assert yaml.safe_load((files.declared_images / "declared-web.yaml").read_text()) == [
        {"name": DECLARED, "like": "nginx", "ports": [8080]}]
    kubectl = kubectl_for(files, tmp_path / "home")
    namespace = "declaredweb"
    assert _pod_reason(kubectl, namespace, "web") == "Running"
    ip = kubectl("get", "pod", "web", "-n", namespace, "-o", "jsonpath={.status.podIP}").stdout
    fetched = kubectl("exec", "-n", namespace, "client", "--", "wget", "-qO-", "-T", "2", f"http://{ip}:8080/")
    assert fetched.stdout == "<h1>hello from acme/web</h1>\n"
    refused = kubectl("exec", "-n", namespace, "client", "--", "wget", "-qO-", "-T", "2", f"http://{ip}:80/", check=False)
    assert refused.returncode == 1 and "Connection refused" in refused.stderr, "the declared ports replace nginx's 80"

    kubectl("run", "other", "-n", namespace, "--image=registry.example.com/acme/other:1.0")
    eventually(lambda: _pod_reason(kubectl, namespace, "other") in ("ErrImagePull", "ImagePullBackOff"),
               "the undeclared image failing to pull")
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=other", "-o", "json").stdout
    assert "Error: ErrImagePull" in events and 'Failed to pull image \\"registry.example.com/acme/other:1.0\\"' in events


@needs_kubectl
def test_a_declared_image_like_nginx_serves_nginx_s_welcome_page(sandbox: SandboxFiles, kubectl: Kubectl, tmp_path: Path) -> None:
    lab = load_lab(LAB_DIR)
    from labrunner.cluster.kube import connect

    progress = Progress(tmp_path / "progress.sqlite3")
    Session(lab, connect(sandbox.kubeconfig), progress)  # declares it on the suite's shared sandbox
    progress.close()
    namespace = fresh_name()
    kubectl("create", "namespace", namespace)
    try:
        kubectl("run", "web", "-n", namespace, f"--image={DECLARED}:1.0")
        kubectl("run", "client", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
        eventually(lambda: _pod_reason(kubectl, namespace, "web") == "Running" and _pod_reason(kubectl, namespace, "client") == "Running",
                   "both pods running")
        ip = kubectl("get", "pod", "web", "-n", namespace, "-o", "jsonpath={.status.podIP}").stdout
        fetched = kubectl("exec", "-n", namespace, "client", "--", "wget", "-qO-", "-T", "2", f"http://{ip}:8080/", check=False)
        assert fetched.returncode == 0 and "Welcome to nginx!" in fetched.stdout, fetched.stderr
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        (sandbox.declared_images / "declared-web.yaml").unlink(missing_ok=True)
