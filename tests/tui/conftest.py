from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _stop_the_sandbox_the_app_started() -> Iterator[None]:
    """The app leaves the sandbox running when it exits (the learner's own kubectl may
    still use it); a test must not."""
    yield
    from labrunner.sandbox.control import stop
    from labrunner.sandbox.files import SandboxFiles

    stop(SandboxFiles.default())
