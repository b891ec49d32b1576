"""The statefulset controller, as pkg/controller/statefulset runs it: pods with a stable identity.

- **Pods** ``<sts>-<ordinal>`` for ordinals 0..replicas-1, with the template's labels plus
  ``controller-revision-hash`` (the revision's name), ``statefulset.kubernetes.io/pod-name`` and
  ``apps.kubernetes.io/pod-index``, ``spec.hostname`` the pod's name and ``spec.subdomain``
  spec.serviceName, so a headless Service of that name gives each pod its own DNS name.
- **OrderedReady** (the default): ordinal N is created only when 0..N-1 are Running and Ready
  (and available for minReadySeconds); scaling down removes the highest ordinal first, one at a
  time, each only when the pods below it are healthy. **Parallel** creates and deletes at once.
  A pod that Failed or Succeeded is deleted and made again under the same name.
- **Revisions**: each distinct pod template is a ControllerRevision ``<sts>-<hash>`` (its data
  the template as a strategic merge patch with ``$patch: replace``, its hash FNV-1 over that
  data, numbered 1, 2, ...; going back to an older template renumbers that revision as the
  newest, as a rollback does), owned by the StatefulSet; the oldest unused ones beyond
  revisionHistoryLimit are deleted. Status says currentRevision and updateRevision, replicas,
  readyReplicas, availableReplicas, currentReplicas, updatedReplicas, observedGeneration.
- **RollingUpdate** replaces the pod with the highest ordinal not at the update revision, one
  at a time, waiting for each to be Running and Ready, down to ``partition`` (ordinals below it
  keep, and are recreated at, the current revision). **OnDelete** leaves running pods alone; a
  pod deleted by hand comes back at the update revision.
- Events are the controller's: ``SuccessfulCreate`` "create Pod web-0 in StatefulSet web
  successful" and ``SuccessfulDelete`` "delete Pod web-2 in StatefulSet web successful".

**volumeClaimTemplates.** Before a pod is made, each template's PersistentVolumeClaim
``<template>-<sts>-<ordinal>`` is created if it does not exist (the template's spec, its labels
plus the selector's matchLabels, through the API server's defaults: the default class), with
the event ``SuccessfulCreate`` "create Claim www-web-0 Pod web-0 in StatefulSet web success";
the pod gets a volume of that claim. Scaling down or deleting the set leaves the claims (the
default ``persistentVolumeClaimRetentionPolicy``, Retain), so a pod made again finds its data;
``whenDeleted: Delete`` makes the set their owner and ``whenScaled: Delete`` a condemned pod, so
the garbage collector deletes them with it (StatefulSetAutoDeletePVC, on by default in 1.32).

Gaps: no maxUnavailable (a 1.32 alpha gate, off by default), no spec.ordinals.start (beta but
rarely used: ordinals start at 0), no adoption of orphaned pods or revisions, a pod deleted
by the controller goes at once (the sandbox has no graceful termination).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.events import EVENTS
from labrunner.sandbox.controllers.replicationcontroller import available
from labrunner.sandbox.controllers.shared import PODS, Cluster, is_ready, owned_by, owner_reference, terminating
from labrunner.sandbox.defaults import workload_defaults
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import AlreadyExists, NotFound


def _rt(plural: str) -> ResourceType:
    found = resources.lookup("apps", "v1", plural)
    assert found is not None
    return found


STATEFUL_SETS, CONTROLLER_REVISIONS = _rt("statefulsets"), _rt("controllerrevisions")
COMPONENT = "statefulset-controller"
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
HASH_LABEL = "controller.kubernetes.io/hash"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def reconcile(cluster: Cluster) -> None:
    cluster.each(STATEFUL_SETS, COMPONENT, lambda obj: _stateful_set(cluster, obj))


# -- pure decisions ---------------------------------------------------------------------------


def ordinal(pod: dict[str, Any], set_name: str) -> int:
    """getParentNameAndOrdinal: the pod's ordinal if its name is ``<set_name>-<n>``, else -1."""
    found = _ORDINAL.match(str(pod["metadata"].get("name", "")))
    return int(found.group(2)) if found and found.group(1) == set_name else -1


