"""The deployment controller, step for step as kube-controller-manager's
(pkg/controller/deployment: deployment_controller.go, sync.go, rolling.go, recreate.go,
progress.go, util/deployment_util.go).

A Deployment owns a ReplicaSet ``<name>-<template hash>`` per pod template (and adopts an
orphaned one its selector matches, as after ``kubectl delete --cascade=orphan``). Each sync does one
step and the store's writes bring the next: RollingUpdate scales the new ReplicaSet up to at
most ``replicas + maxSurge`` pods in all, then scales old ones down while at least
``replicas - maxUnavailable`` pods stay available (percentages: surge rounded up, unavailable
down; both 0 makes unavailable 1); Recreate scales every old ReplicaSet to 0 and waits for their
pods to go before the new one scales up. A change of spec.replicas mid-rollout (or while paused)
is spread over the ReplicaSets in proportion (``scale``). Every change of size is a
ScalingReplicaSet event (``Scaled up replica set web-7d9c6f7b8 from 0 to 1``).

Revisions: ``deployment.kubernetes.io/revision`` on the Deployment and its ReplicaSets (the new
one gets the highest old revision + 1, also when an old template comes back and its ReplicaSet is
reused, whose earlier numbers go to ``revision-history``), ``desired-replicas`` and
``max-replicas``, the Deployment's other annotations (``kubernetes.io/change-cause``) copied to the
new ReplicaSet, and old ReplicaSets beyond revisionHistoryLimit deleted once scaled to 0. That is
all ``kubectl rollout history|undo`` read and write. spec.paused stops rollouts (no new
ReplicaSet; Progressing Unknown DeploymentPaused). Status: replicas, updated, ready, available and
unavailable replicas, observedGeneration, Available and Progressing with the controller's reasons
and messages; progressDeadlineSeconds (scaled by TIME_SCALE) turns a stuck rollout's Progressing
False with ProgressDeadlineExceeded.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

from labrunner.sandbox.controllers.shared import (
    DEPLOYMENTS, PODS, REPLICASETS, Cluster, owned_by, owner_reference, terminating,
)
from labrunner.sandbox.defaults import pod_spec_defaults, template_hash, workload_defaults
from labrunner.sandbox.store import AlreadyExists, NotFound, now, seconds
from labrunner.sandbox.timescale import TIME_SCALE

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
SKIPPED_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
})
"""Annotations a Deployment never hands to its ReplicaSet (util's annotationsToSkip)."""
MAX_REVISION_HISTORY_CHARS = 2000
"""The controller's cap on the revision-history annotation."""
NO_DEADLINE = 2**31 - 1
"""progressDeadlineSeconds math.MaxInt32: never time out."""

RS = dict[str, Any]


def reconcile(cluster: Cluster) -> None:
    cluster.each(DEPLOYMENTS, COMPONENT, lambda deployment: _sync_deployment(cluster, deployment))


def reconcile_status(cluster: Cluster) -> None:
    """The loop's last word on each Deployment in a pass, once its ReplicaSets and pods have
    moved: another sync, as a ReplicaSet's status change requeues its Deployment."""
    reconcile(cluster)


# -- the pieces of the spec -----------------------------------------------------------------------


def _replicas(obj: dict[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _status(obj: dict[str, Any], field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def _strategy(deployment: dict[str, Any]) -> dict[str, Any]:
    return (deployment.get("spec") or {}).get("strategy") or {}


def _is_rolling(deployment: dict[str, Any]) -> bool:
    return _strategy(deployment).get("type", "RollingUpdate") == "RollingUpdate"


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as it is, ``"25%"`` of ``total`` rounded
    up or down.

    Raises:
        ValueError: a string that is not a percentage, as the controller refuses it.
    """
    if value is None:
        return 0
    if isinstance(value, str):
        if not value.endswith("%"):
            raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
        exact = float(int(value[:-1])) * float(total) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, desired: int) -> tuple[int, int]:
    """(surge, unavailable) as ResolveFenceposts: surge rounds up, unavailable down, and both
    resolving to 0 makes unavailable 1 (so a rollout can always move)."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _fenceposts(deployment: dict[str, Any]) -> tuple[int, int]:
    rolling = _strategy(deployment).get("rollingUpdate") or {}
    return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), _replicas(deployment))


def max_surge(deployment: dict[str, Any]) -> int:
    return _fenceposts(deployment)[0] if _is_rolling(deployment) else 0


def max_unavailable(deployment: dict[str, Any]) -> int:
    if not _is_rolling(deployment) or _replicas(deployment) == 0:
        return 0
    return min(_fenceposts(deployment)[1], _replicas(deployment))


def _deadline(deployment: dict[str, Any]) -> int | None:
    value = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
    return None if value is None or int(value) == NO_DEADLINE else int(value)


def _revision(obj: dict[str, Any]) -> int | None:
    text = _annotations(obj).get(REVISION)
    if text is None:
        return 0
    try:
        return int(text)
    except ValueError:  # the controller skips a revision it cannot parse
        return None


def _created(obj: dict[str, Any]) -> tuple[str, str]:
    return (str(obj["metadata"].get("creationTimestamp") or ""), obj["metadata"]["name"])


def _active(replica_sets: Iterable[RS | None]) -> list[RS]:
    return [rs for rs in replica_sets if rs is not None and _replicas(rs) > 0]


def _spec_total(replica_sets: Iterable[RS | None]) -> int:
    return sum(_replicas(rs) for rs in replica_sets if rs is not None)


def _status_total(replica_sets: Iterable[RS | None], field: str) -> int:
    return sum(_status(rs, field) for rs in replica_sets if rs is not None)


def _normalised(template: dict[str, Any]) -> str:
    """A pod template as EqualIgnoreHash compares it: without the pod-template-hash label, with
    the API server's pod defaults (so a stored template and a learner's compare alike)."""
    copied = copy.deepcopy(template or {})
    metadata = copied.setdefault("metadata", {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != HASH_LABEL}
    metadata["labels"] = labels
    for key in [k for k, v in metadata.items() if v in ({}, None, "")]:
        del metadata[key]
    pod_spec_defaults(copied.setdefault("spec", {}))
    return json.dumps(copied, sort_keys=True)


# -- conditions ------------------------------------------------------------------------------------


def _new_condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
    stamp = now()
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp, "reason": reason, "message": message}


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def _set_condition(status: dict[str, Any], condition: dict[str, Any]) -> None:
    """SetDeploymentCondition: the same status and reason leave the condition as it is; the same
    status keeps its lastTransitionTime; the condition goes to the end of the list."""
    current = _condition(status, condition["type"])
    if current is not None and current.get("status") == condition["status"] and current.get("reason") == condition["reason"]:
        return
    if current is not None and current.get("status") == condition["status"]:
        condition["lastTransitionTime"] = current.get("lastTransitionTime")
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != condition["type"]] + [condition]


def _remove_condition(status: dict[str, Any], kind: str) -> None:
    if status.get("conditions"):
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != kind]
        if not status["conditions"]:
            del status["conditions"]


