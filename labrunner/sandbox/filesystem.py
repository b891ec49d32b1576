"""A container's files as its processes see them: the image's few files, a writable layer that
lasts as long as the container (every exec into it sees what an earlier one wrote), and the
pod's volumes where the container mounts them (set up as a kubelet does in ``volumes.py``).

File modes (``defaultMode``, ``mode``) are not kept: the sandbox's ``ls`` shows none. Writes are
files on disk under the sandbox's data folder, each at most :data:`FILE_LIMIT` bytes.
"""
from __future__ import annotations

import base64
import errno
import functools
import hashlib
import json
import math
import os
import posixpath
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

FILE_LIMIT = 64 * 1024 * 1024
"""Bytes one file may hold; more is ``No space left on device`` (the sandbox's disk, not the learner's)."""


@dataclass(frozen=True)
class Mount:
    path: str
    """Where the container sees it (absolute, normalised)."""
    read_only: bool
    files: Mapping[str, bytes] | None = None
    """A ConfigMap's, Secret's, downward API's or projected volume's files, by path inside the volume."""
    folder: Path | None = None
    """An emptyDir's, hostPath's or claim's folder on disk."""
    sub_path: str = ""


@dataclass
class ContainerFiles(MutableMapping[str, bytes]):
    base: dict[str, bytes]
    writable: Path | None = None
    mounts: list[Mount] = field(default_factory=list)

    # -- where a path lives -------------------------------------------------------------------

    def _route(self, path: str) -> tuple[Mount | None, str]:
        path = normal(path)
        for mount in sorted(self.mounts, key=lambda m: len(m.path), reverse=True):
            if path == mount.path or path.startswith(mount.path.rstrip("/") + "/"):
                inside = path[len(mount.path):].lstrip("/")
                return mount, posixpath.join(mount.sub_path, inside) if mount.sub_path and inside else (mount.sub_path or inside)
        return None, path

    def __getitem__(self, path: str) -> bytes:
        mount, inside = self._route(path)
        if mount is not None:
            if mount.files is not None:
                return mount.files[inside]
            assert mount.folder is not None
            return _read(mount.folder, inside)
        if self.writable is not None:
            try:
                return _read(self.writable, inside)
            except KeyError:
                if _whiteout(self.writable, inside).exists():
                    raise
        return self.base[inside]

    def __setitem__(self, path: str, content: bytes) -> None:
        mount, inside = self._route(path)
        if len(content) > FILE_LIMIT:
            raise OSError(errno.ENOSPC, "No space left on device")
        if mount is not None:
            if mount.read_only or mount.folder is None:
                raise OSError(errno.EROFS, "Read-only file system")
            _write(mount.folder, inside, content)
            return
        if self.writable is None:
            self.base[inside] = content
            return
        _write(self.writable, inside, content)
        _whiteout(self.writable, inside).unlink(missing_ok=True)

    def __delitem__(self, path: str) -> None:
        mount, inside = self._route(path)
        if mount is not None and (mount.read_only or mount.folder is None):
            raise OSError(errno.EROFS, "Read-only file system")
        folder = mount.folder if mount is not None else self.writable
        if mount is None and folder is not None and inside in self.base and not _whiteout(folder, inside).exists():
            # an image's file: the writable layer hides it from now on, as overlayfs's whiteout does
            (folder / inside.lstrip("/")).unlink(missing_ok=True)
            _write(folder, posixpath.join(posixpath.dirname(inside), WHITEOUT + posixpath.basename(inside)), b"")
            return
        if folder is not None and (folder / inside.lstrip("/")).is_file():
            (folder / inside.lstrip("/")).unlink()
            return
        if mount is None and folder is not None and _whiteout(folder, inside).exists():
            raise KeyError(inside)  # deleted already
        del self.base[inside]

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name in self._names():
            if name not in seen:
                seen.add(name)
                yield name

    def _names(self) -> Iterator[str]:
        writable = self.writable
        yield from (name for name in self.base if writable is None or not _whiteout(writable, name).exists())
        if writable is not None:
            yield from ("/" + name for name in _walk(writable) if not posixpath.basename(name).startswith(WHITEOUT))
        for mount in self.mounts:
            names = list(mount.files) if mount.files is not None else list(_walk(mount.folder)) if mount.folder else []
            for name in names:
                if mount.sub_path:
                    if name == mount.sub_path:
                        yield mount.path
                    elif name.startswith(mount.sub_path.rstrip("/") + "/"):
                        yield posixpath.join(mount.path, name[len(mount.sub_path.rstrip("/")) + 1:])
                else:
                    yield posixpath.join(mount.path, name)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def is_dir(self, path: str) -> bool:
        path = normal(path).rstrip("/") or "/"
        return path == "/" or path.lstrip("/") in ROOT_FOLDERS \
            or any(m.path == path and not _is_file_mount(m) for m in self.mounts) or self._on_disk(path) is not None \
            or any(name.startswith(path + "/") for name in self)

    def _on_disk(self, path: str) -> Path | None:
        """The folder on disk ``path`` is, when it is one (made by mkdir, or an emptyDir's own)."""
        mount, inside = self._route(path)
        folder = mount.folder if mount is not None else self.writable
        if folder is None:
            return None
        target = folder / inside.lstrip("/")
        return target if target.is_dir() else None

    def make_folder(self, path: str) -> None:
        """mkdir -p: a folder of its own, empty until something is written into it."""
        mount, inside = self._route(path)
        if mount is not None and (mount.read_only or mount.folder is None):
            raise OSError(errno.EROFS, "Read-only file system")
        folder = mount.folder if mount is not None else self.writable
        if folder is not None:
            (folder / inside.lstrip("/")).mkdir(parents=True, exist_ok=True)

    def remove_folder(self, path: str) -> None:
        target = self._on_disk(path)
        if target is not None:
            import shutil

            shutil.rmtree(target, ignore_errors=True)

    def folders(self, parent: str) -> list[str]:
        """Folders made on disk directly under ``parent`` (empty ones have no file to show them)."""
        target = self._on_disk(parent)
        if target is None:
            return []
        return [posixpath.join(normal(parent), entry.name) for entry in target.iterdir() if entry.is_dir()]


