"""What a new sandbox holds: the namespaces every cluster has, and two nodes
named so that nobody mistakes them for a real cluster."""

from __future__ import annotations

from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.api import apply_defaults
from labrunner.sandbox.store import Store

NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NODES = (("labrunner-sandbox-control-plane", "10.89.0.2", True), ("labrunner-sandbox-worker", "10.89.0.3", False))


def node(name: str, address: str, control_plane: bool) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "labrunner.dev/sandbox": "true"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": f"10.244.{0 if control_plane else 1}.0/24"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "the labrunner sandbox simulates this node"}],
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.32.4", "kubeProxyVersion": "v1.32.4", "osImage": "labrunner sandbox (simulated)",
                         "kernelVersion": "n/a", "containerRuntimeVersion": "labrunner://simulated", "operatingSystem": "linux", "architecture": "amd64"},
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
        },
    }


def seed(store: Store) -> None:
    namespaces = resources.lookup("", "v1", "namespaces")
    nodes = resources.lookup("", "v1", "nodes")
    assert namespaces is not None and nodes is not None
    for name in NAMESPACES:
        obj: dict[str, Any] = {"metadata": {"name": name}}
        apply_defaults(namespaces, obj)
        store.create(namespaces, obj)
    for name, address, control_plane in NODES:
        store.create(nodes, node(name, address, control_plane))
