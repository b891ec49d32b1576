from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _stop_the_sandbox_the_app_started() -> Iterator[None]:
    """The app leaves the sandbox running when it exits (the learner's own kubectl may
    still use it); a test must not."""
    yield
    from labrunner.sandbox.control import stop
    from labrunner.sandbox.files import SandboxFiles

    stop(SandboxFiles.default())


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig with a local context (current, unreachable) and a production-looking one."""
    from tests.tui.test_app import KUBECONFIG

    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    return path
