"""The Job controller, as kube-controller-manager's pkg/controller/job does it in 1.32, and the
TTL-after-finished controller beside it.

Pods ``<job>-<5 random characters>`` (``<job>-<index>-...`` when Indexed), up to parallelism and
never more than the completions left, each with the ``batch.kubernetes.io/job-tracking`` finalizer
the controller removes once it has counted the pod. Failed pods count against backoffLimit (with
restartPolicy OnFailure the containers' restarts count instead, as pastBackoffLimitOnFailure
does), a replacement waits the controller's back-off (10 s doubling, at most 10 minutes), and the
Job ends with the conditions 1.32 writes: SuccessCriteriaMet then Complete, or FailureTarget then
Failed (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy). Suspend deletes the active pods.
Finished pods are kept, so ``kubectl logs job/x`` works; ttlSecondsAfterFinished deletes the Job and
its pods. Every duration (deadline, back-off, TTL) is scaled by LABRUNNER_SANDBOX_TIME_SCALE.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.shared import PODS, Cluster, create_pod, is_ready, owner_reference, terminating
from labrunner.sandbox.defaults import generate_job_selector, workload_defaults
from labrunner.sandbox.names import random_suffix
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import Conflict, NotFound, now, seconds
from labrunner.sandbox.timescale import TIME_SCALE


def _rt(plural: str) -> ResourceType:
    found = resources.lookup("batch", "v1", plural)
    assert found is not None
    return found


JOBS = _rt("jobs")
COMPONENT = "job-controller"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
FINISHED_PHASES = ("Succeeded", "Failed")
BACKOFF, MAX_BACKOFF = 10.0, 600.0
"""DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff (seconds, before the time scale)."""

_active_seen: dict[str, set[str]] = {}
"""Per Job uid, the uids of its active pods at the last pass: a pod deleted while it ran is gone
before the controller sees it end (the sandbox deletes at once, where a cluster's finalizer holds
the pod), so it is counted as failed from this memory, as isPodFailed counts a deleted pod."""


_started: dict[str, float] = {}
"""Per Job uid, when this controller set status.startTime, to the fraction of a second: the stored
stamp has whole seconds, a slop the time scale would make twenty times larger than a cluster's."""


def reconcile(cluster: Cluster) -> None:
    cluster.each(JOBS, COMPONENT, lambda obj: _job(cluster, obj))
    alive = {obj["metadata"]["uid"] for obj in cluster.store.list(JOBS)}
    for memory in (_active_seen, _started):
        for uid in set(memory) - alive:
            del memory[uid]


def condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for found in (job.get("status") or {}).get("conditions") or []:
        if found.get("type") == kind and found.get("status") == "True":
            return dict(found)
    return None


def finished(job: dict[str, Any]) -> str | None:
    """Complete or Failed, when the Job has ended."""
    for kind in ("Complete", "Failed"):
        if condition(job, kind):
            return kind
    return None


def _new_condition(kind: str, reason: str, message: str, status: str = "True") -> dict[str, Any]:
    stamp = now()
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastProbeTime": stamp, "lastTransitionTime": stamp}


def _set_condition(status: dict[str, Any], new: dict[str, Any]) -> bool:
    """ensureJobConditionStatus: a new type is appended, a changed status replaced in place; a
    condition that would start as False is not added."""
    conditions = status.setdefault("conditions", [])
    for index, existing in enumerate(conditions):
        if existing.get("type") == new["type"]:
            if existing.get("status") == new["status"]:
                return False
            conditions[index] = new
            return True
    if new["status"] != "True":
        if not conditions:
            status.pop("conditions")
        return False
    conditions.append(new)
    return True


def _finish_time(pod: dict[str, Any]) -> float:
    times = [seconds(str(s["state"]["terminated"]["finishedAt"])) for s in (pod.get("status") or {}).get("containerStatuses") or []
             if ((s.get("state") or {}).get("terminated") or {}).get("finishedAt")]
    return max(times) if times else seconds(pod["metadata"]["creationTimestamp"])


def _index(pod: dict[str, Any]) -> int | None:
    text = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    return int(text) if isinstance(text, str) and text.isdigit() else None


