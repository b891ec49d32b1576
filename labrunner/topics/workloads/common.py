"""What the workloads kinds share: a Deployment and its pod template, its ReplicaSets and
pods by revision, images compared as the kubelet pulls them, and resource quantities."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.topics.basics.selectors import selector_text

Obj = dict[str, Any]

TEMPLATE = "spec.template.spec"
"""Where a Deployment's pod spec is, as the learner's field paths start."""


def find(cluster: ClusterPort, plural: str, name: str, namespace: str) -> Obj | None:
    try:
        return cluster.get(plural, name, namespace)
    except errors.NotFound:
        return None


def pod_spec(workload: Mapping[str, Any]) -> Obj:
    spec: Obj = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    return spec


def containers(workload: Mapping[str, Any], name: str | None = None) -> list[tuple[int, Obj]]:
    """The pod template's containers with their index, only ``name`` when given."""
    return [(index, c) for index, c in enumerate(pod_spec(workload).get("containers") or [])
            if name is None or c.get("name") == name]


def image_key(image: str) -> str:
    """``docker.io/library/nginx:1.27`` and ``nginx:1.27`` are one image; no tag is ``:latest``."""
    image = image.removeprefix("docker.io/").removeprefix("library/")
    last = image.rsplit("/", 1)[-1]
    return image if (":" in last or "@" in last) else f"{image}:latest"


def revision(obj: Mapping[str, Any]) -> int:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    try:
        return int(annotations.get("deployment.kubernetes.io/revision", 0))
    except ValueError:
        return 0


def owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    return any(ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def replica_sets(cluster: ClusterPort, deployment: Mapping[str, Any], namespace: str) -> list[Obj]:
    """The Deployment's ReplicaSets, newest revision last."""
    selector = selector_text((deployment.get("spec") or {}).get("selector"))
    found = [rs for rs in cluster.list("replicasets", namespace, labels=selector) if owned_by(rs, deployment)]
    return sorted(found, key=revision)


def pods_of(cluster: ClusterPort, workload: Mapping[str, Any], namespace: str) -> list[Obj]:
    """The pods the workload's selector matches that are not on their way out."""
    selector = selector_text((workload.get("spec") or {}).get("selector"))
    return [pod for pod in cluster.list("pods", namespace, labels=selector)
            if not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") in ("Pending", "Running")]


_SUFFIXES: dict[str, Decimal | int] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
             "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
             "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")


def quantity(value: Any) -> Decimal | None:
    """A resource.Quantity as a number (``100m`` is 0.1, ``64Mi`` is 67108864); None if it is not one."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    try:
        number, suffix = Decimal(match.group(1)), match.group(2) or ""
    except InvalidOperation:
        return None
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * Decimal(_SUFFIXES[suffix])
