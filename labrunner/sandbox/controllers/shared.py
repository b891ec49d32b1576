"""What every controller works through: the resource types, a :class:`Cluster`
(the store, writes that tolerate a learner's own concurrent writes, events, and
the loop's "look again soon"), owner references, and the pod a workload creates."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.events import record
from labrunner.sandbox.defaults import workload_defaults
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import AlreadyExists, Conflict, NotFound, Store, seconds


def _rt(group: str, plural: str) -> ResourceType:
    found = resources.lookup(group, "v1", plural)
    assert found is not None
    return found


NAMESPACES, NODES, PODS = _rt("", "namespaces"), _rt("", "nodes"), _rt("", "pods")
SERVICES, ENDPOINTS = _rt("", "services"), _rt("", "endpoints")
SERVICE_ACCOUNTS = _rt("", "serviceaccounts")
DEPLOYMENTS, REPLICASETS, DAEMONSETS = _rt("apps", "deployments"), _rt("apps", "replicasets"), _rt("apps", "daemonsets")
ENDPOINT_SLICES = _rt("discovery.k8s.io", "endpointslices")
SECRETS, CONFIG_MAPS = _rt("", "secrets"), _rt("", "configmaps")

log = logging.getLogger("labrunner.sandbox.controllers")


class Cluster:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending = False
        """Something is still on its way (a container starting): the loop ticks soon instead of waiting for a write."""
        self.skipped: dict[tuple[str, str, str, str], str] = {}
        """Objects a controller could not read, and the resourceVersion last reported."""
        self.runtime: Any = None
        """The container runtime (``labrunner.sandbox.runtime``) the server gives the kubelet; None in
        unit tests, where no container runs its command."""
        self.probe_memory: dict[str, dict[Any, Any]] = {}
        """What the kubelet remembers between passes about probes (the last failure said, since when
        a liveness probe fails), by purpose."""
        self._network: Any = None
        self.create_backoff: dict[str, tuple[float, float]] = {}
        """Owners whose last pod create admission refused, by uid: (when to try again, the delay),
        doubled on each refusal as a controller's rate-limited queue does."""
        self.create_failures: dict[str, str] = {}
        """The API server's words for the last refused pod create, by owner uid, until one succeeds."""

    @property
    def network(self) -> Any:
        """The data plane the kubelet's probes ask (built once)."""
        if self._network is None:
            from labrunner.sandbox.network import Network

            self._network = Network(self.store)
        return self._network

    def each(self, resource: ResourceType, controller: str, handle: Callable[[dict[str, Any]], None], namespace: str | None = None) -> None:
        """``handle`` every stored object of ``resource``; one it fails on is skipped and
        reported, and the others are handled all the same (one bad object must not stop
        a controller, let alone the control plane)."""
        for obj in self.store.list(resource, namespace):
            try:
                handle(obj)
            except Exception as error:  # an object the sandbox's controller cannot make sense of
                self.skip(resource, obj, controller, error)

    def skip(self, resource: ResourceType, obj: dict[str, Any], controller: str, error: Exception) -> None:
        """Log the failure and record a Warning event on the object, once per version of it."""
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        assert isinstance(metadata, dict)
        key = (resource.group, resource.plural, str(metadata.get("namespace", "")), str(metadata.get("name", "")))
        version = str(metadata.get("resourceVersion", ""))
        if self.skipped.get(key) == version:
            return
        self.skipped[key] = version
        where = f"{resource.describe()} {key[2]}/{key[3]}" if key[2] else f"{resource.describe()} {key[3]}"
        log.error("%s skipped %s (resourceVersion %s): %s: %s", controller, where, version, type(error).__name__, error, exc_info=error)
        message = (f"the labrunner sandbox's {controller} cannot reconcile this object ({type(error).__name__}: {error}); "
                   "it is skipped until it changes")
        try:
            self.event(obj, "ReconcileError", message, "Warning", component=controller)
        except Exception:  # an object too broken to name in an event: the log line is all there is
            log.error("%s could not record an event on %s", controller, where)

    def save(self, resource: ResourceType, obj: dict[str, Any]) -> None:
        """Write ``obj``; if a learner changed or deleted it meanwhile, the next pass sees theirs."""
        try:
            self.store.update(resource, obj)
        except (NotFound, Conflict):
            pass

    def event(self, involved: dict[str, Any], reason: str, message: str, kind: str = "Normal", component: str = "kubelet") -> None:
        record(self.store, involved, reason, message, kind, component)


def age(obj: dict[str, Any], stamp: str | None = None) -> float:
    text = stamp or obj["metadata"].get("creationTimestamp")
    if not text:
        return 0.0
    return time.time() - seconds(text)


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"] for ref in obj["metadata"].get("ownerReferences") or [])


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def terminating(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


CONTROLLER_NAMES = {"ReplicaSet": "replicaset-controller", "DaemonSet": "daemonset-controller", "StatefulSet": "statefulset-controller",
                    "ReplicationController": "replication-controller", "Job": "job-controller"}
"""The component kube-controller-manager's controllers record their events as."""


def new_pod(cluster: Cluster, owner: dict[str, Any], name: str, node: str | None = None) -> None:
    template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
    metadata = template.get("metadata") or {}
    pod = {
        "metadata": {"name": name, "namespace": owner["metadata"]["namespace"], "labels": metadata.get("labels", {}),
                     "annotations": metadata.get("annotations", {}), "ownerReferences": [owner_reference(owner)]},
        "spec": template.get("spec") or {},
    }
    if node:
        pod["spec"]["nodeName"] = node
    workload_defaults("pods", pod)
    component = CONTROLLER_NAMES.get(str(owner.get("kind")), f"{str(owner.get('kind')).lower()}-controller")
    if create_pod(cluster, owner, pod, component) is not None:
        cluster.event(owner, "SuccessfulCreate", f"Created pod: {name}", component=component)


FIRST_BACKOFF, LAST_BACKOFF = 0.5, 10.0
"""Seconds (real time, scaled) before a refused controller tries to create a pod again."""


def create_pod(cluster: Cluster, owner: dict[str, Any], pod: dict[str, Any], component: str) -> dict[str, Any] | None:
    """A controller's pod create as the API server takes it: through the admission plugins that
    read the cluster (LimitRange defaults and limits, ResourceQuota). A refusal is the owner's
    ``FailedCreate`` event (``Error creating: pods "web-x" is forbidden: exceeded quota: ...``)
    and a back-off before the next try; None when nothing was created."""
    from labrunner.sandbox.admission_plugins import admit_create
    from labrunner.sandbox.resource_hooks import Refused
    from labrunner.sandbox.timescale import TIME_SCALE

    uid = str(owner["metadata"].get("uid", ""))
    waiting = cluster.create_backoff.get(uid)
    if waiting is not None and time.monotonic() < waiting[0]:
        cluster.pending = True
        return None
    try:
        admit_create(cluster.store, PODS, pod)
    except Refused as refused:
        delay = min(waiting[1] * 2, LAST_BACKOFF * TIME_SCALE) if waiting else FIRST_BACKOFF * TIME_SCALE
        cluster.create_backoff[uid] = (time.monotonic() + delay, delay)
        cluster.create_failures[uid] = refused.message
        cluster.event(owner, "FailedCreate", f"Error creating: {refused.message}", "Warning", component=component)
        cluster.pending = True
        return None
    cluster.create_backoff.pop(uid, None)
    cluster.create_failures.pop(uid, None)
    try:
        return cluster.store.create(PODS, pod)
    except AlreadyExists:
        return None
