"""What a new sandbox holds: the namespaces every cluster has, three nodes named so that nobody
mistakes them for a real cluster (a control plane and two workers, as kind names them), the
``kubernetes`` Service kube-apiserver keeps in ``default``, and what ``kubeadm init`` adds (the
control plane's taint, CoreDNS, its RBAC objects).

Each node is a small kind or kubeadm VM: 2 CPUs, 4 GiB of memory, 20 GiB of disk and 110 pods,
allocatable equal to capacity as kind's nodes report it (kind's kubelet reserves nothing and sets
its eviction thresholds to 0%). They are labelled as a cloud provider labels them: one region,
the control plane and the first worker in one zone, the second worker in another.
kube-apiserver's own default RBAC policy is not here: the server puts it back at every start
(:func:`labrunner.sandbox.bootstrap_policy.ensure_bootstrap_policy`)."""

from __future__ import annotations

import uuid
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.bootstrap_policy import install_kubeadm_policy
from labrunner.sandbox.coredns.manifests import install_coredns
from labrunner.sandbox.resource_hooks import apply_defaults
from labrunner.sandbox.store import Store, now

NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NODES = (("labrunner-sandbox-control-plane", "10.89.0.2", True), ("labrunner-sandbox-worker", "10.89.0.3", False),
         ("labrunner-sandbox-worker2", "10.89.0.4", False))
REGION = "labrunner-1"
ZONES = {"labrunner-sandbox-control-plane": "labrunner-1a", "labrunner-sandbox-worker": "labrunner-1a", "labrunner-sandbox-worker2": "labrunner-1b"}
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
"""What ``kubeadm init`` puts on its node (``--register-with-taints``), so workloads go to the workers."""
KUBERNETES_SERVICE_IP = "10.96.0.1"
"""The first address of the service range (``--service-cluster-ip-range``), which kube-apiserver keeps
for its own Service."""
API_SERVER_PORT = 6443
"""kube-apiserver's ``--secure-port`` as kubeadm sets it, where the Service's endpoint points."""


def default_labels(name: str) -> dict[str, str]:
    """The labels a kubelet sets on its node at registration and puts back at every start
    (``updateDefaultLabels``): hostname, OS, architecture, and the zone and region the cloud gives it."""
    return {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/region": REGION, "topology.kubernetes.io/zone": ZONES.get(name, f"{REGION}a")}


def node(name: str, address: str, control_plane: bool) -> dict[str, Any]:
    labels = {**default_labels(name), "labrunner.dev/sandbox": "true"}
    spec: dict[str, Any] = {"podCIDR": f"10.244.{[seeded for seeded, _, _ in NODES].index(name)}.0/24"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        spec["taints"] = [dict(CONTROL_PLANE_TAINT)]
    identity = uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.labrunner.sandbox")
    stamp = now()
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
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
    ensure_kubernetes_service(store)
    install_coredns(store)  # its ConfigMap, Deployment, kube-dns Service and ServiceAccount
    install_kubeadm_policy(store)
    from labrunner.sandbox.storage.localpath import install_local_path

    install_local_path(store)  # kind's default StorageClass and its provisioner


def report_nodes(store: Store) -> None:
    """What a kubelet does when it starts: a node that is not registered (deleted, or a worker an
    older labrunner's sandbox did not have) registers again, as a worker, untainted; a registered
    node's status says what it is now (a sandbox made by an older labrunner gets the fields
    clients read, such as nodeInfo's machineID) and its default labels are put back
    (``updateDefaultLabels``: the zone a sandbox made before zones gets). Other labels, taints
    and spec are the learner's and stay as they are: kubeadm taints the control plane at init
    only, so an older sandbox's control plane stays untainted."""
    nodes = resources.lookup("", "v1", "nodes")
    assert nodes is not None
    from labrunner.sandbox.store import NotFound

    for name, address, control_plane in NODES:
        try:
            stored = store.get(nodes, "", name)
        except NotFound:
            store.create(nodes, node(name, address, False))  # the role label and taint are kubeadm's, not the kubelet's
            continue
        fresh = node(name, address, control_plane)["status"]
        status = stored.setdefault("status", {})
        labels = stored["metadata"].setdefault("labels", {})
        wanted = default_labels(name)
        if status.get("nodeInfo") == fresh["nodeInfo"] and [c.get("type") for c in status.get("conditions") or []] == \
                [c["type"] for c in fresh["conditions"]] and all(labels.get(k) == v for k, v in wanted.items()):
            continue
        for key in ("nodeInfo", "conditions", "capacity", "allocatable", "daemonEndpoints"):
            status[key] = fresh[key]
        labels.update(wanted)
        store.update(nodes, stored)


def ensure_kubernetes_service(store: Store) -> None:
    """The ``kubernetes`` Service in ``default`` as kube-apiserver's kubernetesservice controller
    creates it when it is missing (CreateOrUpdateMasterServiceIfNeeded: ClusterIP 10.96.0.1, port
    ``https`` 443 to 6443, the labels component=apiserver and provider=kubernetes, no selector),
    with the Endpoints and the EndpointSlice its endpoint reconciler writes (the EndpointsAdapter:
    the control plane's address on 6443, ``skip-mirror`` on the Endpoints, a slice named
    ``kubernetes`` labelled only with its service name). An existing Service is left as it is, as
    the controller leaves it since 1.17; the endpoints are put back as they should be."""
    from labrunner.sandbox.defaults import InvalidService
    from labrunner.sandbox.store import AlreadyExists, NotFound

    services, endpoints, slices = (resources.lookup("", "v1", "services"), resources.lookup("", "v1", "endpoints"),
                                   resources.lookup("discovery.k8s.io", "v1", "endpointslices"))
    assert services is not None and endpoints is not None and slices is not None
    service: dict[str, Any] = {
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": KUBERNETES_SERVICE_IP, "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
                 "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": API_SERVER_PORT}]},
    }
    try:
        store.get(services, "default", "kubernetes")
    except NotFound:
        try:
            apply_defaults(services, service, store)
            store.create(services, service)
        except (InvalidService, AlreadyExists):  # 10.96.0.1 taken by a learner's Service: kube-apiserver could not start
            return
    address = next(address for name, address, control_plane in NODES if control_plane)
    port = {"name": "https", "port": API_SERVER_PORT, "protocol": "TCP"}
    wanted: tuple[tuple[Any, dict[str, Any], tuple[str, ...]], ...] = (
        (endpoints, {"metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                     "subsets": [{"addresses": [{"ip": address}], "ports": [dict(port)]}]}, ("subsets",)),
        (slices, {"metadata": {"name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
                  "addressType": "IPv4", "endpoints": [{"addresses": [address], "conditions": {"ready": True}}], "ports": [dict(port)]},
         ("addressType", "endpoints", "ports")),
    )
    for resource, obj, fields in wanted:
        try:
            current = store.get(resource, "default", "kubernetes")
        except NotFound:
            try:
                store.create(resource, obj)
            except AlreadyExists:
                pass
            continue
        if any(current.get(key) != obj[key] for key in fields) or current["metadata"].get("labels") != obj["metadata"]["labels"]:
            current.update({key: obj[key] for key in fields})
            current["metadata"]["labels"] = obj["metadata"]["labels"]
            store.update(resource, current)