ROOT_FOLDERS = frozenset({"bin", "dev", "etc", "home", "lib", "media", "mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp",
                          "usr", "var"})
"""The folders at the root of every image."""


def _is_file_mount(mount: Mount) -> bool:
    """Whether the mount is one file (a ``subPath`` naming a file, a hostPath of a file)."""
    if not mount.sub_path:
        return False
    if mount.files is not None:
        return mount.sub_path in mount.files
    return mount.folder is not None and (mount.folder / mount.sub_path).is_file()


def normal(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/")) if path else "/"


def _read(folder: Path, inside: str) -> bytes:
    target = folder / inside.lstrip("/")
    try:
        return target.read_bytes() if target.is_file() else _missing(inside)
    except OSError:
        return _missing(inside)


WHITEOUT = ".wh."
"""The prefix of the marker that hides an image's file deleted in the writable layer (OCI's whiteout)."""


def _whiteout(folder: Path, inside: str) -> Path:
    return folder / posixpath.dirname(inside.lstrip("/")) / (WHITEOUT + posixpath.basename(inside))


def _missing(inside: str) -> bytes:
    raise KeyError(inside)


def _write(folder: Path, inside: str, content: bytes) -> None:
    target = folder / inside.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


def _walk(folder: Path | None) -> Iterator[str]:
    if folder is None or not folder.is_dir():
        return
    for root, _, names in os.walk(folder):
        for name in names:
            yield str(Path(root, name).relative_to(folder))


Lookup = Callable[[str, str], Mapping[str, Any] | None]
NodeLookup = Callable[[str], Mapping[str, Any] | None]


def files_of(box: Any, pod: Mapping[str, Any], container: Mapping[str, Any], data_root: Path, lookup: Lookup) -> ContainerFiles:
    """The files of ``container`` (``box`` is its :class:`~labrunner.sandbox.processes.Container`):
    its image's, its writable layer under the pod's data folder, its volumes. The node a
    downward API limit falls back to is read through the box's network, when it has one."""
    from labrunner.sandbox import volumes as _volumes
    from labrunner.sandbox.processes import container_files

    network = getattr(box, "network", None)
    node_lookup: NodeLookup | None = None
    if network is not None and hasattr(network, "objects"):
        node_lookup = lambda name: network.objects.get("", "nodes", "", name)  # noqa: E731
    folder = data_root / str(pod["metadata"]["namespace"]) / str(pod["metadata"]["name"])
    return ContainerFiles(container_files(box, (pod.get("status") or {}).get("podIP", "")),
                          folder / str(container.get("name")) / "fs", _volumes.container_mounts(pod, container, folder, lookup, node_lookup))
