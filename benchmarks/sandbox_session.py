"""A fresh sandbox for a benchmark, at real time scale, and real kubectl on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@contextmanager
def sandbox_kubectl() -> Iterator[tuple[Run, Path]]:
    """(kubectl on a new sandbox, the sandbox's state folder); the sandbox stops afterwards."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        sys.exit("kubectl is not on PATH")
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder)
        labrunner_env = {**os.environ, "LABRUNNER_STATE_DIR": str(state)}
        labrunner_env.pop("LABRUNNER_SANDBOX_TIME_SCALE", None)
        subprocess.run([sys.executable, "-m", "labrunner", "sandbox", "start"], env=labrunner_env, capture_output=True, check=True)
        environment = {**os.environ, "KUBECONFIG": str(state / "sandbox" / "kubeconfig"), "HOME": str(state)}

        def run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
            return subprocess.run([kubectl, *argv], env=environment, capture_output=True, check=True, text=True, input=stdin)

        try:
            yield run, state
        finally:
            subprocess.run([sys.executable, "-m", "labrunner", "sandbox", "stop"], env=labrunner_env, capture_output=True)
