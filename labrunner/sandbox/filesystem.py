"""A container's files as its processes see them: the image's few files, a writable layer that
lasts as long as the container (every exec into it sees what an earlier one wrote), and the
pod's volumes where the container mounts them.

Volumes, as a kubelet mounts them: a ConfigMap's or a Secret's keys as files (``items`` pick
and rename them, ``subPath`` mounts one), read-only, read from the cluster when a process
looks, so an edit to the ConfigMap shows; an ``emptyDir`` as a folder under the pod's data
folder, shared by the pod's containers and gone with the pod. Writes are files on disk under
the sandbox's data folder, each at most :data:`FILE_LIMIT` bytes.
"""

from __future__ import annotations

import base64
import errno
import os
import posixpath
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
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
    """A ConfigMap's or Secret's files, by path inside the volume."""
    folder: Path | None = None
    """An emptyDir's folder on disk."""
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
                pass
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

    def __delitem__(self, path: str) -> None:
        mount, inside = self._route(path)
        if mount is not None and (mount.read_only or mount.folder is None):
            raise OSError(errno.EROFS, "Read-only file system")
        folder = mount.folder if mount is not None else self.writable
        if folder is not None and (folder / inside.lstrip("/")).is_file():
            (folder / inside.lstrip("/")).unlink()
            return
        del self.base[inside]

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name in self._names():
            if name not in seen:
                seen.add(name)
                yield name

    def _names(self) -> Iterator[str]:
        yield from self.base
        if self.writable is not None:
            yield from ("/" + name for name in _walk(self.writable))
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
        return path in ("/", "/tmp", "/etc", "/root", "/var", "/usr", "/bin") or any(m.path == path for m in self.mounts) \
            or any(name.startswith(path + "/") for name in self)


def normal(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/")) if path else "/"


def _read(folder: Path, inside: str) -> bytes:
    target = folder / inside.lstrip("/")
    try:
        return target.read_bytes() if target.is_file() else _missing(inside)
    except OSError:
        return _missing(inside)


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


def container_mounts(pod: Mapping[str, Any], container: Mapping[str, Any], pod_folder: Path,
                     lookup: Callable[[str, str], Mapping[str, Any] | None]) -> list[Mount]:
    """The volumes ``container`` mounts, as its processes see them. ``lookup(kind, name)``
    gives a ConfigMap (``configmaps``) or Secret (``secrets``) of the pod's namespace, or None."""
    volumes = {volume.get("name"): volume for volume in (pod.get("spec") or {}).get("volumes") or []}
    mounts: list[Mount] = []
    for mounted in container.get("volumeMounts") or []:
        volume = volumes.get(mounted.get("name"))
        if volume is None:
            continue
        path = normal(str(mounted.get("mountPath", "/")))
        sub_path = str(mounted.get("subPath") or "").strip("/")
        read_only = bool(mounted.get("readOnly"))
        if "emptyDir" in volume:
            mounts.append(Mount(path, read_only, folder=pod_folder / "volumes" / str(volume["name"]), sub_path=sub_path))
            continue
        for kind, key in (("configmaps", "configMap"), ("secrets", "secret")):
            source = volume.get(key)
            if source is None:
                continue
            found = lookup(kind, str(source.get("name") if kind == "configmaps" else source.get("secretName")))
            mounts.append(Mount(path, True, files=_volume_files(found, source, secret=kind == "secrets"), sub_path=sub_path))
    return mounts


def _volume_files(found: Mapping[str, Any] | None, source: Mapping[str, Any], *, secret: bool) -> dict[str, bytes]:
    """A ConfigMap's or Secret's keys as files: every key, or the ``items`` asked for under their paths."""
    if found is None:
        return {}
    data: dict[str, bytes] = {}
    for key, value in (found.get("data") or {}).items():
        data[key] = base64.b64decode(value) if secret else str(value).encode()
    for key, value in (found.get("binaryData") or {}).items():
        data[key] = base64.b64decode(value)
    if secret:
        data.update({key: str(value).encode() for key, value in (found.get("stringData") or {}).items()})
    items = source.get("items")
    if not items:
        return data
    return {str(item.get("path")): data[str(item.get("key"))] for item in items if str(item.get("key")) in data}


def files_of(box: Any, pod: Mapping[str, Any], container: Mapping[str, Any], data_root: Path,
             lookup: Callable[[str, str], Mapping[str, Any] | None]) -> ContainerFiles:
    """The files of ``container`` (``box`` is its :class:`~labrunner.sandbox.processes.Container`):
    its image's, its writable layer under the pod's data folder, its volumes."""
    from labrunner.sandbox.processes import container_files

    folder = data_root / str(pod["metadata"]["namespace"]) / str(pod["metadata"]["name"])
    return ContainerFiles(container_files(box, (pod.get("status") or {}).get("podIP", "")),
                          folder / str(container.get("name")) / "fs", container_mounts(pod, container, folder, lookup))
