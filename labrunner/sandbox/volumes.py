"""The pod's volumes as a kubelet sets them up, read from the cluster when a process looks (an
edit to a ConfigMap or a pod's labels shows; a subPath mount keeps what it took at the
container's start, see container_start.py):
- ``configMap`` and ``secret``: their keys as read-only files (``items`` pick and rename them,
  ``subPath`` mounts one);
- ``downwardAPI``: the pod's name, namespace, uid, labels and annotations (``fieldRef``) and a
  container's limits and requests (``resourceFieldRef``, an unset limit being the node's
  allocatable);
- ``projected``: ConfigMaps, Secrets, downward API items and a ``serviceAccountToken`` in one
  folder (the ``kube-api-access-*`` shape);
- ``emptyDir``: a folder under the pod's data folder, shared by its containers, gone with it;
- ``hostPath``: a folder of the pod's node (``<data root>/.nodes/<node>``), shared by the pods
  on that node, its ``type`` checked;
- ``persistentVolumeClaim``: the claim's PersistentVolume once the claim is bound (the kubelet
  waits until then): a hostPath or local volume is that path on the pod's node (so what a pod
  writes there outlives it, as long as the volume's folder does), an nfs volume a folder per
  server and path shared by every node, any other source a folder of its own per volume.

A volume the kubelet cannot set up (a ConfigMap that does not exist, a hostPath failing its type
check) is said by :func:`volume_problems` in the kubelet's words, for its FailedMount event.
"""
from __future__ import annotations

import base64
import errno
import math
import os
import posixpath
import time
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from labrunner.sandbox.filesystem import Mount, normal

class MountFailure(Exception):
    """Why the kubelet cannot set a volume up, in its words (the text after
    ``MountVolume.SetUp failed for volume "x" :`` in its FailedMount event)."""


NODES_FOLDER = ".nodes"
"""Under the data root: a folder per simulated node, its own files as hostPath volumes see them."""
NFS_FOLDER = ".nfs"
"""Under the data root: an nfs volume's files, ``<server>/<path>``, the same from every node."""
VOLUMES_FOLDER = ".volumes"
"""Under the data root: a folder per PersistentVolume of a source the sandbox has no place for
(CSI drivers, cloud disks), named after the volume."""
UNMOUNTED = "Unable to attach or mount volumes:"
"""How the kubelet's volume manager starts a failure to find a pod's volume (a claim not found,
not bound, being deleted): the whole FailedMount message, not one volume's SetUp failure (as are
messages starting ``MountVolume.``, a volume's own failures said in full)."""
NODE_FOLDERS = ("etc", "home", "mnt", "opt", "root", "run", "srv", "tmp", "usr", "var/lib", "var/log", "var/tmp")
"""The folders every simulated node has (a ``type: Directory`` hostPath on /var/log finds it); a
node's own files in them (its logs, its kubelet's state) are not simulated."""

Lookup = Callable[[str, str], Mapping[str, Any] | None]
NodeLookup = Callable[[str], Mapping[str, Any] | None]


def container_mounts(pod: Mapping[str, Any], container: Mapping[str, Any], pod_folder: Path, lookup: Lookup,
                     node_lookup: NodeLookup | None = None) -> list[Mount]:
    """The volumes ``container`` mounts, as its processes see them. ``lookup(kind, name)`` gives an
    object of the pod's namespace (``configmaps``, ``secrets``, ``serviceaccounts``) or None;
    ``node_lookup(name)`` a Node (for a downward API limit left unset: the node's allocatable).
    ``pod_folder`` is ``<data root>/<namespace>/<pod>``. A volume the kubelet could not set up
    (:func:`volume_problems`) is left out: its pod does not start."""
    data_root = pod_folder.parent.parent
    volumes = {volume.get("name"): volume for volume in (pod.get("spec") or {}).get("volumes") or []}
    mounts: list[Mount] = []
    for mounted in container.get("volumeMounts") or []:
        volume = volumes.get(mounted.get("name"))
        if volume is None:
            continue
        try:
            source = _set_up(volume, pod, pod_folder, data_root, lookup, node_lookup)
        except MountFailure:
            continue
        if source is None:
            continue  # a volume type the sandbox does not simulate
        sub_path = str(mounted.get("subPath") or "").strip("/")
        if source.sub_path:  # a hostPath file: the mount is that one file
            sub_path = source.sub_path
        files = source.files
        if sub_path and files is not None:
            # a subPath of a ConfigMap, Secret or projection is a bind mount taken at the container's
            # start: a later edit never reaches it, as on a real kubelet
            from labrunner.sandbox.container_start import kept

            taken = dict(files)
            files = kept(pod, container, f"subPath {mounted.get('mountPath')}", lambda: taken)
        mounts.append(Mount(normal(str(mounted.get("mountPath", "/"))), source.read_only or bool(mounted.get("readOnly")),
                            files=files, folder=source.folder, sub_path=sub_path))
    return mounts


