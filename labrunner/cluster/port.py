"""The cluster port: everything labrunner asks of a cluster, as one narrow interface.

The resources it reads and writes are those the topics register (the registry's
``Resource`` s: plural, group, version, scope). Plain data in and out (objects are the
API's JSON as dicts) and the typed errors
of :mod:`labrunner.cluster.errors`. Exactly one implementation
(:mod:`labrunner.cluster.kube`, over the official kubernetes client) serves real
clusters and the sandbox alike; checks and the session see only this module.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Create ``obj`` (a POST, verb ``create``) and return it as stored; ``errors.Conflict``
        when it already exists, so a caller can make what is missing and leave the rest."""
        ...

    def update(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Replace ``obj`` (a PUT, verb ``update``) and return it as stored. With the
        ``metadata.resourceVersion`` it was read at, the write is conditional: ``errors.Conflict``
        (409) when someone wrote it since, and the caller reads it again and retries."""
        ...

    def create_token(self, service_account: str, namespace: str, *, seconds: int,
                     bound_secret: str | None = None) -> tuple[str, str]:
        """A token for the ServiceAccount from the TokenRequest API (``kubectl create token
        --duration``), bound to the Secret named (deleting it revokes the token): the token
        and its ``expirationTimestamp`` as the server returned it (it may give less than asked)."""
        ...

    def api_groups(self) -> dict[str, builtins.list[str]]:
        """The API groups the server serves (discovery's ``/apis``), each with its versions:
        what a cluster offers beyond the core (``policy.networking.k8s.io``...)."""
        ...

    def watch(self, kind: str, namespace: str | None = None, *, timeout_seconds: int = 60,
              cursor: dict[str, str] | None = None, fields: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        """Changes from now on (or from ``cursor``'s resourceVersion, kept up to date), as
        (ADDED|MODIFIED|DELETED, object); ends after about ``timeout_seconds`` or when the
        server ends the watch, and the caller watches again with the same cursor. ``fields``
        is a field selector: ``metadata.name=x`` watches one object, all that credentials
        allowed ``get,watch`` on that name alone may watch (start them from a ``get``'s
        resourceVersion in the cursor: they may not list)."""
        ...

    def can_i(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None,
              name: str | None = None) -> tuple[bool, str]:
        """Whether the credentials may do this (a SelfSubjectAccessReview, as
        ``kubectl auth can-i`` asks it), and the server's reason."""
        ...

    def access_review(self, user: str, groups: Sequence[str], verb: str, *, resource: str = "", group: str = "",
                      subresource: str = "", namespace: str | None = None, name: str | None = None,
                      path: str | None = None) -> tuple[bool, str]:
        """Whether ``user`` in ``groups`` may do this (a SubjectAccessReview: the cluster's own
        authorizers answer, so it holds on any cluster), and the server's reason. A
        non-resource request gives ``path`` instead of a resource."""
        ...

    def whoami(self) -> dict[str, Any]:
        """Who the credentials authenticate as: a SelfSubjectReview's ``userInfo``
        (``username``, ``groups``, ``uid``, ``extra``), as ``kubectl auth whoami`` shows it."""
        ...

    def exec(self, pod: str, namespace: str, command: builtins.list[str], *, container: str | None = None,
             stdin: str | None = None, timeout: float = 30.0) -> ExecResult: ...

    def logs(self, pod: str, namespace: str, *, container: str | None = None, tail: int | None = None,
             previous: bool = False) -> str:
        """The container's log as ``kubectl logs`` prints it; with ``previous``, its previous
        run's (``--previous``: a restarted container's last crash)."""
        ...

    def events(self, namespace: str, *, involved: str | None = None) -> builtins.list[dict[str, Any]]: ...


OWN_RESOURCES: dict[str, tuple[str, str, str, bool]] = {
    "leases": ("Lease", "coordination.k8s.io", "v1", True),
}
"""Resources labrunner's own records use beyond those topics register, plural -> (kind,
group, version, namespaced): a workshop learner's heartbeat is a Lease."""


def plural_for(kind: str) -> str | None:
    """``NetworkPolicy`` -> ``networkpolicies``, for the topics' resources and labrunner's own."""
    from labrunner.registry import registry

    return registry().plural_of(kind) or next((plural for plural, own in OWN_RESOURCES.items() if own[0] == kind), None)


def path_for(kind: str, namespace: str | None = None, name: str | None = None) -> str:
    """The API path of a resource collection or object, for the resources topics register
    (and labrunner's own, :data:`OWN_RESOURCES`).

    Raises:
        KeyError: a resource no topic registers.
    """
    from labrunner.registry import registry
    from labrunner.registry.types import Resource

    try:
        resource = registry().resource(kind)
    except KeyError:
        if kind not in OWN_RESOURCES:
            raise
        own_kind, own_group, own_version, own_namespaced = OWN_RESOURCES[kind]
        resource = Resource(plural=kind, kind=own_kind, group=own_group, version=own_version, namespaced=own_namespaced)
    group, version, namespaced = resource.group, resource.version, resource.namespaced
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespaced and namespace:
        prefix += f"/namespaces/{namespace}"
    # a plural written as kubectl writes a resource of another group (pods.metrics.k8s.io)
    path = f"{prefix}/{kind.split('.', 1)[0]}"
    return f"{path}/{name}" if name else path
