"""Handing a lab's declared images to the sandbox, before anything of the lab runs there.

The sandbox simulates a table of images and fails to pull any other (a typo is a lesson). A
lab that needs one more declares it (``images:`` in lab.yaml); when the lab runs on the
built-in sandbox, its declarations are written to ``<sandbox folder>/images.d/<lab id>.yaml``,
which the sandbox reads again whenever a file there changes. On a real cluster nothing is
written: the image comes from its registry. Other labs' files are never touched; a lab
that no longer declares any image removes its own file.
"""

from __future__ import annotations

from pathlib import Path

from labrunner.cluster.port import ClusterInfo
from labrunner.lab.model import Lab
from labrunner.sandbox.files import SandboxFiles, write_atomically

HEADER = "# Written by labrunner from {source} when the lab runs on the sandbox; rewritten each time.\n"


def sandbox_files(info: ClusterInfo) -> SandboxFiles:
    """The sandbox folder the cluster port talks to: the one whose kubeconfig it reads (tests
    and learners may run a sandbox in a folder of their own), else the default one."""
    for path in info.kubeconfig:
        files = SandboxFiles(path.parent)
        if path.name == files.kubeconfig.name and files.token.exists():
            return files
    return SandboxFiles.default()


def declaration_text(lab: Lab) -> str:
    """``images.d/<lab id>.yaml``: a YAML list of ``{name, like, ports, docroot, command}``."""
    import yaml

    entries = [image.declaration() for image in lab.images]
    return HEADER.format(source=lab.directory / "lab.yaml") + yaml.safe_dump(entries, sort_keys=False, default_flow_style=False)


def declare_images(lab: Lab, info: ClusterInfo) -> Path | None:
    """Write the lab's declarations for the sandbox ``info`` names (atomically, and only when
    they changed, so the sandbox re-reads only then); remove the lab's file when it declares
    nothing. Nothing on a real cluster. Returns the file written, if any.

    Raises:
        OSError: the sandbox's folder cannot be written.
    """
    if not info.is_sandbox:
        return None
    target = sandbox_files(info).declared_images / f"{lab.id}.yaml"
    if not lab.images:
        target.unlink(missing_ok=True)
        return None
    text = declaration_text(lab)
    try:
        if target.read_text(encoding="utf-8") == text:
            return target
    except (OSError, UnicodeDecodeError):
        pass
    target.parent.mkdir(mode=0o700, exist_ok=True)  # the sandbox's folder and all in it are its owner's alone
    write_atomically(target, text, private=True)
    return target
