"""What a new sandbox holds: the namespaces every cluster has, two nodes named so that nobody
mistakes them for a real cluster, and what ``kubeadm init`` adds (CoreDNS, its RBAC objects).
kube-apiserver's own default RBAC policy is not here: the server puts it back at every start
(:func:`labrunner.sandbox.bootstrap_policy.ensure_bootstrap_policy`)."""

from __future__ import annotations

import uuid
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.bootstrap_policy import install_kubeadm_policy
from labrunner.sandbox.resource_hooks import apply_defaults
from labrunner.sandbox.defaults import KUBE_DNS_IP
from labrunner.sandbox.store import Store, now

NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NODES = (("labrunner-sandbox-control-plane", "10.89.0.2", True), ("labrunner-sandbox-worker", "10.89.0.3", False))


def node(name: str, address: str, control_plane: bool) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "labrunner.dev/sandbox": "true"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    identity = uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.labrunner.sandbox")
    stamp = now()
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": f"10.244.{0 if control_plane else 1}.0/24"},
        "status": {
            "conditions": [
                *({"type": kind, "status": "False", "reason": reason, "message": message, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
                  for kind, reason, message in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                                                ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                                                ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))),
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "the labrunner sandbox simulates this node",
                 "lastHeartbeatTime": stamp, "lastTransitionTime": stamp},
            ],
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            # Identifiers derived from the node's name: stable across restarts, the same shape as a real node's
            "nodeInfo": {"machineID": identity.hex, "systemUUID": str(identity), "bootID": str(uuid.uuid5(identity, "boot")),
                         "kubeletVersion": "v1.32.4", "kubeProxyVersion": "v1.32.4", "osImage": "labrunner sandbox (simulated)",
                         "kernelVersion": "6.1.0-labrunner", "containerRuntimeVersion": "labrunner://simulated", "operatingSystem": "linux",
                         "architecture": "amd64"},
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi", "hugepages-2Mi": "0"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi", "hugepages-2Mi": "0"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        },
    }


COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.11.3"


def coredns() -> tuple[dict[str, Any], dict[str, Any]]:
    """CoreDNS as kubeadm installs it: a Deployment and the kube-dns Service, labelled k8s-app=kube-dns."""
    labels = {"k8s-app": "kube-dns"}
    deployment = {
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
                "containers": [{"name": "coredns", "image": COREDNS_IMAGE, "args": ["-conf", "/etc/coredns/Corefile"],
                                "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                          {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                          {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]}],
            }},
        },
    }
    service = {
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {**labels, "kubernetes.io/name": "CoreDNS"}},
        "spec": {"selector": labels, "clusterIP": KUBE_DNS_IP, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
    }
    return deployment, service


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
    deployments = resources.lookup("apps", "v1", "deployments")
    services = resources.lookup("", "v1", "services")
    assert deployments is not None and services is not None
    deployment, service = coredns()
    apply_defaults(deployments, deployment, store)
    store.create(deployments, deployment)
    apply_defaults(services, service, store)
    store.create(services, service)
    install_kubeadm_policy(store)


def report_nodes(store: Store) -> None:
    """What a kubelet does when it starts: its node's status says what it is now (a sandbox made
    by an older labrunner gets the fields clients read, such as nodeInfo's machineID). Labels,
    taints and spec are the learner's and stay as they are."""
    nodes = resources.lookup("", "v1", "nodes")
    assert nodes is not None
    from labrunner.sandbox.store import NotFound

    for name, address, control_plane in NODES:
        try:
            stored = store.get(nodes, "", name)
        except NotFound:
            continue
        fresh = node(name, address, control_plane)["status"]
        status = stored.setdefault("status", {})
        if status.get("nodeInfo") == fresh["nodeInfo"] and [c.get("type") for c in status.get("conditions") or []] == \
                [c["type"] for c in fresh["conditions"]]:
            continue
        for key in ("nodeInfo", "conditions", "capacity", "allocatable", "daemonEndpoints"):
            status[key] = fresh[key]
        store.update(nodes, stored)
