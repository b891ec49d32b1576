"""Where the sandbox keeps its things, and writing them safely.

All under ``<state>/sandbox/``: the CA and server certificate, the token (0600),
the kubeconfig learners point KUBECONFIG at, ``server.json`` (pid, port, start
time) written once the server listens, and the log. ``~/.kube/config`` is never
touched.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labrunner import paths

SANDBOX_CONTEXT = "labrunner-sandbox"
"""The context name in the sandbox's kubeconfig; progress on the sandbox is kept under it."""


@dataclass(frozen=True)
class SandboxFiles:
    folder: Path

    @classmethod
    def default(cls) -> SandboxFiles:
        return cls(paths.state_dir() / "sandbox")

    @property
    def kubeconfig(self) -> Path:
        return self.folder / "kubeconfig"

    @property
    def ca_certificate(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def server_certificate(self) -> Path:
        return self.folder / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def token(self) -> Path:
        return self.folder / "token"

    @property
    def server_info(self) -> Path:
        return self.folder / "server.json"

    @property
    def database(self) -> Path:
        return self.folder / "objects.db"

    @property
    def log(self) -> Path:
        return self.folder / "sandbox.log"

    def read_server_info(self) -> dict[str, Any] | None:
        try:
            info = json.loads(self.server_info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None


def write_atomically(path: Path, text: str, *, private: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it, so a
    reader never sees half a file; ``private`` makes it readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if private:
            os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
