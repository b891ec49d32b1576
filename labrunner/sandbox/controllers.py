"""The sandbox's control plane: what kube-controller-manager, the scheduler and
the kubelets would do, in one loop.

Every store write wakes the loop; each pass reconciles everything (the sandbox
holds tens of objects, so a full pass is cheap) and writes only what changed, so
passes converge. Time-based steps (a container starting, a probe passing) are
driven by the pod's age, with a short tick while anything is still on its way.

- Deployment -> ReplicaSet ``<name>-<template hash>`` (older ones scaled to 0),
  status with observedGeneration, updated/ready/available replicas, conditions.
- ReplicaSet -> pods ``<rs>-<5 chars>`` with ownerReferences; scale up and down.
- DaemonSet -> one pod per node; recreated when the template changes.
- Scheduler and kubelet: nodeName, pod IP from the node's range, Pending ->
  ContainerCreating -> Running and Ready; an unknown image -> ErrImagePull ->
  ImagePullBackOff; events as a real cluster writes them.
- Services -> Endpoints and an EndpointSlice from the ready pods they select.
- Namespaces get a ``default`` ServiceAccount; ownerReferences garbage-collect.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import secrets
from datetime import datetime, timezone
from typing import Any

from labrunner.sandbox import images, resources
from labrunner.sandbox.defaults import template_hash, workload_defaults
from labrunner.sandbox.names import random_suffix
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import AlreadyExists, Conflict, NotFound, Store, now

log = logging.getLogger("labrunner.sandbox.controllers")

CREATING_SECONDS = 0.4
"""From scheduled to the container running."""
READY_SECONDS = 0.8
"""From scheduled to the readiness probe passing."""
BACKOFF_SECONDS = 1.0
"""From ErrImagePull to ImagePullBackOff."""
TICK = 0.2


def _rt(group: str, plural: str) -> ResourceType:
    found = resources.lookup(group, "v1", plural)
    assert found is not None
    return found


NAMESPACES, NODES, PODS = _rt("", "namespaces"), _rt("", "nodes"), _rt("", "pods")
SERVICES, ENDPOINTS, EVENTS = _rt("", "services"), _rt("", "endpoints"), _rt("", "events")
SERVICE_ACCOUNTS = _rt("", "serviceaccounts")
DEPLOYMENTS, REPLICASETS, DAEMONSETS = _rt("apps", "deployments"), _rt("apps", "replicasets"), _rt("apps", "daemonsets")
ENDPOINT_SLICES = _rt("discovery.k8s.io", "endpointslices")
SECRETS, CONFIG_MAPS = _rt("", "secrets"), _rt("", "configmaps")
OWNED_KINDS = (REPLICASETS, PODS, ENDPOINT_SLICES)


def _age(obj: dict[str, Any], stamp: str | None = None) -> float:
    text = stamp or obj["metadata"].get("creationTimestamp")
    if not text:
        return 0.0
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - moment).total_seconds()


def _owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"] for ref in obj["metadata"].get("ownerReferences") or [])


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return False
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def _terminating(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


class ControlPlane:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        store.listeners.append(lambda *_: self.wake.set())

    def start(self) -> None:
        self.wake.set()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=TICK if self.pending else 5.0)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            try:
                self.reconcile()
            except Exception:  # a controller bug must not stop the cluster
                log.exception("a controller pass failed")

    # -- one pass -------------------------------------------------------------------------

    pending = True

    def reconcile(self) -> None:
        self.pending = False
        self._service_accounts()
        self._garbage_collect()
        for deployment in self.store.list(DEPLOYMENTS):
            self._deployment(deployment)
        for replica_set in self.store.list(REPLICASETS):
            self._replica_set(replica_set)
        for daemon_set in self.store.list(DAEMONSETS):
            self._daemon_set(daemon_set)
        for pod in self.store.list(PODS):
            self._kubelet(pod)
        for service in self.store.list(SERVICES):
            self._endpoints(service)
        self._deployment_status()

    # -- writes that tolerate races with learners' own writes ----------------------------

    def _save(self, resource: ResourceType, obj: dict[str, Any]) -> None:
        try:
            self.store.update(resource, obj)
        except (NotFound, Conflict):
            pass

    def _event(self, involved: dict[str, Any], reason: str, message: str, kind: str = "Normal", component: str = "kubelet") -> None:
        namespace = involved["metadata"].get("namespace") or "default"
        event = {
            "metadata": {"name": f"{involved['metadata']['name']}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {"kind": involved.get("kind"), "namespace": namespace, "name": involved["metadata"]["name"],
                               "uid": involved["metadata"].get("uid"), "apiVersion": involved.get("apiVersion")},
            "reason": reason, "message": message, "type": kind, "count": 1,
            "source": {"component": component}, "firstTimestamp": now(), "lastTimestamp": now(),
            "reportingComponent": component, "reportingInstance": "",
        }
        try:
            self.store.create(EVENTS, event)
        except AlreadyExists:
            pass

    # -- namespaces and garbage -------------------------------------------------------------

    def _service_accounts(self) -> None:
        for namespace in self.store.list(NAMESPACES):
            name = namespace["metadata"]["name"]
            if (namespace.get("status") or {}).get("phase") == "Terminating":
                continue
            try:
                self.store.get(SERVICE_ACCOUNTS, name, "default")
            except NotFound:
                try:
                    self.store.create(SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": name}})
                except AlreadyExists:
                    pass

    def _garbage_collect(self) -> None:
        """Background propagation: an object whose owners are all gone goes too."""
        alive: set[str] = set()
        foreground: list[tuple[ResourceType, dict[str, Any]]] = []
        for resource in (DEPLOYMENTS, REPLICASETS, DAEMONSETS, SERVICES):
            for obj in self.store.list(resource):
                if "foregroundDeletion" in (obj["metadata"].get("finalizers") or []):
                    foreground.append((resource, obj))  # its dependents go first
                else:
                    alive.add(obj["metadata"]["uid"])
        for resource in OWNED_KINDS:
            for obj in self.store.list(resource):
                owners = obj["metadata"].get("ownerReferences") or []
                if owners and not any(ref.get("uid") in alive for ref in owners):
                    self.store.delete_raw(resource.group, resource.plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        for resource, owner in foreground:
            uid = owner["metadata"]["uid"]
            dependents = [obj for kind in OWNED_KINDS for obj in self.store.list(kind, owner["metadata"].get("namespace"))
                          if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])]
            if dependents:
                self.pending = True
            else:
                self.store.delete_raw(resource.group, resource.plural, owner["metadata"].get("namespace", ""), owner["metadata"]["name"])
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.store.list(SERVICES)}
        for endpoints in self.store.list(ENDPOINTS):
            key = (endpoints["metadata"]["namespace"], endpoints["metadata"]["name"])
            if key not in services:
                self.store.delete_raw("", "endpoints", *key)

    # -- workloads -----------------------------------------------------------------------

    def _deployment(self, deployment: dict[str, Any]) -> None:
        if _terminating(deployment):
            return
        namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        spec = deployment.get("spec") or {}
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = template_hash(template)
        owned = [rs for rs in self.store.list(REPLICASETS, namespace) if _owned_by(rs, deployment)]
        current = next((rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash), None)
        wanted = int(spec.get("replicas", 1))
        if current is None:
            labels = {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": pod_hash}
            template.setdefault("metadata", {})["labels"] = labels
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            replica_set = {
                "metadata": {"name": f"{name}-{pod_hash}", "namespace": namespace, "labels": labels,
                             "ownerReferences": [_owner_reference(deployment)],
                             "annotations": {"deployment.kubernetes.io/revision": str(len(owned) + 1),
                                             "deployment.kubernetes.io/desired-replicas": str(wanted)}},
                "spec": {"replicas": wanted, "selector": selector, "template": template},
            }
            workload_defaults("replicasets", replica_set)
            try:
                self.store.create(REPLICASETS, replica_set)
                self._event(deployment, "ScalingReplicaSet", f"Scaled up replica set {name}-{pod_hash} from 0 to {wanted}",
                            component="deployment-controller")
            except AlreadyExists:
                pass
        elif int(current["spec"].get("replicas", 1)) != wanted:
            before = int(current["spec"].get("replicas", 1))
            current["spec"]["replicas"] = wanted
            self._save(REPLICASETS, current)
            verb = "up" if wanted > before else "down"
            self._event(deployment, "ScalingReplicaSet", f"Scaled {verb} replica set {current['metadata']['name']} from {before} to {wanted}",
                        component="deployment-controller")
        for old in owned:
            if old is not current and old["metadata"].get("labels", {}).get("pod-template-hash") != pod_hash and old["spec"].get("replicas"):
                before = old["spec"]["replicas"]
                old["spec"]["replicas"] = 0
                self._save(REPLICASETS, old)
                self._event(deployment, "ScalingReplicaSet", f"Scaled down replica set {old['metadata']['name']} from {before} to 0",
                            component="deployment-controller")

    def _deployment_status(self) -> None:
        for deployment in self.store.list(DEPLOYMENTS):
            namespace = deployment["metadata"]["namespace"]
            spec = deployment.get("spec") or {}
            pod_hash = template_hash(spec.get("template") or {})
            owned = [rs for rs in self.store.list(REPLICASETS, namespace) if _owned_by(rs, deployment)]
            new = [rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash]
            total = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in owned)
            ready = sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in owned)
            updated = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in new)
            wanted = int(spec.get("replicas", 1))
            complete = updated == wanted and ready >= wanted and total == wanted
            available = ready >= wanted
            stamp = now()
            previous = deployment.get("status") or {}
            conditions = [
                {"type": "Available", "status": "True" if available else "False",
                 "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if available else "Deployment does not have minimum availability."},
                {"type": "Progressing", "status": "True",
                 "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                 "message": (f'ReplicaSet "{new[0]["metadata"]["name"]}" has successfully progressed.' if complete and new
                             else f'ReplicaSet "{new[0]["metadata"]["name"] if new else ""}" is progressing.')},
            ]
            old_conditions = {c["type"]: c for c in previous.get("conditions") or []}
            for condition in conditions:
                earlier = old_conditions.get(condition["type"])
                same = earlier and all(earlier.get(k) == condition[k] for k in ("status", "reason"))
                condition["lastUpdateTime"] = earlier["lastUpdateTime"] if same else stamp
                condition["lastTransitionTime"] = earlier["lastTransitionTime"] if same else stamp
            status: dict[str, Any] = {
                "observedGeneration": deployment["metadata"].get("generation", 1),
                "replicas": total, "updatedReplicas": updated, "readyReplicas": ready,
                "availableReplicas": ready, "unavailableReplicas": max(0, wanted - ready), "conditions": conditions,
            }
            status = {k: v for k, v in status.items() if v != 0 or k in ("observedGeneration",)}
            if status != previous:
                deployment["status"] = status
                self._save(DEPLOYMENTS, deployment)
            if not complete:
                self.pending = True

    def _new_pod(self, owner: dict[str, Any], name: str, node: str | None = None) -> None:
        template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
        metadata = template.get("metadata") or {}
        pod = {
            "metadata": {"name": name, "namespace": owner["metadata"]["namespace"], "labels": metadata.get("labels", {}),
                         "annotations": metadata.get("annotations", {}), "ownerReferences": [_owner_reference(owner)]},
            "spec": template.get("spec") or {},
        }
        if node:
            pod["spec"]["nodeName"] = node
        workload_defaults("pods", pod)
        try:
            self.store.create(PODS, pod)
        except AlreadyExists:
            return
        component = "replicaset-controller" if owner.get("kind") == "ReplicaSet" else "daemonset-controller"
        self._event(owner, "SuccessfulCreate", f"Created pod: {name}", component=component)

    def _replica_set(self, replica_set: dict[str, Any]) -> None:
        if _terminating(replica_set):
            return
        namespace, name = replica_set["metadata"]["namespace"], replica_set["metadata"]["name"]
        pods = [p for p in self.store.list(PODS, namespace) if _owned_by(p, replica_set) and not _terminating(p)]
        wanted = int((replica_set.get("spec") or {}).get("replicas", 1))
        for _ in range(wanted - len(pods)):
            self._new_pod(replica_set, f"{name}-{random_suffix()}")
        if len(pods) > wanted:
            for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)[: len(pods) - wanted]:
                self.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
                self._event(replica_set, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component="replicaset-controller")
        pods = [p for p in self.store.list(PODS, namespace) if _owned_by(p, replica_set) and not _terminating(p)]
        ready = sum(1 for p in pods if _ready(p))
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                  "observedGeneration": replica_set["metadata"].get("generation", 1)}
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if status != (replica_set.get("status") or {}):
            replica_set["status"] = status
            self._save(REPLICASETS, replica_set)

    def _daemon_set(self, daemon_set: dict[str, Any]) -> None:
        if _terminating(daemon_set):
            return
        namespace, name = daemon_set["metadata"]["namespace"], daemon_set["metadata"]["name"]
        revision = template_hash((daemon_set.get("spec") or {}).get("template") or {})
        nodes = [node["metadata"]["name"] for node in self.store.list(NODES)]
        pods = [p for p in self.store.list(PODS, namespace) if _owned_by(p, daemon_set) and not _terminating(p)]
        for pod in pods:
            if pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision:
                self.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
                self._event(daemon_set, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component="daemonset-controller")
        pods = [p for p in self.store.list(PODS, namespace) if _owned_by(p, daemon_set) and not _terminating(p)]
        covered = {p["spec"].get("nodeName") for p in pods}
        spec = daemon_set.setdefault("spec", {})
        template = spec.setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("labels", {})
        for node in nodes:
            if node not in covered:
                labelled = copy.deepcopy(daemon_set)
                labelled["spec"]["template"]["metadata"]["labels"]["controller-revision-hash"] = revision
                self._new_pod(labelled, f"{name}-{random_suffix()}", node=node)
        pods = [p for p in self.store.list(PODS, namespace) if _owned_by(p, daemon_set) and not _terminating(p)]
        ready = sum(1 for p in pods if _ready(p))
        status = {"desiredNumberScheduled": len(nodes), "currentNumberScheduled": len(pods), "numberReady": ready,
                  "updatedNumberScheduled": len(pods), "numberAvailable": ready, "numberMisscheduled": 0,
                  "observedGeneration": daemon_set["metadata"].get("generation", 1)}
        if ready < len(nodes):
            status["numberUnavailable"] = len(nodes) - ready
            self.pending = True
        current = {k: v for k, v in (daemon_set.get("status") or {}).items()}
        if status != current:
            fresh = self.store.get(DAEMONSETS, namespace, name)
            fresh["status"] = status
            self._save(DAEMONSETS, fresh)

    # -- scheduler and kubelet -------------------------------------------------------------

    def _kubelet(self, pod: dict[str, Any]) -> None:
        if _terminating(pod):
            return
        spec, status = pod.setdefault("spec", {}), pod.setdefault("status", {})
        name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
        changed = False
        if not spec.get("nodeName"):
            spec["nodeName"] = self._least_loaded_node()
            status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}]
            status["phase"] = "Pending"
            status["qosClass"] = "BestEffort"
            pod["metadata"].setdefault("annotations", {})["labrunner.dev/scheduled-at"] = now()
            self._save(PODS, pod)
            self._event(pod, "Scheduled", f"Successfully assigned {namespace}/{name} to {spec['nodeName']}", component="default-scheduler")
            self.pending = True
            return
        scheduled_at = (pod["metadata"].get("annotations") or {}).get("labrunner.dev/scheduled-at") or pod["metadata"]["creationTimestamp"]
        age = _age(pod, scheduled_at)
        containers = spec.get("containers") or []
        if status.get("phase") in ("Succeeded", "Failed"):
            return
        unknown = [c for c in containers if not images.known(str(c.get("image", "")))]
        if not status.get("podIP"):
            status["podIP"] = self._allocate_ip(spec["nodeName"])
            status["podIPs"] = [{"ip": status["podIP"]}]
            status["hostIP"] = self._node_ip(spec["nodeName"])
            status["startTime"] = now()
            changed = True
        if unknown:
            reason = "ImagePullBackOff" if age >= BACKOFF_SECONDS else "ErrImagePull"
            statuses = []
            for container in containers:
                bad = container in unknown
                waiting = {"reason": reason if bad else "ContainerCreating"}
                if bad:
                    waiting["message"] = (f'Back-off pulling image "{container.get("image")}"' if reason == "ImagePullBackOff"
                                          else images.pull_failure(str(container.get("image"))))
                statuses.append({"name": container.get("name"), "image": container.get("image"), "imageID": "", "ready": False,
                                 "restartCount": 0, "started": False, "state": {"waiting": waiting}})
            if statuses != status.get("containerStatuses"):
                first_failure = not any(((s.get("state") or {}).get("waiting") or {}).get("reason") in ("ErrImagePull", "ImagePullBackOff")
                                        for s in status.get("containerStatuses") or [])
                backing_off = reason == "ImagePullBackOff" and all(
                    ((s.get("state") or {}).get("waiting") or {}).get("reason") != "ImagePullBackOff" for s in status.get("containerStatuses") or [])
                status["containerStatuses"] = statuses
                self._pod_conditions(pod, ready=False)
                self._save(PODS, pod)
                for container in unknown:
                    if first_failure:
                        self._event(pod, "Pulling", f'Pulling image "{container.get("image")}"')
                        self._event(pod, "Failed", images.pull_failure(str(container.get("image"))), "Warning")
                        self._event(pod, "Failed", "Error: ErrImagePull", "Warning")
                    if backing_off:
                        self._event(pod, "BackOff", f'Back-off pulling image "{container.get("image")}"')
                        self._event(pod, "Failed", "Error: ImagePullBackOff", "Warning")
            if reason != "ImagePullBackOff":
                self.pending = True
            return
        if age >= CREATING_SECONDS and (problems := {c.get("name"): p for c in containers if (p := self._config_problem(c, namespace))}):
            statuses = [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": False, "restartCount": 0, "started": False,
                         "state": {"waiting": {"reason": "CreateContainerConfigError", "message": problems[c.get("name")]}
                                   if c.get("name") in problems else {"reason": "ContainerCreating"}}} for c in containers]
            if statuses != status.get("containerStatuses"):
                status["containerStatuses"] = statuses
                self._pod_conditions(pod, ready=False)
                self._save(PODS, pod)
                for problem in problems.values():
                    self._event(pod, "Failed", f"Error: {problem}", "Warning")
            self.pending = True  # the kubelet retries: creating the Secret or ConfigMap starts the container
            return
        running = age >= CREATING_SECONDS
        ready = age >= READY_SECONDS
        statuses = []
        earlier = {s.get("name"): s for s in status.get("containerStatuses") or []}
        for container in containers:
            state = {"running": {"startedAt": status.get("startTime", now())}} if running else {"waiting": {"reason": "ContainerCreating"}}
            statuses.append({"name": container.get("name"), "image": container.get("image"),
                             "imageID": f"docker.io/library/{images.repository(str(container.get('image')))}@sha256:simulated",
                             "containerID": f"containerd://{pod['metadata']['uid'].replace('-', '')}" if running else None,
                             "ready": ready, "restartCount": 0, "started": running, "state": state})
            if statuses[-1]["containerID"] is None:
                del statuses[-1]["containerID"]
            previous = earlier.get(container.get("name")) or {}
            if previous.get("restartCount"):
                statuses[-1]["restartCount"] = previous["restartCount"]  # restarts after an attached shell exited
            if previous.get("lastState"):
                statuses[-1]["lastState"] = previous["lastState"]
        if statuses != status.get("containerStatuses") or changed:
            was_running = any("running" in (s.get("state") or {}) for s in status.get("containerStatuses") or [])
            status["containerStatuses"] = statuses
            status["phase"] = "Running" if running else "Pending"
            self._pod_conditions(pod, ready=ready)
            self._save(PODS, pod)
            if running and not was_running:
                for container in containers:
                    self.store.append_log(namespace, name, str(container.get("name")), images.startup_lines(str(container.get("image")), name))
                    self._event(pod, "Pulled", f'Container image "{container.get("image")}" already present on machine')
                    self._event(pod, "Created", f"Created container {container.get('name')}")
                    self._event(pod, "Started", f"Started container {container.get('name')}")
        if not ready:
            self.pending = True

    def _config_problem(self, container: dict[str, Any], namespace: str) -> str | None:
        """What a real kubelet says when a container's environment names a Secret or
        ConfigMap (or a key of one) that does not exist, unless marked optional."""
        references = []
        for variable in container.get("env") or []:
            source = variable.get("valueFrom") or {}
            for field, resource, kind in (("secretKeyRef", SECRETS, "secret"), ("configMapKeyRef", CONFIG_MAPS, "configmap")):
                if (ref := source.get(field)) and not ref.get("optional"):
                    references.append((resource, kind, ref.get("name", ""), ref.get("key")))
        for source in container.get("envFrom") or []:
            for field, resource, kind in (("secretRef", SECRETS, "secret"), ("configMapRef", CONFIG_MAPS, "configmap")):
                if (ref := source.get(field)) and not ref.get("optional"):
                    references.append((resource, kind, ref.get("name", ""), None))
        for resource, kind, name, key in references:
            try:
                found = self.store.get(resource, namespace, name)
            except NotFound:
                return f'{kind} "{name}" not found'
            if key is not None and key not in {**(found.get("data") or {}), **(found.get("stringData") or {}), **(found.get("binaryData") or {})}:
                return f"couldn't find key {key} in {'Secret' if kind == 'secret' else 'ConfigMap'} {namespace}/{name}"
        return None

    def _pod_conditions(self, pod: dict[str, Any], *, ready: bool) -> None:
        stamp = now()
        value = "True" if ready else "False"
        previous = {c["type"]: c for c in (pod["status"].get("conditions") or [])}
        conditions = []
        for kind, state in (("PodReadyToStartContainers", "True"), ("Initialized", "True"), ("Ready", value),
                            ("ContainersReady", value), ("PodScheduled", "True")):
            earlier = previous.get(kind)
            condition = {"type": kind, "status": state,
                         "lastTransitionTime": earlier["lastTransitionTime"] if earlier and earlier.get("status") == state else stamp}
            if state == "False":
                condition["reason"] = "ContainersNotReady"
            conditions.append(condition)
        pod["status"]["conditions"] = conditions

    def _least_loaded_node(self) -> str:
        nodes = [node["metadata"]["name"] for node in self.store.list(NODES)]
        load = {node: 0 for node in nodes}
        for pod in self.store.list(PODS):
            node = (pod.get("spec") or {}).get("nodeName")
            if node in load:
                load[node] += 1
        return min(nodes, key=lambda node: (load[node], node))

    def _node_ip(self, node_name: str) -> str:
        try:
            node = self.store.get(NODES, "", node_name)
        except NotFound:
            return ""
        return next((a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"), "")

    def _allocate_ip(self, node_name: str) -> str:
        try:
            cidr = self.store.get(NODES, "", node_name).get("spec", {}).get("podCIDR", "10.244.0.0/24")
        except NotFound:
            cidr = "10.244.0.0/24"
        import ipaddress

        used = {(p.get("status") or {}).get("podIP") for p in self.store.list(PODS)}
        for address in list(ipaddress.ip_network(cidr).hosts())[1:]:
            if str(address) not in used:
                return str(address)
        return str(ipaddress.ip_network(cidr).network_address + 2)

    # -- services ----------------------------------------------------------------------------

    def _endpoints(self, service: dict[str, Any]) -> None:
        namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
        spec = service.get("spec") or {}
        selector = spec.get("selector")
        if not selector:
            return  # endpoints of a selector-less service are the user's to write
        pods = [p for p in self.store.list(PODS, namespace)
                if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                and (p.get("status") or {}).get("podIP") and not _terminating(p)]
        ready = [p for p in pods if _ready(p)]
        not_ready = [p for p in pods if not _ready(p)]

        def address(pod: dict[str, Any]) -> dict[str, Any]:
            return {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName"),
                    "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}

        ports = []
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if isinstance(target, str):
                resolved = next((cp.get("containerPort") for p in pods for c in p["spec"].get("containers") or []
                                 for cp in c.get("ports") or [] if cp.get("name") == target), None)
                target = resolved or port.get("port")
            entry = {"port": target, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = [address(p) for p in ready]
        if not_ready:
            subset["notReadyAddresses"] = [address(p) for p in not_ready]
        endpoints = {"metadata": {"name": name, "namespace": namespace, "labels": service["metadata"].get("labels", {})},
                     "subsets": [dict(subset, ports=ports)] if subset else []}
        try:
            current = self.store.get(ENDPOINTS, namespace, name)
            if current.get("subsets") != endpoints["subsets"]:
                current["subsets"] = endpoints["subsets"]
                self._save(ENDPOINTS, current)
        except NotFound:
            try:
                self.store.create(ENDPOINTS, endpoints)
            except AlreadyExists:
                pass
        slice_name = f"{name}-{template_hash({'service': name})[:5]}"
        endpoint_slice = {
            "metadata": {"name": slice_name, "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                         "ownerReferences": [_owner_reference(service)]},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [p["status"]["podIP"]], "conditions": {"ready": _ready(p), "serving": _ready(p), "terminating": False},
                           "nodeName": p["spec"].get("nodeName"), "targetRef": address(p)["targetRef"]} for p in pods],
            "ports": ports,
        }
        try:
            current_slice = self.store.get(ENDPOINT_SLICES, namespace, slice_name)
            if (current_slice.get("endpoints"), current_slice.get("ports")) != (endpoint_slice["endpoints"], endpoint_slice["ports"]):
                current_slice["endpoints"], current_slice["ports"] = endpoint_slice["endpoints"], endpoint_slice["ports"]
                self._save(ENDPOINT_SLICES, current_slice)
        except NotFound:
            try:
                self.store.create(ENDPOINT_SLICES, endpoint_slice)
            except AlreadyExists:
                pass