def _save_status(cluster: Cluster, deployment: dict[str, Any]) -> None:
    cluster.save(DEPLOYMENTS, deployment)


# -- the sync --------------------------------------------------------------------------------------


def _sync_deployment(cluster: Cluster, deployment: dict[str, Any]) -> None:
    """syncDeployment: one step of whatever the Deployment needs now."""
    rs_list = sorted(_claim_replica_sets(cluster, deployment), key=_created)
    if terminating(deployment):
        new_rs, old = _new_and_old(cluster, deployment, rs_list, create=False)
        _sync_status(cluster, deployment, [*old, new_rs], new_rs)
        return
    _check_paused_conditions(cluster, deployment)
    if (deployment.get("spec") or {}).get("paused") or _is_scaling_event(cluster, deployment, rs_list):
        _sync(cluster, deployment, rs_list)
    elif _strategy(deployment).get("type") == "Recreate":
        _rollout_recreate(cluster, deployment, rs_list)
    else:
        _rollout_rolling(cluster, deployment, rs_list)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """metav1.LabelSelectorAsSelector(selector).Matches(labels); an empty selector selects nothing here
    (the controller refuses to act on one)."""
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return False
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if (operator == "In" and labels.get(key) not in values) or (operator == "NotIn" and key in labels and labels[key] in values) \
                or (operator == "Exists" and key not in labels) or (operator == "DoesNotExist" and key in labels):
            return False
    return True


