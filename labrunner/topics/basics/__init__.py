"""The basics every lab builds on: the cluster, namespaces, workloads, Services,
data in a workload, probes from a pod, and a lab author's own script.

This module stays cheap to import (no pydantic): the kinds are named, and loaded from
:mod:`.kinds` when the registry first needs them."""

from __future__ import annotations

from labrunner.registry.types import Requirement, Resource, Topic
from labrunner.topics.basics import behind

RESOURCES = (
    Resource(plural="namespaces", kind="Namespace", namespaced=False),
    Resource(plural="nodes", kind="Node", namespaced=False),
    Resource(plural="pods", kind="Pod"),
    Resource(plural="services", kind="Service"),
    Resource(plural="endpoints", kind="Endpoints"),
    Resource(plural="configmaps", kind="ConfigMap"),
    Resource(plural="secrets", kind="Secret"),
    Resource(plural="serviceaccounts", kind="ServiceAccount"),
    Resource(plural="events", kind="Event"),
    Resource(plural="deployments", kind="Deployment", group="apps"),
    Resource(plural="replicasets", kind="ReplicaSet", group="apps"),
    Resource(plural="daemonsets", kind="DaemonSet", group="apps"),
    Resource(plural="statefulsets", kind="StatefulSet", group="apps"),
    Resource(plural="endpointslices", kind="EndpointSlice", group="discovery.k8s.io"),
)

REQUIREMENTS = (
    Requirement(id="kubectl", text="kubectl on your PATH",
                check={"kind": "command-available", "command": "kubectl", "says": "kubectl is on your PATH"}),
    Requirement(id="nodeport", text="NodePort services reachable from your machine (or kubectl port-forward)"),
    Requirement(id="cluster-admin", text="permission to create namespaces and cluster-scoped objects",
                check={"kind": "can-i", "verb": "create", "resource": "namespaces",
                       "says": "your credentials may create namespaces"}),
    Requirement(id="kube-system-write", text="permission to label the kube-system namespace",
                check={"kind": "can-i", "verb": "patch", "resource": "namespaces", "name": "kube-system",
                       "says": "your credentials may label kube-system"}),
)

TOPIC = Topic(
    name="basics",
    kinds="labrunner.topics.basics.kinds:KINDS",
    resources=RESOURCES,
    requirements=REQUIREMENTS,
    explainers=(behind.service_state,),
)
