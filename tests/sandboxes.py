"""Starting sandboxes for tests, all at one time scale, and real kubectl on them.

The suite shares one sandbox (the ``sandbox``, ``kubectl``, ``cluster`` and ``namespace``
fixtures in tests/conftest.py): most tests only need *a* cluster and work in namespaces
of their own. A test that needs a pristine cluster (a cluster-wide change such as
installing Calico, or the server's own lifecycle) starts its own with :func:`start_sandbox`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from labrunner.sandbox.control import start
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


def fresh_name(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def eventually(check: Callable[[], bool], what: str, *, attempts: int = 600, pause: float = 0.1) -> None:
    """Wait for a state the cluster reaches by itself (a restart, an event), looking again
    ``attempts`` times; fail naming ``what`` never happened. It waits for a state and never
    asserts how fast: speed is measured in benchmarks/."""
    for _ in range(attempts):
        if check():
            return
        time.sleep(pause)
    pytest.fail(f"{what} never happened")
