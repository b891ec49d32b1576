"""`kubectl get` columns for the apps kinds, as kube-apiserver's printers (pkg/printers/internalversion) give them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labrunner.sandbox.tables import Column, Row, age

NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)
CONTAINERS: Column = ("Containers", "string", 1)
IMAGES: Column = ("Images", "string", 1)


def _containers(obj: dict[str, Any]) -> list[str]:
    """layoutContainerCells: the template's container names and images, comma-separated."""
    containers = ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    return [",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers)]


def _statefulsets(obj: dict[str, Any]) -> Row:
    """printStatefulSet: READY is readyReplicas/spec.replicas."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [obj["metadata"]["name"], f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}", age(obj), *_containers(obj)]


def _replicationcontrollers(obj: dict[str, Any]) -> Row:
    """printReplicationController: DESIRED, CURRENT, READY; -o wide adds the selector as labels.FormatLabels writes it."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [obj["metadata"]["name"], int(spec.get("replicas", 1)), int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0),
            age(obj), *_containers(obj), selector]


def _controllerrevisions(obj: dict[str, Any]) -> Row:
    """printControllerRevision: CONTROLLER is the controller ownerReference as ``statefulset.apps/web``."""
    controller = next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)
    name = "<none>"
    if controller is not None:
        group = str(controller.get("apiVersion", "")).rpartition("/")[0]
        kind = str(controller.get("kind", ""))
        name = f"{kind}.{group}".lower() + f"/{controller.get('name', '')}" if group else f"{kind.lower()}/{controller.get('name', '')}"
    return [obj["metadata"]["name"], name, int(obj.get("revision") or 0), age(obj)]


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "statefulsets": ([NAME, ("Ready", "string", 0), AGE, CONTAINERS, IMAGES], _statefulsets),
    "replicationcontrollers": ([NAME, ("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0), AGE,
                                CONTAINERS, IMAGES, ("Selector", "string", 1)], _replicationcontrollers),
    "controllerrevisions": ([NAME, ("Controller", "string", 0), ("Revision", "string", 0), AGE], _controllerrevisions),
}