def volume_problems(pod: Mapping[str, Any], data_root: Path, lookup: Lookup, node_lookup: NodeLookup | None = None) -> dict[str, str]:
    """Volume name -> why the kubelet cannot set it up (a ConfigMap or Secret that does not exist,
    a hostPath failing its type check); setting up creates what ``DirectoryOrCreate`` and
    ``FileOrCreate`` ask for. Every volume of the pod is set up, mounted by a container or not."""
    pod_folder = data_root / str(pod["metadata"]["namespace"]) / str(pod["metadata"]["name"])
    problems: dict[str, str] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        try:
            _set_up(volume, pod, pod_folder, data_root, lookup, node_lookup)
        except MountFailure as failure:
            problems[str(volume.get("name"))] = str(failure)
    return problems


def _set_up(volume: Mapping[str, Any], pod: Mapping[str, Any], pod_folder: Path, data_root: Path, lookup: Lookup,
            node_lookup: NodeLookup | None) -> Mount | None:
    """The volume as its plugin sets it up (path left empty), or None for a type not simulated."""
    if "emptyDir" in volume:
        return Mount("", False, folder=pod_folder / "volumes" / str(volume.get("name")))
    if isinstance(source := volume.get("configMap"), dict):
        return Mount("", True, files=_object_files("configmaps", str(source.get("name")), source, lookup))
    if isinstance(source := volume.get("secret"), dict):
        return Mount("", True, files=_object_files("secrets", str(source.get("secretName")), source, lookup))
    if isinstance(source := volume.get("downwardAPI"), dict):
        return Mount("", True, files=_downward_files(source.get("items") or [], pod, node_lookup))
    if isinstance(source := volume.get("projected"), dict):
        # the data root is <sandbox folder>/data, and the sandbox folder holds the token signing key
        return Mount("", True, files=_projected_files(source.get("sources") or [], pod, lookup, node_lookup, data_root.parent))
    if isinstance(source := volume.get("hostPath"), dict):
        return _host_path(source, pod, data_root)
    if isinstance(source := volume.get("persistentVolumeClaim"), dict):
        return _claim(volume, source, pod, data_root, lookup, node_lookup)
    return None


# -- ConfigMaps, Secrets, projections ----------------------------------------------------------


def _object_files(kind: str, name: str, source: Mapping[str, Any], lookup: Lookup) -> dict[str, bytes]:
    """A ConfigMap's or Secret's keys as files: every key, or the ``items`` asked for under their
    paths; one missing (or a key an item names) fails the mount unless ``optional``."""
    secret = kind == "secrets"
    optional = bool(source.get("optional"))
    found = lookup(kind, name)
    if found is None:
        if optional:
            return {}
        raise MountFailure(f'{"secret" if secret else "configmap"} "{name}" not found')
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
    files: dict[str, bytes] = {}
    for item in items:
        key = str(item.get("key"))
        if key in data:
            files[str(item.get("path"))] = data[key]
        elif not optional:
            raise MountFailure(f"references non-existent secret key: {key}" if secret else f"configmap references non-existent config key: {key}")
    return files


