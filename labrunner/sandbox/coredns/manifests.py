"""CoreDNS as ``kubeadm init`` 1.32 installs it (cmd/kubeadm/app/phases/addons/dns/manifests.go):
the ``coredns`` ConfigMap with its Corefile, the Deployment mounting it, the kube-dns Service and
the coredns ServiceAccount (its ClusterRole and binding are in the bootstrap policy)."""

from __future__ import annotations

import copy
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.defaults import KUBE_DNS_IP
from labrunner.sandbox.store import AlreadyExists, NotFound, Store

IMAGE = "registry.k8s.io/coredns/coredns:v1.11.3"
COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
"""
"""kubeadm 1.32's Corefile for the cluster domain cluster.local (1.33 adds ``disable success`` and
``disable denial`` to cache: kubernetes/kubernetes#128359)."""
LABELS = {"k8s-app": "kube-dns"}
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def config_map() -> dict[str, Any]:
    return {"metadata": {"name": "coredns", "namespace": "kube-system"}, "data": {"Corefile": COREFILE}}


def service_account() -> dict[str, Any]:
    return {"metadata": {"name": "coredns", "namespace": "kube-system"}}


def pod_spec() -> dict[str, Any]:
    return {
        "priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
            "labelSelector": {"matchExpressions": [{"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
            "topologyKey": "kubernetes.io/hostname"}}]}},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}, dict(CONTROL_PLANE_TAINT)],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "containers": [{
            "name": "coredns", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
            "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
            "args": ["-conf", "/etc/coredns/Corefile"],
            "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
            "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"}, {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                      {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                      {"containerPort": 8080, "name": "liveness-probe", "protocol": "TCP"},
                      {"containerPort": 8181, "name": "readiness-probe", "protocol": "TCP"}],
            "livenessProbe": {"httpGet": {"path": "/health", "port": "liveness-probe", "scheme": "HTTP"}, "initialDelaySeconds": 60,
                              "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": 5},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "readiness-probe", "scheme": "HTTP"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                "readOnlyRootFilesystem": True},
        }],
        "dnsPolicy": "Default",
        "volumes": [{"name": "config-volume", "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}}],
    }


def deployment() -> dict[str, Any]:
    return {
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dict(LABELS)},
        "spec": {"replicas": 2, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                 "selector": {"matchLabels": dict(LABELS)}, "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod_spec()}},
    }


def service() -> dict[str, Any]:
    return {
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
                     "labels": {**LABELS, "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
                     "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
        "spec": {"selector": dict(LABELS), "clusterIP": KUBE_DNS_IP, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
    }


def _kinds() -> dict[str, Any]:
    found = {plural: resources.lookup(group, "v1", plural) for group, plural in
             (("", "configmaps"), ("", "serviceaccounts"), ("apps", "deployments"), ("", "services"))}
    assert all(found.values())
    return found


def install_coredns(store: Store) -> None:
    """What kubeadm's CoreDNS addon phase creates in a new cluster."""
    from labrunner.sandbox.resource_hooks import apply_defaults

    kinds = _kinds()
    for plural, obj in (("serviceaccounts", service_account()), ("configmaps", config_map()), ("deployments", deployment()),
                        ("services", service())):
        apply_defaults(kinds[plural], obj, store)
        try:
            store.create(kinds[plural], obj)
        except AlreadyExists:
            pass


def ensure_coredns(store: Store) -> None:
    """A sandbox made before CoreDNS read its Corefile: its Deployment (without the config
    volume, and no ``coredns`` ConfigMap beside it) gets kubeadm's, as ``kubeadm upgrade`` would
    give it, with the ConfigMap and ServiceAccount it needs."""
    from labrunner.sandbox.resource_hooks import apply_defaults

    kinds = _kinds()
    try:
        current = store.get(kinds["deployments"], "kube-system", "coredns")
    except NotFound:
        return
    template = ((current.get("spec") or {}).get("template") or {}).get("spec") or {}
    if any(volume.get("name") == "config-volume" for volume in template.get("volumes") or []):
        return
    try:
        store.get(kinds["configmaps"], "kube-system", "coredns")
        return  # the learner's own arrangement: left as it is
    except NotFound:
        pass
    for plural, obj in (("serviceaccounts", service_account()), ("configmaps", config_map())):
        apply_defaults(kinds[plural], obj, store)
        try:
            store.create(kinds[plural], obj)
        except AlreadyExists:
            pass
    upgraded = copy.deepcopy(current)
    upgraded["spec"]["template"]["spec"] = pod_spec()
    apply_defaults(kinds["deployments"], upgraded, store, current)
    store.update(kinds["deployments"], upgraded)
