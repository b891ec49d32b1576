"""Where the sandbox keeps its things, and writing them safely.

All under ``<state>/sandbox/``: the CA and server certificate, the token, the
kubeconfig learners point KUBECONFIG at, ``server.json`` (pid, port, start time)
written once the server listens, the objects (Secrets among them), the log.
``~/.kube/config`` is never touched.

The folder is its owner's alone (0700, every file in it 0600): it holds a token that
is cluster-admin and every Secret a learner creates.
"""

from __future__ import annotations

import json
import os
import stat
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
    def service_account_key(self) -> Path:
        """The RSA key service account tokens are signed and verified with (kubeadm's ``pki/sa.key``);
        made once by ``labrunner.sandbox.tokens``, kept so tokens outlive a restart."""
        return self.folder / "sa.key"

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
        """The server's log, rotated (sandbox.log.1, .2, ... are the older ones)."""
        return self.folder / "sandbox.log"

    @property
    def output(self) -> Path:
        """What the server process printed outside its log (a crash's traceback), from its last start."""
        return self.folder / "sandbox.out"

    @property
    def declared_images(self) -> Path:
        """Labs' declarations of images the sandbox's table lacks (one YAML list per lab)."""
        return self.folder / "images.d"

    @property
    def server_lock(self) -> Path:
        """Held (flock) by the one server running on this folder, for its life."""
        return self.folder / "server.lock"

    @property
    def start_lock(self) -> Path:
        """Held while a ``start`` checks for a server and starts one, so concurrent starts make one."""
        return self.folder / "start.lock"

    def make_private(self) -> None:
        """Create the folder 0700, or tighten an older one (and everything in it) to its owner."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in (self.folder, *self.folder.rglob("*")):
            try:
                current = path.lstat().st_mode
                if stat.S_ISLNK(current):
                    continue
                wanted = 0o700 if stat.S_ISDIR(current) else stat.S_IMODE(current) & 0o700 | 0o600
                if stat.S_IMODE(current) != wanted:
                    path.chmod(wanted)
            except FileNotFoundError:  # a WAL file the server just checkpointed away
                continue

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