def _projected_files(sources: list[Mapping[str, Any]], pod: Mapping[str, Any], lookup: Lookup,
                     node_lookup: NodeLookup | None, sandbox_folder: Path) -> dict[str, bytes]:
    """A projected volume: its sources' files in one folder. Every source is tried; the failures
    are said together, as the kubelet aggregates them (``[a, b]`` when more than one)."""
    files: dict[str, bytes] = {}
    errors: list[str] = []
    for source in sources:
        try:
            if isinstance(part := source.get("configMap"), dict):
                files.update(_object_files("configmaps", str(part.get("name")), part, lookup))
            elif isinstance(part := source.get("secret"), dict):
                files.update(_object_files("secrets", str(part.get("name")), part, lookup))
            elif isinstance(part := source.get("downwardAPI"), dict):
                files.update(_downward_files(part.get("items") or [], pod, node_lookup))
            elif isinstance(part := source.get("serviceAccountToken"), dict):
                files[str(part.get("path") or "token")] = service_account_token(pod, part, lookup, node_lookup, sandbox_folder).encode()
            # clusterTrustBundle (off by default in v1.32): no files.
        except MountFailure as failure:
            errors.append(str(failure))
    if errors:
        raise MountFailure(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return files


# -- the downward API -------------------------------------------------------------------------


def _downward_files(items: list[Mapping[str, Any]], pod: Mapping[str, Any], node_lookup: NodeLookup | None) -> dict[str, bytes]:
    """A downward API volume's files: pod fields (``fieldRef``) and container resources
    (``resourceFieldRef``), read when a process looks, so a label edit shows."""
    files: dict[str, bytes] = {}
    errors: list[str] = []
    for item in items:
        path = str(item.get("path"))
        try:
            if isinstance(ref := item.get("fieldRef"), dict):
                files[path] = field_value(pod, str(ref.get("fieldPath") or "")).encode()
            elif isinstance(ref := item.get("resourceFieldRef"), dict):
                value = resource_value(pod, ref, node_lookup)
                if value is not None:
                    files[path] = value.encode()
        except MountFailure as failure:
            errors.append(str(failure))
    if errors:
        raise MountFailure(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return files


def field_value(pod: Mapping[str, Any], field_path: str) -> str:
    """A pod field as a downward API volume writes it (the kubelet's ``fieldpath.ExtractFieldPathAsString``):
    labels and annotations as ``key="value"`` lines sorted by key, values quoted as Go's ``%q``."""
    metadata = pod.get("metadata") or {}
    if field_path in ("metadata.labels", "metadata.annotations"):
        entries = metadata.get(field_path.split(".")[1]) or {}
        return "\n".join(f"{key}={go_quote(str(entries[key]))}" for key in sorted(entries))
    for whole in ("metadata.labels", "metadata.annotations"):
        if field_path.startswith(whole + "['") and field_path.endswith("']"):
            return str((metadata.get(whole.split(".")[1]) or {}).get(field_path[len(whole) + 2:-2], ""))
    if field_path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(metadata.get(field_path.split(".")[1], ""))
    raise MountFailure(f"unsupported fieldPath: {field_path}")


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def go_quote(text: str) -> str:
    """``text`` as Go's ``strconv.Quote`` (``%q``) writes it."""
    out = []
    for char in text:
        code = ord(char)
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


_SUFFIXES: dict[str, int | Decimal] = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1, "k": 10 ** 3, "M": 10 ** 6,
             "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}


def quantity(text: Any) -> Decimal:
    """A resource quantity (``500m``, ``128Mi``, ``1e3``, ``2``) as a number."""
    text = str(text).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if suffix and text.endswith(suffix):  # (an exponent, 1e3 or 1E3, ends in a digit)
            return Decimal(text[:-len(suffix)]) * Decimal(_SUFFIXES[suffix])
    return Decimal(text)


def resource_value(pod: Mapping[str, Any], ref: Mapping[str, Any], node_lookup: NodeLookup | None) -> str | None:
    """A container's resource as a downward API volume writes it: the limit or request divided by
    ``divisor`` (default 1), rounded up. An unset limit is the node's allocatable (as the kubelet
    merges it); None when the node cannot be read (the file is then left out)."""
    name = str(ref.get("containerName") or "")
    containers = [*((pod.get("spec") or {}).get("initContainers") or []), *((pod.get("spec") or {}).get("containers") or [])]
    container = next((c for c in containers if c.get("name") == name), None)
    if container is None:
        raise MountFailure(f"container {name} not found")
    wanted = str(ref.get("resource") or "")
    kind, _, resource = wanted.partition(".")
    if kind not in ("limits", "requests") or resource not in ("cpu", "memory", "ephemeral-storage"):
        raise MountFailure(f"Unsupported container resource : {wanted}")
    resources = container.get("resources") or {}
    limits = dict(resources.get("limits") or {})
    requests = {**limits, **(resources.get("requests") or {})}  # the API server defaults requests to limits
    if kind == "limits" and (resource not in limits or quantity(limits[resource]) == 0):
        node = node_lookup(str((pod.get("spec") or {}).get("nodeName") or "")) if node_lookup is not None else None
        if node is None:
            return None
        limits[resource] = ((node.get("status") or {}).get("allocatable") or {}).get(resource, "0")
    value = quantity((limits if kind == "limits" else requests).get(resource, "0"))
    divisor = quantity(ref.get("divisor") or "1") or Decimal(1)
    if resource == "cpu":  # in thousandths, each rounded up, as Quantity.MilliValue
        return str(math.ceil(math.ceil(value * 1000) / math.ceil(divisor * 1000)))
    return str(math.ceil(math.ceil(value) / math.ceil(divisor)))


# -- service account tokens -------------------------------------------------------------------


def service_account_token(pod: Mapping[str, Any], source: Mapping[str, Any], lookup: Lookup, node_lookup: NodeLookup | None,
                          sandbox_folder: Path) -> str:
    """The token a projected ``serviceAccountToken`` source holds, as the kubelet's TokenRequest gets
    it: bound to the pod (and naming its node), for ``audience`` or the API server's, signed by the
    sandbox's service account key (tokens.py), so it authenticates as the pod's ServiceAccount while
    the pod and the account exist. ``expirationSeconds`` defaults to 3600; 3607, the kubelet's own
    ``kube-api-access-*`` request, is extended to a year with ``warnafter`` at 3607 s, as
    kube-apiserver does by default. The kubelet refreshes it after 80 % of the time asked for: within
    one such period every read gives the same token."""
    from labrunner.sandbox import tokens

    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    account_name = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    account = lookup("serviceaccounts", account_name)
    if account is None:
        raise MountFailure(f'failed to fetch token: serviceaccounts "{account_name}" not found')
    requested = int(source.get("expirationSeconds") or tokens.DEFAULT_EXPIRATION)
    started = _seconds((pod.get("status") or {}).get("startTime") or metadata.get("creationTimestamp"))
    refresh = max(int(requested * 0.8), 1)
    issued = started + max(int(time.time()) - started, 0) // refresh * refresh
    audiences = [str(source["audience"])] if source.get("audience") else list(tokens.API_AUDIENCES)
    expires_in, warn_after = tokens.lifetime(requested, audiences, pod_bound=True)
    node_name = str(spec.get("nodeName") or "")
    node = None
    if node_name:  # a Node that cannot be read is named without its uid, as kube-apiserver does
        node = (node_lookup(node_name) if node_lookup is not None else None) or {"metadata": {"name": node_name}}
    claims = tokens.bound_claims(account, audiences=audiences, issued=issued, expires_in=expires_in, warn_after=warn_after,
                                 jti=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{metadata.get('uid')}/{issued}/{source.get('path')}")),
                                 pod=pod, node=node)
    return tokens.sign(sandbox_folder, claims)


def _seconds(stamp: Any) -> int:
    from datetime import datetime, timezone

    try:
        return int(datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
    except ValueError:
        return int(time.time())


# -- the node's files, and claims -------------------------------------------------------------

_HOST_TYPES = {"Directory": "a directory", "DirectoryOrCreate": "a directory", "File": "a file", "FileOrCreate": "a file",
               "Socket": "a socket file", "CharDevice": "a character device", "BlockDevice": "a block device"}


def node_folder(data_root: Path, node: str) -> Path:
    """A simulated node's own files (its root folder), with the folders every node has."""
    root = data_root / NODES_FOLDER / (normal(node).strip("/").replace("/", "_") or "unscheduled")
    if not root.is_dir():
        for folder in NODE_FOLDERS:
            (root / folder).mkdir(parents=True, exist_ok=True)
    return root


def _host_path(source: Mapping[str, Any], pod: Mapping[str, Any], data_root: Path) -> Mount:
    """A hostPath volume: a path on the pod's node, shared by every pod there, checked as its
    ``type`` says (``DirectoryOrCreate`` and ``FileOrCreate`` create it; unset, a missing path
    is created as a folder, as the container runtime does). The simulated nodes have no
    sockets or devices, so those types always fail their check."""
    given = str(source.get("path") or "")
    kind = str(source.get("type") or "")
    if kind and kind not in _HOST_TYPES:
        raise MountFailure(f"{kind} is an invalid volume type")
    target = node_folder(data_root, str((pod.get("spec") or {}).get("nodeName") or "")) / normal(given).lstrip("/")
    if not target.exists():
        if kind in ("", "DirectoryOrCreate"):
            target.mkdir(parents=True, exist_ok=True)
        elif kind == "FileOrCreate":
            if not target.parent.is_dir():
                raise MountFailure(f"open {given}: no such file or directory")
            target.touch()
    if kind:
        matches = target.is_dir() if _HOST_TYPES[kind] == "a directory" else target.is_file() if _HOST_TYPES[kind] == "a file" else False
        if not matches:
            raise MountFailure(f"hostPath type check failed: {given} is not {_HOST_TYPES[kind]}")
    if target.is_file():
        return Mount("", False, folder=target.parent, sub_path=target.name)
    return Mount("", False, folder=target)


def _claim(volume: Mapping[str, Any], source: Mapping[str, Any], pod: Mapping[str, Any], data_root: Path, lookup: Lookup,
           node_lookup: NodeLookup | None) -> Mount:
    """A persistentVolumeClaim volume: its claim's bound PersistentVolume, set up as its source
    says. The kubelet's volume manager words what stops it (desired_state_of_world_populator)."""
    namespace = str(pod["metadata"]["namespace"])
    claim_name = str(source.get("claimName") or "")
    unmounted = f"{UNMOUNTED} unmounted volumes=[{volume.get('name')}], unattached volumes=[{volume.get('name')}]: error processing PVC {namespace}/{claim_name}"
    claim = lookup("persistentvolumeclaims", claim_name)
    if claim is None:
        raise MountFailure(f'{unmounted}: failed to fetch PVC from API server: persistentvolumeclaims "{claim_name}" not found')
    if (claim.get("metadata") or {}).get("deletionTimestamp"):
        raise MountFailure(f"{unmounted}: can't start pod because PVC {namespace}/{claim_name} is being deleted")
    volume_name = str((claim.get("spec") or {}).get("volumeName") or "")
    if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
        raise MountFailure(f"{unmounted}: PVC is not bound")
    persistent = lookup("persistentvolumes", volume_name)
    if persistent is None:
        raise MountFailure(f'{unmounted}: failed to fetch PV {volume_name} from API server: persistentvolumes "{volume_name}" not found')
    read_only = bool(source.get("readOnly"))
    spec = persistent.get("spec") or {}
    node = node_lookup(str((pod.get("spec") or {}).get("nodeName") or "")) if node_lookup is not None else None
    if node is not None:
        from labrunner.sandbox.storage.binding import node_affinity_allows

        if not node_affinity_allows(persistent, node):  # a pod placed past the scheduler, on a node the volume is not on
            raise MountFailure(f'MountVolume.NodeAffinity check failed for volume "{volume_name}" : no matching NodeSelectorTerms')
    if isinstance(spec.get("hostPath"), dict):
        mount = _host_path(spec["hostPath"], pod, data_root)
        return Mount("", read_only, folder=mount.folder, sub_path=mount.sub_path)
    if isinstance(spec.get("local"), dict):
        path = str(spec["local"].get("path") or "")
        target = node_folder(data_root, str((pod.get("spec") or {}).get("nodeName") or "")) / normal(path).lstrip("/")
        if not target.exists():
            raise MountFailure(f'MountVolume.NewMounter initialization failed for volume "{volume_name}" : path "{path}" does not exist')
        return Mount("", read_only, folder=target)
    return Mount("", read_only, folder=volume_folders(data_root, persistent)[0])


def volume_folders(data_root: Path, persistent: Mapping[str, Any]) -> list[Path]:
    """Where a PersistentVolume's files are: for a hostPath or local volume, its path on every
    simulated node that has it; an nfs volume's shared folder; else the volume's own folder."""
    spec = persistent.get("spec") or {}
    for kind in ("hostPath", "local"):
        if isinstance(spec.get(kind), dict):
            path = normal(str(spec[kind].get("path") or "")).lstrip("/")
            nodes = data_root / NODES_FOLDER
            return [node / path for node in sorted(nodes.iterdir())] if nodes.is_dir() and path else []
    if isinstance(nfs := spec.get("nfs"), dict):
        server = normal(str(nfs.get("server") or "")).strip("/").replace("/", "_") or "server"
        return [data_root / NFS_FOLDER / server / normal(str(nfs.get("path") or "/")).lstrip("/")]
    name = normal(str((persistent.get("metadata") or {}).get("name") or "")).strip("/").replace("/", "_")
    return [data_root / VOLUMES_FOLDER / name]