def _indexes_text(indexes: set[int]) -> str:
    """completedIndexes: ``0-2,4``."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        parts.append(str(ordered[start]) if start == end else f"{ordered[start]}-{ordered[end]}")
        start = end + 1
    return ",".join(parts)


def _parse_indexes(text: str | None) -> set[int]:
    found: set[int] = set()
    for part in (text or "").split(","):
        low, _, high = part.partition("-")
        if low.isdigit():
            found.update(range(int(low), int(high or low) + 1))
    return found


def _failure_policy_action(job: dict[str, Any], pod: dict[str, Any]) -> tuple[str | None, str | None]:
    """matchPodFailurePolicy on exit codes: the first rule matching a container's exit code gives
    the action (FailJob, Ignore, Count) and, for FailJob, the message."""
    rules = ((job.get("spec") or {}).get("podFailurePolicy") or {}).get("rules") or []
    statuses = [s for s in ((pod.get("status") or {}).get("initContainerStatuses") or []) + ((pod.get("status") or {}).get("containerStatuses") or [])
                if ((s.get("state") or {}).get("terminated") or {}).get("exitCode") not in (None, 0)]
    for index, rule in enumerate(rules):
        codes = rule.get("onExitCodes")
        if not codes:
            continue
        for status in statuses:
            if codes.get("containerName") and codes["containerName"] != status.get("name"):
                continue
            code = int(status["state"]["terminated"]["exitCode"])
            values = {int(v) for v in codes.get("values") or []}
            if (code in values) == (codes.get("operator", "In") == "In"):
                action = str(rule.get("action"))
                message = (f"Container {status.get('name')} for pod {pod['metadata']['namespace']}/{pod['metadata']['name']} "
                           f"failed with exit code {code} matching {action} rule at index {index}")
                return action, message
    return None, None


def _job(cluster: Cluster, job: dict[str, Any]) -> None:
    if terminating(job):
        return
    spec = job.setdefault("spec", {})
    if not spec.get("selector") and not spec.get("manualSelector"):
        # The API server generates the selector from the uid at create; the sandbox's store gives the uid
        # after defaulting, so a Job created through it gets its selector here, on the controller's first look.
        generate_job_selector(job)
        cluster.save(JOBS, job)
        return
    if finished(job):
        _after_finished(cluster, job)
        return
    uid = job["metadata"]["uid"]
    namespace = job["metadata"]["namespace"]
    status = job.setdefault("status", {})
    before = copy.deepcopy(status)
    indexed = spec.get("completionMode") == "Indexed"
    pods = [p for p in cluster.store.list(PODS, namespace)
            if any(ref.get("uid") == uid and ref.get("controller") for ref in p["metadata"].get("ownerReferences") or [])]
    succeeded, failed = int(status.get("succeeded") or 0), int(status.get("failed") or 0)
    completed = _parse_indexes(status.get("completedIndexes"))
    fail_message: str | None = None
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        finalizers = pod["metadata"].get("finalizers") or []
        if phase not in FINISHED_PHASES or TRACKING_FINALIZER not in finalizers:
            continue
        pod["metadata"]["finalizers"] = [f for f in finalizers if f != TRACKING_FINALIZER] or None
        if pod["metadata"]["finalizers"] is None:
            del pod["metadata"]["finalizers"]
        try:
            cluster.store.update(PODS, pod)
        except (NotFound, Conflict):
            continue  # counted on the next pass
        if phase == "Succeeded":
            index = _index(pod)
            if indexed and index is not None:
                completed.add(index)
            succeeded += 1
            continue
        action, message = _failure_policy_action(job, pod)
        if action == "Ignore":
            continue
        if action == "FailJob" and fail_message is None:
            fail_message = message
        failed += 1
    present = {p["metadata"]["uid"] for p in pods}
    failed += len(_active_seen.get(uid, set()) - present)
    active_pods = [p for p in pods if (p.get("status") or {}).get("phase") not in FINISHED_PHASES and not terminating(p)]
    _active_seen[uid] = {p["metadata"]["uid"] for p in active_pods}
    suspended = bool(spec.get("suspend"))
    if not suspended and not status.get("startTime"):
        status["startTime"] = now()
        _started[uid] = time.time()
    if indexed:
        succeeded = max(succeeded, len(completed))
    finished_condition = _finished_condition(job, status, active_pods, failed, succeeded, completed, fail_message)
    if finished_condition is not None and finished_condition["type"] == "FailureTarget":
        for pod in active_pods:  # when the Job has failed, every pod still running is deleted and counted as failed
            _delete_pod(cluster, job, pod)
            failed += 1
        active_pods = []
        _active_seen[uid] = set()
    elif finished_condition is None:
        active_pods = _manage(cluster, job, status, pods, active_pods, succeeded, completed)
    status.update({"active": len(active_pods), "ready": sum(1 for p in active_pods if is_ready(p)), "terminating": 0,
                   "succeeded": succeeded, "failed": failed, "uncountedTerminatedPods": {}})
    if indexed:
        status["completedIndexes"] = _indexes_text(completed)
    for key in ("active", "succeeded", "failed", "completedIndexes"):
        if not status.get(key):
            status.pop(key, None)
    if finished_condition is not None:
        _set_condition(status, finished_condition)
        final = "Complete" if finished_condition["type"] == "SuccessCriteriaMet" else "Failed"
        _set_condition(status, _new_condition(final, finished_condition["reason"], finished_condition["message"]))
        if final == "Complete":
            status["completionTime"] = status["conditions"][-1]["lastTransitionTime"]
            cluster.event(job, "Completed", "Job completed", component=COMPONENT)
        else:
            cluster.event(job, finished_condition["reason"], finished_condition["message"], "Warning", component=COMPONENT)
        _active_seen.pop(uid, None)
    elif spec.get("activeDeadlineSeconds") is not None and not suspended:
        cluster.pending = True  # the deadline is a time, not a write: the loop ticks until it passes
    if status != before:
        cluster.save(JOBS, job)


def _finished_condition(job: dict[str, Any], status: dict[str, Any], active_pods: list[dict[str, Any]], failed: int,
                        succeeded: int, completed: set[int], fail_message: str | None) -> dict[str, Any] | None:
    """syncJob's order: a FailureTarget already there, the pod failure policy's FailJob, the backoff
    limit (restarts too, with OnFailure), the active deadline, then success."""
    spec = job["spec"]
    if (target := condition(job, "FailureTarget")) is not None:
        return target
    if fail_message is not None:
        return _new_condition("FailureTarget", "PodFailurePolicy", fail_message)
    if failed > int(spec.get("backoffLimit", 6)) or _past_backoff_limit_on_failure(job, active_pods):
        return _new_condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not spec.get("suspend") and status.get("startTime"):
        started = _started.get(job["metadata"]["uid"], seconds(status["startTime"]))
        if time.time() - started >= int(deadline) * TIME_SCALE:
            return _new_condition("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline")
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and completions is not None:
        done = len(completed) >= int(completions) and not active_pods
    elif completions is None:
        done = succeeded > 0 and not active_pods
    else:
        done = succeeded >= int(completions) and not active_pods
    if done:
        return _new_condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods")
    return None


def _past_backoff_limit_on_failure(job: dict[str, Any], active_pods: list[dict[str, Any]]) -> bool:
    """With restartPolicy OnFailure the kubelet restarts a failing container in place: its restarts
    (summed over the running and pending pods) are what the backoff limit counts."""
    if ((job["spec"].get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = sum(int(s.get("restartCount") or 0) for p in active_pods if (p.get("status") or {}).get("phase") in ("Running", "Pending", None)
                   for s in ((p.get("status") or {}).get("initContainerStatuses") or []) + ((p.get("status") or {}).get("containerStatuses") or []))
    limit = int(job["spec"].get("backoffLimit", 6))
    return restarts > 0 if limit == 0 else restarts >= limit


def _backoff_left(pods: list[dict[str, Any]]) -> float:
    """The back-off before a replacement (backoff_utils.go getRemainingTime): 10 s doubling with
    each failure since the last success, from the last failure; scaled."""
    ended = sorted((p for p in pods if (p.get("status") or {}).get("phase") in FINISHED_PHASES), key=_finish_time)
    failures, last_failure = 0, 0.0
    for pod in ended:
        if pod["status"]["phase"] == "Succeeded":
            failures = 0
        else:
            failures, last_failure = failures + 1, _finish_time(pod)
    if failures == 0:
        return 0.0
    delay = min(BACKOFF * 2 ** (failures - 1), MAX_BACKOFF) * TIME_SCALE
    return max(0.0, delay - (time.time() - last_failure))


def _manage(cluster: Cluster, job: dict[str, Any], status: dict[str, Any], pods: list[dict[str, Any]],
            active_pods: list[dict[str, Any]], succeeded: int, completed: set[int]) -> list[dict[str, Any]]:
    """manageJob: suspend deletes the active pods; otherwise pods are created up to parallelism,
    never beyond the completions left, once the failure back-off has passed."""
    spec = job["spec"]
    if spec.get("suspend"):
        for pod in active_pods:
            _delete_pod(cluster, job, pod)
        _active_seen[job["metadata"]["uid"]] = set()
        if _set_condition(status, _new_condition("Suspended", "JobSuspended", "Job suspended")):
            status.pop("startTime", None)  # the deadline counts again from the resume
            _started.pop(job["metadata"]["uid"], None)
            cluster.event(job, "Suspended", "Job suspended", component=COMPONENT)
        return []
    if _set_condition(status, _new_condition("Suspended", "JobResumed", "Job resumed", "False")):
        cluster.event(job, "Resumed", "Job resumed", component=COMPONENT)
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    if completions is None:
        wanted = len(active_pods) if succeeded > 0 else parallelism
    elif spec.get("completionMode") == "Indexed":
        wanted = min(parallelism, int(completions) - len(completed))
    else:
        wanted = min(parallelism, int(completions) - succeeded)
    wanted = max(wanted, 0)
    if len(active_pods) > wanted:
        extra = sorted(active_pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)[: len(active_pods) - wanted]
        for pod in extra:
            _delete_pod(cluster, job, pod)
        gone = {p["metadata"]["uid"] for p in extra}
        _active_seen[job["metadata"]["uid"]] -= gone
        return [p for p in active_pods if p["metadata"]["uid"] not in gone]
    if len(active_pods) == wanted:
        return active_pods
    if _backoff_left(pods) > 0:
        cluster.pending = True
        return active_pods
    if spec.get("completionMode") == "Indexed":
        busy = {_index(p) for p in active_pods}
        free = [i for i in range(int(completions or 0)) if i not in completed and i not in busy]
        indexes: list[int | None] = list(free[: wanted - len(active_pods)])
    else:
        indexes = [None] * (wanted - len(active_pods))
    made = [_new_pod(cluster, job, index) for index in indexes]
    created = [pod for pod in made if pod is not None]
    _active_seen.setdefault(job["metadata"]["uid"], set()).update(p["metadata"]["uid"] for p in created)
    return active_pods + created


def _new_pod(cluster: Cluster, job: dict[str, Any], index: int | None) -> dict[str, Any] | None:
    """A pod from the template, as the controller's podControl creates it: generateName, the
    ownerReference, the tracking finalizer, and for an Indexed Job the index (annotation, label,
    JOB_COMPLETION_INDEX, hostname ``<job>-<index>``)."""
    name = job["metadata"]["name"]
    template = copy.deepcopy(job["spec"].get("template") or {})
    metadata = template.get("metadata") or {}
    labels, annotations = dict(metadata.get("labels") or {}), dict(metadata.get("annotations") or {})
    pod_spec = template.get("spec") or {}
    prefix = f"{name}-"
    if index is not None:
        prefix = f"{name}-{index}-"
        annotations[INDEX_KEY] = str(index)
        labels[INDEX_KEY] = str(index)
        pod_spec.setdefault("hostname", f"{name}-{index}")
        for container in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
            container.setdefault("env", []).append(
                {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}})
    pod: dict[str, Any] = {
        "metadata": {"name": prefix + random_suffix(), "generateName": prefix, "namespace": job["metadata"]["namespace"], "labels": labels,
                     "ownerReferences": [owner_reference(job)], "finalizers": [TRACKING_FINALIZER]},
        "spec": pod_spec,
    }
    if annotations:
        pod["metadata"]["annotations"] = annotations
    workload_defaults("pods", pod)
    created = create_pod(cluster, job, pod, COMPONENT)
    if created is None:
        return None
    cluster.event(job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", component=COMPONENT)
    return created


def _delete_pod(cluster: Cluster, job: dict[str, Any], pod: dict[str, Any]) -> None:
    cluster.store.delete_raw("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
    cluster.event(job, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component=COMPONENT)


def _after_finished(cluster: Cluster, job: dict[str, Any]) -> None:
    """The TTL-after-finished controller: ttlSecondsAfterFinished after the Complete or Failed
    condition, the Job goes, and its pods with it."""
    ttl = job["spec"].get("ttlSecondsAfterFinished")
    if ttl is None:
        return
    kind = finished(job)
    ended = condition(job, kind or "")
    if ended is None or not ended.get("lastTransitionTime"):
        return
    if time.time() - seconds(str(ended["lastTransitionTime"])) < int(ttl) * TIME_SCALE:
        cluster.pending = True
        return
    namespace, uid = job["metadata"]["namespace"], job["metadata"]["uid"]
    for pod in cluster.store.list(PODS, namespace):
        if any(ref.get("uid") == uid for ref in pod["metadata"].get("ownerReferences") or []):
            cluster.store.delete_raw("", "pods", namespace, pod["metadata"]["name"])
    cluster.store.delete_raw("batch", "jobs", namespace, job["metadata"]["name"])