def _claim_replica_sets(cluster: Cluster, deployment: dict[str, Any]) -> list[RS]:
    """ClaimReplicaSets: the ReplicaSets this Deployment controls; an orphan its selector matches
    is adopted (an ownerReference added), one of its own the selector no longer matches is let go."""
    selector = (deployment.get("spec") or {}).get("selector") or {}
    claimed = []
    for replica_set in cluster.store.list(REPLICASETS, deployment["metadata"]["namespace"]):
        references = replica_set["metadata"].get("ownerReferences") or []
        controller = next((ref for ref in references if ref.get("controller")), None)
        matches = _selects(selector, replica_set["metadata"].get("labels") or {})
        if controller is not None and controller.get("uid") == deployment["metadata"]["uid"]:
            if matches or terminating(deployment):
                claimed.append(replica_set)
            else:
                replica_set["metadata"]["ownerReferences"] = [ref for ref in references if ref is not controller]
                cluster.save(REPLICASETS, replica_set)
        elif controller is None and matches and not terminating(deployment) and not terminating(replica_set):
            replica_set["metadata"]["ownerReferences"] = [*references, owner_reference(deployment)]
            cluster.save(REPLICASETS, replica_set)
            claimed.append(replica_set)
    return [rs for rs in claimed if not terminating(rs)]


def _find_new(deployment: dict[str, Any], rs_list: list[RS]) -> RS | None:
    """FindNewReplicaSet: the oldest ReplicaSet whose template is the Deployment's."""
    wanted = _normalised((deployment.get("spec") or {}).get("template") or {})
    return next((rs for rs in rs_list if _normalised((rs.get("spec") or {}).get("template") or {}) == wanted), None)


def _new_and_old(cluster: Cluster, deployment: dict[str, Any], rs_list: list[RS], create: bool) -> tuple[RS | None, list[RS]]:
    """getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created if asked) with its revision
    brought up to date, and every old one."""
    existing = _find_new(deployment, rs_list)
    old = [rs for rs in rs_list if rs is not existing]
    return _get_new_replica_set(cluster, deployment, old, existing, create), old


