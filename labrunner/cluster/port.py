"""The cluster port: everything labrunner asks of a cluster, as one narrow interface.

Plain data in and out (objects are the API's JSON as dicts) and the typed errors
of :mod:`labrunner.cluster.errors`. Exactly one implementation
(:mod:`labrunner.cluster.kube`, over the official kubernetes client) serves real
clusters and the sandbox alike; checks and the session see only this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

KINDS: dict[str, tuple[str, str, bool]] = {
    "namespaces": ("", "v1", False),
    "nodes": ("", "v1", False),
    "pods": ("", "v1", True),
    "services": ("", "v1", True),
    "endpoints": ("", "v1", True),
    "configmaps": ("", "v1", True),
    "secrets": ("", "v1", True),
    "serviceaccounts": ("", "v1", True),
    "events": ("", "v1", True),
    "deployments": ("apps", "v1", True),
    "replicasets": ("apps", "v1", True),
    "daemonsets": ("apps", "v1", True),
    "statefulsets": ("apps", "v1", True),
    "networkpolicies": ("networking.k8s.io", "v1", True),
    "endpointslices": ("discovery.k8s.io", "v1", True),
}
"""The resources labrunner reads and writes: plural -> (group, version, namespaced)."""

KIND_PLURALS = {
    "Namespace": "namespaces", "Node": "nodes", "Pod": "pods", "Service": "services", "Endpoints": "endpoints",
    "ConfigMap": "configmaps", "Secret": "secrets", "ServiceAccount": "serviceaccounts", "Event": "events",
    "Deployment": "deployments", "ReplicaSet": "replicasets", "DaemonSet": "daemonsets", "StatefulSet": "statefulsets",
    "NetworkPolicy": "networkpolicies", "EndpointSlice": "endpointslices",
}


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int


@dataclass(frozen=True)
class ClusterInfo:
    context: str | None
    server: str
    namespace: str
    is_sandbox: bool
    kubeconfig: tuple[Path, ...] = ()
    """The kubeconfig files the port reads: a learner's shell uses the same."""


class ClusterPort(Protocol):
    info: ClusterInfo

    def version(self) -> dict[str, Any]: ...

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    def list(self, kind: str, namespace: str | None = None, *, labels: str = "", fields: str = "") -> list[dict[str, Any]]: ...

    def apply(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]: ...

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None: ...

    def watch(self, kind: str, namespace: str | None = None, *, timeout_seconds: int = 60,
              cursor: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Changes from now on (or from ``cursor``'s resourceVersion, kept up to date), as
        (ADDED|MODIFIED|DELETED, object); ends after about ``timeout_seconds`` or when the
        server ends the watch, and the caller watches again with the same cursor."""
        ...

    def can_i(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None,
              name: str | None = None) -> tuple[bool, str]:
        """Whether the credentials may do this (a SelfSubjectAccessReview, as
        ``kubectl auth can-i`` asks it), and the server's reason."""
        ...

    def exec(self, pod: str, namespace: str, command: list[str], *, container: str | None = None,
             stdin: str | None = None, timeout: float = 30.0) -> ExecResult: ...

    def logs(self, pod: str, namespace: str, *, container: str | None = None, tail: int | None = None) -> str: ...

    def events(self, namespace: str, *, involved: str | None = None) -> list[dict[str, Any]]: ...


def path_for(kind: str, namespace: str | None = None, name: str | None = None) -> str:
    """The API path of a resource collection or object.

    Raises:
        KeyError: a kind the port does not know.
    """
    group, version, namespaced = KINDS[kind]
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespaced and namespace:
        prefix += f"/namespaces/{namespace}"
    path = f"{prefix}/{kind}"
    return f"{path}/{name}" if name else path
