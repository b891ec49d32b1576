"""The one fake cluster the tests share: recorded objects behind the ClusterPort interface.

For what needs no real API server (a session's rules, the picker's requirement states,
the TUI's snapshots, plugin detection): objects are plain dicts keyed by plural, as the
port returns them. What a test needs beyond reading (refused permissions, a cluster that
goes away, watches refused at the cluster scope) is a constructor argument, not a
subclass, so every test fakes the same cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterInfo, ExecResult

SANDBOX_INFO = ClusterInfo(context="labrunner-sandbox", server="https://127.0.0.1:6443", namespace="default", is_sandbox=True)


def namespace(name: str, phase: str = "Active") -> dict[str, Any]:
    return {"kind": "Namespace", "metadata": {"name": name}, "status": {"phase": phase}}


def node(name: str, *, ready: bool = True, kubelet: str = "v1.32.2") -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "nodeInfo": {"kubeletVersion": kubelet}}}


def named(name: str, namespace: str | None = None, kind: str = "") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"kind": kind, "metadata": metadata}


_PLURALS = {"Namespace": "namespaces", "Node": "nodes", "Pod": "pods", "DaemonSet": "daemonsets", "ConfigMap": "configmaps",
            "NetworkPolicy": "networkpolicies", "Deployment": "deployments", "Service": "services"}


class FakeCluster:
    """Objects by plural; reads answer from them, apply and delete change them.

    Args:
        objects: ``{plural: [object, ...]}``.
        info: whose cluster it says it is (by default, the sandbox's).
        refuse: every ``can_i`` answers no, with this reason.
        watch_events: what a watch of ``(plural, namespace)`` yields before going quiet.
        cluster_wide_watch_forbidden: a watch at the cluster scope is Forbidden (a
            workshop learner who may only see their own namespaces).
    """

    def __init__(self, objects: dict[str, list[dict[str, Any]]] | None = None, *, info: ClusterInfo = SANDBOX_INFO,
                 refuse: str | None = None, watch_events: dict[tuple[str, str | None], list[tuple[str, dict[str, Any]]]] | None = None,
                 cluster_wide_watch_forbidden: bool = False, git_version: str = "v1.32.2") -> None:
        self.info = info
        self.objects: dict[str, list[dict[str, Any]]] = {plural: list(items) for plural, items in (objects or {}).items()}
        self.refuse = refuse
        self.watch_events = watch_events or {}
        self.cluster_wide_watch_forbidden = cluster_wide_watch_forbidden
        self.git_version = git_version
        self.reachable = True
        self.watched: list[tuple[str, str | None]] = []
        self.quiet = threading.Event()
        """Set it to end every watch's wait at once."""

    # -- what tests change -----------------------------------------------------------------

    def add(self, *objects: dict[str, Any]) -> None:
        for obj in objects:
            self.objects.setdefault(_PLURALS[obj["kind"]], []).append(obj)

    def names(self, plural: str) -> list[str]:
        return [obj["metadata"]["name"] for obj in self.objects.get(plural, [])]

    # -- the port ----------------------------------------------------------------------------

    def _answer(self) -> None:
        if not self.reachable:
            raise errors.Unreachable(self.info.server, "connection refused")

    def version(self) -> dict[str, Any]:
        self._answer()
        return {"gitVersion": self.git_version}

    def list(self, kind: str, namespace: str | None = None, *, labels: str = "", fields: str = "") -> list[dict[str, Any]]:
        self._answer()
        return [obj for obj in self.objects.get(kind, []) if namespace is None or obj["metadata"].get("namespace") == namespace]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        for obj in self.list(kind, namespace):
            if obj["metadata"]["name"] == name:
                return obj
        raise errors.NotFound(f'{kind} "{name}" not found')

    def apply(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        self._answer()
        if obj["kind"] == "Pod":  # said at once, not after a probe's minute of waiting for Ready
            raise errors.ClusterError("the fake cluster runs no pods", "a test that needs pods uses the sandbox fixture")
        plural = _PLURALS[obj["kind"]]
        where = namespace or obj["metadata"].get("namespace")
        self.objects[plural] = [o for o in self.objects.get(plural, [])
                                if (o["metadata"]["name"], o["metadata"].get("namespace")) != (obj["metadata"]["name"], where)]
        self.objects[plural].append(obj)
        return obj

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.get(kind, name, namespace)
        self.objects[kind] = [o for o in self.objects[kind]
                              if (o["metadata"]["name"], o["metadata"].get("namespace")) != (name, namespace)]

    def can_i(self, verb: str, resource: str, *, group: str = "", namespace: str | None = None,
              name: str | None = None) -> tuple[bool, str]:
        return (False, self.refuse) if self.refuse is not None else (True, "")

    def access_review(self, user: str, groups: Any, verb: str, *, resource: str = "", group: str = "",
                      subresource: str = "", namespace: str | None = None, name: str | None = None,
                      path: str | None = None) -> tuple[bool, str]:
        """RBAC over the fake's own roles and bindings, by labrunner's engine."""
        from labrunner.topics.rbac.evaluate import decide
        from labrunner.topics.rbac.model import Attributes

        self._answer()
        kinds = {"roles": "Role", "clusterroles": "ClusterRole", "rolebindings": "RoleBinding", "clusterrolebindings": "ClusterRoleBinding"}
        objects = [{**obj, "kind": kind} for plural, kind in kinds.items() for obj in self.objects.get(plural, [])]
        attributes = Attributes(verb=verb, api_group=group, resource=resource, subresource=subresource, name=name or "",
                                namespace=namespace or "", path=path)
        return decide(objects, user, tuple(groups), attributes).allowed, ""

    def whoami(self) -> dict[str, Any]:
        self._answer()
        return {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}

    def watch(self, kind: str, namespace: str | None = None, *, timeout_seconds: int = 60,
              cursor: dict[str, str] | None = None, fields: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        self.watched.append((kind, namespace))
        self._answer()
        if namespace is None and self.cluster_wide_watch_forbidden:
            raise errors.Forbidden(f'{kind} is forbidden: User "alice" cannot watch resource "{kind}" at the cluster scope',
                                   "alice", "watch", kind, "")
        return self._events(self.watch_events.get((kind, namespace), []), timeout_seconds)

    def _events(self, events: Iterable[tuple[str, dict[str, Any]]], timeout_seconds: int) -> Iterator[tuple[str, dict[str, Any]]]:
        yield from events
        self.quiet.wait(timeout_seconds)

    def events(self, namespace: str, *, involved: str | None = None) -> list[dict[str, Any]]:
        return []

    def exec(self, pod: str, namespace: str, command: list[str], *, container: str | None = None,
             stdin: str | None = None, timeout: float = 30.0) -> ExecResult:
        raise errors.NotFound(f'pods "{pod}" not found')  # it runs no pods

    def logs(self, pod: str, namespace: str, *, container: str | None = None, tail: int | None = None) -> str:
        raise errors.NotFound(f'pods "{pod}" not found')