def _get_new_replica_set(cluster: Cluster, deployment: dict[str, Any], old: list[RS], existing: RS | None, create: bool) -> RS | None:
    revisions = [r for r in (_revision(rs) for rs in old) if r is not None]
    new_revision = str(max(revisions, default=0) + 1)
    spec = deployment.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    status = deployment.setdefault("status", {})
    if existing is not None:
        annotations_updated = _set_new_replica_set_annotations(deployment, existing, new_revision, exists=True)
        if annotations_updated or int(existing["spec"].get("minReadySeconds") or 0) != min_ready:
            _set_min_ready(existing, min_ready)
            cluster.save(REPLICASETS, existing)
            return existing
        needs_update = _set_deployment_revision(deployment, _annotations(existing).get(REVISION, ""))
        if _deadline(deployment) is not None and _condition(status, "Progressing") is None:
            _set_condition(status, _new_condition("Progressing", "True", "FoundNewReplicaSet",
                                                  f'Found new replica set "{existing["metadata"]["name"]}"'))
            needs_update = True
        if needs_update:
            _save_status(cluster, deployment)
        return existing
    if not create:
        return None
    template = copy.deepcopy(spec.get("template") or {})
    collisions = int(status.get("collisionCount") or 0)
    pod_hash = template_hash(template) if not collisions else template_hash({"template": template, "collisionCount": collisions})
    template.setdefault("metadata", {})["labels"] = {**(template["metadata"].get("labels") or {}), HASH_LABEL: pod_hash}
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    name = f"{deployment['metadata']['name']}-{pod_hash}"
    replica_set: RS = {
        "metadata": {"name": name, "namespace": deployment["metadata"]["namespace"],
                     "labels": dict(template["metadata"]["labels"]), "ownerReferences": [owner_reference(deployment)]},
        "spec": {"replicas": 0, "selector": selector, "template": template},
    }
    _set_min_ready(replica_set, min_ready)
    replicas = _new_rs_replicas(deployment, [*old, replica_set], replica_set)
    replica_set["spec"]["replicas"] = replicas
    _set_new_replica_set_annotations(deployment, replica_set, new_revision, exists=False)
    workload_defaults("replicasets", replica_set)
    already_exists = False
    try:
        created = cluster.store.create(REPLICASETS, replica_set)
    except AlreadyExists:
        found = cluster.store.get(REPLICASETS, deployment["metadata"]["namespace"], name)
        if owned_by(found, deployment) and _normalised(found["spec"]["template"]) == _normalised(spec.get("template") or {}):
            created, already_exists = found, True
        else:  # a hash collision: the next sync names the ReplicaSet with the next collisionCount
            status["collisionCount"] = collisions + 1
            _save_status(cluster, deployment)
            return None
    if not already_exists and replicas > 0:
        cluster.event(deployment, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {replicas}", component=COMPONENT)
    needs_update = _set_deployment_revision(deployment, new_revision)
    if not already_exists and _deadline(deployment) is not None:
        _set_condition(status, _new_condition("Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{name}"'))
        needs_update = True
    if needs_update:
        _save_status(cluster, deployment)
    return created


def _set_min_ready(replica_set: RS, min_ready: int) -> None:
    if min_ready:
        replica_set["spec"]["minReadySeconds"] = min_ready
    else:
        replica_set["spec"].pop("minReadySeconds", None)


def _set_deployment_revision(deployment: dict[str, Any], revision: str) -> bool:
    annotations = deployment["metadata"].setdefault("annotations", {})
    if annotations.get(REVISION) == revision:
        return False
    annotations[REVISION] = revision
    return True


def _set_new_replica_set_annotations(deployment: dict[str, Any], replica_set: RS, new_revision: str, exists: bool) -> bool:
    """SetNewReplicaSetAnnotations: the Deployment's annotations copied (but the skipped ones),
    the revision raised to ``new_revision`` (an earlier number kept in revision-history), and on
    creation desired-replicas and max-replicas."""
    annotations = replica_set["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in _annotations(deployment).items():
        if key not in SKIPPED_ANNOTATIONS and annotations.get(key) != value:
            annotations[key] = value
            changed = True
    old_text = annotations.get(REVISION)
    try:
        old_revision = int(old_text) if old_text else 0
    except ValueError:
        return False
    if old_revision < int(new_revision):
        annotations[REVISION] = new_revision
        changed = True
        if old_text:  # an old template back: its earlier revisions are history
            history = annotations.get(REVISION_HISTORY, "")
            if not history:
                annotations[REVISION_HISTORY] = old_text
            else:
                kept = history.split(",")
                total = len(history) + len(old_text) + 1
                while total > MAX_REVISION_HISTORY_CHARS and kept:
                    total -= len(kept.pop(0)) + 1
                if total <= MAX_REVISION_HISTORY_CHARS:
                    annotations[REVISION_HISTORY] = ",".join([*kept, old_text])
    if not exists and _set_replicas_annotations(replica_set, _replicas(deployment), _replicas(deployment) + max_surge(deployment)):
        changed = True
    return changed


def _set_replicas_annotations(replica_set: RS, desired: int, maximum: int) -> bool:
    annotations = replica_set["metadata"].setdefault("annotations", {})
    changed = annotations.get(DESIRED_REPLICAS) != str(desired) or annotations.get(MAX_REPLICAS) != str(maximum)
    annotations[DESIRED_REPLICAS], annotations[MAX_REPLICAS] = str(desired), str(maximum)
    return changed


def _new_rs_replicas(deployment: dict[str, Any], all_rss: list[RS], new_rs: RS) -> int:
    """NewRSNewReplicas: how far the new ReplicaSet may grow now."""
    desired = _replicas(deployment)
    if _strategy(deployment).get("type") == "Recreate":
        return desired
    surge = scaled_value((_strategy(deployment).get("rollingUpdate") or {}).get("maxSurge", 0), desired, True)
    current = _spec_total(all_rss)
    ceiling = desired + surge
    if current >= ceiling:
        return _replicas(new_rs)
    return _replicas(new_rs) + min(ceiling - current, desired - _replicas(new_rs))


def _scale_replica_set(cluster: Cluster, replica_set: RS, new_scale: int, deployment: dict[str, Any]) -> bool:
    """scaleReplicaSet: the new size and the replicas annotations; an event when the size changed."""
    old_scale = _replicas(replica_set)
    desired, maximum = _replicas(deployment), _replicas(deployment) + max_surge(deployment)
    annotations = _annotations(replica_set)
    if old_scale == new_scale and annotations.get(DESIRED_REPLICAS) == str(desired) and annotations.get(MAX_REPLICAS) == str(maximum):
        return False
    replica_set["spec"]["replicas"] = new_scale
    _set_replicas_annotations(replica_set, desired, maximum)
    cluster.save(REPLICASETS, replica_set)
    if old_scale == new_scale:
        return False
    verb = "up" if old_scale < new_scale else "down"
    cluster.event(deployment, "ScalingReplicaSet", f"Scaled {verb} replica set {replica_set['metadata']['name']} from {old_scale} to {new_scale}",
                  component=COMPONENT)
    return True


# -- RollingUpdate ---------------------------------------------------------------------------------


def _rollout_rolling(cluster: Cluster, deployment: dict[str, Any], rs_list: list[RS]) -> None:
    new_rs, old = _new_and_old(cluster, deployment, rs_list, create=True)
    if new_rs is None:
        return
    all_rss = [*old, new_rs]
    if _reconcile_new(cluster, all_rss, new_rs, deployment) or _reconcile_old(cluster, all_rss, _active(old), new_rs, deployment):
        _sync_rollout_status(cluster, deployment, all_rss, new_rs)
        return
    if _complete(deployment, deployment.get("status") or {}):
        _cleanup(cluster, old, deployment)
    _sync_rollout_status(cluster, deployment, all_rss, new_rs)


def _reconcile_new(cluster: Cluster, all_rss: list[RS], new_rs: RS, deployment: dict[str, Any]) -> bool:
    desired = _replicas(deployment)
    if _replicas(new_rs) == desired:
        return False
    if _replicas(new_rs) > desired:
        return _scale_replica_set(cluster, new_rs, desired, deployment)
    return _scale_replica_set(cluster, new_rs, _new_rs_replicas(deployment, all_rss, new_rs), deployment)


def _reconcile_old(cluster: Cluster, all_rss: list[RS], old: list[RS], new_rs: RS, deployment: dict[str, Any]) -> bool:
    """reconcileOldReplicaSets: scale old pods down only as far as availability allows, counting
    the new ReplicaSet's unavailable pods against it; unhealthy old pods go first."""
    if _spec_total(old) == 0:
        return False
    min_available = _replicas(deployment) - max_unavailable(deployment)
    new_unavailable = _replicas(new_rs) - _status(new_rs, "availableReplicas")
    max_scaled_down = _spec_total(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return False
    cleaned = _cleanup_unhealthy(cluster, old, deployment, max_scaled_down)
    scaled = _scale_down_old_for_rolling(cluster, [*old, new_rs], old, deployment)
    return cleaned + scaled > 0


def _cleanup_unhealthy(cluster: Cluster, old: list[RS], deployment: dict[str, Any], most: int) -> int:
    total = 0
    for replica_set in sorted(old, key=_created):
        if total >= most:
            break
        replicas, available = _replicas(replica_set), _status(replica_set, "availableReplicas")
        if replicas == 0 or replicas == available:
            continue
        count = min(most - total, replicas - available)
        _scale_replica_set(cluster, replica_set, replicas - count, deployment)
        total += count
    return total


def _scale_down_old_for_rolling(cluster: Cluster, all_rss: list[RS], old: list[RS], deployment: dict[str, Any]) -> int:
    min_available = _replicas(deployment) - max_unavailable(deployment)
    available = _status_total(all_rss, "availableReplicas")
    if available <= min_available:
        return 0
    wanted, total = available - min_available, 0
    for replica_set in sorted(old, key=_created):
        if total >= wanted:
            break
        if _replicas(replica_set) == 0:
            continue
        count = min(_replicas(replica_set), wanted - total)
        _scale_replica_set(cluster, replica_set, _replicas(replica_set) - count, deployment)
        total += count
    return total


# -- Recreate --------------------------------------------------------------------------------------


def _rollout_recreate(cluster: Cluster, deployment: dict[str, Any], rs_list: list[RS]) -> None:
    """rolloutRecreate: old ReplicaSets to 0, and the new one (created only then) scaled up
    once no old pod is left."""
    new_rs, old = _new_and_old(cluster, deployment, rs_list, create=False)
    all_rss: list[RS | None] = [*old, new_rs]
    scaled_down = False
    for replica_set in _active(old):
        scaled_down = _scale_replica_set(cluster, replica_set, 0, deployment) or scaled_down
    if scaled_down or _old_pods_running(cluster, new_rs, old):
        _sync_rollout_status(cluster, deployment, all_rss, new_rs)
        return
    if new_rs is None:
        new_rs, old = _new_and_old(cluster, deployment, rs_list, create=True)
        all_rss = [*old, new_rs]
    if new_rs is not None:
        _scale_replica_set(cluster, new_rs, _replicas(deployment), deployment)
    if _complete(deployment, deployment.get("status") or {}):
        _cleanup(cluster, old, deployment)
    _sync_rollout_status(cluster, deployment, all_rss, new_rs)


def _old_pods_running(cluster: Cluster, new_rs: RS | None, old: list[RS]) -> bool:
    if _status_total(old, "replicas") > 0:
        return True
    old_uids = {rs["metadata"]["uid"] for rs in old}
    for pod in cluster.store.list(PODS, old[0]["metadata"]["namespace"]) if old else []:
        owners = {ref.get("uid") for ref in pod["metadata"].get("ownerReferences") or []}
        if owners & old_uids and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            return True
    return False


# -- scaling events and pauses -----------------------------------------------------------------------


def _is_scaling_event(cluster: Cluster, deployment: dict[str, Any], rs_list: list[RS]) -> bool:
    """isScalingEvent: an active ReplicaSet's desired-replicas is not spec.replicas."""
    new_rs, old = _new_and_old(cluster, deployment, rs_list, create=False)
    for replica_set in _active([*old, new_rs]):
        try:
            desired = int(_annotations(replica_set)[DESIRED_REPLICAS])
        except (KeyError, ValueError):
            continue
        if desired != _replicas(deployment):
            return True
    return False


def _sync(cluster: Cluster, deployment: dict[str, Any], rs_list: list[RS]) -> None:
    """sync: a scaling event or a paused Deployment; sizes change, templates do not."""
    new_rs, old = _new_and_old(cluster, deployment, rs_list, create=False)
    _scale(cluster, deployment, new_rs, old)
    if (deployment.get("spec") or {}).get("paused"):
        _cleanup(cluster, old, deployment)
    _sync_status(cluster, deployment, [*old, new_rs], new_rs)


def _scale(cluster: Cluster, deployment: dict[str, Any], new_rs: RS | None, old: list[RS]) -> None:
    """scale: one active ReplicaSet takes spec.replicas; several share the change in proportion
    to their size (max-replicas), the leftover going to the largest."""
    desired = _replicas(deployment)
    only = _active_or_latest(new_rs, old)
    if only is not None:
        if _replicas(only) != desired:
            _scale_replica_set(cluster, only, desired, deployment)
        return
    if _saturated(deployment, new_rs):
        for replica_set in _active(old):
            _scale_replica_set(cluster, replica_set, 0, deployment)
        return
    if not _is_rolling(deployment):
        return
    active = _active([*old, new_rs])
    allowed = desired + max_surge(deployment) if desired > 0 else 0
    to_add = allowed - _spec_total(active)
    # Larger first; of equal size, newer first when adding (ReplicaSetsBySizeNewer), older first when removing.
    active.sort(key=_created, reverse=to_add > 0)
    active.sort(key=lambda rs: -_replicas(rs))
    added, sizes = 0, {}
    for replica_set in active:
        if to_add != 0:
            proportion = _proportion(replica_set, deployment, to_add, added)
            sizes[replica_set["metadata"]["name"]] = _replicas(replica_set) + proportion
            added += proportion
        else:
            sizes[replica_set["metadata"]["name"]] = _replicas(replica_set)
    for index, replica_set in enumerate(active):
        name = replica_set["metadata"]["name"]
        if index == 0 and to_add != 0:
            sizes[name] = max(0, sizes[name] + to_add - added)
        _scale_replica_set(cluster, replica_set, sizes[name], deployment)


def _active_or_latest(new_rs: RS | None, old: list[RS]) -> RS | None:
    if new_rs is None and not old:
        return None
    newest_first = sorted(old, key=_created, reverse=True)
    active = _active([*newest_first, new_rs])
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def _saturated(deployment: dict[str, Any], replica_set: RS | None) -> bool:
    if replica_set is None:
        return False
    try:
        desired = int(_annotations(replica_set).get(DESIRED_REPLICAS, ""))
    except ValueError:
        return False
    wanted = _replicas(deployment)
    return _replicas(replica_set) == wanted and desired == wanted and _status(replica_set, "availableReplicas") == wanted


def _proportion(replica_set: RS, deployment: dict[str, Any], to_add: int, added: int) -> int:
    if _replicas(replica_set) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(replica_set, deployment)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(replica_set: RS, deployment: dict[str, Any]) -> int:
    if _replicas(deployment) == 0:
        return -_replicas(replica_set)
    maximum = _replicas(deployment) + max_surge(deployment)
    try:
        before = int(_annotations(replica_set).get(MAX_REPLICAS, ""))
    except ValueError:
        before = 0
    if before == 0:
        before = _status(deployment, "replicas")
        if before == 0:
            return 0
    return math.floor(_replicas(replica_set) * maximum / before + 0.5) - _replicas(replica_set)  # math.Round


def _check_paused_conditions(cluster: Cluster, deployment: dict[str, Any]) -> None:
    if _deadline(deployment) is None:
        return
    status = deployment.setdefault("status", {})
    condition = _condition(status, "Progressing")
    if condition is not None and condition.get("reason") == "ProgressDeadlineExceeded":
        return
    paused_said = condition is not None and condition.get("reason") == "DeploymentPaused"
    paused = bool((deployment.get("spec") or {}).get("paused"))
    if paused and not paused_said:
        _set_condition(status, _new_condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"))
    elif not paused and paused_said:
        _set_condition(status, _new_condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"))
    else:
        return
    _save_status(cluster, deployment)


def _cleanup(cluster: Cluster, old: list[RS], deployment: dict[str, Any]) -> None:
    """cleanupDeployment: the oldest revisions beyond revisionHistoryLimit go, but only ReplicaSets
    at 0 with no pods left whose controller has seen that."""
    limit = (deployment.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None or int(limit) == NO_DEADLINE:
        return
    cleanable = [rs for rs in old if not terminating(rs)]
    surplus = len(cleanable) - int(limit)
    if surplus <= 0:
        return
    by_revision = sorted(cleanable, key=lambda rs: (_revision(rs) or 0, _created(rs)))
    for replica_set in by_revision[:surplus]:
        if _status(replica_set, "replicas") or _replicas(replica_set) or \
                int(replica_set["metadata"].get("generation") or 1) > _status(replica_set, "observedGeneration"):
            continue
        try:
            cluster.store.delete(REPLICASETS, replica_set["metadata"]["namespace"], replica_set["metadata"]["name"])
        except NotFound:
            pass


# -- status ----------------------------------------------------------------------------------------


def _calculate_status(deployment: dict[str, Any], all_rss: Sequence[RS | None], new_rs: RS | None) -> dict[str, Any]:
    previous = deployment.get("status") or {}
    available = _status_total(all_rss, "availableReplicas")
    status: dict[str, Any] = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": _status_total(all_rss, "replicas"),
        "updatedReplicas": _status_total([new_rs], "replicas"),
        "readyReplicas": _status_total(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, _spec_total(all_rss) - available),
        "conditions": copy.deepcopy(previous.get("conditions") or []),
        "collisionCount": previous.get("collisionCount"),
    }
    if available >= _replicas(deployment) - max_unavailable(deployment):
        _set_condition(status, _new_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."))
    else:
        _set_condition(status, _new_condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."))
    return status


def _stored(status: dict[str, Any]) -> dict[str, Any]:
    """The status as the API server stores it: zero counts and empty lists omitted."""
    return {k: v for k, v in status.items() if k == "observedGeneration" or v not in (0, None, [])}


def _sync_status(cluster: Cluster, deployment: dict[str, Any], all_rss: Sequence[RS | None], new_rs: RS | None) -> None:
    """syncDeploymentStatus: counts and Available, no progress estimate (paused, scaling)."""
    status = _stored(_calculate_status(deployment, all_rss, new_rs))
    if status != (deployment.get("status") or {}):
        deployment["status"] = status
        _save_status(cluster, deployment)


def _complete(deployment: dict[str, Any], status: dict[str, Any]) -> bool:
    desired = _replicas(deployment)
    return (int(status.get("updatedReplicas") or 0) == desired and int(status.get("replicas") or 0) == desired
            and int(status.get("availableReplicas") or 0) == desired
            and int(status.get("observedGeneration") or 0) >= int(deployment["metadata"].get("generation") or 1))


def _progressing(deployment: dict[str, Any], status: dict[str, Any]) -> bool:
    old = deployment.get("status") or {}

    def count(of: dict[str, Any], field: str) -> int:
        return int(of.get(field) or 0)

    return (count(status, "updatedReplicas") > count(old, "updatedReplicas")
            or count(status, "replicas") - count(status, "updatedReplicas") < count(old, "replicas") - count(old, "updatedReplicas")
            or count(status, "readyReplicas") > count(old, "readyReplicas")
            or count(status, "availableReplicas") > count(old, "availableReplicas"))


def _timed_out(deployment: dict[str, Any], status: dict[str, Any]) -> bool:
    deadline = _deadline(deployment)
    condition = _condition(status, "Progressing")
    if deadline is None or condition is None or condition.get("reason") == "NewReplicaSetAvailable":
        return False
    if condition.get("reason") == "ProgressDeadlineExceeded":
        return True
    return seconds(str(condition.get("lastUpdateTime"))) + deadline * TIME_SCALE < time.time()


def _sync_rollout_status(cluster: Cluster, deployment: dict[str, Any], all_rss: Sequence[RS | None], new_rs: RS | None) -> None:
    """syncRolloutStatus: the counts, and Progressing estimated from what changed since the last
    status: progress (ReplicaSetUpdated), done (NewReplicaSetAvailable), or none for longer
    than progressDeadlineSeconds (ProgressDeadlineExceeded)."""
    status = _calculate_status(deployment, all_rss, new_rs)
    deadline = _deadline(deployment)
    if deadline is None:
        _remove_condition(status, "Progressing")
    current = _condition(deployment.get("status") or {}, "Progressing")
    finished = (status["replicas"] == status["updatedReplicas"] and current is not None
                and current.get("reason") == "NewReplicaSetAvailable")
    subject = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None else f'Deployment "{deployment["metadata"]["name"]}"'
    if deadline is not None and not finished:
        if _complete(deployment, status):
            _set_condition(status, _new_condition("Progressing", "True", "NewReplicaSetAvailable", f"{subject} has successfully progressed."))
        elif _progressing(deployment, status):
            condition = _new_condition("Progressing", "True", "ReplicaSetUpdated", f"{subject} is progressing.")
            if current is not None:
                if current.get("status") == "True":
                    condition["lastTransitionTime"] = current.get("lastTransitionTime")
                _remove_condition(status, "Progressing")
            _set_condition(status, condition)
        elif _timed_out(deployment, status):
            _set_condition(status, _new_condition("Progressing", "False", "ProgressDeadlineExceeded", f"{subject} has timed out progressing."))
    failure = next((c for rs in (new_rs, *all_rss) if rs is not None
                    for c in (rs.get("status") or {}).get("conditions") or ()
                    if c.get("type") == "ReplicaFailure" and c.get("status") == "True"), None)
    if failure is not None:  # getReplicaFailures: a ReplicaSet's failure to create pods is the Deployment's
        _set_condition(status, {**_new_condition("ReplicaFailure", "True", str(failure.get("reason")), str(failure.get("message"))),
                                "lastTransitionTime": failure.get("lastTransitionTime")})
    else:
        _remove_condition(status, "ReplicaFailure")
    stored = _stored(status)
    if stored != (deployment.get("status") or {}):
        deployment["status"] = stored
        _save_status(cluster, deployment)
    progressing = _condition(stored, "Progressing")
    if deadline is not None and not _complete(deployment, stored) and progressing is not None \
            and progressing.get("reason") != "ProgressDeadlineExceeded":
        cluster.pending = True  # requeueStuckDeployment: look again until it completes or times out
