from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.sandboxes import Kubectl, fresh_name, kubectl_for, start_sandbox

if TYPE_CHECKING:
    from labrunner.cluster.kube import KubeCluster
    from labrunner.sandbox.files import SandboxFiles

REPO = Path(__file__).resolve().parent.parent


# -- the suite's shared sandbox: one server, a namespace per test (see tests/sandboxes.py) --------


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxFiles]:
    """The suite's shared cluster, started on first use. Its kubeconfig is re-read on every
    call, so a test may restart it."""
    from labrunner.sandbox.control import stop

    files = start_sandbox(tmp_path_factory.mktemp("shared-sandbox"))
    yield files
    stop(files)


@pytest.fixture(scope="session")
def kubectl(sandbox: SandboxFiles, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """Real kubectl on the shared sandbox."""
    return kubectl_for(sandbox, tmp_path_factory.mktemp("home"))


@pytest.fixture
def cluster(sandbox: SandboxFiles) -> KubeCluster:
    """The cluster port (the official client) on the shared sandbox, connected afresh for
    each test: a test before may have restarted the sandbox on another port."""
    from labrunner.cluster.kube import connect

    return connect(sandbox.kubeconfig)


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A namespace name no other test uses; the test creates it, and it is deleted afterwards."""
    name = fresh_name()
    yield name
    kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the developer's own labrunner folders and kubeconfig."""
    home = tmp_path_factory.mktemp("home")
    for variable in ("LABRUNNER_CONFIG_DIR", "LABRUNNER_STATE_DIR", "LABRUNNER_CACHE_DIR", "LABRUNNER_DATA_DIR"):
        monkeypatch.setenv(variable, str(home / variable.lower()))
    monkeypatch.delenv("LABRUNNER_LABS_PATH", raising=False)
    # Commands run cold: a warm server per test's state folder would linger and cost a start-up
    # each; tests/test_warm.py turns them on where it proves they answer as a cold run does.
    monkeypatch.setenv("LABRUNNER_WARM", "0")
    monkeypatch.setenv("KUBECONFIG", str(home / "no-kubeconfig"))


MINIMAL_MARKDOWN = "# One\n\nCreate {{namespace}}.\n"


@pytest.fixture
def lab_tree(tmp_path: Path) -> Callable[..., Path]:
    """Write a lab folder ``labs/demo`` (and its assets) under a fresh content root.

    Returns a function taking the lab.yaml text (dedented) and optional extra
    files ``{relative path: text}``; it returns the lab folder.
    """

    def write(lab_yaml: str, files: dict[str, str] | None = None, lab_id: str = "demo") -> Path:
        lab_dir = tmp_path / "labs" / lab_id
        (lab_dir / "steps").mkdir(parents=True, exist_ok=True)
        (tmp_path / "assets" / lab_id).mkdir(parents=True, exist_ok=True)
        (lab_dir / "lab.yaml").write_text(textwrap.dedent(lab_yaml).lstrip("\n"), encoding="utf-8")
        defaults = {
            f"labs/{lab_id}/steps/one.md": MINIMAL_MARKDOWN,
            f"assets/{lab_id}/policy.yaml": "kind: NetworkPolicy\n",
        }
        for relative, text in {**defaults, **(files or {})}.items():
            target = tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return lab_dir

    return write


@pytest.fixture
def in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_report_header() -> list[str]:
    return [f"labrunner repository: {REPO}", f"KUBECONFIG isolated per test; kubectl: {os.popen('command -v kubectl').read().strip() or 'absent'}"]
