"""The kinds the sandbox serves, and API discovery built from them.

One table says, per resource, what discovery tells kubectl (group, version,
kind, plural and singular names, short names, scope, verbs, categories,
subresources); the aggregated (apidiscovery.k8s.io/v2) and legacy discovery
documents are both generated from it, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[tuple[str, str, str, str], ...] = field(default=())
    """(subresource, group, version, kind) of the response."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return self.group, self.version

    def describe(self) -> str:
        """How the API server names it in messages: ``deployments.apps``, ``pods``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _status(group: str, version: str, kind: str) -> tuple[str, str, str, str]:
    return ("status", group, version, kind)


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", "namespace", namespaced=False, short_names=("ns",),
                 verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
                 subresources=(_status("", "v1", "Namespace"), ("finalize", "", "v1", "Namespace"))),
    ResourceType("", "v1", "Node", "nodes", "node", namespaced=False, short_names=("no",),
                 subresources=(_status("", "v1", "Node"),)),
    ResourceType("", "v1", "Pod", "pods", "pod", short_names=("po",), categories=("all",),
                 subresources=(_status("", "v1", "Pod"), ("exec", "", "v1", "PodExecOptions"), ("attach", "", "v1", "PodAttachOptions"),
                               ("log", "", "v1", "Pod"), ("portforward", "", "v1", "PodPortForwardOptions"), ("eviction", "policy", "v1", "Eviction"))),
    ResourceType("", "v1", "Service", "services", "service", short_names=("svc",), categories=("all",),
                 verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
                 subresources=(_status("", "v1", "Service"),)),
    ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", short_names=("ep",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", short_names=("cm",)),
    ResourceType("", "v1", "Secret", "secrets", "secret"),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", short_names=("pvc",),
                 subresources=(_status("", "v1", "PersistentVolumeClaim"),)),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", namespaced=False, short_names=("pv",),
                 subresources=(_status("", "v1", "PersistentVolume"),)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", short_names=("sa",),
                 subresources=(("token", "authentication.k8s.io", "v1", "TokenRequest"),)),
    ResourceType("", "v1", "Event", "events", "event", short_names=("ev",)),
    ResourceType("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", short_names=("quota",),
                 subresources=(_status("", "v1", "ResourceQuota"),)),
    ResourceType("", "v1", "LimitRange", "limitranges", "limitrange", short_names=("limits",)),
    ResourceType("apps", "v1", "Deployment", "deployments", "deployment", short_names=("deploy",), categories=("all",),
                 subresources=(_status("apps", "v1", "Deployment"), ("scale", "autoscaling", "v1", "Scale"))),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", "replicaset", short_names=("rs",), categories=("all",),
                 subresources=(_status("apps", "v1", "ReplicaSet"), ("scale", "autoscaling", "v1", "Scale"))),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", "daemonset", short_names=("ds",), categories=("all",),
                 subresources=(_status("apps", "v1", "DaemonSet"),)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", "statefulset", short_names=("sts",), categories=("all",),
                 subresources=(_status("apps", "v1", "StatefulSet"), ("scale", "autoscaling", "v1", "Scale"))),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision"),
    ResourceType("", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", short_names=("rc",),
                 categories=("all",), subresources=(_status("", "v1", "ReplicationController"), ("scale", "autoscaling", "v1", "Scale"))),
    ResourceType("batch", "v1", "Job", "jobs", "job", categories=("all",), subresources=(_status("batch", "v1", "Job"),)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", short_names=("cj",), categories=("all",),
                 subresources=(_status("batch", "v1", "CronJob"),)),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler",
                 short_names=("hpa",), categories=("all",), subresources=(_status("autoscaling", "v2", "HorizontalPodAutoscaler"),)),
    # Served too (kubectl autoscale creates v1), stored as v2: conversion.py converts between them.
    ResourceType("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler",
                 short_names=("hpa",), categories=("all",), subresources=(_status("autoscaling", "v1", "HorizontalPodAutoscaler"),)),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice"),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", short_names=("netpol",)),
    # Served and validated here; what serves traffic for them is an ingress controller a learner installs (l7/ingress).
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", short_names=("ing",),
                 subresources=(_status("networking.k8s.io", "v1", "Ingress"),)),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", namespaced=False),
    ResourceType("events.k8s.io", "v1", "Event", "events", "event", short_names=("ev",)),
    # Heartbeats (a workshop learner's, leader election's): stored, never acted on.
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease"),
    # Asked, never stored: access reviews (`kubectl auth can-i`, labrunner's permission checks), `kubectl auth whoami`.
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "", namespaced=False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", "", namespaced=False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", "", verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "", namespaced=False, verbs=("create",)),
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "", namespaced=False, verbs=("create",)),
    ResourceType("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", "certificatesigningrequest",
                 namespaced=False, short_names=("csr",),
                 subresources=(_status("certificates.k8s.io", "v1", "CertificateSigningRequest"),
                               ("approval", "certificates.k8s.io", "v1", "CertificateSigningRequest"))),
    # RBAC: enforced on every request (authorization.py, with labrunner.topics.rbac's engine).
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", "role"),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding"),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", namespaced=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", namespaced=False),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", namespaced=False, short_names=("sc",)),
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", namespaced=False, short_names=("pc",)),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", short_names=("pdb",),
                 subresources=(_status("policy", "v1", "PodDisruptionBudget"),)),
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition",
                 namespaced=False, short_names=("crd", "crds"), categories=("api-extensions",),
                 subresources=(_status("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),)),
)

_custom: tuple[ResourceType, ...] = ()


def set_custom_resources(found: tuple[ResourceType, ...]) -> None:
    """The kinds the stored CustomResourceDefinitions define (replacing the previous set)."""
    global _custom, _BY_PATH
    _custom = found
    _BY_PATH = {(r.group, r.version, r.plural): r for r in all_resources()}


def all_resources() -> tuple[ResourceType, ...]:
    return RESOURCES + _custom


def custom_resources() -> tuple[ResourceType, ...]:
    return _custom


def from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    found = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = (("status", spec.get("group", ""), version.get("name", ""), names.get("kind", "")),) if (version.get("subresources") or {}).get("status") is not None else ()
        found.append(ResourceType(
            str(spec.get("group", "")), str(version.get("name", "")), str(names.get("kind", "")), str(names.get("plural", "")),
            str(names.get("singular") or str(names.get("kind", "")).lower()), namespaced=spec.get("scope") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()), subresources=subresources,
        ))
    return found

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND: dict[tuple[str, str], ResourceType] = {}
for _resource in RESOURCES:  # a kind served at two versions: the first listed (the storage version) names it
    if _resource.group != "events.k8s.io":
        _BY_KIND.setdefault((_resource.group, _resource.kind), _resource)


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    group = api_version.rpartition("/")[0]
    return _BY_KIND.get((group, kind))


def group_versions() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for resource in all_resources():
        versions = groups.setdefault(resource.group, [])
        if resource.version not in versions:
            versions.append(resource.version)
    return groups


# -- aggregated discovery (apidiscovery.k8s.io/v2) -----------------------------------

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _aggregated_resource(resource: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource.plural,
        "responseKind": {"group": resource.group, "version": resource.version, "kind": resource.kind},
        "scope": "Namespaced" if resource.namespaced else "Cluster",
        "singularResource": resource.singular,
        "verbs": list(resource.verbs),
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    if resource.subresources:
        entry["subresources"] = [
            {"subresource": name, "responseKind": {"group": group, "version": version, "kind": kind}, "verbs": ["get", "patch", "update"]}
            for name, group, version, kind in resource.subresources
        ]
    return entry


def aggregated_discovery(core: bool) -> dict[str, Any]:
    """``/api`` (core=True) or ``/apis`` as an APIGroupDiscoveryList."""
    items = []
    for group, versions in group_versions().items():
        if (group == "") != core:
            continue
        items.append({
            "metadata": {"name": group} if group else {},
            "versions": [
                {"version": version, "freshness": "Current",
                 "resources": [_aggregated_resource(r) for r in all_resources() if r.group_version == (group, version)]}
                for version in versions
            ],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


# -- legacy discovery ---------------------------------------------------------------------


def api_versions() -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_group_list() -> dict[str, Any]:
    groups = []
    for group, versions in group_versions().items():
        if not group:
            continue
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": listed, "preferredVersion": listed[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    resources = [r for r in all_resources() if r.group_version == (group, version)]
    if not resources:
        return None
    listed = []
    for resource in resources:
        entry: dict[str, Any] = {
            "name": resource.plural, "singularName": resource.singular, "namespaced": resource.namespaced,
            "kind": resource.kind, "verbs": list(resource.verbs),
        }
        if resource.short_names:
            entry["shortNames"] = list(resource.short_names)
        if resource.categories:
            entry["categories"] = list(resource.categories)
        listed.append(entry)
        for name, sub_group, sub_version, kind in resource.subresources:
            listed.append({"name": f"{resource.plural}/{name}", "singularName": "", "namespaced": resource.namespaced,
                           "group": sub_group, "version": sub_version, "kind": kind, "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version, "resources": listed}
