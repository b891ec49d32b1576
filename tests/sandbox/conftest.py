"""One sandbox for the package, and a fresh namespace per test.

Most tests only need *a* cluster: they share one server (package scope), each in
namespaces of its own. Tests that need a pristine cluster (cluster-wide changes
such as installing Calico, or the lifecycle of the server itself) start their own
with :func:`start_sandbox`, with the same time scale.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labrunner.sandbox.control import start, stop
from labrunner.sandbox.files import SandboxFiles

KUBECTL = shutil.which("kubectl")
TIME_SCALE = "0.05"
"""Simulated waits (a dropped connection's timeout) in tests: a twentieth of real time."""

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def start_sandbox(folder: Path) -> SandboxFiles:
    """Start a new sandbox in ``folder``."""
    files = SandboxFiles(folder / "sandbox")
    start_scaled(files)
    return files


def start_scaled(files: SandboxFiles) -> None:
    """Start (or restart) ``files``' sandbox with the tests' time scale; the environment is left as it was."""
    previous = os.environ.get("LABRUNNER_SANDBOX_TIME_SCALE")
    os.environ["LABRUNNER_SANDBOX_TIME_SCALE"] = TIME_SCALE
    try:
        start(files)
    finally:
        if previous is None:
            del os.environ["LABRUNNER_SANDBOX_TIME_SCALE"]
        else:
            os.environ["LABRUNNER_SANDBOX_TIME_SCALE"] = previous


def kubectl_for(files: SandboxFiles, home: Path, timeout: float = 90) -> Kubectl:
    """Real kubectl on ``files``' cluster; fails the test on a non-zero exit unless ``check=False``."""

    def run(*argv: str, check: bool = True, stdin: str | None = None, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "KUBECONFIG": str(files.kubeconfig), "HOME": str(home), **(extra_env or {})}
        completed = subprocess.run([KUBECTL or "kubectl", *argv], capture_output=True, text=True, env=environment, timeout=timeout, input=stdin)
        if check:
            assert completed.returncode == 0, f"kubectl {' '.join(argv)}: {completed.stderr}"
        return completed

    run.environment = {"KUBECONFIG": str(files.kubeconfig), "HOME": str(home)}  # type: ignore[attr-defined]
    return run


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxFiles]:
    """The package's shared cluster. Its kubeconfig is re-read on every call, so a test may restart it."""
    files = start_sandbox(tmp_path_factory.mktemp("shared-sandbox"))
    yield files
    stop(files)


@pytest.fixture(scope="package")
def kubectl(sandbox: SandboxFiles, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(sandbox, tmp_path_factory.mktemp("home"))


def fresh_name(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A namespace name no other test uses; the test creates it, and it is deleted afterwards."""
    name = fresh_name()
    yield name
    kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)