def revision_data(stateful_set: dict[str, Any]) -> dict[str, Any]:
    """getPatch: what a revision records, the pod template as a patch that replaces it."""
    template = copy.deepcopy((stateful_set.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_hash(data: dict[str, Any], collision_count: int = 0) -> str:
    """history.HashControllerRevision: FNV-1 (32 bits) over the data's JSON (Go's: keys sorted,
    no spaces, <>& escaped), the collision count when there is one, written with
    rand.SafeEncodeString's alphabet (no vowels, so no words)."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    raw = raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    value = 0x811C9DC5
    for byte in raw.encode() + (str(collision_count).encode() if collision_count else b""):
        value = (value * 0x01000193) & 0xFFFFFFFF
        value ^= byte
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in str(value))


def running_and_ready(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


def healthy(pod: dict[str, Any], min_ready_seconds: int) -> bool:
    """Running, Ready and available (isRunningAndReady and isRunningAndAvailable)."""
    return running_and_ready(pod) and available(pod, min_ready_seconds)


def wants_current_revision(stateful_set: dict[str, Any], index: int) -> bool:
    """newVersionedStatefulSetPod: is a missing pod made at the current revision (an ordinal
    below the partition), or at the update revision?"""
    spec = stateful_set.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and rolling is None:
        return index < int((stateful_set.get("status") or {}).get("currentReplicas") or 0)
    return rolling is not None and index < int(rolling.get("partition") or 0)


def claim_name(template_name: str, set_name: str, index: int) -> str:
    """getPersistentVolumeClaimName."""
    return f"{template_name}-{set_name}-{index}"


def new_pod(stateful_set: dict[str, Any], template: dict[str, Any], revision: str, index: int) -> dict[str, Any]:
    """newStatefulSetPod at ``revision``: identity (name, labels, hostname, subdomain) and storage
    (a volume per claim template, before the template's own volumes of other names)."""
    set_name, spec = stateful_set["metadata"]["name"], stateful_set.get("spec") or {}
    template = copy.deepcopy(template)
    template.pop("$patch", None)
    metadata = template.get("metadata") or {}
    name = f"{set_name}-{index}"
    labels = {**(metadata.get("labels") or {}), POD_NAME_LABEL: name, POD_INDEX_LABEL: str(index), REVISION_LABEL: revision}
    pod: dict[str, Any] = {
        "metadata": {"name": name, "namespace": stateful_set["metadata"]["namespace"], "labels": labels,
                     "ownerReferences": [owner_reference(stateful_set)]},
        "spec": template.get("spec") or {},
    }
    if metadata.get("annotations"):
        pod["metadata"]["annotations"] = metadata["annotations"]
    pod["spec"]["hostname"] = name
    if spec.get("serviceName"):
        pod["spec"]["subdomain"] = spec["serviceName"]
    claims = [str((t.get("metadata") or {}).get("name", "")) for t in spec.get("volumeClaimTemplates") or []]
    if claims:
        volumes = [{"name": claim, "persistentVolumeClaim": {"claimName": claim_name(claim, set_name, index)}} for claim in claims]
        pod["spec"]["volumes"] = volumes + [v for v in pod["spec"].get("volumes") or [] if v.get("name") not in claims]
    workload_defaults("pods", pod)
    return pod


def plan(stateful_set: dict[str, Any], pods: list[dict[str, Any]], update_revision: str) -> list[tuple[str, int]]:
    """updateStatefulSet's decisions for the pods as they are: the steps to take now, each
    ``("create", ordinal)`` or ``("delete", ordinal)``; none when all is as wanted or the next
    step waits for a pod to become healthy. OrderedReady takes one step at a time (the real
    controller's monotonic mode); Parallel creates and deletes all at once, but still updates
    one pod at a time."""
    spec = stateful_set.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    min_ready = int(spec.get("minReadySeconds") or 0)
    monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    by_ordinal = {ordinal(p, stateful_set["metadata"]["name"]): p for p in pods}
    steps: list[tuple[str, int]] = []
    for index in range(replicas):  # processReplica, in ordinal order
        pod = by_ordinal.get(index)
        if pod is None or ((pod.get("status") or {}).get("phase") in ("Failed", "Succeeded") and not terminating(pod)):
            steps.append(("create" if pod is None else "delete", index))  # a finished pod is deleted, then made again
            if monotonic:
                return steps
        elif monotonic and (terminating(pod) or not healthy(pod, min_ready)):
            return steps
    if steps:
        return steps
    condemned = sorted((i for i in by_ordinal if i >= replicas), reverse=True)
    unhealthy = next((i for i in range(replicas) if not healthy(by_ordinal[i], min_ready)), None)
    if unhealthy is None:
        unhealthy = next((i for i in reversed(condemned) if not healthy(by_ordinal[i], min_ready)), None)
    for index in condemned:  # processCondemned, highest ordinal first
        pod = by_ordinal[index]
        if terminating(pod):
            if monotonic:
                return steps
            continue
        if monotonic and not healthy(pod, min_ready) and index != unhealthy:
            return steps
        steps.append(("delete", index))
        if monotonic:
            return steps
    if steps:
        return steps
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "OnDelete":
        return steps
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    for index in range(replicas - 1, partition - 1, -1):  # the rolling update: the highest ordinal not yet updated
        pod = by_ordinal[index]
        if (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) != update_revision and not terminating(pod):
            return [("delete", index)]
        if not healthy(pod, min_ready):
            return steps
    return steps


def status_of(stateful_set: dict[str, Any], pods: list[dict[str, Any]], current: str, update: str, collision_count: int) -> dict[str, Any]:
    """updateStatus and completeRollingUpdate: the counts, and the update revision becoming the
    current one once every replica is at it and ready."""
    spec = stateful_set.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    live = [p for p in pods if not terminating(p)]
    revisions = [(p["metadata"].get("labels") or {}).get(REVISION_LABEL) for p in live]
    status: dict[str, Any] = {
        "observedGeneration": stateful_set["metadata"].get("generation", 1),
        "replicas": len(pods),
        "readyReplicas": sum(1 for p in pods if running_and_ready(p)),
        "availableReplicas": sum(1 for p in pods if healthy(p, min_ready)),
        "currentReplicas": revisions.count(current),
        "updatedReplicas": revisions.count(update),
        "currentRevision": current,
        "updateRevision": update,
        "collisionCount": collision_count,
    }
    replicas = int(spec.get("replicas", 1))
    if ((spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
            and status["updatedReplicas"] == status["readyReplicas"] == status["replicas"] == replicas):
        status["currentReplicas"], status["currentRevision"] = status["updatedReplicas"], update
    # omitempty, as the API's JSON has it: replicas, availableReplicas and collisionCount always show
    return {k: v for k, v in status.items() if v or k in ("replicas", "availableReplicas", "collisionCount")}


# -- the controller ---------------------------------------------------------------------------


def _stateful_set(cluster: Cluster, stateful_set: dict[str, Any]) -> None:
    namespace, name = stateful_set["metadata"]["namespace"], stateful_set["metadata"]["name"]
    pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, stateful_set) and ordinal(p, name) >= 0]
    revisions = sorted((r for r in cluster.store.list(CONTROLLER_REVISIONS, namespace) if owned_by(r, stateful_set)),
                       key=lambda r: (int(r.get("revision") or 0), r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"]))
    collision_count = int((stateful_set.get("status") or {}).get("collisionCount") or 0)
    update, collision_count = _update_revision(cluster, stateful_set, revisions, collision_count)
    if update is None:  # a revision was written: the next pass sees it
        return
    current_name = (stateful_set.get("status") or {}).get("currentRevision")
    current = next((r for r in revisions if r["metadata"]["name"] == current_name), update)
    if not terminating(stateful_set):
        steps = plan(stateful_set, pods, update["metadata"]["name"])
        for step in steps:
            _take(cluster, stateful_set, step, current, update)
        if steps:
            pods = [p for p in cluster.store.list(PODS, namespace) if owned_by(p, stateful_set) and ordinal(p, name) >= 0]
        for pod in pods:
            _claim_owners(cluster, stateful_set, pod)
    status = status_of(stateful_set, pods, current["metadata"]["name"], update["metadata"]["name"], collision_count)
    if status != (stateful_set.get("status") or {}):
        try:
            fresh = cluster.store.get(STATEFUL_SETS, namespace, name)
        except NotFound:
            return
        fresh["status"] = status
        cluster.save(STATEFUL_SETS, fresh)
    replicas = int((stateful_set.get("spec") or {}).get("replicas", 1))
    if status.get("availableReplicas", 0) < min(status.get("readyReplicas", 0), replicas):
        cluster.pending = True  # minReadySeconds still running: look again without waiting for a write
    _truncate_history(cluster, stateful_set, revisions, pods, {current["metadata"]["name"], update["metadata"]["name"]})


def _update_revision(cluster: Cluster, stateful_set: dict[str, Any], revisions: list[dict[str, Any]],
                     collision_count: int) -> tuple[dict[str, Any] | None, int]:
    """getStatefulSetRevisions: the revision of the set's template as it is now, the newest one
    if it already is; an older equal one renumbered as the newest; else a new one (None returned
    then, with the collision count to keep)."""
    data = revision_data(stateful_set)
    equal = [r for r in revisions if r.get("data") == data]
    if equal and revisions[-1] is equal[-1]:
        return equal[-1], collision_count
    next_number = int(revisions[-1].get("revision") or 0) + 1 if revisions else 1
    if equal:
        equal[-1]["revision"] = next_number
        cluster.save(CONTROLLER_REVISIONS, equal[-1])
        return equal[-1], collision_count
    namespace, name = stateful_set["metadata"]["namespace"], stateful_set["metadata"]["name"]
    template_labels = ((stateful_set["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    while True:
        digest = revision_hash(data, collision_count)
        revision: dict[str, Any] = {
            "metadata": {"name": f"{name[:223]}-{digest}", "namespace": namespace, "labels": {**template_labels, HASH_LABEL: digest},
                         "ownerReferences": [owner_reference(stateful_set)]},
            "data": data, "revision": next_number,
        }
        if stateful_set["metadata"].get("annotations"):
            revision["metadata"]["annotations"] = dict(stateful_set["metadata"]["annotations"])
        try:
            cluster.store.create(CONTROLLER_REVISIONS, revision)
        except AlreadyExists:
            existing = cluster.store.get(CONTROLLER_REVISIONS, namespace, revision["metadata"]["name"])
            if existing.get("data") == data and owned_by(existing, stateful_set):
                return existing, collision_count
            collision_count += 1
            continue
        return None, collision_count


def _take(cluster: Cluster, stateful_set: dict[str, Any], step: tuple[str, int],
          current: dict[str, Any], update: dict[str, Any]) -> None:
    action, index = step
    set_name, namespace = stateful_set["metadata"]["name"], stateful_set["metadata"]["namespace"]
    pod_name = f"{set_name}-{index}"
    if action == "delete":
        try:
            _claim_owners(cluster, stateful_set, cluster.store.get(PODS, namespace, pod_name))  # a condemned pod's claims may go with it
        except NotFound:
            pass
        cluster.store.delete_raw("", "pods", namespace, pod_name)
        cluster.event(stateful_set, "SuccessfulDelete", f"delete Pod {pod_name} in StatefulSet {set_name} successful", component=COMPONENT)
        return
    at = current if wants_current_revision(stateful_set, index) else update
    template = ((at.get("data") or {}).get("spec") or {}).get("template") or {}
    if not _create_claims(cluster, stateful_set, index):
        return
    try:
        cluster.store.create(PODS, new_pod(stateful_set, template, at["metadata"]["name"], index))
    except AlreadyExists:  # a pod of that name the set does not own: a real controller fails the same way
        _event_once(cluster, stateful_set, "FailedCreate",
                    f'create Pod {pod_name} in StatefulSet {set_name} failed error: pods "{pod_name}" already exists', "Warning")
        return
    cluster.event(stateful_set, "SuccessfulCreate", f"create Pod {pod_name} in StatefulSet {set_name} successful", component=COMPONENT)


def claims_for(stateful_set: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """getPersistentVolumeClaims: the claims the pod of ``index`` uses, from the set's templates."""
    spec = stateful_set.get("spec") or {}
    match_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    claims = []
    for template in spec.get("volumeClaimTemplates") or []:
        claim = copy.deepcopy(template)
        metadata = claim.setdefault("metadata", {})
        metadata["name"] = claim_name(str(metadata.get("name", "")), stateful_set["metadata"]["name"], index)
        metadata["namespace"] = stateful_set["metadata"]["namespace"]
        metadata["labels"] = {**(metadata.get("labels") or {}), **match_labels}
        for key in ("apiVersion", "kind", "status"):
            claim.pop(key, None)
        claims.append(claim)
    return claims


def claim_owner_references(stateful_set: dict[str, Any], pod: dict[str, Any]) -> list[dict[str, Any]]:
    """updateClaimOwnerRefForSetAndPod: the owners persistentVolumeClaimRetentionPolicy gives a
    pod's claims: whenDeleted Delete, the set (so its claims go with it); whenScaled Delete, the
    pod once its ordinal is past the replicas (so they go with it on a scale-down); Retain, none."""
    spec = stateful_set.get("spec") or {}
    policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    scaled_down = ordinal(pod, stateful_set["metadata"]["name"]) >= int(spec.get("replicas", 1))
    if policy.get("whenScaled") == "Delete" and scaled_down:
        return [{"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"],
                 "controller": True, "blockOwnerDeletion": True}]
    if policy.get("whenDeleted") == "Delete":
        return [owner_reference(stateful_set)]
    return []


def _claim_owners(cluster: Cluster, stateful_set: dict[str, Any], pod: dict[str, Any]) -> None:
    """Each of the pod's claims owned as the retention policy says (other owners kept)."""
    from labrunner.sandbox.storage.kinds import CLAIMS

    if not (stateful_set.get("spec") or {}).get("volumeClaimTemplates") or terminating(pod):
        return
    ours = {stateful_set["metadata"]["uid"], pod["metadata"].get("uid")}
    wanted = claim_owner_references(stateful_set, pod)
    for claim in claims_for(stateful_set, ordinal(pod, stateful_set["metadata"]["name"])):
        try:
            found = cluster.store.get(CLAIMS, claim["metadata"]["namespace"], claim["metadata"]["name"])
        except NotFound:
            continue
        current = found["metadata"].get("ownerReferences") or []
        owners = [ref for ref in current if ref.get("uid") not in ours] + wanted
        if owners != current:
            if owners:
                found["metadata"]["ownerReferences"] = owners
            else:
                found["metadata"].pop("ownerReferences", None)
            cluster.save(CLAIMS, found)


def _create_claims(cluster: Cluster, stateful_set: dict[str, Any], index: int) -> bool:
    """createPersistentVolumeClaims: each missing claim, through the API server's defaulting and
    admission (the default class, the protection finalizer); False when a claim cannot be used."""
    from labrunner.sandbox.resource_hooks import apply_defaults
    from labrunner.sandbox.storage.kinds import CLAIMS

    set_name, pod_name = stateful_set["metadata"]["name"], f"{stateful_set['metadata']['name']}-{index}"
    for claim in claims_for(stateful_set, index):
        name = claim["metadata"]["name"]
        try:
            found = cluster.store.get(CLAIMS, claim["metadata"]["namespace"], name)
        except NotFound:
            apply_defaults(CLAIMS, claim, cluster.store)
            try:
                cluster.store.create(CLAIMS, claim)
            except AlreadyExists:
                continue
            cluster.event(stateful_set, "SuccessfulCreate", f"create Claim {name} Pod {pod_name} in StatefulSet {set_name} success",
                          component=COMPONENT)
            continue
        if terminating(found):
            _event_once(cluster, stateful_set, "FailedCreate",
                        f"create Pod {pod_name} in StatefulSet {set_name} failed error: pvc {name} is being deleted", "Warning")
            return False
    return True


def _event_once(cluster: Cluster, stateful_set: dict[str, Any], reason: str, message: str, kind: str = "Normal") -> None:
    """An event the set does not have yet (a repeat would be a write each pass, and each write another pass)."""
    uid = stateful_set["metadata"]["uid"]
    assert EVENTS is not None
    if not any((e.get("involvedObject") or {}).get("uid") == uid and e.get("reason") == reason and e.get("message") == message
               for e in cluster.store.list(EVENTS, stateful_set["metadata"]["namespace"])):
        cluster.event(stateful_set, reason, message, kind, component=COMPONENT)


def _truncate_history(cluster: Cluster, stateful_set: dict[str, Any], revisions: list[dict[str, Any]], pods: list[dict[str, Any]],
                      live: set[str]) -> None:
    """truncateHistory: revisions no pod and neither status revision uses, beyond
    revisionHistoryLimit, go oldest first."""
    live = live | {str((p["metadata"].get("labels") or {}).get(REVISION_LABEL)) for p in pods}
    history = [r for r in revisions if r["metadata"]["name"] not in live]
    limit = int((stateful_set.get("spec") or {}).get("revisionHistoryLimit", 10))
    if limit < 0 or len(history) <= limit:
        return
    for revision in history[: len(history) - limit]:
        cluster.store.delete_raw("apps", "controllerrevisions", stateful_set["metadata"]["namespace"], revision["metadata"]["name"])
